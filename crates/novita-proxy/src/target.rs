//! [`Target`]: where a tunnel goes, validated, and how to get there.

use std::sync::Arc;

use novita_ssh_core::WsUrl;

use crate::connect::http_proxy::Proxy;
use crate::connect::tls;

/// Everything needed to open the tunnel, validated.
#[derive(Clone)]
pub struct Target {
    /// The WebSocket URL.
    pub url: WsUrl,
    /// `--connect-to`: where to open the TCP connection instead of the URL's host.
    pub connect_to: Option<(String, u16)>,
    /// The HTTP proxy, if any.
    pub proxy: Option<Proxy>,
    /// TLS trust anchors (for `wss://` URLs and `https://` proxies).
    pub tls: Option<Arc<tls::Roots>>,
    /// Extra request headers, validated.
    pub headers: Vec<(String, String)>,
    /// Whether a traffic access token is among the headers.
    pub has_token: bool,
    /// The sandbox ID, for messages.
    pub id: Option<String>,
    /// The sandbox port, for messages.
    pub port: u16,
}

/// Logs where the tunnel goes (`-v`).
pub fn log_target(target: &Target) {
    crate::info!(
        "connecting to {}{}{}",
        target.url,
        target
            .connect_to
            .as_ref()
            .map(|(h, p)| format!(" via {h}:{p}"))
            .unwrap_or_default(),
        target
            .proxy
            .as_ref()
            .map(|p| format!(" through proxy {} (from {})", p.display(), p.source))
            .unwrap_or_default()
    );
}

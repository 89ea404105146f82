use std::fmt;

use crate::validate::{self, HostFault, HostKind};
use crate::{SandboxId, ValidationError};

/// A validated `ws://` or `wss://` URL, split into what a client needs to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `true` for `wss://` (TLS).
    pub secure: bool,
    /// The host name (or IP literal, without brackets) used for DNS, TLS SNI and `Host`.
    pub host: String,
    /// The TCP port: explicit, or 443 for `wss` and 80 for `ws`.
    pub port: u16,
    /// Whether the port was written in the URL (then it goes into the `Host` header).
    pub explicit_port: bool,
    /// The path and query, at least `/`.
    pub path_and_query: String,
}

impl WsUrl {
    /// Parses and validates a WebSocket URL.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        const WHAT: &str = "URL";
        const HINT: &str = "pass a ws:// or wss:// URL such as wss://8081-{id}.sandbox.novita.ai/";
        let uri = validate::uri(WHAT, value, HINT)?;
        let secure = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => {
                return Err(ValidationError::invalid(
                    WHAT,
                    value,
                    "the scheme must be ws:// or wss://",
                    HINT,
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| ValidationError::invalid(WHAT, value, "there is no host", HINT))?;
        if authority.as_str().contains('@') {
            return Err(ValidationError::invalid(
                WHAT,
                value,
                "user:password@ is not supported in the URL",
                "pass credentials with --header instead",
            ));
        }
        let host = match validate::classify_host(authority.host()) {
            Ok(HostKind::Ipv6(host) | HostKind::Ipv4(host)) => host.to_owned(),
            Ok(HostKind::Name(name)) => name,
            Err(HostFault::NotIpv6) => {
                return Err(ValidationError::invalid(
                    WHAT,
                    value,
                    "the brackets do not hold an IPv6 address",
                    HINT,
                ))
            }
            Err(HostFault::NotName(e)) => return Err(e),
        };
        let (port, explicit_port) = match validate::authority_port(WHAT, value, authority, HINT)? {
            Some(p) => (p, true),
            None => (if secure { 443 } else { 80 }, false),
        };
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .to_owned();
        Ok(Self {
            secure,
            host,
            port,
            explicit_port,
            path_and_query,
        })
    }

    /// The value of the `Host` header: the host, and the port when it was explicit.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.explicit_port {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(
            f,
            "{scheme}://{}{}",
            self.host_header(),
            self.path_and_query
        )
    }
}

/// The public URL of a sandbox port: `wss://<port>-<id>.<domain>/`.
pub fn sandbox_url(id: &SandboxId, port: u16, domain: &str) -> Result<WsUrl, ValidationError> {
    let domain = validate::domain(domain)?;
    WsUrl::parse(&format!("wss://{port}-{id}.{domain}/"))
}

/// Builds a URL from a template with optional `{id}` and `{port}` placeholders,
/// substituting only validated values, then validates the result.
pub fn url_from_template(
    template: &str,
    id: Option<&SandboxId>,
    port: u16,
) -> Result<WsUrl, ValidationError> {
    let mut url = template.replace("{port}", &port.to_string());
    if url.contains("{id}") {
        let id = id.ok_or_else(|| {
            ValidationError::invalid(
                "URL",
                template,
                "it contains {id} but no sandbox ID was given",
                "pass the sandbox ID as the host argument",
            )
        })?;
        url = url.replace("{id}", id.as_str());
    }
    WsUrl::parse(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_public_url() {
        let id = SandboxId::parse("iz3m5v8axsybc877b539s").expect("id");
        let url = sandbox_url(&id, 8081, "us-phx-1.sandbox.novita.ai").expect("url");
        assert_eq!(
            url.to_string(),
            "wss://8081-iz3m5v8axsybc877b539s.us-phx-1.sandbox.novita.ai/"
        );
        assert_eq!(url.port, 443);
        assert!(url.secure);
        assert!(sandbox_url(&id, 8081, "evil.com/x").is_err());
    }

    #[test]
    fn templates_and_literals() {
        let id = SandboxId::parse("abc").expect("id");
        let url = url_from_template("ws://127.0.0.1:9000/{id}/{port}", Some(&id), 22).expect("url");
        assert_eq!(url.to_string(), "ws://127.0.0.1:9000/abc/22");
        assert_eq!(url.host_header(), "127.0.0.1:9000");
        let v6 = WsUrl::parse("ws://[::1]:9/").expect("v6");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.host_header(), "[::1]:9");
        for bad in [
            "http://x/",
            "ws://",
            "ws://a b/",
            "ws://u:p@x/",
            "wss://x:0/",
            "ws://x/\n",
            "ws://{id}/",
            "ws://[]/",
            "ws://[zz]:1/",
            "ws://[::1]:80z/",
            "ws://[::1]z/",
            "ws://x:/",
        ] {
            assert!(url_from_template(bad, None, 1).is_err(), "{bad:?} accepted");
        }
        let long = format!("ws://x/{}", "a".repeat(validate::MAX_URL_LEN));
        assert!(
            WsUrl::parse(&long).is_err(),
            "a URL over MAX_URL_LEN accepted"
        );
    }
}

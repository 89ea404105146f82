//! sshd, a bridge and (for wss) the TLS edge wired together: one emulated sandbox and the
//! ssh command that reaches it through `novita-proxy`.

use std::fmt;
use std::process::Command;

use crate::files::random_bytes;
use crate::run::shell_quote;
use crate::{bin_path, clean_env, require_tool, Bridge, BridgeKind, Edge, Sshd};

/// How the client reaches the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Plain `ws://127.0.0.1:<bridge>/` (self-hosted bridges; `--url`).
    Ws,
    /// `wss://8081-<id>.sandbox.test/` through the nginx TLS edge, as on Novita
    /// (`--domain sandbox.test --connect-to 127.0.0.1:<edge> --cacert <ca>`).
    Wss,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Link::Ws => "ws",
            Link::Wss => "wss",
        })
    }
}

/// One emulated sandbox: sshd behind a bridge, behind the edge for [`Link::Wss`].
/// Everything is killed on drop (clients' side first).
#[derive(Debug)]
pub struct Rig {
    /// The sandbox ID (`ie2e` + 16 random characters: a valid ID).
    pub id: String,
    /// How the client reaches the bridge.
    pub link: Link,
    /// The TLS edge, for [`Link::Wss`].
    pub edge: Option<Edge>,
    /// The bridge in the sandbox.
    pub bridge: Bridge,
    /// The sshd in the sandbox.
    pub sshd: Sshd,
}

impl Rig {
    /// Starts sshd, the bridge and, for wss, the edge with a route for this sandbox.
    pub fn start(kind: BridgeKind, link: Link) -> Rig {
        let sshd = Sshd::start();
        let bridge = Bridge::start(kind, sshd.port);
        Rig::around(sshd, bridge, link)
    }

    /// A private sandbox behind the edge: the edge answers 403 unless the request carries
    /// `e2b-traffic-access-token: <token>`.
    pub fn private(kind: BridgeKind, token: &str) -> Rig {
        let sshd = Sshd::start();
        let bridge = Bridge::start(kind, sshd.port);
        let id = sandbox_id();
        let edge = Edge::builder()
            .route_with_token(&id, bridge.port, token)
            .start();
        Rig {
            id,
            link: Link::Wss,
            edge: Some(edge),
            bridge,
            sshd,
        }
    }

    /// Wraps an already started sshd and bridge (for custom options).
    pub fn around(sshd: Sshd, bridge: Bridge, link: Link) -> Rig {
        let id = sandbox_id();
        let edge = match link {
            Link::Ws => None,
            Link::Wss => Some(Edge::builder().route(&id, bridge.port).start()),
        };
        Rig {
            id,
            link,
            edge,
            bridge,
            sshd,
        }
    }

    /// The host to give ssh (the sandbox ID; ssh passes it to the ProxyCommand as `%h`).
    pub fn host(&self) -> &str {
        &self.id
    }

    /// The `novita-proxy` options (without HOST) that reach this sandbox:
    /// `--url ws://127.0.0.1:<bridge>/` for ws, the edge's options for wss.
    pub fn proxy_args(&self) -> Vec<String> {
        match &self.edge {
            None => vec!["--url".into(), self.bridge.url()],
            Some(edge) => edge.proxy_args(),
        }
    }

    /// The ProxyCommand line: `novita-proxy <proxy_args> <extra> %h`, shell-quoted.
    pub fn proxy_command(&self, extra: &[&str]) -> String {
        std::iter::once(bin_path("novita-proxy").display().to_string())
            .chain(self.proxy_args())
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .map(|a| shell_quote(&a))
            .chain(std::iter::once("%h".to_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The documented websocat client as the ProxyCommand
    /// (`websocat --binary -B 65536 - ws://...`); for [`Link::Ws`] only.
    pub fn websocat_proxy_command(&self) -> String {
        assert_eq!(
            self.link,
            Link::Ws,
            "the websocat client is used over ws only"
        );
        format!(
            "{} --binary -B 65536 - {}",
            shell_quote(&require_tool("websocat").display().to_string()),
            self.bridge.url()
        )
    }

    /// `novita-proxy <proxy_args>` with stdin/stdout as the tunnel; add HOST and flags.
    pub fn proxy(&self) -> Command {
        let mut cmd = Command::new(bin_path("novita-proxy"));
        clean_env(&mut cmd).args(self.proxy_args());
        cmd
    }

    /// The ssh options for ssh/scp/sftp through `novita-proxy` (see [`Sshd::ssh_base_args`]).
    pub fn ssh_args(&self) -> Vec<String> {
        self.sshd.ssh_base_args(&self.proxy_command(&[]))
    }

    /// An `ssh` command through `novita-proxy`; add [`Rig::host`] and the remote command.
    pub fn ssh(&self) -> Command {
        self.sshd.ssh(&self.proxy_command(&[]))
    }

    /// An `ssh` command whose ProxyCommand passes `extra` options to novita-proxy.
    pub fn ssh_with_proxy_args(&self, extra: &[&str]) -> Command {
        self.sshd.ssh(&self.proxy_command(extra))
    }

    /// The ssh command line for `rsync -e`.
    pub fn rsync_ssh(&self) -> String {
        self.sshd.ssh_command_line(&self.proxy_command(&[]))
    }
}

/// A fresh, valid sandbox ID: `ie2e` + 16 characters of `[a-z0-9]`.
pub fn sandbox_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = random_bytes(16)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect();
    format!("ie2e{tail}")
}

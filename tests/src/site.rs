//! One emulated sandbox on the stand-in platform: a real sshd behind `novita-proxy serve`,
//! registered with the [`Platform`] behind the nginx [`Edge`], and a client home of its
//! own, so that the name cache and recorded host keys of one scenario never reach another.

use std::path::PathBuf;
use std::process::Command;

use crate::platform::{Platform, SandboxSpec};
use crate::{bin_path, shell_quote, Bridge, BridgeKind, Edge, Sshd};

/// The platform, its edge, one sshd behind a `serve` bridge, and a client home.
#[derive(Debug)]
pub struct Site {
    /// The stand-in API, edge router and envd.
    pub platform: Platform,
    /// nginx in front of it (`https://api.sandbox.test`, `https://<port>-<id>.sandbox.test`).
    pub edge: Edge,
    /// The sandbox's sshd.
    pub sshd: Sshd,
    /// The sandbox's bridge to that sshd.
    pub bridge: Bridge,
    /// The client's home (`HOME`; its `.cache` is `XDG_CACHE_HOME`).
    pub home: tempfile::TempDir,
}

impl Site {
    /// Starts everything on free loopback ports.
    ///
    /// # Panics
    /// When a fixture does not start.
    pub fn start() -> Site {
        let platform = Platform::start();
        let edge = Edge::builder().platform(&platform).start();
        let sshd = Sshd::start();
        let bridge = Bridge::start(BridgeKind::Serve, sshd.port);
        let home = tempfile::Builder::new()
            .prefix("novita-e2e-home-")
            .tempdir()
            .expect("a temp dir");
        Site {
            platform,
            edge,
            sshd,
            bridge,
            home,
        }
    }

    /// A sandbox spec whose port 8081 is this site's bridge.
    pub fn spec(&self) -> SandboxSpec {
        SandboxSpec::new().port(8081, self.bridge.port)
    }

    /// `novita-proxy <edge options> <extra> %h`, shell-quoted, for a ProxyCommand.
    pub fn proxy_command(&self, extra: &[&str]) -> String {
        std::iter::once(bin_path("novita-proxy").display().to_string())
            .chain(self.edge.proxy_args())
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .map(|a| shell_quote(&a))
            .chain(std::iter::once("%h".to_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The client's cache folder (`XDG_CACHE_HOME`).
    pub fn cache_dir(&self) -> PathBuf {
        self.home.path().join(".cache")
    }

    /// Gives `cmd` the client's home and cache, and the API key when `key` is set.
    pub fn client_env<'a>(&self, cmd: &'a mut Command, key: Option<&str>) -> &'a mut Command {
        cmd.env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.cache_dir());
        if let Some(key) = key {
            cmd.env("NOVITA_API_KEY", key);
        }
        cmd
    }

    /// How many API requests with `method` to a path starting with `path_prefix` so far.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> usize {
        self.platform
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }
}

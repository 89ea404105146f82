//! The sandbox side of the tunnel: a WebSocket listener that relays to sshd.

use std::fmt;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::{bin_path, require_tool, start_on_free_port, try_wait_for_port, wait_for_port, Proc};

/// Which bridge runs in the (emulated) sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeKind {
    /// `websocat -b --exit-on-eof ws-l:ADDR tcp:ADDR`, exactly as the documented template.
    Websocat,
    /// `novita-proxy serve --listen ADDR --to ADDR`.
    Serve,
}

impl fmt::Display for BridgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BridgeKind::Websocat => "websocat",
            BridgeKind::Serve => "serve",
        })
    }
}

/// A running bridge on `127.0.0.1:port` relaying each WebSocket to `127.0.0.1:<to_port>`.
#[derive(Debug)]
pub struct Bridge {
    /// The WebSocket port (127.0.0.1).
    pub port: u16,
    /// Which program it is.
    pub kind: BridgeKind,
    proc: Proc,
    _dir: TempDir,
}

impl Bridge {
    /// The websocat server of the documented template, relaying to `to_port`.
    pub fn websocat(to_port: u16) -> Bridge {
        Bridge::start(BridgeKind::Websocat, to_port)
    }

    /// `novita-proxy serve`, relaying to `to_port`.
    pub fn serve(to_port: u16) -> Bridge {
        Bridge::start(BridgeKind::Serve, to_port)
    }

    /// Starts the given bridge, relaying to `to_port`, and waits until it listens.
    pub fn start(kind: BridgeKind, to_port: u16) -> Bridge {
        Bridge::start_with(kind, to_port, &[])
    }

    /// Starts the given bridge with extra command-line arguments (placed before the
    /// addresses for websocat, after the subcommand for serve).
    ///
    /// # Panics
    /// When the program is missing or does not listen within 20 s (with its log).
    pub fn start_with(kind: BridgeKind, to_port: u16, extra: &[&str]) -> Bridge {
        let dir = bridge_dir(kind);
        let log = dir.path().join("bridge.log");
        let (port, proc) = start_on_free_port(
            &format!("bridge {kind}"),
            |port| {
                Proc::spawn(
                    &format!("bridge {kind}"),
                    command(kind, port, to_port, extra),
                    &log,
                )
            },
            |port, proc| try_wait_for_port(port, Duration::from_secs(20), proc),
        );
        Bridge {
            port,
            kind,
            proc,
            _dir: dir,
        }
    }

    /// Starts the given bridge on a chosen `port` (for a route that exists before its
    /// bridge, like a sandbox that is still starting).
    pub fn start_on(kind: BridgeKind, port: u16, to_port: u16, extra: &[&str]) -> Bridge {
        let dir = bridge_dir(kind);
        let cmd = command(kind, port, to_port, extra);
        let mut proc = Proc::spawn(
            &format!("bridge {kind}"),
            cmd,
            &dir.path().join("bridge.log"),
        );
        wait_for_port(port, Duration::from_secs(20), &mut proc);
        Bridge {
            port,
            kind,
            proc,
            _dir: dir,
        }
    }

    /// The plain WebSocket URL of the bridge (`ws://127.0.0.1:<port>/`).
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// The bridge's log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// Whether the bridge process is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }
}

fn bridge_dir(kind: BridgeKind) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("novita-e2e-{kind}-"))
        .tempdir()
        .expect("temp dir")
}

fn command(kind: BridgeKind, port: u16, to_port: u16, extra: &[&str]) -> Command {
    match kind {
        BridgeKind::Websocat => {
            let mut cmd = Command::new(require_tool("websocat"));
            cmd.args(["-b", "--exit-on-eof"])
                .args(extra)
                .arg(format!("ws-l:127.0.0.1:{port}"))
                .arg(format!("tcp:127.0.0.1:{to_port}"));
            cmd
        }
        BridgeKind::Serve => {
            let mut cmd = Command::new(bin_path("novita-proxy"));
            cmd.arg("serve")
                .args(extra)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--to")
                .arg(format!("127.0.0.1:{to_port}"));
            cmd
        }
    }
}

//! The fixtures every measure uses, started once: one sshd, the sink, source and echo
//! servers, and in front of each of those four targets a socat relay, a websocat server and a
//! `novita-proxy serve`, plus one nginx TLS edge routing a sandbox ID to each serve.
//! [`Path`] names a client/server pair and builds the client's command line.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use novita_ssh_e2e::{
    bin_path, free_port, require_tool, sandbox_id, shell_quote, wait_for_port, Bridge, Edge, Proc,
    Sshd,
};
use tempfile::TempDir;

use crate::servers::{Echo, Sink, Source};

/// The cipher every ssh measure uses, on every path: fast with AES-NI, the same work
/// everywhere, so that differences come from the tunnel alone.
pub const CIPHER: &str = "aes128-gcm@openssh.com";

/// The socat buffer size of the framing-free relay pair (`socat -b`).
pub const SOCAT_BUFFER: &str = "262144";

/// The name ssh is given for the host (any name: the ProxyCommand decides where it goes).
const SSH_HOST: &str = "bench";

/// One way from the client to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// ssh straight to sshd; for the raw stream one `socat` hop straight to the sink; for the
    /// round trip the bench's own TCP socket straight to the echo server.
    Direct,
    /// `socat -b 262144 -` to `socat -b 262144 TCP-LISTEN`: a framing-free relay pair.
    Relay,
    /// `websocat --binary -B 65536 -` to `websocat -b --exit-on-eof ws-l:`.
    Websocat,
    /// `novita-proxy --url ws://` to the websocat server.
    ProxyWebsocat,
    /// `novita-proxy --url ws://` to `novita-proxy serve`.
    ProxyServe,
    /// `novita-proxy` over wss through the nginx TLS edge to `novita-proxy serve`.
    ProxyEdge,
}

impl Path {
    /// Every path, in table order.
    pub const ALL: [Path; 6] = [
        Path::Direct,
        Path::Relay,
        Path::Websocat,
        Path::ProxyWebsocat,
        Path::ProxyServe,
        Path::ProxyEdge,
    ];

    /// The short name used on the command line (`--paths`) and in the raw data.
    pub fn key(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Relay => "relay",
            Path::Websocat => "websocat",
            Path::ProxyWebsocat => "proxy-websocat",
            Path::ProxyServe => "proxy-serve",
            Path::ProxyEdge => "proxy-edge-serve",
        }
    }

    /// The client and server, for the table.
    pub fn label(self) -> &'static str {
        match self {
            Path::Direct => "direct ssh / TCP",
            Path::Relay => "socat -> socat (relay pair)",
            Path::Websocat => "websocat -> websocat",
            Path::ProxyWebsocat => "novita-proxy -> websocat",
            Path::ProxyServe => "novita-proxy -> serve",
            Path::ProxyEdge => "novita-proxy -> nginx wss -> serve",
        }
    }

    /// Parses a [`Path::key`].
    pub fn from_key(key: &str) -> Option<Path> {
        Path::ALL.into_iter().find(|p| p.key() == key)
    }

    /// Whether the client is novita-proxy.
    pub fn uses_proxy(self) -> bool {
        matches!(
            self,
            Path::ProxyWebsocat | Path::ProxyServe | Path::ProxyEdge
        )
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What a server relays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The sshd.
    Sshd,
    /// The byte-counting sink (raw stream, upload direction).
    Sink,
    /// The fixed-size source (raw stream, download direction).
    Source,
    /// The echo server (round trips).
    Echo,
}

const TARGETS: [Target; 4] = [Target::Sshd, Target::Sink, Target::Source, Target::Echo];

/// The three servers in front of one target.
#[derive(Debug)]
struct Servers {
    target_port: u16,
    relay_port: u16,
    _relay: Proc,
    websocat: Option<Bridge>,
    serve: Option<Bridge>,
    /// The sandbox ID the edge routes to `serve`.
    edge_id: String,
}

/// All fixtures.
#[derive(Debug)]
pub struct Lab {
    /// The sshd.
    pub sshd: Sshd,
    /// Counts the raw stream's bytes.
    pub sink: Sink,
    /// Sends the raw stream's bytes (its thread runs as long as the bench).
    _source: Source,
    /// Echoes round trips.
    pub echo: Echo,
    /// The TLS edge (when a path through it is measured).
    pub edge: Option<Edge>,
    servers: Vec<(Target, Servers)>,
    proxy: Option<PathBuf>,
    websocat: PathBuf,
    socat: PathBuf,
    dir: TempDir,
}

impl Lab {
    /// Starts what `paths` need; `stream_len` is what the source sends and the sink expects.
    /// Its scratch files go to a new directory in `parent`.
    pub fn start(stream_len: u64, block: Arc<Vec<u8>>, paths: &[Path], parent: &FsPath) -> Lab {
        let wants = |p: &[Path]| p.iter().any(|x| paths.contains(x));
        let with_websocat = wants(&[Path::Websocat, Path::ProxyWebsocat]);
        let with_serve = wants(&[Path::ProxyServe, Path::ProxyEdge]);
        let with_proxy = wants(&[Path::ProxyWebsocat, Path::ProxyServe, Path::ProxyEdge]);
        let dir = tempfile::Builder::new()
            .prefix("novita-bench-")
            .tempdir_in(parent)
            .expect("temp dir");
        // The fixture's MaxStartups 200 admits the 200 simultaneous handshakes of the
        // concurrency measure (sshd keeps the last MaxStartups line, so it cannot be raised
        // through SshdOptions).
        let sshd = Sshd::start();
        let sink = Sink::start(stream_len);
        let source = Source::start(stream_len, block);
        let echo = Echo::start();
        let socat = require_tool("socat");
        let mut servers = Vec::new();
        for target in TARGETS {
            let target_port = match target {
                Target::Sshd => sshd.port,
                Target::Sink => sink.port,
                Target::Source => source.port,
                Target::Echo => echo.port,
            };
            let (relay, relay_port) = start_relay(&socat, target_port, dir.path());
            servers.push((
                target,
                Servers {
                    target_port,
                    relay_port,
                    _relay: relay,
                    websocat: with_websocat.then(|| Bridge::websocat(target_port)),
                    serve: with_serve.then(|| Bridge::serve(target_port)),
                    edge_id: sandbox_id(),
                },
            ));
        }
        let edge = with_serve.then(|| {
            let mut edge = Edge::builder();
            for (_, s) in &servers {
                if let Some(serve) = &s.serve {
                    edge = edge.route(&s.edge_id, serve.port);
                }
            }
            edge.start()
        });
        Lab {
            sshd,
            sink,
            _source: source,
            echo,
            edge,
            servers,
            proxy: with_proxy.then(|| bin_path("novita-proxy")),
            websocat: require_tool("websocat"),
            socat,
            dir,
        }
    }

    fn servers(&self, target: Target) -> &Servers {
        &self
            .servers
            .iter()
            .find(|(t, _)| *t == target)
            .expect("servers for every target")
            .1
    }

    /// A scratch directory that lives as long as the lab.
    pub fn dir(&self) -> &FsPath {
        self.dir.path()
    }

    /// The novita-proxy binary in use (when a path uses it).
    pub fn proxy_bin(&self) -> Option<&FsPath> {
        self.proxy.as_deref()
    }

    fn proxy_str(&self) -> String {
        self.proxy
            .as_ref()
            .expect("novita-proxy is resolved for the paths that use it")
            .display()
            .to_string()
    }

    fn websocat_url(s: &Servers) -> String {
        s.websocat
            .as_ref()
            .expect("the websocat server runs for the paths that use it")
            .url()
    }

    fn serve_url(s: &Servers) -> String {
        s.serve
            .as_ref()
            .expect("serve runs for the paths that use it")
            .url()
    }

    /// The process ID of the server of `path` in front of `target` (websocat or serve), for
    /// reading its peak memory.
    pub fn server_pid(&self, path: Path, target: Target) -> Option<u32> {
        let s = self.servers(target);
        let needle = match path {
            Path::Websocat | Path::ProxyWebsocat => {
                format!("ws-l:127.0.0.1:{}", s.websocat.as_ref()?.port)
            }
            Path::ProxyServe | Path::ProxyEdge => {
                format!("--listen 127.0.0.1:{}", s.serve.as_ref()?.port)
            }
            Path::Direct | Path::Relay => return None,
        };
        novita_ssh_e2e::processes_matching(&needle)
            .into_iter()
            .min()
    }

    /// The client's argv for `path` to `target`. For [`Path::Direct`] it is one socat hop
    /// straight to the target (no server in between).
    pub fn client_argv(&self, path: Path, target: Target) -> Vec<String> {
        let s = self.servers(target);
        match path {
            Path::Direct => self.socat_client(s.target_port),
            Path::Relay => self.socat_client(s.relay_port),
            Path::Websocat => vec![
                self.websocat.display().to_string(),
                "--binary".into(),
                "-B".into(),
                "65536".into(),
                "-".into(),
                Lab::websocat_url(s),
            ],
            Path::ProxyWebsocat => vec![
                self.proxy_str(),
                "--url".into(),
                Lab::websocat_url(s),
                s.edge_id.clone(),
            ],
            Path::ProxyServe => vec![
                self.proxy_str(),
                "--url".into(),
                Lab::serve_url(s),
                s.edge_id.clone(),
            ],
            Path::ProxyEdge => std::iter::once(self.proxy_str())
                .chain(
                    self.edge
                        .as_ref()
                        .expect("the edge runs for the paths that use it")
                        .proxy_args(),
                )
                .chain(std::iter::once(s.edge_id.clone()))
                .collect(),
        }
    }

    fn socat_client(&self, port: u16) -> Vec<String> {
        vec![
            self.socat.display().to_string(),
            "-b".into(),
            SOCAT_BUFFER.into(),
            "-".into(),
            format!("TCP:127.0.0.1:{port}"),
        ]
    }

    /// The ProxyCommand for `path` to sshd (`None` for direct ssh). With `pid_file`, a `sh`
    /// wrapper writes the client's process ID there and then becomes the client (`exec`).
    pub fn proxy_command(&self, path: Path, pid_file: Option<&FsPath>) -> Option<String> {
        if path == Path::Direct {
            return None;
        }
        let argv: Vec<String> = self
            .client_argv(path, Target::Sshd)
            .iter()
            .map(|a| shell_quote(a))
            .collect();
        let line = argv.join(" ");
        Some(match pid_file {
            None => line,
            Some(file) => format!(
                "sh -c {} sh {line}",
                shell_quote(&format!(
                    "echo $$ > {}; exec \"$@\"",
                    shell_quote(&file.display().to_string())
                ))
            ),
        })
    }

    /// `ssh` to sshd through `path`, with the benchmark cipher, no compression, and `extra`
    /// options placed first (ssh keeps the first value of an option). Add the remote command.
    pub fn ssh(&self, path: Path, pid_file: Option<&FsPath>, extra: &[&str]) -> Command {
        let mut cmd = Command::new(require_tool("ssh"));
        cmd.args(extra);
        cmd.args(["-c", CIPHER, "-o", "Compression=no"]);
        match self.proxy_command(path, pid_file) {
            None => cmd.args(self.sshd.ssh_direct_args()),
            Some(pc) => cmd.args(self.sshd.ssh_base_args(&pc)),
        };
        cmd.arg(SSH_HOST);
        cmd
    }

    /// A fresh `novita-proxy serve` or websocat server in front of sshd (for the concurrency
    /// measure, so that its peak memory is its own), with the ssh command through it.
    pub fn fresh_bridge(&self, path: Path) -> Bridge {
        match path {
            Path::Websocat | Path::ProxyWebsocat => Bridge::websocat(self.sshd.port),
            _ => Bridge::serve(self.sshd.port),
        }
    }

    /// `ssh` through a client for `path` (the websocat client for [`Path::Websocat`],
    /// novita-proxy otherwise) to `bridge` (from [`Lab::fresh_bridge`]).
    pub fn ssh_via(&self, path: Path, bridge: &Bridge, extra: &[&str]) -> Command {
        let argv = if path == Path::Websocat {
            vec![
                self.websocat.display().to_string(),
                "--binary".into(),
                "-B".into(),
                "65536".into(),
                "-".into(),
                bridge.url(),
            ]
        } else {
            vec![self.proxy_str(), "--url".into(), bridge.url(), sandbox_id()]
        };
        let pc = argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new(require_tool("ssh"));
        cmd.args(extra);
        cmd.args(["-c", CIPHER, "-o", "Compression=no"]);
        cmd.args(self.sshd.ssh_base_args(&pc));
        cmd.arg(SSH_HOST);
        cmd
    }
}

/// `socat -b 262144 TCP-LISTEN:<port>,fork,reuseaddr TCP:127.0.0.1:<to>`: the server half of
/// the framing-free relay pair.
fn start_relay(socat: &FsPath, to: u16, dir: &FsPath) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(socat);
    cmd.args(["-b", SOCAT_BUFFER])
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
        .arg(format!("TCP:127.0.0.1:{to}"));
    let mut proc = Proc::spawn(
        "socat relay",
        cmd,
        &dir.join(format!("socat-relay-{port}.log")),
    );
    wait_for_port(port, Duration::from_secs(20), &mut proc);
    (proc, port)
}

//! A real tinyproxy (the Debian package) as the corporate HTTP CONNECT proxy.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::tools::is_root;
use crate::{require_tool, start_on_free_port, try_wait_for_port, Proc};

/// A running tinyproxy on `127.0.0.1:port`, optionally requiring Basic auth, logging every
/// request (CONNECTs included) to a file. Killed on drop.
#[derive(Debug)]
pub struct Tinyproxy {
    /// The proxy port (127.0.0.1).
    pub port: u16,
    /// The Basic auth user and password it requires, if any.
    pub auth: Option<(String, String)>,
    log: PathBuf,
    proc: Proc,
    _dir: TempDir,
}

impl Tinyproxy {
    /// A proxy without authentication.
    pub fn start() -> Tinyproxy {
        Tinyproxy::start_with(None, &[])
    }

    /// A proxy that requires Basic auth with `user` and `password` (tinyproxy's `BasicAuth`).
    pub fn start_with_auth(user: &str, password: &str) -> Tinyproxy {
        Tinyproxy::start_with(Some((user, password)), &[])
    }

    /// A proxy with optional Basic auth that allows CONNECT only to `connect_ports`
    /// (tinyproxy's `ConnectPort`; empty: every port). CONNECT to another port is answered
    /// `403 Access violation`.
    pub fn start_with(auth: Option<(&str, &str)>, connect_ports: &[u16]) -> Tinyproxy {
        let auth = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let tinyproxy = require_tool("tinyproxy");
        let dir = tempfile::Builder::new()
            .prefix("novita-e2e-tinyproxy-")
            .tempdir()
            .expect("temp dir");
        let log = dir.path().join("tinyproxy.log");
        let conf_path = dir.path().join("tinyproxy.conf");
        let (port, proc) = start_on_free_port(
            "tinyproxy",
            |port| {
                // No Allow/Deny lines: every client may connect. Without ConnectPort lines,
                // CONNECT to any port is allowed.
                let mut conf = vec![
                    format!("Port {port}"),
                    "Listen 127.0.0.1".to_owned(),
                    "Timeout 600".to_owned(),
                    "MaxClients 200".to_owned(),
                    format!("LogFile \"{}\"", log.display()),
                    "LogLevel Info".to_owned(),
                    format!("PidFile \"{}\"", dir.path().join("tinyproxy.pid").display()),
                    "DisableViaHeader Yes".to_owned(),
                ];
                if is_root() {
                    // It would otherwise warn and keep running as root anyway.
                    conf.push("User root".to_owned());
                    conf.push("Group root".to_owned());
                }
                if let Some((user, password)) = &auth {
                    conf.push(format!("BasicAuth {user} {password}"));
                }
                conf.extend(connect_ports.iter().map(|p| format!("ConnectPort {p}")));
                fs::write(&conf_path, conf.join("\n") + "\n").unwrap();
                let mut cmd = Command::new(&tinyproxy);
                cmd.arg("-d").arg("-c").arg(&conf_path);
                Proc::spawn("tinyproxy", cmd, &dir.path().join("tinyproxy.out"))
            },
            |port, proc| try_wait_for_port(port, Duration::from_secs(20), proc),
        );
        Tinyproxy {
            port,
            auth,
            log,
            proc,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port>` (with `user:password@` when it requires auth).
    pub fn url(&self) -> String {
        match &self.auth {
            Some((user, password)) => format!("http://{user}:{password}@127.0.0.1:{}", self.port),
            None => self.url_without_auth(),
        }
    }

    /// `http://127.0.0.1:<port>` without credentials.
    pub fn url_without_auth(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        let mut text = fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&self.proc.log());
        text
    }

    /// The targets of every `CONNECT` request it logged (`127.0.0.1:8443`,
    /// `8081-id.sandbox.test:443`, ...).
    pub fn connects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("): CONNECT ").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// Whether it logged a `CONNECT <target>` request.
    pub fn saw_connect_to(&self, target: &str) -> bool {
        self.connects().iter().any(|t| t == target)
    }
}

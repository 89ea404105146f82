//! What the Novita API costs connection set-up: `ssh NAME.novita true` with the API
//! (name lookup, connect, keep-alive) against `ssh ID.novita true` without it, through a
//! relay that delays every chunk 50 ms each way in front of the edge and the API, as a
//! distant region would. Interleaved runs, medians, every run kept.
//!
//! ```sh
//! cargo run --release -p novita-ssh-bench --bin api-setup -- [--runs N] [--delay-ms MS] [--out FILE]
//! ```
//!
//! Not part of the test suite: it measures; `--check` turns the 1.1x target into an exit
//! status.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use novita_ssh_bench::setup;
use novita_ssh_e2e::platform::{Platform, SandboxSpec};
use novita_ssh_e2e::{
    bin_path, shell_quote, Bridge, BridgeKind, Edge, Fault, FaultRelay, Sshd, EDGE_DOMAIN,
};

/// One way of connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// `ssh <id>.novita true`, no API key: no API call (the baseline).
    IdWithoutApi,
    /// `ssh <id>.novita true` with the API: connect runs beside the WebSocket.
    IdWithApi,
    /// `ssh <name>.novita true`, the name's ID cached from an earlier connection.
    Name,
    /// `ssh <name>.novita true` with an empty cache: the lookup comes first.
    NameCold,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::IdWithoutApi,
        Variant::IdWithApi,
        Variant::Name,
        Variant::NameCold,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::IdWithoutApi => "`ssh ID.novita true`, no API key (baseline)",
            Variant::IdWithApi => "`ssh ID.novita true` with the API",
            Variant::Name => "`ssh NAME.novita true` with the API (name's ID cached)",
            Variant::NameCold => "`ssh NAME.novita true` with the API, first connection (no cache)",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Variant::IdWithoutApi => "id-no-api",
            Variant::IdWithApi => "id-api",
            Variant::Name => "name",
            Variant::NameCold => "name-cold",
        }
    }
}

/// What the Novita API costs `ssh NAME.novita true` against `ssh ID.novita true` without it.
#[derive(Debug, Parser)]
#[command(
    name = "api-setup",
    override_usage = "cargo run --release -p novita-ssh-bench --bin api-setup -- [OPTIONS]",
    after_help = "NOVITA_PROXY_BIN=/path/to/novita-proxy measures that build (else target/release)."
)]
struct Options {
    #[command(flatten)]
    setup: setup::SetupArgs,
    /// Exit 3 when `ssh NAME.novita true` with the API takes more than 1.1x `ssh ID.novita
    /// true` without it (medians)
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    match bench() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("api-setup: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<bool> {
    let opts = Options::parse();
    if std::env::var_os("NOVITA_PROXY_BIN").is_none() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "novita-proxy"])
            .status()
            .context("cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p novita-proxy failed");
        }
    }
    let proxy = bin_path("novita-proxy");
    let platform = Platform::start();
    let edge = Edge::builder().platform(&platform).start();
    let sshd = Sshd::start();
    let bridge = Bridge::start(BridgeKind::Serve, sshd.port);
    let relay = FaultRelay::start(edge.port);
    relay.set(Fault::Delay(opts.setup.delay));
    let id = platform.add(
        SandboxSpec::new()
            .name("bench")
            .port(8081, bridge.port)
            .timeout(Duration::from_secs(3600)),
    );
    let key = platform.api_key();
    let homes = tempfile::tempdir()?;
    let proxy_command = [
        proxy.display().to_string(),
        "--domain".into(),
        EDGE_DOMAIN.into(),
        "--connect-to".into(),
        format!("127.0.0.1:{}", relay.port),
        "--cacert".into(),
        edge.ca_pem.display().to_string(),
    ]
    .iter()
    .map(|a| shell_quote(a))
    .chain(std::iter::once("%h".to_owned()))
    .collect::<Vec<_>>()
    .join(" ");

    let run_one = |variant: Variant| -> Result<f64> {
        let home = homes.path().join(variant.key());
        std::fs::create_dir_all(&home)?;
        if variant == Variant::NameCold {
            let _ = std::fs::remove_dir_all(home.join(".cache"));
        }
        let host = match variant {
            Variant::IdWithoutApi | Variant::IdWithApi => format!("{id}.novita"),
            Variant::Name | Variant::NameCold => "bench.novita".to_owned(),
        };
        let mut cmd = sshd.ssh(&proxy_command);
        cmd.env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"));
        if variant != Variant::IdWithoutApi {
            cmd.env("NOVITA_API_KEY", &key);
        }
        cmd.arg(&host).arg("true").stdin(Stdio::null());
        let started = Instant::now();
        let out = cmd.output().context("run ssh")?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            bail!(
                "{} failed: {}",
                variant.key(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(ms)
    };

    let times = setup::interleave("api-setup", Variant::ALL.len(), opts.setup.runs, |i| {
        run_one(Variant::ALL[i])
    })?;
    let labels: Vec<&str> = Variant::ALL.iter().map(|v| v.label()).collect();
    let keys: Vec<&str> = Variant::ALL.iter().map(|v| v.key()).collect();
    let table = setup::table(opts.setup.delay, &labels, &times);
    println!("{table}");
    let ratio = setup::median(&times[2]) / setup::median(&times[0]);
    let ok = ratio <= 1.1;
    println!(
        "target: `ssh NAME.novita true` with the API at most 1.1x the baseline: {:.3}x, {}",
        ratio,
        if ok { "met" } else { "MISSED" }
    );
    if let Some(out) = &opts.setup.out {
        setup::append_runs(out, &keys, opts.setup.delay, &times)?;
    }
    Ok(ok || !opts.check)
}

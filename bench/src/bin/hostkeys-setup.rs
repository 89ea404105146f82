//! What verifying host keys through the platform costs connection set-up: `ssh NAME.novita
//! true` with the API and trust on first use (a pinned known_hosts entry), against the same
//! with `KnownHostsCommand novita-proxy known-hosts` and `StrictHostKeyChecking yes`: keys
//! recorded, a new sandbox's first connection (keys read through envd, the ProxyCommand's
//! background fetch on), and a first connection without that fetch. Through a relay that
//! delays every chunk 50 ms each way in front of the edge, the API and envd. Interleaved
//! runs, medians, every run kept.
//!
//! ```sh
//! cargo run --release -p novita-ssh-bench --bin hostkeys-setup -- [--runs N] [--delay-ms MS] [--out FILE]
//! ```
//!
//! Not part of the test suite: it measures.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use novita_ssh_bench::setup;
use novita_ssh_e2e::platform::{Platform, SandboxSpec};
use novita_ssh_e2e::{
    bin_path, require_tool, shell_quote, Bridge, BridgeKind, Edge, Fault, FaultRelay, Sshd,
    EDGE_DOMAIN,
};

/// One way of connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Trust on first use, the key already pinned (the baseline).
    Pinned,
    /// The platform's keys, recorded for the sandbox's ID.
    Cached,
    /// The platform's keys, a new sandbox: read through envd, the background fetch on.
    First,
    /// The same without the background fetch (known-hosts has never run here).
    FirstNoPrefetch,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Pinned,
        Variant::Cached,
        Variant::First,
        Variant::FirstNoPrefetch,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Pinned => "`ssh NAME.novita true`, accept-new, key pinned (baseline)",
            Variant::Cached => "host keys from the platform, recorded",
            Variant::First => "host keys from the platform, new sandbox (background fetch)",
            Variant::FirstNoPrefetch => {
                "host keys from the platform, new sandbox, no background fetch"
            }
        }
    }

    fn key(self) -> &'static str {
        match self {
            Variant::Pinned => "pinned",
            Variant::Cached => "keys-cached",
            Variant::First => "keys-first",
            Variant::FirstNoPrefetch => "keys-first-no-prefetch",
        }
    }
}

/// What verifying host keys through the platform costs `ssh NAME.novita true`.
#[derive(Debug, Parser)]
#[command(
    name = "hostkeys-setup",
    override_usage = "cargo run --release -p novita-ssh-bench --bin hostkeys-setup -- [OPTIONS]",
    after_help = "NOVITA_PROXY_BIN=/path/to/novita-proxy measures that build (else target/release)."
)]
struct Options {
    #[command(flatten)]
    setup: setup::SetupArgs,
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostkeys-setup: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<()> {
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
    let homes = tempfile::tempdir()?;
    let root = homes.path().join("envd-root");
    std::fs::create_dir_all(root.join("etc/ssh"))?;
    std::fs::write(
        root.join("etc/ssh/ssh_host_ed25519_key.pub"),
        format!("{}\n", sshd.host_public_key),
    )?;
    let id = platform.add(
        SandboxSpec::new()
            .name("bench")
            .port(8081, bridge.port)
            .envd_root(&root)
            .timeout(Duration::from_secs(3600)),
    );
    let key = platform.api_key();
    let options = [
        "--domain".to_owned(),
        EDGE_DOMAIN.into(),
        "--connect-to".into(),
        format!("127.0.0.1:{}", relay.port),
        "--cacert".into(),
        edge.ca_pem.display().to_string(),
    ];
    let proxy_command = std::iter::once(proxy.display().to_string())
        .chain(options.iter().cloned())
        .map(|a| shell_quote(&a))
        .chain(std::iter::once("%h".to_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    // ssh splits KnownHostsCommand itself: these paths have no spaces.
    let known_hosts_command = format!(
        "{} known-hosts {} --invocation %I --offered %K %H",
        proxy.display(),
        options.join(" ")
    );

    let run_one = |variant: Variant| -> Result<f64> {
        let home = homes.path().join(variant.key());
        let cache = home.join(".cache");
        let keys = cache.join("novita-ssh/host-keys");
        std::fs::create_dir_all(&home)?;
        match variant {
            Variant::First => {
                std::fs::create_dir_all(&keys)?;
                let _ = std::fs::remove_file(keys.join(&id));
            }
            Variant::FirstNoPrefetch => {
                let _ = std::fs::remove_dir_all(&keys);
            }
            Variant::Pinned | Variant::Cached => {}
        }
        let mut cmd = Command::new(require_tool("ssh"));
        novita_ssh_e2e::clean_env(&mut cmd);
        if variant == Variant::Pinned {
            cmd.args(sshd.ssh_base_args(&proxy_command));
        } else {
            let empty = home.join("known_hosts");
            let args = sshd.ssh_base_args(&proxy_command).into_iter().map(|a| {
                if a.starts_with("UserKnownHostsFile=") {
                    format!("UserKnownHostsFile={}", empty.display())
                } else {
                    a
                }
            });
            cmd.args(args)
                .arg("-o")
                .arg(format!("KnownHostsCommand={known_hosts_command}"));
        }
        cmd.env("HOME", &home)
            .env("XDG_CACHE_HOME", &cache)
            .env("NOVITA_API_KEY", &key)
            .arg("bench.novita")
            .arg("true")
            .stdin(Stdio::null());
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

    let times = setup::interleave("hostkeys-setup", Variant::ALL.len(), opts.setup.runs, |i| {
        run_one(Variant::ALL[i])
    })?;
    let labels: Vec<&str> = Variant::ALL.iter().map(|v| v.label()).collect();
    let keys: Vec<&str> = Variant::ALL.iter().map(|v| v.key()).collect();
    let table = setup::table(opts.setup.delay, &labels, &times);
    println!("{table}");
    if let Some(out) = &opts.setup.out {
        setup::append_runs(out, &keys, opts.setup.delay, &times)?;
    }
    Ok(())
}

//! What verifying host keys through the platform costs connection set-up: `ssh NAME.novita
//! true` with the API and trust on first use (a pinned known_hosts entry), against the same
//! with `KnownHostsCommand novita-proxy known-hosts` and `StrictHostKeyChecking yes`: keys
//! recorded, a new sandbox's first connection (keys read through envd, the ProxyCommand's
//! background fetch on), and a first connection without that fetch. Through a relay that
//! delays every chunk 50 ms each way in front of the edge, the API and envd. Interleaved
//! runs, medians, every run kept.
//!
//! ```sh
//! cargo run --release -p novita-ssh-e2e --bin hostkeys-setup -- [--runs N] [--delay-ms MS] [--out FILE]
//! ```
//!
//! Not part of the test suite: it measures.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use novita_ssh_e2e::platform::{Platform, SandboxSpec};
use novita_ssh_e2e::{
    bin_path, require_tool, shell_quote, Bridge, BridgeKind, Edge, Fault, FaultRelay, Sshd,
    EDGE_DOMAIN,
};

const USAGE: &str = "\
usage: cargo run --release -p novita-ssh-e2e --bin hostkeys-setup -- [OPTIONS]

options:
  --runs N        interleaved rounds of every variant (default 15)
  --delay-ms MS   one-way delay of the relay in front of the edge, API and envd (default 50)
  --out FILE      append every run to FILE (tab-separated) and print the table
  -h, --help      this text

NOVITA_PROXY_BIN=/path/to/novita-proxy measures that build (else target/release).";

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

struct Options {
    runs: usize,
    delay: Duration,
    out: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut o = Options {
        runs: 15,
        delay: Duration::from_millis(50),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => o.runs = it.next().context("--runs N")?.parse().context("--runs N")?,
            "--delay-ms" => {
                o.delay = Duration::from_millis(
                    it.next()
                        .context("--delay-ms MS")?
                        .parse()
                        .context("--delay-ms MS")?,
                )
            }
            "--out" => o.out = Some(it.next().context("--out FILE")?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(o)
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

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn bench() -> Result<()> {
    let opts = options()?;
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
    relay.set(Fault::Delay(opts.delay));
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

    // Warm up every path once (the name cache, and the recorded keys of the cached variant).
    for v in Variant::ALL {
        run_one(v)?;
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); Variant::ALL.len()];
    for round in 0..opts.runs {
        // Rotate the order every round so no variant always follows another.
        for k in 0..Variant::ALL.len() {
            let i = (round + k) % Variant::ALL.len();
            times[i].push(run_one(Variant::ALL[i])?);
        }
        eprintln!("hostkeys-setup: round {} of {} done", round + 1, opts.runs);
    }
    let base = median(&times[0]);
    let mut table = String::new();
    writeln!(
        table,
        "| {} ms one-way delay, {} interleaved runs | median ms | min ms | max ms | vs baseline |",
        opts.delay.as_millis(),
        opts.runs
    )?;
    writeln!(table, "|---|---:|---:|---:|---:|")?;
    for (i, v) in Variant::ALL.iter().enumerate() {
        let t = &times[i];
        let min = t.iter().copied().fold(f64::INFINITY, f64::min);
        let max = t.iter().copied().fold(0.0, f64::max);
        writeln!(
            table,
            "| {} | {:.0} | {:.0} | {:.0} | {:.2}x |",
            v.label(),
            median(t),
            min,
            max,
            median(t) / base
        )?;
    }
    println!("{table}");
    if let Some(out) = &opts.out {
        append_runs(out, &opts, &times)?;
    }
    Ok(())
}

/// Appends every run as `stamp variant delay_ms run ms` lines.
fn append_runs(path: &Path, opts: &Options, times: &[Vec<f64>]) -> Result<()> {
    use std::io::Write as _;
    let fresh = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    if fresh {
        writeln!(f, "stamp\tvariant\tdelay_ms\trun\tms")?;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for (i, v) in Variant::ALL.iter().enumerate() {
        for (run, ms) in times[i].iter().enumerate() {
            writeln!(
                f,
                "{stamp}\t{}\t{}\t{}\t{ms:.1}",
                v.key(),
                opts.delay.as_millis(),
                run + 1
            )?;
        }
    }
    Ok(())
}

//! The benchmark of the tunnel: the same fixtures as the end-to-end suite (real sshd, websocat,
//! nginx, socat), six client/server paths side by side, interleaved repetitions, medians, and
//! every run kept. Prints a Markdown report and, with `--out FILE`, writes it into FILE
//! between markers (the text around them is kept): `bench/data/latest-run.md` holds the
//! latest full run, which BENCHMARKS.md summarizes.
//!
//! ```sh
//! cargo run --release -p novita-ssh-bench -- [--quick] [--runs N] [--out bench/data/latest-run.md]
//! ```
//!
//! Linux only (it reads `/proc`). Not part of the test suite: it measures, it asserts nothing.

// The report goes to stdout; progress goes to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cpu;
mod lab;
mod machine;
mod measure;
mod reaper;
mod report;
mod results;
mod rss;
mod servers;
mod stats;

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use novita_ssh_bench::args::at_least_one;
use novita_ssh_e2e::{bin_path, random_bytes, require_tool, write_random_file};

use crate::lab::{Lab, Path, Target};
use crate::measure::Direction;
use crate::results::Results;
use crate::stats::percentile;

/// One family of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Ssh,
    Raw,
    Rtt,
    Setup,
    Concurrent,
}

impl Measure {
    const ALL: [Measure; 5] = [
        Measure::Ssh,
        Measure::Raw,
        Measure::Rtt,
        Measure::Setup,
        Measure::Concurrent,
    ];

    fn key(self) -> &'static str {
        match self {
            Measure::Ssh => "ssh",
            Measure::Raw => "raw",
            Measure::Rtt => "rtt",
            Measure::Setup => "setup",
            Measure::Concurrent => "concurrent",
        }
    }
}

/// Measures ssh and raw-stream throughput, round trips, connection set-up, memory and
/// simultaneous sessions through six client/server paths, and prints a Markdown report.
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    override_usage = "cargo run --release -p novita-ssh-bench -- [OPTIONS]",
    after_help = "NOVITA_PROXY_BIN=/path/to/novita-proxy measures another build (implies --no-build)."
)]
struct Cli {
    /// 128 MiB transfers, 3 runs, 1000 echoes, 10 set-ups, 50 sessions
    #[arg(long)]
    quick: bool,
    /// Repetitions of each throughput and round-trip measure [default: 5]
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    runs: Option<usize>,
    /// Size of each ssh and raw transfer [default: 1024]
    #[arg(long = "size", value_name = "MIB", value_parser = at_least_one::<u64>)]
    size_mib: Option<u64>,
    /// One-byte round trips per run [default: 10000]
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    echoes: Option<usize>,
    /// `ssh host true` per path [default: 30]
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    setups: Option<usize>,
    /// Simultaneous ssh sessions through one bridge [default: 200]
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    sessions: Option<usize>,
    /// Comma-separated subset of: direct,relay,websocat,proxy-websocat,proxy-serve,proxy-edge-serve
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = path_key)]
    paths: Vec<Path>,
    /// Comma-separated subset of measures: ssh,raw,rtt,setup,concurrent
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = measure_key)]
    only: Vec<Measure>,
    /// Also write the report into FILE (between its bench markers)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Do not run `cargo build --release -p novita-proxy` first
    #[arg(long)]
    no_build: bool,
    /// Exit 3 when a measured performance target is missed
    #[arg(long)]
    check: bool,
    /// Before each repetition, wait (up to 3 min) until the machine's other load is under
    /// PCT % of all CPUs (a shared machine); the load seen before each repetition is always
    /// recorded
    #[arg(long, value_name = "PCT")]
    wait_idle: Option<f64>,
}

fn path_key(key: &str) -> Result<Path, String> {
    Path::from_key(key.trim()).ok_or_else(|| "unknown path (see --help)".to_owned())
}

fn measure_key(key: &str) -> Result<Measure, String> {
    Measure::ALL
        .into_iter()
        .find(|m| m.key() == key.trim())
        .ok_or_else(|| "unknown measure (see --help)".to_owned())
}

/// What to run: the command line with the defaults (smaller with `--quick`) filled in.
#[derive(Debug)]
struct Options {
    quick: bool,
    runs: usize,
    size_mib: u64,
    echoes: usize,
    setups: usize,
    sessions: usize,
    paths: Vec<Path>,
    only: Vec<Measure>,
    out: Option<PathBuf>,
    build: bool,
    wait_idle: Option<f64>,
    check: bool,
    /// The arguments as given, for the report's command line.
    args: Vec<String>,
}

impl Options {
    fn new(cli: Cli, args: Vec<String>) -> Options {
        let quick = cli.quick;
        let mut paths = if cli.paths.is_empty() {
            Path::ALL.to_vec()
        } else {
            cli.paths
        };
        paths.sort();
        paths.dedup();
        Options {
            quick,
            runs: cli.runs.unwrap_or(if quick { 3 } else { 5 }),
            size_mib: cli.size_mib.unwrap_or(if quick { 128 } else { 1024 }),
            echoes: cli.echoes.unwrap_or(if quick { 1000 } else { 10_000 }),
            setups: cli.setups.unwrap_or(if quick { 10 } else { 30 }),
            sessions: cli.sessions.unwrap_or(if quick { 50 } else { 200 }),
            paths,
            only: if cli.only.is_empty() {
                Measure::ALL.to_vec()
            } else {
                cli.only
            },
            out: cli.out,
            build: !cli.no_build && env::var_os("NOVITA_PROXY_BIN").is_none(),
            wait_idle: cli.wait_idle.map(|pct| pct / 100.0),
            check: cli.check,
            args,
        }
    }

    fn wants(&self, m: Measure) -> bool {
        self.only.contains(&m)
    }
}

fn main() -> ExitCode {
    let opts = Options::new(Cli::parse(), env::args().skip(1).collect());
    match run(&opts) {
        Ok(missed) if opts.check && !missed.is_empty() => {
            for target in &missed {
                eprintln!("bench: target missed: {target}");
            }
            ExitCode::from(3)
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The paths in a different order on every repetition, so that no path always runs first
/// (on a cold cache) or last.
fn rotated(paths: &[Path], rep: usize) -> Vec<Path> {
    let mut v = paths.to_vec();
    if !v.is_empty() {
        let k = rep % v.len();
        v.rotate_left(k);
    }
    v
}

/// Samples the machine's load for a second before a repetition; with `--wait-idle`, waits
/// until it is low enough. Records what it saw.
fn settle(opts: &Options, results: &mut Results, label: &str) {
    let window = Duration::from_secs(1);
    let mut busy = machine::busy_fraction(window);
    if let Some(max) = opts.wait_idle {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        while busy.is_some_and(|b| b > max) && std::time::Instant::now() < deadline {
            eprintln!(
                "bench: machine {:.0}% busy, waiting for under {:.0}%",
                busy.unwrap_or(0.0) * 100.0,
                max * 100.0
            );
            std::thread::sleep(Duration::from_secs(4));
            busy = machine::busy_fraction(window);
        }
    }
    if let Some(b) = busy {
        results.busy.push((label.to_owned(), b));
    }
}

fn build_proxy() -> Result<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release -p novita-proxy");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "novita-proxy",
            "--bin",
            "novita-proxy",
        ])
        .status()
        .context("run cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p novita-proxy failed ({status})");
    }
    Ok(())
}

fn sizes(
    dir: &std::path::Path,
    proxy: Option<&std::path::Path>,
) -> Vec<(String, u64, Option<u64>)> {
    let mut out = Vec::new();
    let mut bins = vec![
        ("websocat", require_tool("websocat")),
        ("socat", require_tool("socat")),
    ];
    if let Some(p) = proxy {
        bins.insert(0, ("novita-proxy", p.to_path_buf()));
    }
    for (name, path) in bins {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let copy = dir.join(format!("{name}.stripped"));
        let stripped = fs::copy(&path, &copy)
            .ok()
            .and_then(|_| Command::new("strip").arg(&copy).status().ok())
            .filter(|s| s.success())
            .and_then(|_| fs::metadata(&copy).ok())
            .map(|m| m.len());
        let _ = fs::remove_file(&copy);
        out.push((name.to_owned(), meta.len(), stripped));
    }
    out
}

/// Runs the bench; returns the targets it measured and missed.
fn run(opts: &Options) -> Result<Vec<String>> {
    if cfg!(debug_assertions) {
        bail!("build the bench with --release: cargo run --release -p novita-ssh-bench");
    }
    for tool in ["ssh", "sshd", "ssh-keygen", "socat", "websocat", "nginx"] {
        require_tool(tool);
    }
    if opts.build && opts.paths.iter().any(|p| p.uses_proxy()) {
        build_proxy()?;
    }
    let with_proxy = opts.paths.iter().any(|p| p.uses_proxy());
    if with_proxy {
        let proxy = bin_path("novita-proxy");
        if env::var_os("NOVITA_PROXY_BIN").is_none()
            && !proxy.parent().is_some_and(|d| d.ends_with("release"))
        {
            bail!(
                "{} is not a release build: run the bench with cargo run --release",
                proxy.display()
            );
        }
    }
    // First, so that every child inherits it, and dropped last.
    let account = cpu::CpuAccount::join();
    if account.is_none() {
        eprintln!("bench: no writable cgroup for CPU accounting: the CPU table stays empty");
    }
    let acct = account.as_ref();
    let load_before = machine::load();
    eprintln!("bench: load average before: {load_before}");

    let shm = std::path::Path::new("/dev/shm");
    let data = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("novita-bench-data-")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new()
            .prefix("novita-bench-data-")
            .tempdir()
    }
    .context("create the data directory")?;
    // Every fixture makes its temporary directory under TMPDIR: put them all in the data
    // directory, so that one removal cleans up after an interrupted run too. Nothing else
    // runs yet, so changing the environment is safe.
    env::set_var("TMPDIR", data.path());
    let _reaper = reaper::Reaper::start(
        account.as_ref().map(cpu::CpuAccount::dir),
        &[data.path().to_path_buf()],
    );
    let len = opts.size_mib * 1024 * 1024;
    let block = Arc::new(random_bytes(1 << 20));
    let file = data.path().join("payload.bin");
    let mut results = Results::default();
    if opts.wants(Measure::Ssh) {
        eprintln!("bench: writing {} MiB of random data", opts.size_mib);
        write_random_file(&file, len);
    }

    eprintln!("bench: starting sshd, relays, bridges and the TLS edge");
    let lab = Lab::start(len, block.clone(), &opts.paths, data.path());
    let paths = &opts.paths;
    let limit = Duration::from_secs(600);

    // Warm-up: one connection per path (caches, page cache of the binaries, sshd's first
    // fork) that is not recorded.
    for &path in paths {
        if let Err(e) = measure::ssh_true(&lab, path, Duration::from_secs(60)) {
            eprintln!("bench: warm-up through {path} failed: {e:#}");
        }
    }

    if opts.wants(Measure::Ssh) {
        for rep in 0..opts.runs {
            settle(opts, &mut results, &format!("ssh {}", rep + 1));
            for direction in [Direction::Upload, Direction::Download] {
                for path in rotated(paths, rep) {
                    let meter = cpu::Meter::start(acct);
                    let r = measure::ssh_transfer(&lab, path, direction, &file, len, limit);
                    let cpu = meter.stop(acct).map(|s| s * 1000.0 / opts.size_mib as f64);
                    let (series, cpu_series, name) = match direction {
                        Direction::Upload => {
                            (&mut results.upload, &mut results.upload_cpu, "upload")
                        }
                        Direction::Download => {
                            (&mut results.download, &mut results.download_cpu, "download")
                        }
                    };
                    if let (Ok(_), Some(c)) = (&r, cpu) {
                        cpu_series.push(path, Ok(c));
                    }
                    report_run(name, path, rep, opts.runs, &r.as_ref().map(|t| t.mib_s));
                    if let Ok(t) = &r {
                        Results::peak(&mut results.client_kib, path, t.client_kib);
                    }
                    series.push(path, r.map(|t| t.mib_s).map_err(|e| format!("{e:#}")));
                }
            }
        }
        for path in [Path::Websocat, Path::ProxyServe] {
            if paths.contains(&path) {
                let kib = lab.server_pid(path, Target::Sshd).and_then(rss::vm_hwm_kib);
                Results::peak(&mut results.server_kib, path, kib);
            }
        }
    }

    if opts.wants(Measure::Raw) {
        for rep in 0..opts.runs {
            settle(opts, &mut results, &format!("raw {}", rep + 1));
            for path in rotated(paths, rep) {
                let meter = cpu::Meter::start(acct);
                let r = measure::raw_upload(&lab, path, len, &block, limit);
                if let (Ok(_), Some(c)) = (&r, meter.stop(acct)) {
                    results
                        .raw_up_cpu
                        .push(path, Ok(c * 1000.0 / opts.size_mib as f64));
                }
                report_run("raw up", path, rep, opts.runs, &r.as_ref().map(|t| t.mib_s));
                if let Ok(t) = &r {
                    Results::peak(&mut results.client_raw_kib, path, t.client_kib);
                }
                results
                    .raw_up
                    .push(path, r.map(|t| t.mib_s).map_err(|e| format!("{e:#}")));
            }
            for path in rotated(paths, rep) {
                let meter = cpu::Meter::start(acct);
                let r = measure::raw_download(&lab, path, len, limit);
                if let (Ok(_), Some(c)) = (&r, meter.stop(acct)) {
                    results
                        .raw_down_cpu
                        .push(path, Ok(c * 1000.0 / opts.size_mib as f64));
                }
                report_run(
                    "raw down",
                    path,
                    rep,
                    opts.runs,
                    &r.as_ref().map(|t| t.mib_s),
                );
                if let Ok(t) = &r {
                    Results::peak(&mut results.client_raw_kib, path, t.client_kib);
                }
                results
                    .raw_down
                    .push(path, r.map(|t| t.mib_s).map_err(|e| format!("{e:#}")));
            }
        }
    }

    if opts.wants(Measure::Rtt) {
        for rep in 0..opts.runs {
            settle(opts, &mut results, &format!("rtt {}", rep + 1));
            for path in rotated(paths, rep) {
                match measure::round_trips(&lab, path, opts.echoes, Duration::from_secs(300)) {
                    Ok(mut times) => {
                        times.sort_by(f64::total_cmp);
                        let p50 = percentile(&times, 50.0).unwrap_or(f64::NAN);
                        let p99 = percentile(&times, 99.0).unwrap_or(f64::NAN);
                        eprintln!(
                            "bench: round trip {path} run {}/{}: p50 {p50:.0} us, p99 {p99:.0} us",
                            rep + 1,
                            opts.runs
                        );
                        results.rtt_p50.push(path, Ok(p50));
                        results.rtt_p99.push(path, Ok(p99));
                    }
                    Err(e) => {
                        eprintln!("bench: round trip {path} failed: {e:#}");
                        results.rtt_p50.push(path, Err(format!("{e:#}")));
                        results.rtt_p99.push(path, Err(format!("{e:#}")));
                    }
                }
            }
        }
    }

    if opts.wants(Measure::Setup) {
        for i in 0..opts.setups {
            if i.is_multiple_of(10) {
                settle(opts, &mut results, &format!("setup {}", i + 1));
            }
            for path in rotated(paths, i) {
                let r = measure::ssh_true(&lab, path, Duration::from_secs(60));
                if let Err(e) = &r {
                    eprintln!("bench: ssh true through {path} failed: {e:#}");
                }
                results.setup.push(path, r.map_err(|e| format!("{e:#}")));
            }
        }
        eprintln!("bench: ssh true x{} per path done", opts.setups);
    }

    if opts.wants(Measure::Concurrent) {
        for path in [Path::ProxyServe, Path::Websocat] {
            if !paths.contains(&path) {
                continue;
            }
            settle(opts, &mut results, &format!("sessions {path}"));
            let r = measure::concurrent(&lab, path, opts.sessions, 1 << 20, limit);
            match &r {
                Ok(c) => eprintln!(
                    "bench: {} sessions through {path}: {} ok in {:.1} s",
                    c.sessions, c.ok, c.secs
                ),
                Err(e) => eprintln!("bench: sessions through {path} failed: {e:#}"),
            }
            results
                .concurrency
                .push((path, r.map_err(|e| format!("{e:#}"))));
        }
    }

    let load_after = machine::load();
    let mut machine = machine::describe();
    machine.push(("load average before (1/5/15 min)".to_owned(), load_before));
    machine.push(("load average after".to_owned(), load_after));
    for (name, program, args) in [
        ("OpenSSH", require_tool("ssh"), &["-V"][..]),
        ("websocat", require_tool("websocat"), &["--version"][..]),
        ("socat", require_tool("socat"), &["-V"][..]),
        ("nginx", require_tool("nginx"), &["-v"][..]),
    ] {
        let mut line = machine::first_line(&program, args);
        if name == "socat" {
            // `socat -V` starts with a banner line; the version is on the second.
            line = Command::new(&program)
                .arg("-V")
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .find(|l| l.contains("version"))
                        .map(|l| l.trim().to_owned())
                })
                .unwrap_or(line);
        }
        machine.push((name.to_owned(), line));
    }
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if let Some(proxy) = lab.proxy_bin() {
        machine.push((
            "novita-proxy".to_owned(),
            machine::first_line(proxy, &["--version"]),
        ));
    }
    machine.push(("date".to_owned(), date));

    let ctx = report::Context {
        machine,
        command: format!(
            "cargo run --release -p novita-ssh-bench --{}",
            opts.args
                .iter()
                .map(|a| format!(" {}", novita_ssh_e2e::shell_quote(a)))
                .collect::<String>()
        ),
        settings: vec![
            (
                "transfer size (ssh and raw)".to_owned(),
                format!("{} MiB", opts.size_mib),
            ),
            (
                "repetitions".to_owned(),
                format!(
                    "{} per path (round-robin over the paths, rotated each repetition)",
                    opts.runs
                ),
            ),
            (
                "round trips per run".to_owned(),
                format!("{} (after 200 untimed)", opts.echoes),
            ),
            (
                "`ssh host true` per path".to_owned(),
                opts.setups.to_string(),
            ),
            (
                "simultaneous sessions".to_owned(),
                format!("{} x `head -c 1048576 /dev/zero`", opts.sessions),
            ),
        ],
        sizes: sizes(lab.dir(), lab.proxy_bin()),
        paths: paths.clone(),
        quick: opts.quick,
    };
    let targets = report::targets(&results, &ctx);
    let section = report::render(&results, &ctx, &targets);
    println!("{section}");
    if let Some(out) = &opts.out {
        let existing = fs::read_to_string(out).ok();
        fs::write(out, report::splice(existing.as_deref(), &section))
            .with_context(|| format!("write {}", out.display()))?;
        eprintln!("bench: wrote {}", out.display());
    }
    if let Some(l) = machine::load1() {
        eprintln!("bench: load average after: {l:.2}");
    }
    Ok(targets
        .into_iter()
        .filter(|(_, _, verdict)| *verdict == Some(false))
        .map(|(target, measured, _)| format!("{target}: {measured}"))
        .collect())
}

fn report_run(what: &str, path: Path, rep: usize, runs: usize, r: &Result<f64, &anyhow::Error>) {
    match r {
        Ok(v) => eprintln!("bench: {what} {path} run {}/{runs}: {v:.0} MiB/s", rep + 1),
        Err(e) => eprintln!("bench: {what} {path} run {}/{runs} failed: {e:#}", rep + 1),
    }
}

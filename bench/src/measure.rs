//! One run of each measure. Every function returns an error (never panics) when a run fails,
//! so that a broken path shows up as failed runs in the table instead of ending the bench.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use novita_ssh_e2e::shell_quote;

use crate::lab::{Lab, Path, Target};
use crate::rss::{vm_hwm_kib, HwmPoller, Watch};

const MIB: f64 = 1_048_576.0;

/// A timed transfer.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    /// MiB/s.
    pub mib_s: f64,
    /// The client's peak RSS in KiB, when it was seen.
    pub client_kib: Option<u64>,
}

/// The direction of an ssh transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `ssh host 'cat >/dev/null' < file`.
    Upload,
    /// `ssh host 'cat file' > /dev/null`.
    Download,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Kills a process (and its group) unless dropped first: the guard against a hung run.
struct Watchdog {
    done: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(pid: u32, limit: Duration) -> Watchdog {
        let (done, rx) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                kill_tree(pid);
            }
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.done.send(());
    }
}

/// SIGKILL to the process group led by `pid` and to `pid` itself (through kill(1): the
/// bench has no unsafe code).
fn kill_tree(pid: u32) {
    for target in [format!("-{pid}"), pid.to_string()] {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &target])
            .stderr(Stdio::null())
            .status();
    }
}

/// Makes the child lead its own process group, so that a hung ssh is killed together with
/// its ProxyCommand.
fn own_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(not(unix))]
    let _ = cmd;
}

fn spawn(cmd: &mut Command, log: &std::path::Path) -> Result<Child> {
    own_group(cmd);
    let err = File::create(log).with_context(|| format!("create {}", log.display()))?;
    cmd.stderr(err);
    cmd.spawn().with_context(|| format!("start {cmd:?}"))
}

fn wait(child: &mut Child, limit: Duration) -> Result<ExitStatus> {
    let guard = Watchdog::start(child.id(), limit);
    let status = child.wait().context("wait for the child")?;
    drop(guard);
    Ok(status)
}

/// Ends a client that is not needed any more: a short grace period, then SIGKILL.
fn finish(child: &mut Child, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    kill_tree(child.id());
    let _ = child.wait();
}

/// What [`drain`] read.
struct Drained {
    /// Bytes read.
    bytes: u64,
    /// When the first and the last bytes arrived (`None`: none did).
    span: Option<(Instant, Instant)>,
    /// The size of the first read, which arrived when the clock started.
    first: u64,
    /// The first bytes read, up to the `keep` asked for.
    head: Vec<u8>,
}

impl Drained {
    /// Seconds from the first to the last byte.
    fn secs(&self) -> Option<f64> {
        self.span.map(|(a, b)| b.duration_since(a).as_secs_f64())
    }

    /// MiB/s of what arrived after the clock started (everything but the first read) over
    /// [`Drained::secs`], as the upload's rate counts every byte after the first.
    fn mib_s(&self) -> Option<f64> {
        let secs = self.secs()?;
        Some((self.bytes - self.first) as f64 / MIB / secs.max(1e-9))
    }
}

/// Reads `from` until its end, an error, or `until` bytes, counting what arrives and keeping
/// the first `keep` bytes.
fn drain(from: &mut impl Read, until: u64, keep: usize) -> Drained {
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = Drained {
        bytes: 0,
        span: None,
        first: 0,
        head: Vec::new(),
    };
    while out.bytes < until {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let now = Instant::now();
                if out.span.is_none() {
                    out.first = n as u64;
                }
                out.span = Some((out.span.map_or(now, |(first, _)| first), now));
                out.bytes += n as u64;
                let room = keep.saturating_sub(out.head.len()).min(n);
                out.head.extend_from_slice(&buf[..room]);
            }
        }
    }
    out
}

fn log_tail(log: &std::path::Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    let tail: Vec<&str> = lines.into_iter().rev().collect();
    tail.join(" | ")
}

/// The remote half of a timed upload: swallow the first byte, note the time, swallow the
/// rest, note the time, print both (nanoseconds). The rate is measured while data flows,
/// without the connection set-up, which has its own measure.
const TIMED_SINK: &str = "dd bs=1 count=1 of=/dev/null status=none && a=$(date +%s%N) && \
                          cat >/dev/null && b=$(date +%s%N) && echo \"$a $b\"";

/// One ssh upload or download of `file` (`len` bytes): MiB/s from the first to the last byte
/// (upload: at the remote end, `cat >/dev/null` with timestamps; download: `cat file` read by
/// the bench from ssh's stdout, every byte counted).
pub fn ssh_transfer(
    lab: &Lab,
    path: Path,
    direction: Direction,
    file: &std::path::Path,
    len: u64,
    limit: Duration,
) -> Result<Transfer> {
    let n = seq();
    let pid_file = lab.dir().join(format!("client-{n}.pid"));
    let log = lab.dir().join(format!("ssh-{n}.log"));
    let watch_client = path != Path::Direct;
    let mut cmd = lab.ssh(path, watch_client.then_some(pid_file.as_path()), &[]);
    match direction {
        Direction::Upload => {
            cmd.arg(TIMED_SINK);
            cmd.stdin(File::open(file).with_context(|| format!("open {}", file.display()))?);
        }
        Direction::Download => {
            cmd.arg(format!("cat {}", shell_quote(&file.display().to_string())));
            cmd.stdin(Stdio::null());
        }
    }
    cmd.stdout(Stdio::piped());
    let poller = watch_client.then(|| HwmPoller::start(Watch::PidFile(pid_file.clone())));
    let mut child = spawn(&mut cmd, &log)?;
    let guard = Watchdog::start(child.id(), limit);
    let mut stdout = child.stdout.take().context("ssh's stdout")?;
    let keep = if direction == Direction::Upload {
        200
    } else {
        0
    };
    let read = drain(&mut stdout, u64::MAX, keep);
    let status = child.wait().context("wait for ssh")?;
    drop(guard);
    let client_kib = poller.and_then(HwmPoller::finish);
    let _ = fs::remove_file(&pid_file);
    if !status.success() {
        bail!("ssh exited with {status}: {}", log_tail(&log));
    }
    let mib_s = match direction {
        Direction::Download => {
            if read.bytes != len {
                bail!(
                    "ssh delivered {} of {len} bytes: {}",
                    read.bytes,
                    log_tail(&log)
                );
            }
            read.mib_s().context("no bytes")?
        }
        Direction::Upload => {
            let line = String::from_utf8_lossy(&read.head).into_owned();
            let stamps: Vec<u64> = line
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            // The remote clock starts after the first byte.
            match stamps[..] {
                [a, b] if b > a => (len - 1) as f64 / MIB / ((b - a) as f64 / 1e9),
                _ => bail!("the remote timing printed {line:?}: {}", log_tail(&log)),
            }
        }
    };
    let _ = fs::remove_file(&log);
    Ok(Transfer { mib_s, client_kib })
}

/// `ssh host true`, in milliseconds.
pub fn ssh_true(lab: &Lab, path: Path, limit: Duration) -> Result<f64> {
    let log = lab.dir().join(format!("ssh-{}.log", seq()));
    let mut cmd = lab.ssh(path, None, &[]);
    cmd.arg("true").stdin(Stdio::null()).stdout(Stdio::null());
    let start = Instant::now();
    let mut child = spawn(&mut cmd, &log)?;
    let status = wait(&mut child, limit)?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !status.success() {
        bail!("ssh exited with {status}: {}", log_tail(&log));
    }
    let _ = fs::remove_file(&log);
    Ok(ms)
}

fn start_client(lab: &Lab, path: Path, target: Target, stdout: Stdio) -> Result<(Child, String)> {
    let argv = lab.client_argv(path, target);
    let log = lab.dir().join(format!("client-{}.log", seq()));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::piped()).stdout(stdout);
    let child = spawn(&mut cmd, &log)?;
    Ok((child, log.display().to_string()))
}

/// The raw stream from the client's stdin to the sink: MiB/s between the sink's first and
/// last byte.
pub fn raw_upload(
    lab: &Lab,
    path: Path,
    len: u64,
    block: &Arc<Vec<u8>>,
    limit: Duration,
) -> Result<Transfer> {
    lab.sink.drain();
    let (mut child, log) = start_client(lab, path, Target::Sink, Stdio::null())?;
    let guard = Watchdog::start(child.id(), limit);
    let poller = HwmPoller::start(Watch::Pid(child.id()));
    let mut stdin = child.stdin.take().context("the client's stdin")?;
    let block = block.clone();
    let writer = thread::spawn(move || -> std::io::Result<()> {
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
            stdin.write_all(&block[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let arrival = lab.sink.next(limit);
    let written = writer.join();
    let client_kib = poller.finish();
    finish(&mut child, Duration::from_secs(3));
    drop(guard);
    let arrival =
        arrival.ok_or_else(|| anyhow!("nothing reached the sink: {}", log_tail(log.as_ref())))?;
    if arrival.bytes < len {
        bail!(
            "the sink got {} of {len} bytes ({:?}): {}",
            arrival.bytes,
            written,
            log_tail(log.as_ref())
        );
    }
    Ok(Transfer {
        mib_s: arrival.mib_per_s(),
        client_kib,
    })
}

/// The raw stream from the source to the client's stdout: MiB/s between the first and the
/// last byte read from the client.
pub fn raw_download(lab: &Lab, path: Path, len: u64, limit: Duration) -> Result<Transfer> {
    let (mut child, log) = start_client(lab, path, Target::Source, Stdio::piped())?;
    let guard = Watchdog::start(child.id(), limit);
    let poller = HwmPoller::start(Watch::Pid(child.id()));
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take().context("the client's stdout")?;
    let read = drain(&mut stdout, len, 0);
    let client_kib = poller.finish();
    drop(stdin);
    drop(stdout);
    finish(&mut child, Duration::from_secs(3));
    drop(guard);
    let Some(mib_s) = read.mib_s() else {
        bail!("no bytes from the client: {}", log_tail(log.as_ref()));
    };
    if read.bytes < len {
        bail!(
            "the client delivered {} of {len} bytes: {}",
            read.bytes,
            log_tail(log.as_ref())
        );
    }
    Ok(Transfer { mib_s, client_kib })
}

/// `count` one-byte round trips through `path` to the echo server (after 200 untimed ones),
/// each in microseconds. [`Path::Direct`] is the bench's own TCP socket to the echo server.
pub fn round_trips(lab: &Lab, path: Path, count: usize, limit: Duration) -> Result<Vec<f64>> {
    const WARM_UP: usize = 200;
    if path == Path::Direct {
        let mut conn = TcpStream::connect(("127.0.0.1", lab.echo.port)).context("connect")?;
        conn.set_nodelay(true)?;
        conn.set_read_timeout(Some(limit))?;
        let mut reader = conn.try_clone()?;
        return ping_pong(&mut conn, &mut reader, WARM_UP, count);
    }
    let (mut child, log) = start_client(lab, path, Target::Echo, Stdio::piped())?;
    let guard = Watchdog::start(child.id(), limit);
    let mut stdin = child.stdin.take().context("the client's stdin")?;
    let mut stdout = child.stdout.take().context("the client's stdout")?;
    let result = ping_pong(&mut stdin, &mut stdout, WARM_UP, count);
    drop(stdin);
    drop(stdout);
    finish(&mut child, Duration::from_secs(3));
    drop(guard);
    result.with_context(|| log_tail(log.as_ref()))
}

fn ping_pong(
    out: &mut impl Write,
    input: &mut impl Read,
    warm_up: usize,
    count: usize,
) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(count);
    let mut byte = [0u8; 1];
    for i in 0..warm_up + count {
        let sent = [(i % 251) as u8];
        let start = Instant::now();
        out.write_all(&sent)?;
        input
            .read_exact(&mut byte)
            .context("the echo did not come back")?;
        let us = start.elapsed().as_secs_f64() * 1e6;
        if byte != sent {
            bail!("echo {i}: sent {:?}, got {:?}", sent, byte);
        }
        if i >= warm_up {
            times.push(us);
        }
    }
    Ok(times)
}

/// The result of many simultaneous ssh sessions through one fresh bridge.
#[derive(Debug, Clone)]
pub struct Concurrency {
    /// Sessions that exited 0 with every byte.
    pub ok: usize,
    /// Sessions started.
    pub sessions: usize,
    /// From the first start to the last exit, seconds.
    pub secs: f64,
    /// The bridge's peak RSS in KiB.
    pub server_kib: Option<u64>,
    /// The first few failures.
    pub failures: Vec<String>,
}

/// `sessions` simultaneous `ssh host 'head -c <bytes> /dev/zero'` through a fresh bridge for
/// `path` (serve for the novita-proxy paths, the websocat server for [`Path::Websocat`]).
pub fn concurrent(
    lab: &Lab,
    path: Path,
    sessions: usize,
    bytes: u64,
    limit: Duration,
) -> Result<Concurrency> {
    let bridge = lab.fresh_bridge(path);
    let needle = match path {
        Path::Websocat | Path::ProxyWebsocat => format!("ws-l:127.0.0.1:{}", bridge.port),
        _ => format!("--listen 127.0.0.1:{}", bridge.port),
    };
    let server_pid = novita_ssh_e2e::processes_matching(&needle)
        .into_iter()
        .min()
        .ok_or_else(|| anyhow!("the fresh bridge's process was not found"))?;
    let remote = format!("head -c {bytes} /dev/zero");
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..sessions {
        let mut cmd = lab.ssh_via(path, &bridge, &["-o", "ConnectTimeout=120"]);
        cmd.arg(&remote).stdin(Stdio::null()).stdout(Stdio::piped());
        let log = lab.dir().join(format!("concurrent-{}.log", seq()));
        let child = spawn(&mut cmd, &log);
        handles.push(thread::spawn(move || -> Result<()> {
            let mut child = child?;
            let guard = Watchdog::start(child.id(), limit);
            let mut stdout = child.stdout.take().context("stdout")?;
            let mut got = 0u64;
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got += n as u64;
            }
            let status = child.wait()?;
            drop(guard);
            if !status.success() || got != bytes {
                bail!("exit {status}, {got} bytes: {}", log_tail(&log));
            }
            let _ = fs::remove_file(&log);
            Ok(())
        }));
    }
    let mut ok = 0;
    let mut failures = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(_) => failures.push("a session thread panicked".to_owned()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let server_kib = vm_hwm_kib(server_pid);
    failures.truncate(5);
    Ok(Concurrency {
        ok,
        sessions,
        secs,
        server_kib,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_counts_every_byte_and_the_first_read_apart() {
        let data = vec![7u8; 300 * 1024];
        let read = drain(&mut &data[..], u64::MAX, 10);
        assert_eq!(read.bytes, 300 * 1024);
        assert_eq!(
            read.first,
            256 * 1024,
            "the first read is the buffer's size"
        );
        assert_eq!(read.head, vec![7u8; 10]);
        assert!(read.mib_s().is_some_and(|r| r > 0.0));
        assert!(drain(&mut &[][..], u64::MAX, 0).mib_s().is_none());
    }
}

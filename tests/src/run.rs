//! Running client commands with a hang guard, and driving an interactive session on a pty.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{kill_group, own_process_group};
use crate::require_tool;

/// What a finished command did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
    /// How long it ran (for hang diagnostics, never for speed assertions).
    pub elapsed: Duration,
}

impl Outcome {
    /// The exit code, or -1 when killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// stdout, lossily decoded.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The one line on stderr (a failure's message); panics, showing stderr, when there
    /// are none or several.
    pub fn stderr_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.trim().lines().collect();
        assert_eq!(lines.len(), 1, "not one line on stderr: {:?}", self.stderr);
        lines[0]
    }
}

/// Runs `cmd` with `input` on stdin (closed afterwards; `None` = empty stdin), capturing
/// stdout and stderr.
///
/// # Panics
/// When it runs longer than `limit` (a hang): the command's process group is killed and the
/// panic shows what it printed so far.
pub fn run(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> Outcome {
    let start = Instant::now();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    own_process_group(cmd);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let stdin = child.stdin.take();
    let input = input.map(<[u8]>::to_vec);
    let writer = thread::spawn(move || {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            let _ = stdin.write_all(&input);
        }
    });
    let out = collect(child.stdout.take());
    let err = collect(child.stderr.take());
    let status = wait_limited(&mut child, limit).unwrap_or_else(|| {
        kill_group(child.id());
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{cmd:?} still running after {limit:?} (a hang); stderr so far:\n{}",
            String::from_utf8_lossy(&err.0.lock().unwrap())
        )
    });
    let _ = writer.join();
    // The pipes close when every holder exits; give stragglers (a proxy that ssh left behind)
    // a moment, but never wait for them forever.
    let stdout = drain(&out, &mut child);
    let stderr = String::from_utf8_lossy(&drain(&err, &mut child)).into_owned();
    Outcome {
        status,
        stdout,
        stderr,
        elapsed: start.elapsed(),
    }
}

/// [`run`] with empty stdin, asserting exit status 0.
///
/// # Panics
/// On a non-zero exit, with stderr.
pub fn run_ok(cmd: &mut Command, limit: Duration) -> Outcome {
    let out = run(cmd, None, limit);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\nstderr: {}\nstdout: {}",
        out.status,
        out.stderr,
        String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(2000)])
    );
    out
}

type Buffer = Arc<Mutex<Vec<u8>>>;

fn collect(pipe: Option<impl Read + Send + 'static>) -> (Buffer, thread::JoinHandle<()>) {
    let buf: Buffer = Arc::default();
    let sink = buf.clone();
    let handle = thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 65536];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, handle)
}

fn drain((buf, handle): &(Buffer, thread::JoinHandle<()>), _child: &mut Child) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !handle.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    std::mem::take(&mut *buf.lock().unwrap())
}

fn wait_limited(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Quotes `s` for a POSIX shell (ssh runs a ProxyCommand through the user's shell).
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A running command to converse with: write to its stdin, wait for text in its output,
/// then wait for it to exit. The process group is killed on drop.
///
/// [`Session::pty`] runs the command on a local pseudo-terminal (through util-linux
/// `script`), as a person at a terminal would.
#[derive(Debug)]
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Buffer,
    stderr: Buffer,
    stdout_len: Arc<AtomicU64>,
    seen: usize,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Session {
    /// Starts `cmd` with piped stdin, stdout and stderr. stdout and stderr are both
    /// searched by [`Session::expect`]; stderr is also kept apart ([`Session::stderr_text`]).
    pub fn spawn(cmd: &mut Command) -> Session {
        Session::start(cmd, true)
    }

    /// Like [`Session::spawn`], but stdout is only counted ([`Session::stdout_len`]), not
    /// kept: for endless streams.
    pub fn spawn_discarding_stdout(cmd: &mut Command) -> Session {
        Session::start(cmd, false)
    }

    /// Starts `argv` on a new local pty (`script`), stdout and stderr merged.
    pub fn pty(argv: &[String]) -> Session {
        let line = argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new(require_tool("script"));
        if cfg!(any(target_os = "macos", target_os = "freebsd")) {
            // BSD script: script -q FILE COMMAND...
            cmd.args(["-q", "/dev/null", "/bin/sh", "-c", &line]);
        } else {
            // util-linux script: quiet, flush at once, return the command's exit status.
            cmd.args(["-q", "-f", "-e", "-c", &line, "/dev/null"]);
        }
        Session::start(&mut cmd, true)
    }

    fn start(cmd: &mut Command, keep_stdout: bool) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        own_process_group(cmd);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let stdin = child.stdin.take();
        let output: Buffer = Arc::default();
        let stderr: Buffer = Arc::default();
        let stdout_len = Arc::new(AtomicU64::new(0));
        let mut readers = Vec::new();
        if let Some(mut pipe) = child.stdout.take() {
            let (sink, count) = (output.clone(), stdout_len.clone());
            readers.push(thread::spawn(move || {
                let mut chunk = vec![0u8; 65536];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    count.fetch_add(n as u64, Ordering::SeqCst);
                    if keep_stdout {
                        sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                    }
                }
            }));
        }
        if let Some(mut pipe) = child.stderr.take() {
            let (sink, apart) = (output.clone(), stderr.clone());
            readers.push(thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                    apart.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            }));
        }
        Session {
            child,
            stdin,
            output,
            stderr,
            stdout_len,
            seen: 0,
            readers,
        }
    }

    /// Writes `text` to stdin (on a pty, include `\n` to press Enter).
    pub fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes());
    }

    /// Writes raw bytes to stdin.
    pub fn send_bytes(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin.write_all(data).expect("write to the session's stdin");
        stdin.flush().unwrap();
    }

    /// Closes stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits until `needle` appears in the output after everything already matched.
    ///
    /// # Panics
    /// After `limit`, with the whole output.
    pub fn expect(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            {
                let out = self.output.lock().unwrap();
                let rest = &out[self.seen.min(out.len())..];
                if let Some(at) = find(rest, needle.as_bytes()) {
                    self.seen += at + needle.len();
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} did not appear within {limit:?}; output so far:\n{}",
                self.output_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the command printed so far (stdout if kept, and stderr).
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Everything the command wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// How many bytes the command wrote to stdout so far.
    pub fn stdout_len(&self) -> u64 {
        self.stdout_len.load(Ordering::SeqCst)
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the command to exit.
    ///
    /// # Panics
    /// When it does not exit within `limit` (a hang), with its output.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let status = wait_limited(&mut self.child, limit).unwrap_or_else(|| {
            panic!(
                "the command did not exit within {limit:?} (a hang); output:\n{}",
                self.output_text()
            )
        });
        // Let the readers drain what was written just before the exit: they end at the
        // pipes' EOF, unless a leftover grandchild still holds a pipe open.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.readers.iter().all(thread::JoinHandle::is_finished) && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(5));
        }
        status
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stdin.take();
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

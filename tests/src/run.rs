//! Running client commands with a hang guard, and driving an interactive session on a pty.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
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

/// A command running on a local pseudo-terminal (through util-linux `script`), as a person
/// at a terminal would run it: type with [`Interactive::send`], read with
/// [`Interactive::expect`]. The process group is killed on drop.
#[derive(Debug)]
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Buffer,
    seen: usize,
}

impl Interactive {
    /// Starts `argv` on a new pty.
    pub fn start(argv: &[String]) -> Interactive {
        let line = argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new(require_tool("script"));
        cmd.args(["-q", "-f", "-e", "-c", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        own_process_group(&mut cmd);
        let mut child = cmd.spawn().expect("start script");
        let stdin = child.stdin.take();
        let output: Buffer = Arc::default();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = output.clone();
            thread::spawn(move || {
                let mut pipe = pipe;
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            });
        }
        Interactive {
            child,
            stdin,
            output,
            seen: 0,
        }
    }

    /// Types `text` (include `\n` or `\r` to press Enter).
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(text.as_bytes()).expect("write to the pty");
        stdin.flush().unwrap();
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
                let text = String::from_utf8_lossy(&out[self.seen.min(out.len())..]).into_owned();
                if let Some(at) = text.find(needle) {
                    self.seen += text[..at + needle.len()].len();
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

    /// Everything the session printed so far.
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits for the command to exit.
    ///
    /// # Panics
    /// When it does not exit within `limit` (a hang).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        wait_limited(&mut self.child, limit).unwrap_or_else(|| {
            panic!(
                "the interactive session did not exit within {limit:?}; output:\n{}",
                self.output_text()
            )
        })
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        self.stdin.take();
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

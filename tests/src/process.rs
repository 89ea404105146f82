//! A child process that dies with its fixture: own process group, output captured to a log
//! file, killed (with its whole group) on drop, log printed when the test is panicking.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child process, killed with its process group on drop.
///
/// stdout and stderr go to a log file ([`Proc::log`]); when the thread that owns the guard is
/// panicking, the log is printed to stderr so a failing test shows what the fixture said.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdin closed and stdout/stderr appended to `log`.
    ///
    /// # Panics
    /// When the program cannot be started.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().unwrap();
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        own_process_group(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({cmd:?}): {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the process is still running (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for `cond(log)` to hold, panicking with the log otherwise (or as
    /// soon as the process exits).
    pub fn wait_for_log(&mut self, timeout: Duration, what: &str, cond: impl Fn(&str) -> bool) {
        if let Err(e) = self.try_wait_for_log(timeout, what, cond) {
            panic!("{e}");
        }
    }

    /// [`Proc::wait_for_log`] that returns the failure (with the log) instead of panicking.
    pub fn try_wait_for_log(
        &mut self,
        timeout: Duration,
        what: &str,
        cond: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if cond(&self.log()) {
                return Ok(());
            }
            if !self.is_running() {
                return Err(format!(
                    "{} exited while waiting for {what}; its log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not show {what} within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process group and reaps the process.
    pub fn kill(&mut self) {
        if self.is_running() {
            kill_group(self.child.id());
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// A short human name ("sshd", "nginx", ...).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // The group may hold children (nginx workers) even when the leader has exited.
        kill_group(self.child.id());
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!(
                "----- {} (pid {}) log, last {} lines -----",
                self.name,
                self.child.id(),
                tail.len()
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Puts the child in a new process group (led by itself) so that it and its children can be
/// killed together.
pub(crate) fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(not(unix))]
    let _ = cmd;
}

/// Sends SIGKILL to the process group led by `pid`.
#[cfg(unix)]
#[allow(unsafe_code)]
pub(crate) fn kill_group(pid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pgid > 1 {
        // SAFETY: kill(2) takes plain integers and has no memory effects. The group was
        // created by `own_process_group` for this child only.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn kill_group(_pid: u32) {}

/// The IDs of running processes whose command line contains `needle` (for asserting that no
/// proxy process outlives its ssh). Excludes the current process.
pub fn processes_matching(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    #[cfg(target_os = "linux")]
    {
        let Ok(entries) = fs::read_dir("/proc") else {
            return found;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            // Zombies have an empty command line; they are not running.
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(pid);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        if let Ok(out) = Command::new("ps").args(["-axo", "pid=,command="]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let line = line.trim_start();
                let (pid, cmd) = line.split_once(' ').unwrap_or((line, ""));
                if let Ok(pid) = pid.parse::<u32>() {
                    if pid != me && cmd.contains(needle) {
                        found.push(pid);
                    }
                }
            }
        }
    }
    found
}

/// Waits up to `within` for every process whose command line contains `needle` to end.
///
/// # Panics
/// When some are still running then (an orphaned proxy, a leaked session), listing them.
pub fn assert_no_process_left(needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_matching(needle);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes matching {needle:?} still run {within:?} later: {}",
            left.iter()
                .map(|pid| describe(*pid))
                .collect::<Vec<_>>()
                .join("; ")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn describe(pid: u32) -> String {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .unwrap_or_default();
    format!("{pid} {}", cmdline.trim())
}

/// Sends `signal` (`libc::SIGHUP`, `libc::SIGTERM`, ...) to the process `pid`.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn send_signal(pid: u32, signal: i32) {
    let pid = libc::pid_t::try_from(pid).expect("a valid pid");
    assert!(pid > 1, "refusing to signal pid {pid}");
    // SAFETY: kill(2) takes plain integers and has no memory effects.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
}

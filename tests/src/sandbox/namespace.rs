//! One booted sandbox: its own mount, network, PID and UTS namespaces around a private
//! overlay of the base rootfs (`tests/sandbox/init.sh` is its PID 1).
//!
//! The init lives as long as its stdin is open: dropping the [`Namespace`] closes it, the
//! init exits, and the kernel kills every process of the sandbox and drops its mounts. If the
//! test process dies, the pipe closes all the same.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::rootfs::scripts_dir;
use crate::{require_tool, run, shell_quote, Outcome};

/// PATH for every command run inside the sandbox (what the platform's envd gives processes).
pub(crate) const SANDBOX_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The host name inside the sandbox.
pub(crate) const HOSTNAME: &str = "sandbox";

/// A running sandbox namespace; torn down on drop.
#[derive(Debug)]
pub(crate) struct Namespace {
    unshare: Child,
    stdin: Option<ChildStdin>,
    /// The host PID of the sandbox's PID 1 (the target of `nsenter`).
    init_pid: u32,
    state: PathBuf,
    root: PathBuf,
}

impl Namespace {
    /// Boots a namespace over `base`, waiting until its mounts and loopback are up.
    ///
    /// # Panics
    /// When the init fails (with its log).
    pub(crate) fn boot(base: &Path) -> Namespace {
        let state = tempfile::Builder::new()
            .prefix("novita-e2e-sandbox-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let log = fs::File::create(state.join("init.log")).expect("create init.log");
        let mut cmd = Command::new(require_tool("unshare"));
        cmd.args([
            "--mount",
            "--net",
            "--pid",
            "--uts",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--",
        ])
        .arg(require_tool("sh"))
        .arg(scripts_dir().join("init.sh"))
        .arg(base)
        .arg(&state)
        .arg(HOSTNAME)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
        let mut unshare = cmd.spawn().unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let stdin = unshare.stdin.take();
        let mut ns = Namespace {
            init_pid: 0,
            unshare,
            stdin,
            root: state.join("root"),
            state,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ns.state.join("ready").exists() {
            let exited = ns.unshare.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the sandbox's init did not come up ({exited:?}); its log:\n{}",
                ns.init_log()
            );
            thread::sleep(Duration::from_millis(20));
        }
        let id = ns.unshare.id();
        let children = fs::read_to_string(format!("/proc/{id}/task/{id}/children"))
            .unwrap_or_else(|e| panic!("read the children of unshare ({id}): {e}"));
        ns.init_pid = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unshare ({id}) has no child: {children:?}"));
        ns
    }

    /// The init's log (mount errors and the like).
    pub(crate) fn init_log(&self) -> String {
        fs::read_to_string(self.state.join("init.log")).unwrap_or_default()
    }

    /// The per-sandbox state directory on the host (logs, certificates).
    pub(crate) fn state(&self) -> &Path {
        &self.state
    }

    /// A host program run in all the sandbox's namespaces (it sees the sandbox's mounts, so
    /// `chroot <root>` enters the sandbox's filesystem).
    pub(crate) fn enter(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(require_tool("nsenter"));
        cmd.arg("--target")
            .arg(self.init_pid.to_string())
            .args(["--mount", "--net", "--pid", "--uts", "--"])
            .arg(program);
        cmd
    }

    /// A host program run on the sandbox's network only (its loopback), with the host's
    /// filesystem: how the tests run ssh, scp, rsync and the download server.
    pub(crate) fn on_loopback(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(require_tool("nsenter"));
        cmd.arg("--target")
            .arg(self.init_pid.to_string())
            .args(["--net", "--"])
            .arg(program);
        cmd
    }

    /// A command that runs `script` with `bash -l -c` inside the sandbox as `user`, in `cwd`,
    /// with a clean environment (HOME, USER, LOGNAME, SHELL, PATH and `env`), the way the
    /// platform's envd runs template steps and start commands.
    pub(crate) fn shell(
        &self,
        user: &str,
        cwd: &str,
        env: &[(String, String)],
        script: &str,
    ) -> Command {
        let home = if user == "root" {
            "/root".to_owned()
        } else {
            format!("/home/{user}")
        };
        let mut cmd = self.enter(require_tool("chroot"));
        cmd.arg(&self.root)
            .args(["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env", "-i"])
            .arg(format!("HOME={home}"))
            .arg(format!("USER={user}"))
            .arg(format!("LOGNAME={user}"))
            .arg("SHELL=/bin/bash")
            .arg(format!("PATH={SANDBOX_PATH}"))
            .arg("LANG=C.UTF-8");
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.args(["/bin/bash", "-l", "-c"])
            .arg(format!("cd {} || exit 1\n{script}", shell_quote(cwd)));
        cmd
    }

    /// Runs `script` as root in `/` and returns what it did.
    pub(crate) fn root_shell(&self, script: &str, input: Option<&[u8]>) -> Outcome {
        run(
            &mut self.shell("root", "/", &[], script),
            input,
            Duration::from_secs(120),
        )
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // EOF on the init's stdin: it exits and takes the whole sandbox with it.
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.unshare.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if matches!(self.unshare.try_wait(), Ok(None)) {
            // --kill-child: killing unshare SIGKILLs the init, and with it the sandbox.
            let _ = self.unshare.kill();
        }
        let _ = self.unshare.wait();
        // The overlay goes away with the last process of the mount namespace; until then its
        // mount point is busy.
        for _ in 0..100 {
            match fs::remove_dir_all(&self.state) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
        eprintln!(
            "could not remove the sandbox's state directory {}",
            self.state.display()
        );
    }
}

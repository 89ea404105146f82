//! An emulated Novita sandbox, built from a template the way the platform builds one.
//!
//! 1. A cached Debian rootfs with the platform's base provisioning ([`rootfs`]): openssh-server,
//!    sudo, curl, socat; `passwd -d root`; `PermitRootLogin yes`, `PermitEmptyPasswords yes`,
//!    `PasswordAuthentication yes` appended to `/etc/ssh/sshd_config`.
//! 2. A private copy of it (an overlay) booted in its own mount, network, PID and UTS
//!    namespaces ([`namespace`]), with only a loopback interface.
//! 3. sshd started as systemd's `ssh.service` starts it (`sshd -t`, then `sshd -D`).
//! 4. The platform's user phase (current builders): `user` with an empty password and
//!    passwordless sudo, the default user of the steps. Older builders ran the steps as root
//!    and created `user` at the end ([`Builder::Older`]).
//! 5. The template, read through the real `novita-sandbox` Python SDK ([`template`]): each
//!    step runs in the rootfs (chroot) with `bash -l -c`, as the user it names; its downloads
//!    come from local copies ([`downloads`]); `apt-get` works from the image's package lists
//!    and the .deb files cached in it for rsync (the sandbox has no network, so installing
//!    a package the image already has succeeds, as it does on the platform, rsync installs
//!    from the cache, and anything else fails the step).
//! 6. The platform's finalize phase (`user` created if missing, its password removed,
//!    `/home/user` handed to it), then the start command as the last user, and the template's
//!    ready check until it passes.
//!
//! Clients run on the host, on the sandbox's loopback ([`Sandbox::client`]), so the ssh,
//! novita-proxy and ssh config under test are the host's.

mod downloads;
mod namespace;
mod rootfs;
mod template;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

pub(crate) use template::python;
pub use template::{Step, TemplateSpec};

use downloads::Download;
use namespace::Namespace;

use crate::{clean_env, require_tool, run, Outcome, Proc};

/// How long one template step may run.
const STEP_LIMIT: Duration = Duration::from_secs(300);

/// How long the ready check may take to pass.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// The platform's user phase (e2b-dev/infra `USER user true`): create `user` if missing, with
/// an empty password and passwordless sudo.
const USER_PHASE: &str = r#"set -e
id -u user >/dev/null 2>&1 || adduser --disabled-password --gecos "" user >/dev/null
usermod -aG sudo user
passwd -d user >/dev/null
grep -q '^user ALL=(ALL:ALL) NOPASSWD: ALL' /etc/sudoers || echo 'user ALL=(ALL:ALL) NOPASSWD: ALL' >>/etc/sudoers
"#;

/// The platform's finalize phase (e2b-dev/infra `phases/finalize/configure.sh`), with Debian's
/// tools in place of busybox.
const FINALIZE_PHASE: &str = r#"set -e
adduser --disabled-password --gecos "" user >/dev/null 2>&1 || true
if [ -d /home/user ]; then
  for f in /etc/skel/.[!.]* /etc/skel/*; do
    [ -e "$f" ] || continue
    dest="/home/user/$(basename "$f")"
    [ -e "$dest" ] || cp -r "$f" "$dest"
  done
fi
usermod -aG sudo user || true
passwd -d user >/dev/null
echo 'user ALL=(ALL:ALL) NOPASSWD: ALL' >>/etc/sudoers
mkdir -p /home/user
chown -R user:user /home/user
chmod 777 -R /usr/local
mkdir -p /code
chmod 777 -R /code
"#;

/// How sshd is started at boot, as systemd's `ssh.service` does on the platform.
const SSHD_AT_BOOT: &str =
    "mkdir -p -m 0755 /run/sshd && /usr/sbin/sshd -t && exec /usr/sbin/sshd -D -e";

/// Which generation of the platform's template builder to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// Current builders: `user` exists before the steps; a step without a user runs as `user`
    /// in `/home/user`; the start command runs as the last user.
    #[default]
    Current,
    /// Older builders: steps without a user run as root in `/`, and `user` is created only
    /// after the steps (by the finalize phase).
    Older,
}

/// How to build an emulated sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    builder: Builder,
    no_sshd_at_boot: bool,
    downloads: Vec<(String, PathBuf)>,
}

impl SandboxOptions {
    /// Emulates this builder generation (default: [`Builder::Current`]).
    pub fn builder(mut self, builder: Builder) -> Self {
        self.builder = builder;
        self
    }

    /// Boots without sshd running (an image whose init does not start it), so the template
    /// must start it.
    pub fn without_sshd_at_boot(mut self) -> Self {
        self.no_sshd_at_boot = true;
        self
    }

    /// Serves `file` for `url` (besides the well-known websocat and novita-proxy URLs).
    pub fn download(mut self, url: &str, file: &Path) -> Self {
        self.downloads.push((url.to_owned(), file.to_owned()));
        self
    }
}

/// A booted sandbox built from a template; everything in it dies on drop.
#[derive(Debug)]
pub struct Sandbox {
    spec: TemplateSpec,
    started: Instant,
    build_log: String,
    sshd: Option<Proc>,
    start: Option<Proc>,
    servers: Vec<Proc>,
    // Last: torn down after the processes above.
    ns: Namespace,
}

/// The template from Novita's "SSH access" guide, in Python (`tests/sandbox/seed/template.py`):
/// the insecure control case.
pub fn documented_template() -> PathBuf {
    rootfs::scripts_dir().join("seed").join("template.py")
}

impl Sandbox {
    /// Builds and boots a sandbox from the Python template module `template_py` (it defines
    /// `template`), as the current builders do.
    ///
    /// # Panics
    /// When anything is missing (root, debootstrap, unshare, nsenter, the SDK) or a step,
    /// the start command or the ready check fails; the message carries the build log.
    pub fn build(template_py: &Path) -> Sandbox {
        Sandbox::build_with(template_py, &SandboxOptions::default())
    }

    /// [`Sandbox::build`] with options.
    ///
    /// # Panics
    /// As [`Sandbox::build`].
    pub fn build_with(template_py: &Path, options: &SandboxOptions) -> Sandbox {
        let started = Instant::now();
        preflight();
        let base = rootfs::base();
        let spec = template::read(template_py);
        let ns = Namespace::boot(&base);
        let mut sandbox = Sandbox {
            spec,
            started,
            build_log: String::new(),
            sshd: None,
            start: None,
            servers: Vec::new(),
            ns,
        };
        sandbox.log(&format!(
            "template {} (SDK {}, image {} emulated by Debian {})",
            template_py.display(),
            sandbox.spec.sdk_version,
            sandbox.spec.from_image.as_deref().unwrap_or("-"),
            rootfs::SUITE,
        ));
        if !options.no_sshd_at_boot {
            sandbox.start_sshd();
        }
        let (mut user, mut cwd) = match options.builder {
            Builder::Current => {
                sandbox.phase("user phase", USER_PHASE);
                ("user".to_owned(), "/home/user".to_owned())
            }
            Builder::Older => ("root".to_owned(), "/".to_owned()),
        };
        sandbox.serve_downloads(options);
        let mut env: Vec<(String, String)> = Vec::new();
        for (n, step) in sandbox.spec.steps.clone().into_iter().enumerate() {
            match step {
                Step::Run {
                    command,
                    user: named,
                } => {
                    let as_user = named.unwrap_or_else(|| user.clone());
                    sandbox.run_step(n + 1, &as_user, &cwd, &env, &command);
                }
                Step::User(name) => {
                    sandbox.phase(
                        &format!("step {}: USER {name}", n + 1),
                        &format!(
                            "id -u {0} >/dev/null 2>&1 || adduser --disabled-password --gecos '' {0}",
                            crate::shell_quote(&name)
                        ),
                    );
                    user = name;
                }
                Step::Workdir(dir) => {
                    sandbox.phase(
                        &format!("step {}: WORKDIR {dir}", n + 1),
                        &format!("mkdir -p {}", crate::shell_quote(&dir)),
                    );
                    cwd = dir;
                }
                Step::Env(vars) => env.extend(vars),
                Step::Other(what) => panic!(
                    "step {} ({what}) is not emulated: the emulated sandbox runs RUN, USER, \
                     WORKDIR and ENV steps; template JSON:\n{}",
                    n + 1,
                    sandbox.spec.json
                ),
            }
        }
        sandbox.phase("finalize phase", FINALIZE_PHASE);
        sandbox.start_and_wait(&user, &cwd, &env);
        sandbox
    }

    /// What the SDK said the template does.
    pub fn spec(&self) -> &TemplateSpec {
        &self.spec
    }

    /// A host program (ssh, scp, rsync, sshpass) that runs on the sandbox's network, so
    /// `127.0.0.1:8081` is the sandbox's bridge, with the host's files and the proxy-related
    /// environment removed ([`crate::client_env`]).
    pub fn client(&self, program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let path = if Path::new(program).is_absolute() {
            PathBuf::from(program)
        } else {
            require_tool(&program.to_string_lossy())
        };
        let mut cmd = self.ns.on_loopback(path);
        clean_env(&mut cmd);
        cmd
    }

    /// Runs `script` inside the sandbox as `user` (in `/`), for inspecting it.
    pub fn exec(&self, user: &str, script: &str) -> Outcome {
        run(
            &mut self.ns.shell(user, "/", &[], script),
            None,
            Duration::from_secs(60),
        )
    }

    /// What the build did: each phase and step with its output.
    pub fn build_log(&self) -> &str {
        &self.build_log
    }

    /// The log of the sshd started at boot (`sshd -e`), empty without one.
    pub fn sshd_log(&self) -> String {
        self.sshd.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// The start command's output so far.
    pub fn start_log(&self) -> String {
        self.start.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// The requests the download servers answered.
    pub fn download_log(&self) -> String {
        self.servers.iter().map(Proc::log).collect()
    }

    fn log(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        if line.starts_with("==") {
            let at = self.started.elapsed().as_secs_f64();
            self.build_log.push_str(&format!("[{at:6.2}s] "));
        }
        self.build_log.push_str(line);
        if !line.ends_with('\n') {
            self.build_log.push('\n');
        }
    }

    fn start_sshd(&mut self) {
        let mut cmd = self.ns.enter(require_tool("chroot"));
        cmd.arg(self.ns.state().join("root"))
            .args(["/bin/sh", "-c", SSHD_AT_BOOT]);
        let mut proc = Proc::spawn("sandbox sshd", cmd, &self.ns.state().join("sshd.log"));
        proc.wait_for_log(Duration::from_secs(20), "sshd listening", |log| {
            log.contains("Server listening on")
        });
        self.log("boot: sshd started as ssh.service does (sshd -D)");
        self.sshd = Some(proc);
    }

    /// Runs a platform phase as root, failing the build when it fails.
    fn phase(&mut self, name: &str, script: &str) {
        self.log(&format!("== {name} (root)"));
        let out = self.ns.root_shell(script, None);
        self.log(&out.stdout_text());
        self.log(&out.stderr);
        assert!(
            out.status.success(),
            "the emulated platform's {name} failed ({}); build log:\n{}",
            out.status,
            self.build_log
        );
    }

    fn run_step(
        &mut self,
        n: usize,
        user: &str,
        cwd: &str,
        env: &[(String, String)],
        command: &str,
    ) {
        self.log(&format!("== step {n} as {user} in {cwd}: {command}"));
        let mut cmd = self.ns.shell(user, cwd, env, command);
        let out = run(&mut cmd, None, STEP_LIMIT);
        self.log(&out.stdout_text());
        self.log(&out.stderr);
        assert!(
            out.status.success(),
            "template step {n} failed ({}) as {user}: {command}\nbuild log:\n{}\ndownloads \
             served:\n{}",
            out.status,
            self.build_log,
            self.download_log()
        );
    }

    fn serve_downloads(&mut self, options: &SandboxOptions) {
        let mut wanted: Vec<Download> = Vec::new();
        for url in self.spec.urls() {
            let file = options
                .downloads
                .iter()
                .find(|(u, _)| *u == url)
                .map(|(_, f)| f.clone())
                .or_else(|| downloads::known_file(&url));
            match file.and_then(|f| Download::new(&url, f.clone()).map(|d| (d, f))) {
                Some((d, f)) => {
                    self.log(&format!("download {url} <- {}", f.display()));
                    wanted.push(d);
                }
                None => self.log(&format!("download {url}: no local copy, not served")),
            }
        }
        self.servers = downloads::serve(&self.ns, &wanted);
    }

    fn start_and_wait(&mut self, user: &str, cwd: &str, env: &[(String, String)]) {
        if let Some(start) = self.spec.start_cmd.clone() {
            let cmd = self.ns.shell(user, cwd, env, &start);
            self.log(&format!("== start command as {user}: {start}"));
            self.start = Some(Proc::spawn(
                "sandbox start command",
                cmd,
                &self.ns.state().join("start.log"),
            ));
        }
        let Some(ready) = self.spec.ready_cmd.clone() else {
            return;
        };
        self.log(&format!("== ready check as {user}: {ready}"));
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            let out = run(
                &mut self.ns.shell(user, cwd, env, &ready),
                None,
                Duration::from_secs(30),
            );
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the template's ready check `{ready}` did not pass within {READY_LIMIT:?}; \
                 start command output:\n{}\nsshd log:\n{}\nbuild log:\n{}",
                self.start_log(),
                self.sshd_log(),
                self.build_log
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The base rootfs every sandbox boots from, built when it is not cached yet (a minute or
/// two: debootstrap downloads about 60 MiB). The suite builds it on first use;
/// `scripts/test.sh` builds it beforehand through the `sandbox-rootfs` program.
///
/// # Panics
/// As [`Sandbox::build`]: without root, a tool, or the Debian mirror.
pub fn base_rootfs() -> PathBuf {
    preflight();
    rootfs::base()
}

/// The host tools the emulated sandbox needs, with the Debian package of each.
const TOOLS: [(&str, &str); 9] = [
    ("debootstrap", "debootstrap"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("flock", "util-linux"),
    ("mount", "mount"),
    ("chroot", "coreutils"),
    ("ip", "iproute2"),
    ("sshpass", "sshpass"),
    ("python3", "python3"),
];

/// Fails at once, naming every missing tool and its package, when the sandbox cannot be built.
fn preflight() {
    assert!(
        crate::tools::is_root(),
        "the emulated sandbox needs root (unshare, chroot, mount): run the suite as root, \
         as scripts/test.sh does"
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .collect();
    let missing: Vec<(&str, &str)> = TOOLS
        .into_iter()
        .filter(|(tool, _)| !dirs.iter().any(|d| d.join(tool).is_file()))
        .collect();
    assert!(
        missing.is_empty(),
        "the emulated sandbox needs {}: apt-get install {} (the suite never skips)",
        missing
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(", "),
        missing
            .iter()
            .map(|(_, p)| *p)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("----- emulated sandbox build log -----\n{}", self.build_log);
            let init = self.ns.init_log();
            if !init.is_empty() {
                eprintln!("----- emulated sandbox init log -----\n{init}");
            }
        }
        // Procs print their own logs when panicking; kill them before the namespace goes.
        self.start.take();
        self.sshd.take();
        self.servers.clear();
    }
}

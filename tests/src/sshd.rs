//! A real OpenSSH server on a free loopback port, with generated keys, for the current user.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use crate::run::shell_quote;
use crate::{clean_env, require_tool, start_on_free_port, Proc};

/// Extra settings for [`Sshd::start_with`].
#[derive(Debug, Clone, Default)]
pub struct SshdOptions {
    /// More public keys (OpenSSH one-line format) to authorize besides the generated client key.
    pub authorized_keys: Vec<String>,
    /// Extra `sshd_config` lines. They are written first, so they win over the defaults
    /// (sshd keeps the first value it reads).
    pub config: Vec<String>,
}

/// A running `sshd -D -e` on `127.0.0.1:port` with its own host key, a generated client key
/// authorized for the current user, and a known_hosts file that pins the host key.
///
/// Killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct Sshd {
    /// The port sshd listens on (127.0.0.1).
    pub port: u16,
    /// The client's private key (ed25519, no passphrase); its `.pub` is beside it.
    pub client_key: PathBuf,
    /// A known_hosts file that trusts this server's host key for any host name.
    pub known_hosts: PathBuf,
    /// The user to log in as (the current user).
    pub user: String,
    /// The server's public host key, one OpenSSH line.
    pub host_public_key: String,
    proc: Proc,
    dir: TempDir,
}

impl Sshd {
    /// Starts sshd with the defaults.
    pub fn start() -> Sshd {
        Sshd::start_with(SshdOptions::default())
    }

    /// Starts sshd with extra authorized keys and config lines.
    ///
    /// # Panics
    /// When sshd or ssh-keygen is missing, or sshd does not come up (with its log).
    pub fn start_with(opts: SshdOptions) -> Sshd {
        let sshd = require_tool("sshd");
        let dir = tempfile::Builder::new()
            .prefix("novita-e2e-sshd-")
            .tempdir()
            .expect("temp dir");
        let host_key = dir.path().join("host_ed25519");
        let client_key = dir.path().join("client_ed25519");
        keygen(&host_key, "e2e-host");
        keygen(&client_key, "e2e-client");
        let host_public_key = read_pub(&host_key);
        let known_hosts = dir.path().join("known_hosts");
        fs::write(&known_hosts, format!("* {host_public_key}\n")).unwrap();

        let mut keys = vec![read_pub(&client_key)];
        keys.extend(opts.authorized_keys.iter().cloned());
        let authorized = dir.path().join("authorized_keys");
        fs::write(&authorized, keys.join("\n") + "\n").unwrap();
        set_mode(&authorized, 0o600);

        // The privilege separation directory sshd insists on (absent on fresh containers).
        let _ = fs::create_dir_all("/run/sshd");

        let config_path = dir.path().join("sshd_config");
        let log_path = dir.path().join("sshd.log");
        let (port, proc) = start_on_free_port(
            "sshd",
            |port| {
                let mut config: Vec<String> = opts.config.clone();
                config.extend([
                    format!("Port {port}"),
                    "ListenAddress 127.0.0.1".to_owned(),
                    format!("HostKey {}", host_key.display()),
                    format!("AuthorizedKeysFile {}", authorized.display()),
                    "PidFile none".to_owned(),
                    "UsePAM no".to_owned(),
                    "StrictModes no".to_owned(),
                    "PubkeyAuthentication yes".to_owned(),
                    "PasswordAuthentication no".to_owned(),
                    "KbdInteractiveAuthentication no".to_owned(),
                    "PermitRootLogin prohibit-password".to_owned(),
                    "AllowTcpForwarding yes".to_owned(),
                    "Subsystem sftp internal-sftp".to_owned(),
                    "PrintMotd no".to_owned(),
                    "X11Forwarding no".to_owned(),
                    // Many concurrent sessions from one address must not be throttled.
                    "MaxStartups 200".to_owned(),
                    "MaxSessions 100".to_owned(),
                    "LogLevel VERBOSE".to_owned(),
                ]);
                if openssh_at_least(9, 8) {
                    // Junk and failed handshakes in the hostile-client tests must not get
                    // loopback penalised for the sessions that follow.
                    config.push("PerSourcePenalties no".to_owned());
                }
                fs::write(&config_path, config.join("\n") + "\n").unwrap();
                let mut cmd = Command::new(&sshd);
                cmd.arg("-D").arg("-e").arg("-f").arg(&config_path);
                Proc::spawn("sshd", cmd, &log_path)
            },
            |port, proc| {
                let needle = format!("port {port}");
                proc.try_wait_for_log(Duration::from_secs(20), "Server listening", |log| {
                    log.lines()
                        .any(|l| l.contains("Server listening") && l.contains(&needle))
                })
            },
        );
        Sshd {
            port,
            client_key,
            known_hosts,
            user: current_user(),
            host_public_key,
            proc,
            dir,
        }
    }

    /// The ssh options (for ssh, scp, sftp) that reach this server through `proxy_command`:
    /// no user or system config, this key only, the pinned host key, batch mode.
    /// Append the host (any name; it is passed to the ProxyCommand as `%h`) and the command.
    pub fn ssh_base_args(&self, proxy_command: &str) -> Vec<String> {
        let mut args = self.common_args();
        args.push("-o".into());
        args.push(format!("ProxyCommand={proxy_command}"));
        args
    }

    /// The ssh options that reach this server directly over TCP (no proxy), with `-o Port`.
    /// Append any host name; `HostName` points at 127.0.0.1.
    pub fn ssh_direct_args(&self) -> Vec<String> {
        let mut args = self.common_args();
        args.extend(["-o".into(), "HostName=127.0.0.1".into()]);
        args.extend(["-o".into(), format!("Port={}", self.port)]);
        args
    }

    fn common_args(&self) -> Vec<String> {
        let mut args = vec!["-F".to_owned(), "/dev/null".to_owned()];
        for opt in [
            format!("User={}", self.user),
            format!("IdentityFile={}", self.client_key.display()),
            "IdentitiesOnly=yes".to_owned(),
            "IdentityAgent=none".to_owned(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_owned(),
            "StrictHostKeyChecking=yes".to_owned(),
            "BatchMode=yes".to_owned(),
            "ConnectTimeout=15".to_owned(),
            "LogLevel=ERROR".to_owned(),
        ] {
            args.push("-o".to_owned());
            args.push(opt);
        }
        args
    }

    /// An `ssh` command with [`Sshd::ssh_base_args`] applied (and the proxy-related
    /// environment removed, see [`crate::client_env`]); add the host and command.
    pub fn ssh(&self, proxy_command: &str) -> Command {
        let mut cmd = Command::new(require_tool("ssh"));
        clean_env(&mut cmd).args(self.ssh_base_args(proxy_command));
        cmd
    }

    /// The same as one shell-quoted string, for `rsync -e` (`ssh -F /dev/null -o ...`).
    pub fn ssh_command_line(&self, proxy_command: &str) -> String {
        std::iter::once(require_tool("ssh").display().to_string())
            .chain(self.ssh_base_args(proxy_command))
            .map(|a| shell_quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The server's log so far (sshd `-e` output at LogLevel VERBOSE).
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// The fixture's temporary directory (config, keys, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Generates an ed25519 key pair without a passphrase at `path` (and `path.pub`).
///
/// # Panics
/// When ssh-keygen is missing or fails.
pub fn keygen(path: &Path, comment: &str) {
    let out = Command::new(require_tool("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_pub(key: &Path) -> String {
    let path = key.with_extension("pub");
    let path = if path.exists() {
        path
    } else {
        PathBuf::from(format!("{}.pub", key.display()))
    };
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// The name of the user running the tests (`id -un`).
pub fn current_user() -> String {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        let out = Command::new("id").arg("-un").output().expect("run id -un");
        let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(!name.is_empty(), "id -un printed nothing");
        name
    })
    .clone()
}

/// Whether the installed OpenSSH client is at least `major.minor` (sshd comes with it).
fn openssh_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new(require_tool("ssh")).arg("-V").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some(rest) = text.split("OpenSSH_").nth(1) else {
        return false;
    };
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = digits.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

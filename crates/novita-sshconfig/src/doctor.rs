//! `doctor`: one line per check, each failure with its fix. The checks prove with OpenSSH
//! itself (`ssh -G`) that the kit's settings are the ones in effect, and with `--connect`
//! ask the sandbox's sshd which logins it offers before authenticating.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::managed_section;
use crate::paths::KitPaths;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but worth knowing.
    Warn,
    /// Broken: the fix says what to do.
    Fail,
}

/// One check's line.
#[derive(Debug, Clone)]
pub struct Check {
    /// Pass, warn or fail.
    pub status: Status,
    /// What was checked.
    pub name: &'static str,
    /// What was found.
    pub detail: String,
    /// What to do (failures and warnings).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Pass,
            name,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed check, with its fix.
    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Fail,
            name,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A warning, with what to do.
    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            name,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "{tag}  {}: {}", self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

/// What the kit's config should make `ssh -G HOST` print.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The ProxyCommand, as written.
    pub proxy_command: String,
    /// The login user.
    pub user: String,
    /// The identity file, as written (`~/...` or absolute).
    pub identity_file: String,
    /// The known_hosts file, as written.
    pub known_hosts: String,
}

/// Everything doctor looks at.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The kit's paths.
    pub paths: &'a KitPaths,
    /// The ssh config that should include the kit's.
    pub ssh_config: PathBuf,
    /// Pass `-F ssh_config` to ssh (when it is not the file ssh reads by itself).
    pub use_dash_f: bool,
    /// The Include argument the section should hold.
    pub include_arg: String,
    /// The novita-proxy path the config uses.
    pub proxy_path: PathBuf,
    /// The private key the config uses.
    pub identity_path: PathBuf,
    /// The kit's config as it should be.
    pub kit_config_expected: String,
    /// The host to check (`x.novita`).
    pub host: String,
    /// What `ssh -G host` should show.
    pub expected: Expected,
    /// Whether to connect.
    pub connect: bool,
    /// Print commands on stderr.
    pub verbose: bool,
}

fn ssh_base(inputs: &Inputs<'_>) -> Command {
    let mut cmd = Command::new("ssh");
    if inputs.use_dash_f {
        cmd.arg("-F").arg(&inputs.ssh_config);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run(inputs: &Inputs<'_>, mut cmd: Command) -> std::io::Result<std::process::Output> {
    if inputs.verbose {
        eprintln!("novita-sshconfig: running {cmd:?}");
    }
    cmd.output()
}

/// Runs every check.
pub fn run_checks(inputs: &Inputs<'_>) -> Vec<Check> {
    let mut checks = vec![
        check_openssh(inputs),
        check_proxy(inputs),
        check_key(inputs),
        check_kit_config(inputs),
        check_include(inputs),
    ];
    checks.extend(check_effective(inputs));
    checks
}

/// The checks that connect (`--connect`): the logins sshd offers, then a command.
pub fn connect_checks(inputs: &Inputs<'_>) -> Vec<Check> {
    vec![check_auth_methods(inputs), check_login(inputs)]
}

/// Parses `OpenSSH_9.2p1 ...` (or `OpenSSH_for_Windows_8.1p1`) into (major, minor).
pub fn parse_openssh_version(text: &str) -> Option<(u32, u32)> {
    let start = text.find("OpenSSH_")? + "OpenSSH_".len();
    let rest = &text[start..];
    let rest = rest.strip_prefix("for_Windows_").unwrap_or(rest);
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn check_openssh(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "OpenSSH client";
    let mut cmd = Command::new("ssh");
    cmd.arg("-V").stdin(Stdio::null());
    match run(inputs, cmd) {
        Err(e) => Check::fail(
            NAME,
            format!("cannot run ssh: {e}"),
            "install the OpenSSH client (openssh-client)",
        ),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            match parse_openssh_version(&text) {
                Some(v) if v >= (7, 3) => Check::pass(NAME, text),
                Some(_) => Check::fail(
                    NAME,
                    format!("{text} is older than 7.3 and has no Include"),
                    "upgrade OpenSSH to 7.3 or newer",
                ),
                None => Check::warn(
                    NAME,
                    format!("unrecognised version {text:?}"),
                    "make sure `ssh` is OpenSSH 7.3 or newer",
                ),
            }
        }
    }
}

fn check_proxy(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "novita-proxy";
    let path = &inputs.proxy_path;
    let fix = "install novita-proxy, or point the config at it with \
               `novita-sshconfig config install --proxy-command-path PATH`";
    if !crate::paths::is_executable(path) {
        return Check::fail(
            NAME,
            format!("{} does not exist or is not executable", path.display()),
            fix,
        );
    }
    let mut cmd = Command::new(path);
    cmd.arg("--version").stdin(Stdio::null());
    match run(inputs, cmd) {
        Ok(out) if out.status.success() => Check::pass(
            NAME,
            format!(
                "{} ({})",
                path.display(),
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
            ),
        ),
        Ok(out) => Check::fail(
            NAME,
            format!(
                "{} --version failed: {}",
                path.display(),
                last_line(&out.stderr)
            ),
            fix,
        ),
        Err(e) => Check::fail(NAME, format!("cannot run {}: {e}", path.display()), fix),
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

fn check_key(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "key";
    let key = &inputs.identity_path;
    if !key.is_file() {
        return Check::fail(
            NAME,
            format!("{} does not exist", key.display()),
            "run `novita-sshconfig keygen`",
        );
    }
    let public = crate::keys::public_path(key);
    if !public.is_file() {
        return Check::fail(
            NAME,
            format!("{} is missing", public.display()),
            format!(
                "recreate it: ssh-keygen -y -f {} > {}",
                key.display(),
                public.display()
            ),
        );
    }
    match mode_of(key) {
        Some(mode) if mode & 0o077 != 0 => Check::fail(
            NAME,
            format!(
                "{} is readable by others (mode {mode:04o}); ssh refuses such keys",
                key.display()
            ),
            format!("chmod 600 {}", key.display()),
        ),
        _ => Check::pass(NAME, format!("{} (and .pub)", key.display())),
    }
}

fn group_or_world_writable(path: &Path) -> Option<u32> {
    mode_of(path).filter(|m| m & 0o022 != 0)
}

fn check_kit_config(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "kit config";
    let path = &inputs.paths.kit_config;
    match fs::read_to_string(path) {
        Err(e) => Check::fail(
            NAME,
            format!("cannot read {}: {e}", path.display()),
            "run `novita-sshconfig config install`",
        ),
        Ok(text) if text != inputs.kit_config_expected => Check::fail(
            NAME,
            format!("{} differs from the settings", path.display()),
            "run `novita-sshconfig config install` to regenerate it",
        ),
        Ok(_) => match group_or_world_writable(path) {
            Some(mode) => Check::fail(
                NAME,
                format!(
                    "{} is writable by others (mode {mode:04o}); ssh refuses it",
                    path.display()
                ),
                format!("chmod 600 {}", path.display()),
            ),
            None => Check::pass(NAME, path.display().to_string()),
        },
    }
}

fn check_include(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "Include";
    let path = &inputs.ssh_config;
    let install = "run `novita-sshconfig config install`";
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return Check::fail(
                NAME,
                format!("cannot read {}: {e}", path.display()),
                install,
            )
        }
    };
    let section = match managed_section::find(&text) {
        Ok(Some(section)) => section,
        Ok(None) => {
            return Check::fail(
                NAME,
                format!("{} has no novita-ssh section", path.display()),
                install,
            )
        }
        Err(e) => return Check::fail(NAME, format!("{}: {e}", path.display()), "see the message"),
    };
    if let Some(line) =
        managed_section::first_host_or_match(&text).filter(|n| *n < section.begin_line)
    {
        return Check::fail(
            NAME,
            format!(
                "the section (line {}) is below a Host/Match line (line {line}), so it only applies to that block",
                section.begin_line
            ),
            install,
        );
    }
    let newline = managed_section::newline_of(&text);
    if section.body != managed_section::body(&inputs.include_arg, newline) {
        return Check::fail(
            NAME,
            format!("the section does not hold `Include {}`", inputs.include_arg),
            install,
        );
    }
    if let Some(mode) = group_or_world_writable(
        &crate::atomic_write::resolve_links(path).unwrap_or_else(|_| path.clone()),
    ) {
        return Check::fail(
            NAME,
            format!(
                "{} is writable by others (mode {mode:04o}); ssh refuses it",
                path.display()
            ),
            format!("chmod 600 {}", path.display()),
        );
    }
    Check::pass(
        NAME,
        format!(
            "{} includes the kit's config at line {}",
            path.display(),
            section.begin_line + 1
        ),
    )
}

/// The values of `ssh -G` output for a keyword (lower case), in order.
pub fn g_values<'t>(text: &'t str, keyword: &str) -> Vec<&'t str> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(' ')?;
            (k == keyword).then_some(v)
        })
        .collect()
}

fn same_path(shown: &str, written: &str, home: &Path) -> bool {
    let norm = |s: &str| -> String {
        let s = s.replace("%%", "%");
        match s.strip_prefix("~/") {
            Some(rest) => home.join(rest).to_string_lossy().into_owned(),
            None => s,
        }
    };
    norm(shown) == norm(written)
}

fn check_effective(inputs: &Inputs<'_>) -> Vec<Check> {
    const NAME: &str = "ssh -G";
    let mut cmd = ssh_base(inputs);
    cmd.arg("-G").arg(&inputs.host);
    let out = match run(inputs, cmd) {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            return vec![Check::fail(
                NAME,
                format!("ssh -G {} failed: {}", inputs.host, last_line(&out.stderr)),
                format!("fix the error in {}", inputs.ssh_config.display()),
            )]
        }
        Err(e) => {
            return vec![Check::fail(
                NAME,
                format!("cannot run ssh: {e}"),
                "install the OpenSSH client",
            )]
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let home = crate::sys::passwd_home().unwrap_or_else(|| inputs.paths.home.dir.clone());
    let earlier = format!(
        "a setting read before the kit's (a `Host *` or a global line above the novita-ssh section of {}, or in /etc/ssh/ssh_config) wins; remove or narrow it, or run `novita-sshconfig config install` to put the section back at the top",
        inputs.ssh_config.display()
    );
    let e = &inputs.expected;
    let mut checks = Vec::new();
    let mut compare = |what: &'static str, keyword: &str, want: &str, path: bool| {
        let got = g_values(&text, keyword);
        let first = got.first().copied().unwrap_or("");
        let ok = if path {
            same_path(first, want, &home)
        } else {
            first == want
        };
        checks.push(if ok {
            Check::pass(what, format!("{} uses {want}", inputs.host))
        } else {
            Check::fail(
                what,
                format!("{} uses {first:?}, not the kit's {want:?}", inputs.host),
                earlier.clone(),
            )
        });
    };
    compare(
        "ssh -G proxycommand",
        "proxycommand",
        &e.proxy_command,
        false,
    );
    compare("ssh -G user", "user", &e.user, false);
    compare(
        "ssh -G identityfile",
        "identityfile",
        &e.identity_file,
        true,
    );
    compare(
        "ssh -G userknownhostsfile",
        "userknownhostsfile",
        &e.known_hosts,
        true,
    );
    checks
}

/// The methods in the last "Authentications that can continue:" line of `ssh -v` output.
pub fn offered_methods(verbose_output: &str) -> Option<Vec<String>> {
    verbose_output
        .lines()
        .rev()
        .filter_map(|l| l.split_once("Authentications that can continue:"))
        .map(|(_, methods)| {
            methods
                .trim()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect()
        })
        .next()
}

fn check_auth_methods(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "sandbox sshd logins";
    let mut cmd = ssh_base(inputs);
    cmd.args([
        "-v",
        "-o",
        "PreferredAuthentications=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "NumberOfPasswordPrompts=0",
    ])
    .arg(&inputs.host)
    .arg("true");
    let out = match run(inputs, cmd) {
        Ok(out) => out,
        Err(e) => {
            return Check::fail(
                NAME,
                format!("cannot run ssh: {e}"),
                "install the OpenSSH client",
            )
        }
    };
    let log = String::from_utf8_lossy(&out.stderr);
    let fix = "rebuild the sandbox from the kit's template (`novita-sshconfig template`), or inside it write /etc/ssh/sshd_config.d/00-novita-ssh.conf with PasswordAuthentication no, PermitEmptyPasswords no, KbdInteractiveAuthentication no, PermitRootLogin no, AuthenticationMethods publickey and reload sshd";
    if log.contains("Authenticated to") || log.contains("Authentication succeeded (none)") {
        return Check::fail(
            NAME,
            format!(
                "WARNING: {} let ssh in without any password or key",
                inputs.host
            ),
            fix,
        );
    }
    match offered_methods(&log) {
        None => Check::fail(
            NAME,
            format!("could not reach the sshd of {}: {}", inputs.host, last_line(&out.stderr)),
            "check that the sandbox runs and was built from the kit's template; `ssh -v` shows more",
        ),
        Some(methods) => {
            let weak: Vec<&String> = methods
                .iter()
                .filter(|m| *m == "password" || *m == "keyboard-interactive")
                .collect();
            if weak.is_empty() {
                Check::pass(NAME, format!("{} offers only {}", inputs.host, methods.join(",")))
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "WARNING: {} offers {} logins (offered: {}); with the platform's empty passwords anyone who knows the sandbox ID may log in",
                        inputs.host,
                        weak.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and "),
                        methods.join(",")
                    ),
                    fix,
                )
            }
        }
    }
}

fn check_login(inputs: &Inputs<'_>) -> Check {
    const NAME: &str = "connect";
    const TOKEN: &str = "novita-ssh-doctor-ok";
    let mut cmd = ssh_base(inputs);
    cmd.args(["-o", "BatchMode=yes"])
        .arg(&inputs.host)
        .arg(format!("echo {TOKEN}"));
    match run(inputs, cmd) {
        Ok(out) if out.status.success() && String::from_utf8_lossy(&out.stdout).contains(TOKEN) => {
            Check::pass(NAME, format!("ssh {} ran a command", inputs.host))
        }
        Ok(out) => Check::fail(
            NAME,
            format!("ssh {} failed: {}", inputs.host, last_line(&out.stderr)),
            "check that the sandbox runs, was built with your public key, and that novita-proxy can reach it (`ssh -v` shows more)",
        ),
        Err(e) => Check::fail(NAME, format!("cannot run ssh: {e}"), "install the OpenSSH client"),
    }
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("debug"))
        .unwrap_or("no output")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_openssh_version("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0"),
            Some((9, 2))
        );
        assert_eq!(
            parse_openssh_version("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2"),
            Some((8, 1))
        );
        assert_eq!(parse_openssh_version("OpenSSH_7.2"), Some((7, 2)));
        assert_eq!(parse_openssh_version("Dropbear"), None);
    }

    #[test]
    fn methods_from_verbose_output() {
        let log = "debug1: Next authentication method: none\n\
                   debug1: Authentications that can continue: publickey,password,keyboard-interactive\n";
        assert_eq!(
            offered_methods(log),
            Some(vec![
                "publickey".into(),
                "password".into(),
                "keyboard-interactive".into()
            ])
        );
        assert_eq!(offered_methods("nothing"), None);
    }

    #[test]
    fn g_output_and_paths() {
        let text = "user user\nidentityfile ~/.ssh/novita/id_ed25519\nidentityfile ~/.ssh/id_rsa\n";
        assert_eq!(
            g_values(text, "identityfile"),
            ["~/.ssh/novita/id_ed25519", "~/.ssh/id_rsa"]
        );
        assert!(same_path(
            "~/.ssh/a",
            "/home/x/.ssh/a",
            Path::new("/home/x")
        ));
        assert!(same_path("/a%%b", "/a%b", Path::new("/")));
        assert!(!same_path("/a", "/b", Path::new("/")));
    }
}

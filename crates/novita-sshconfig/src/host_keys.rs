//! How ssh checks a sandbox's host key. With an API key and OpenSSH 8.5 or newer, ssh asks
//! `novita-proxy known-hosts` (`KnownHostsCommand`), which reads the sandbox's host keys
//! from the platform, and accepts no other (`StrictHostKeyChecking yes`): no trust on first
//! use. Otherwise new sandboxes' keys are trusted on first use (`accept-new`), in the kit's
//! own known_hosts file.
//!
//! Keys are looked up by sandbox ID: for a `Host alias.novita` block, ssh looks up its
//! `HostName`, the ID, so a reused alias never meets the keys of the sandbox it named before.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::doctor::{parse_openssh_version, Check};
use crate::paths::{printable, KitPaths, Noun, QuoteError};
use crate::settings::ProxyOptions;

/// The first OpenSSH with `KnownHostsCommand`.
pub const KNOWN_HOSTS_COMMAND_SINCE: (u32, u32) = (8, 5);

/// How host keys are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `KnownHostsCommand novita-proxy known-hosts ...` and `StrictHostKeyChecking yes`.
    Platform,
    /// `StrictHostKeyChecking accept-new`: trust on first use.
    AcceptNew,
}

/// The mode, and why, in words for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The mode.
    pub mode: Mode,
    /// Why.
    pub why: String,
}

/// Where the API key comes from, as far as the mode is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// `NOVITA_API_KEY`.
    Env,
    /// A key file.
    File(PathBuf),
    /// None.
    None,
}

/// Decides the mode for one set of proxy options.
pub fn decide(key: &KeyState, openssh: Option<(u32, u32)>, opts: &ProxyOptions) -> Decision {
    let accept_new = |why: String| Decision {
        mode: Mode::AcceptNew,
        why: format!("new sandboxes' host keys are trusted on first use (accept-new): {why}"),
    };
    if opts.url.is_some() {
        return accept_new("a custom --url is set, so envd's address is not known".to_owned());
    }
    if !opts.api_enabled() {
        return accept_new("the Novita API is turned off in the settings".to_owned());
    }
    let from = match key {
        KeyState::None => {
            return accept_new(
                "no Novita API key is configured (run `novita-sshconfig login` to verify host keys through the platform)".to_owned(),
            )
        }
        KeyState::Env => "NOVITA_API_KEY".to_owned(),
        KeyState::File(path) => path.display().to_string(),
    };
    let (major, minor) = match openssh {
        None => {
            return accept_new(
                "the OpenSSH version is unknown, and KnownHostsCommand needs 8.5 or newer"
                    .to_owned(),
            )
        }
        Some(v) if v < KNOWN_HOSTS_COMMAND_SINCE => {
            return accept_new(format!(
                "OpenSSH {}.{} has no KnownHostsCommand (8.5 or newer has)",
                v.0, v.1
            ))
        }
        Some(v) => v,
    };
    Decision {
        mode: Mode::Platform,
        why: format!(
            "host keys come from the Novita platform and no other key is accepted (KnownHostsCommand, StrictHostKeyChecking yes): an API key is configured ({from}) and OpenSSH {major}.{minor} has KnownHostsCommand"
        ),
    }
}

/// The decision for `opts` on this machine: the API key from the environment or the key
/// file, and the version of the `ssh` on `PATH`.
pub fn detect(paths: &KitPaths, opts: &ProxyOptions) -> Decision {
    decide(&key_state(paths), openssh_version(), opts)
}

fn key_state(paths: &KitPaths) -> KeyState {
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    if env(novita_ssh_core::credentials::API_KEY_ENV).is_some() {
        return KeyState::Env;
    }
    let file = env(novita_ssh_core::credentials::API_KEY_FILE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| paths.api_key.clone());
    if file.is_file() {
        KeyState::File(file)
    } else {
        KeyState::None
    }
}

/// The `ssh -V` version, asked once.
fn openssh_version() -> Option<(u32, u32)> {
    static VERSION: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = std::process::Command::new("ssh")
            .arg("-V")
            .stdin(std::process::Stdio::null())
            .output()
            .ok()?;
        parse_openssh_version(&String::from_utf8_lossy(&out.stderr))
    })
}

/// The config lines of a `Host` block for `decision`, each indented by two spaces.
/// `turn_off_command`: a block above `Host *.novita` that trusts on first use while the
/// wildcard asks the platform must turn the wildcard's KnownHostsCommand off (only then:
/// OpenSSH before 8.5 refuses the keyword).
/// `proxy_path` and `proxy_args` are the ProxyCommand's program and options, which
/// `novita-proxy known-hosts` takes too.
pub fn lines(
    proxy_path: &Path,
    proxy_args: &[String],
    decision: &Decision,
    turn_off_command: bool,
) -> Result<String, QuoteError> {
    match decision.mode {
        Mode::AcceptNew if turn_off_command => {
            Ok("  KnownHostsCommand none\n  StrictHostKeyChecking accept-new\n".to_owned())
        }
        Mode::AcceptNew => Ok("  StrictHostKeyChecking accept-new\n".to_owned()),
        Mode::Platform => {
            let mut words = vec![command_word(
                "novita-proxy path",
                &proxy_path.to_string_lossy(),
                false,
            )?];
            words.push("known-hosts".to_owned());
            for (what, value) in proxy_args.iter().map(|v| ("option", v)) {
                words.push(command_word(what, value, true)?);
            }
            words.extend(["--invocation", "%I", "--offered", "%K", "%H"].map(str::to_owned));
            Ok(format!(
                "  KnownHostsCommand {}\n  StrictHostKeyChecking yes\n",
                words.join(" ")
            ))
        }
    }
}

/// Quotes one word of a `KnownHostsCommand`, which ssh splits itself (no shell: double
/// quotes, `\"` and `\\`) and whose arguments after the first get `%` tokens and `${VAR}`
/// expanded.
pub fn command_word(what: &'static str, value: &str, expanded: bool) -> Result<String, QuoteError> {
    let unsafe_value = |reason, hint| QuoteError::unsafe_value(what, value, reason, hint);
    printable(what, value, Noun::Value)?;
    if expanded && value.contains("${") {
        return Err(unsafe_value(
            "'${', which ssh expands as an environment variable",
            "use a value without '${'",
        ));
    }
    let value = if expanded {
        value.replace('%', "%%")
    } else {
        value.to_owned()
    };
    let plain = value.chars().all(|c| {
        c.is_ascii_alphanumeric() || "_@+=:,./-%".contains(c) || (cfg!(windows) && c == '\\')
    });
    if plain {
        Ok(value)
    } else {
        Ok(format!(
            "\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    }
}

/// `doctor`'s line: which mode is in force, and why.
pub fn check(decision: &Decision, key: &KeyState) -> Check {
    const NAME: &str = "host keys";
    match (decision.mode, key) {
        (Mode::Platform, KeyState::Env) => Check::warn(
            NAME,
            decision.why.clone(),
            "the key is only in NOVITA_API_KEY: an ssh started without it (VS Code, another shell) cannot verify host keys and stops; run `novita-sshconfig login` to store it",
        ),
        (Mode::Platform, _) => Check::pass(NAME, decision.why.clone()),
        (Mode::AcceptNew, _) => Check::pass(NAME, decision.why.clone()),
    }
}

/// The key state on this machine, for [`check`].
pub fn key_state_here(paths: &KitPaths) -> KeyState {
    key_state(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> KeyState {
        KeyState::File(PathBuf::from("/home/ann/.ssh/novita/api_key"))
    }

    #[test]
    fn the_platform_needs_a_key_and_openssh_8_5() {
        let opts = ProxyOptions::default();
        let d = decide(&file(), Some((9, 2)), &opts);
        assert_eq!(d.mode, Mode::Platform);
        assert!(d.why.contains("/home/ann/.ssh/novita/api_key") && d.why.contains("9.2"));
        assert_eq!(
            decide(&KeyState::Env, Some((8, 5)), &opts).mode,
            Mode::Platform
        );
        for (key, version, needle) in [
            (KeyState::None, Some((9, 2)), "novita-sshconfig login"),
            (file(), Some((8, 4)), "OpenSSH 8.4 has no KnownHostsCommand"),
            (file(), Some((7, 9)), "OpenSSH 7.9"),
            (file(), None, "version is unknown"),
        ] {
            let d = decide(&key, version, &opts);
            assert_eq!(d.mode, Mode::AcceptNew, "{key:?} {version:?}");
            assert!(
                d.why.contains("accept-new") && d.why.contains(needle),
                "{}",
                d.why
            );
        }
        let url = ProxyOptions {
            url: Some("ws://127.0.0.1:9/{id}".into()),
            ..ProxyOptions::default()
        };
        assert_eq!(decide(&file(), Some((9, 2)), &url).mode, Mode::AcceptNew);
        let off = ProxyOptions {
            api: Some(false),
            ..ProxyOptions::default()
        };
        let d = decide(&file(), Some((9, 2)), &off);
        assert!(d.why.contains("turned off"), "{}", d.why);
    }

    #[test]
    fn command_words_read_back_as_ssh_splits_them() {
        assert_eq!(
            command_word("p", "/usr/bin/novita-proxy", false).as_deref(),
            Ok("/usr/bin/novita-proxy")
        );
        assert_eq!(
            command_word("p", "/opt/my apps/np", false).as_deref(),
            Ok("\"/opt/my apps/np\"")
        );
        // The first word is not %-expanded by ssh; the others are.
        assert_eq!(command_word("p", "/a%b", false).as_deref(), Ok("/a%b"));
        assert_eq!(command_word("p", "/a%b", true).as_deref(), Ok("/a%%b"));
        assert_eq!(
            command_word("p", "it's \"x\"", true).as_deref(),
            Ok(r#""it's \"x\"""#)
        );
        assert!(command_word("p", "a${HOME}", true).is_err());
        assert!(command_word("p", "a\nb", true).is_err());
        assert!(command_word("p", "", true).is_err());
    }

    #[test]
    fn doctor_says_which_mode_and_why() {
        let d = decide(&KeyState::Env, Some((9, 2)), &ProxyOptions::default());
        let c = check(&d, &KeyState::Env);
        assert_eq!(c.status, crate::doctor::Status::Warn);
        let c = check(
            &decide(&KeyState::None, Some((9, 2)), &ProxyOptions::default()),
            &KeyState::None,
        );
        assert_eq!(c.status, crate::doctor::Status::Pass);
        assert!(c.to_string().contains("accept-new"));
    }
}

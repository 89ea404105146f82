//! Where the kit's files live, how a path is written into an ssh config (`~/...` or
//! absolute, quoted the way OpenSSH and Win32-OpenSSH parse it), how a ProxyCommand word
//! is quoted for the shell that runs it, and where `novita-proxy` is found.

use std::env;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

use crate::sys;

/// The kit's folder under `~/.ssh`.
pub const KIT_DIR: &str = "novita";
/// The file name of the generated key.
pub const KEY_NAME: &str = "id_ed25519";
/// The executable name of the proxy.
pub const PROXY_NAME: &str = "novita-proxy";

/// A path or value that cannot be written into an ssh config line safely.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QuoteError {
    /// The value contains a character OpenSSH cannot read back reliably.
    #[error("{what} {shown} contains {reason}, which cannot be written into an ssh config safely; {hint}")]
    Unsafe {
        /// What the value is.
        what: &'static str,
        /// The value, quoted for the message.
        shown: String,
        /// The offending character class.
        reason: &'static str,
        /// The fix.
        hint: &'static str,
    },
}

impl QuoteError {
    /// `value` (a `what`) is refused because it contains `reason`; `hint` is the fix.
    pub fn unsafe_value(
        what: &'static str,
        value: &str,
        reason: &'static str,
        hint: &'static str,
    ) -> QuoteError {
        QuoteError::Unsafe {
            what,
            shown: novita_ssh_core::quote_for_message(value),
            reason,
            hint,
        }
    }
}

/// Refuses an empty value and one with control characters, which no ssh_config line can
/// carry. `noun` names it in the fix: a "value" or a "path".
pub fn printable(what: &'static str, value: &str, noun: Noun) -> Result<(), QuoteError> {
    let (empty, control) = match noun {
        Noun::Value => (
            "pass a non-empty value",
            "use a value without control characters",
        ),
        Noun::Path => (
            "pass a non-empty path",
            "use a path without control characters",
        ),
    };
    if value.is_empty() {
        return Err(QuoteError::unsafe_value(what, value, "nothing", empty));
    }
    if value.chars().any(char::is_control) {
        return Err(QuoteError::unsafe_value(
            what,
            value,
            "a control character",
            control,
        ));
    }
    Ok(())
}

/// What [`printable`]'s fix calls the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noun {
    /// Any value.
    Value,
    /// A file path.
    Path,
}

/// The home directory in use and whether OpenSSH's `~` means the same directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// The home directory (`$HOME` on Unix).
    pub dir: PathBuf,
    /// True when OpenSSH expands `~` to `dir`: then `~/...` is written (portable dotfiles),
    /// otherwise absolute paths.
    pub tilde_ok: bool,
}

impl Home {
    /// The home in use: `$HOME` (or the profile folder on Windows), compared with the
    /// password database, where OpenSSH looks.
    pub fn from_env() -> anyhow::Result<Home> {
        let dir = dirs::home_dir()
            .filter(|d| !d.as_os_str().is_empty())
            .ok_or_else(|| anyhow::anyhow!("cannot find the home directory: set HOME"))?;
        let dir = absolute(&dir)?;
        let tilde_ok = if cfg!(unix) {
            sys::passwd_home().is_some_and(|p| same_dir(&p, &dir))
        } else {
            true
        };
        Ok(Home { dir, tilde_ok })
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    a == b || canon(a) == canon(b)
}

/// Makes a path absolute against the current directory, without resolving symlinks.
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(normalize(path));
    }
    let cwd = env::current_dir()
        .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
    Ok(normalize(&cwd.join(path)))
}

/// Removes `.` components and trailing separators (not `..`, which depends on symlinks).
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Every file the kit reads or writes.
#[derive(Debug, Clone)]
pub struct KitPaths {
    /// The home in use.
    pub home: Home,
    /// `~/.ssh`.
    pub ssh_dir: PathBuf,
    /// `~/.ssh/novita`.
    pub kit_dir: PathBuf,
    /// `~/.ssh/novita/id_ed25519`, the default key.
    pub default_key: PathBuf,
    /// `~/.ssh/novita/config`, the kit's ssh config.
    pub kit_config: PathBuf,
    /// `~/.ssh/novita/settings.json`: defaults and named hosts, the source of the config.
    pub settings: PathBuf,
    /// `~/.ssh/novita/known_hosts`.
    pub known_hosts: PathBuf,
    /// `~/.ssh/novita/.lock`, held while files are changed.
    pub lock: PathBuf,
    /// `~/.ssh/config`.
    pub default_ssh_config: PathBuf,
    /// `~/.ssh/novita/api_key`, the API key `login` writes (mode 0600).
    pub api_key: PathBuf,
}

impl KitPaths {
    /// The paths under a home directory.
    pub fn new(home: Home) -> KitPaths {
        let ssh_dir = home.dir.join(".ssh");
        let kit_dir = ssh_dir.join(KIT_DIR);
        KitPaths {
            default_key: kit_dir.join(KEY_NAME),
            kit_config: kit_dir.join("config"),
            settings: kit_dir.join("settings.json"),
            known_hosts: kit_dir.join("known_hosts"),
            lock: kit_dir.join(".lock"),
            default_ssh_config: ssh_dir.join("config"),
            api_key: novita_ssh_core::credentials::default_key_file(&home.dir),
            ssh_dir,
            kit_dir,
            home,
        }
    }

    /// How a path is written into an ssh config: `~/...` under the home when OpenSSH's `~`
    /// is that home, absolute otherwise (forward slashes on Windows), unquoted.
    pub fn display_for_ssh(&self, path: &Path) -> String {
        if self.home.tilde_ok {
            if let Ok(rest) = path.strip_prefix(&self.home.dir) {
                let rest: Vec<String> = rest
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                return if rest.is_empty() {
                    "~".to_owned()
                } else {
                    format!("~/{}", rest.join("/"))
                };
            }
        }
        let text = path.to_string_lossy().into_owned();
        if cfg!(windows) {
            text.replace('\\', "/")
        } else {
            text
        }
    }
}

/// How OpenSSH treats a config argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    /// `%` tokens are expanded (IdentityFile, UserKnownHostsFile): a literal `%` is `%%`.
    Tokens,
    /// No `%` expansion (Include), but glob characters are special.
    Glob,
}

/// Quotes one ssh_config argument (a path): double quotes when it contains whitespace,
/// `'` or `#`. `"`, control characters and (on Unix) backslashes are refused, because old
/// and new OpenSSH versions read them differently.
pub fn ssh_config_arg(
    what: &'static str,
    value: &str,
    expansion: Expansion,
) -> Result<String, QuoteError> {
    let unsafe_value = |reason, hint| QuoteError::unsafe_value(what, value, reason, hint);
    printable(what, value, Noun::Path)?;
    if value.contains('"') {
        return Err(unsafe_value("a double quote", "use a path without '\"'"));
    }
    if cfg!(unix) && value.contains('\\') {
        return Err(unsafe_value("a backslash", "use a path without '\\'"));
    }
    if expansion == Expansion::Glob && value.contains(['*', '?', '[', ']']) {
        return Err(unsafe_value(
            "a glob character",
            "use a path without '*', '?', '[' or ']'",
        ));
    }
    let value = match expansion {
        Expansion::Tokens => value.replace('%', "%%"),
        Expansion::Glob => value.to_owned(),
    };
    if value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '#' || c == '=') {
        Ok(format!("\"{value}\""))
    } else {
        Ok(value)
    }
}

/// Quotes one word of a ProxyCommand for the shell OpenSSH runs it with (`$SHELL -c` on
/// Unix; a Win32 command line on Windows), then escapes `%` for OpenSSH's token expansion.
///
/// Plain words stay unquoted: old Win32-OpenSSH fails on a quoted executable path that
/// does not need quotes.
pub fn proxy_command_word(what: &'static str, value: &str) -> Result<String, QuoteError> {
    let unsafe_value = |reason, hint| QuoteError::unsafe_value(what, value, reason, hint);
    printable(what, value, Noun::Value)?;
    let plain = value.chars().all(|c| {
        c.is_ascii_alphanumeric() || "_@+=:,./-".contains(c) || (cfg!(windows) && c == '\\')
    });
    let quoted = if plain {
        value.to_owned()
    } else if cfg!(windows) {
        if value.contains('"') {
            return Err(unsafe_value("a double quote", "use a value without '\"'"));
        }
        format!("\"{value}\"")
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    };
    Ok(quoted.replace('%', "%%"))
}

/// Where `novita-proxy` is: the first one on `PATH` (as found, not resolved through
/// symlinks, so a package upgrade that moves the real file does not break the config),
/// else the one next to this executable. The second value says whether it exists.
pub fn find_proxy() -> (PathBuf, bool) {
    let exe_name = format!("{PROXY_NAME}{}", env::consts::EXE_SUFFIX);
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            if dir.as_os_str().is_empty() {
                continue;
            }
            let candidate = dir.join(&exe_name);
            if is_executable(&candidate) {
                if let Ok(abs) = absolute(&candidate) {
                    return (abs, true);
                }
            }
        }
    }
    let sibling = env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&exe_name)))
        .unwrap_or_else(|| PathBuf::from(&exe_name));
    let exists = is_executable(&sibling);
    (sibling, exists)
}

/// True when `path` is a file that can be executed.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(home: &str, tilde_ok: bool) -> KitPaths {
        KitPaths::new(Home {
            dir: PathBuf::from(home),
            tilde_ok,
        })
    }

    #[test]
    fn tilde_only_when_ssh_agrees() {
        let p = paths("/home/ann", true);
        assert_eq!(p.display_for_ssh(&p.kit_config), "~/.ssh/novita/config");
        assert_eq!(p.display_for_ssh(Path::new("/opt/k")), "/opt/k");
        let p = paths("/tmp/h", false);
        assert_eq!(
            p.display_for_ssh(&p.kit_config),
            "/tmp/h/.ssh/novita/config"
        );
    }

    #[test]
    fn config_args_are_quoted_or_refused() {
        let t = Expansion::Tokens;
        assert_eq!(ssh_config_arg("p", "/a/b", t).as_deref(), Ok("/a/b"));
        assert_eq!(
            ssh_config_arg("p", "/a b/c", t).as_deref(),
            Ok("\"/a b/c\"")
        );
        assert_eq!(ssh_config_arg("p", "/a%b", t).as_deref(), Ok("/a%%b"));
        assert_eq!(
            ssh_config_arg("p", "/a%b", Expansion::Glob).as_deref(),
            Ok("/a%b")
        );
        assert_eq!(ssh_config_arg("p", "/it's", t).as_deref(), Ok("\"/it's\""));
        for bad in ["", "/a\"b", "/a\nb", "/a\\b"] {
            assert!(ssh_config_arg("p", bad, t).is_err(), "{bad:?}");
        }
        assert!(ssh_config_arg("p", "/a*", Expansion::Glob).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn proxy_words_are_shell_quoted() {
        assert_eq!(
            proxy_command_word("p", "/usr/bin/novita-proxy").as_deref(),
            Ok("/usr/bin/novita-proxy")
        );
        assert_eq!(
            proxy_command_word("p", "/opt/my apps/np").as_deref(),
            Ok("'/opt/my apps/np'")
        );
        assert_eq!(proxy_command_word("p", "it's").as_deref(), Ok(r"'it'\''s'"));
        assert_eq!(
            proxy_command_word("p", "ws://h/{id}?a=%41&b").as_deref(),
            Ok("'ws://h/{id}?a=%%41&b'")
        );
        assert!(proxy_command_word("p", "a\nb").is_err());
        assert!(proxy_command_word("p", "").is_err());
    }
}

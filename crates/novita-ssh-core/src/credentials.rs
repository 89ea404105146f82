//! The Novita API key: from `NOVITA_API_KEY`, or from the key file that
//! `novita-sshconfig login` writes (`~/.ssh/novita/api_key`, mode 0600).
//!
//! The key never appears in argv, logs or messages: [`ApiKey`] prints as `***`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The environment variable holding the API key, as in the SDKs.
pub const API_KEY_ENV: &str = "NOVITA_API_KEY";

/// The environment variable that moves the key file.
pub const API_KEY_FILE_ENV: &str = "NOVITA_API_KEY_FILE";

/// The environment variable that sets the API base URL, as in the SDKs.
pub const API_URL_ENV: &str = "NOVITA_API_URL";

/// The key file's name inside the kit's folder (`~/.ssh/novita`).
pub const KEY_FILE_NAME: &str = "api_key";

/// The longest API key accepted.
pub const MAX_KEY_LEN: usize = 512;

/// An API key. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Validates a key: 1 to [`MAX_KEY_LEN`] visible ASCII characters (surrounding
    /// whitespace, such as a file's final newline, is trimmed).
    pub fn parse(value: &str) -> Result<Self, CredentialError> {
        let key = value.trim();
        if key.is_empty() {
            return Err(CredentialError::Empty);
        }
        if key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CredentialError::Malformed);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a key came from, for messages (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `NOVITA_API_KEY` environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env => f.write_str(API_KEY_ENV),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a key could not be used. Every message is one line with the fix.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The key is empty.
    #[error("the API key is empty: run novita-sshconfig login, or set NOVITA_API_KEY")]
    Empty,
    /// The key has characters an API key never has.
    #[error("the API key is malformed (it must be visible ASCII without spaces, at most 512 characters): run novita-sshconfig login with the key from the Novita console")]
    Malformed,
    /// The key file can be read by others.
    #[error(
        "the API key file {path} is readable by others (mode {mode:03o}): run chmod 600 {path}"
    )]
    Unsafe {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a regular file or cannot be read.
    #[error("cannot read the API key file {path}: {reason}: run novita-sshconfig login again")]
    Unreadable {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The key file's content is not a key.
    #[error("the API key file {path} does not hold a key: run novita-sshconfig login again")]
    BadFile {
        /// The file.
        path: String,
    },
}

/// The key file under a home directory: `<home>/.ssh/novita/api_key`.
pub fn default_key_file(home: &Path) -> PathBuf {
    home.join(".ssh").join("novita").join(KEY_FILE_NAME)
}

/// Reads a key file. `Ok(None)` when it does not exist. On Unix a file that its group or
/// others may read or write is refused, as ssh refuses such private keys.
pub fn read_key_file(path: &Path) -> Result<Option<ApiKey>, CredentialError> {
    let shown = path.display().to_string();
    let unreadable = |e: &io::Error| CredentialError::Unreadable {
        path: shown.clone(),
        reason: io_reason(e),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(&e)),
    };
    if !meta.is_file() {
        return Err(CredentialError::Unreadable {
            path: shown,
            reason: "it is not a regular file".to_owned(),
        });
    }
    check_mode(&meta, &shown)?;
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(&e))?;
    ApiKey::parse(&text)
        .map(Some)
        .map_err(|_| CredentialError::BadFile { path: shown })
}

#[cfg(unix)]
fn check_mode(meta: &std::fs::Metadata, shown: &str) -> Result<(), CredentialError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialError::Unsafe {
            path: shown.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_meta: &std::fs::Metadata, _shown: &str) -> Result<(), CredentialError> {
    // Windows: the file lives in the user's profile, whose ACL admits only the user.
    Ok(())
}

fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Finds the API key: `NOVITA_API_KEY` when set and not empty, else the key file (`file`:
/// a flag or `NOVITA_API_KEY_FILE`, else `default_file`). `Ok(None)` when there is none.
pub fn find_api_key(
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<&Path>,
    default_file: Option<&Path>,
) -> Result<Option<(ApiKey, KeySource)>, CredentialError> {
    if let Some(value) = env(API_KEY_ENV).filter(|v| !v.trim().is_empty()) {
        return ApiKey::parse(&value).map(|k| Some((k, KeySource::Env)));
    }
    let from_env = env(API_KEY_FILE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let Some(path) = file
        .map(Path::to_path_buf)
        .or(from_env)
        .or_else(|| default_file.map(Path::to_path_buf))
    else {
        return Ok(None);
    };
    Ok(read_key_file(&path)?.map(|k| (k, KeySource::File(path))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_print() {
        let key = ApiKey::parse("sk_live_secret\n").unwrap();
        assert_eq!(key.expose(), "sk_live_secret");
        assert_eq!(format!("{key} {key:?}"), "*** ApiKey(***)");
        assert!(ApiKey::parse("  \n").is_err());
        assert!(ApiKey::parse("a b").is_err());
        assert!(ApiKey::parse("ключ").is_err());
    }

    #[test]
    fn env_wins_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("api_key");
        let none = |_: &str| None;
        assert!(find_api_key(&none, None, Some(&file)).unwrap().is_none());
        std::fs::write(&file, "from-file\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = find_api_key(&none, None, Some(&file)).unwrap_err();
            assert!(
                matches!(err, CredentialError::Unsafe { mode: 0o644, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("chmod 600"));
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let (key, source) = find_api_key(&none, None, Some(&file)).unwrap().unwrap();
        assert_eq!(key.expose(), "from-file");
        assert_eq!(source, KeySource::File(file.clone()));
        let env = |n: &str| (n == API_KEY_ENV).then(|| "from-env".to_owned());
        let (key, source) = find_api_key(&env, None, Some(&file)).unwrap().unwrap();
        assert_eq!((key.expose(), source), ("from-env", KeySource::Env));
        std::fs::write(&file, "\n").unwrap();
        assert!(matches!(
            find_api_key(&none, Some(&file), None),
            Err(CredentialError::BadFile { .. })
        ));
    }
}

//! The kit's SSH key: an ed25519 pair made with the ssh-key crate (no ssh-keygen needed),
//! optionally encrypted with a passphrase, never overwritten; or an existing pair, checked.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey, PublicKey};

use crate::atomic_write::{create_new, create_private_dir};
use crate::exit::{failure, Exit};
use crate::sys;

/// The `.pub` path of a private key path.
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The comment of a new key: `novita-ssh@<hostname>`.
pub fn default_comment() -> String {
    let host: String = sys::hostname()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if host.is_empty() {
        "novita-ssh".to_owned()
    } else {
        format!("novita-ssh@{host}")
    }
}

/// A freshly generated key pair, not yet on disk.
pub struct NewKey {
    /// The private key (encrypted when a passphrase was given).
    pub private: PrivateKey,
    /// The public key line, with its comment.
    pub public_line: String,
}

/// Generates an ed25519 key pair with `comment`, encrypted when `passphrase` is given.
pub fn generate(comment: &str, passphrase: Option<&[u8]>) -> anyhow::Result<NewKey> {
    let mut key =
        PrivateKey::random(&mut OsRng, Algorithm::Ed25519).context("cannot generate a key")?;
    key.set_comment(comment);
    // The public line is taken before encryption: an encrypted key hides its comment.
    let public_line = key
        .public_key()
        .to_openssh()
        .context("cannot encode the public key")?;
    let key = match passphrase.filter(|p| !p.is_empty()) {
        Some(p) => key
            .encrypt(&mut OsRng, p)
            .context("cannot encrypt the key")?,
        None => key,
    };
    Ok(NewKey {
        private: key,
        public_line,
    })
}

/// True when the private key or its `.pub` exists (even as a dangling link).
pub fn pair_exists(private: &Path) -> bool {
    fs::symlink_metadata(private).is_ok() || fs::symlink_metadata(public_path(private)).is_ok()
}

/// Writes a new pair: the folder 0700, the key 0600, the `.pub` 0644. Refuses (exit 6)
/// when either file exists; nothing is ever overwritten.
pub fn write_pair(private: &Path, key: &NewKey) -> anyhow::Result<()> {
    if pair_exists(private) {
        return Err(exists_failure(private));
    }
    if let Some(dir) = private.parent() {
        create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        tighten_dir(dir);
    }
    let public = public_path(private);
    // Zeroized when dropped.
    let pem = key
        .private
        .to_openssh(LineEnding::LF)
        .context("cannot encode the private key")?;
    let mut file = create_new(private, 0o600).map_err(|e| map_exists(e, private))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", private.display()))?;
    let mut file = create_new(&public, 0o644).map_err(|e| map_exists(e, &public))?;
    file.write_all(format!("{}\n", key.public_line).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", public.display()))?;
    Ok(())
}

/// Makes the kit's own folder 0700 (ssh does not care, but the key's folder should be
/// private).
fn tighten_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if dir.file_name().is_some_and(|n| n == crate::paths::KIT_DIR) {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn exists_failure(private: &Path) -> anyhow::Error {
    failure(
        Exit::Exists,
        format!(
            "a key already exists at {}: it is never overwritten; use it as it is, or pass \
             --force to move the old pair aside with a timestamp",
            private.display()
        ),
    )
}

fn map_exists(e: io::Error, path: &Path) -> anyhow::Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        exists_failure(path)
    } else {
        anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
    }
}

/// Moves an existing pair aside as `<name>.<UTC timestamp>.old` (and `.pub`), returning
/// the new paths.
pub fn move_aside(private: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let stamp = utc_stamp(SystemTime::now());
    let mut moved = Vec::new();
    for path in [private.to_path_buf(), public_path(private)] {
        if fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let mut target = path.as_os_str().to_owned();
        target.push(format!(".{stamp}.old"));
        let target = PathBuf::from(target);
        if fs::symlink_metadata(&target).is_ok() {
            anyhow::bail!(
                "{} already exists; wait a second and run the command again",
                target.display()
            );
        }
        fs::rename(&path, &target)
            .with_context(|| format!("cannot move {} aside", path.display()))?;
        moved.push(target);
    }
    Ok(moved)
}

/// `YYYYMMDDTHHMMSSZ` for a time (UTC).
pub fn utc_stamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What an existing key pair holds.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// The public key line (from the `.pub`, which keeps the comment; else derived).
    pub public_line: String,
    /// Whether the private key is protected by a passphrase.
    pub encrypted: bool,
}

/// Checks an existing pair: the private key must be an OpenSSH private key, and its
/// `.pub`, when present, must be its public half.
pub fn inspect_pair(private: &Path) -> anyhow::Result<KeyInfo> {
    let bytes = fs::read(private).map_err(|e| {
        failure(
            Exit::Usage,
            format!(
                "cannot read the key {}: {e}; pass the private key's path (not the .pub)",
                private.display()
            ),
        )
    })?;
    let key = PrivateKey::from_openssh(&bytes).map_err(|e| {
        failure(
            Exit::Usage,
            format!(
                "{} is not an OpenSSH private key ({e}); convert it with \
                 `ssh-keygen -p -f {}` or pass another key",
                private.display(),
                private.display()
            ),
        )
    })?;
    let public = public_path(private);
    let public_line = match fs::read_to_string(&public) {
        Ok(text) => {
            let line = text.lines().next().unwrap_or_default();
            let parsed = PublicKey::from_openssh(line.trim()).map_err(|e| {
                failure(
                    Exit::Usage,
                    format!(
                        "{} is not an OpenSSH public key ({e}); recreate it with \
                         `ssh-keygen -y -f {} > {}`",
                        public.display(),
                        private.display(),
                        public.display()
                    ),
                )
            })?;
            if parsed.key_data() != key.public_key().key_data() {
                return Err(failure(
                    Exit::Usage,
                    format!(
                        "{} does not belong to {}; recreate it with `ssh-keygen -y -f {} > {}`",
                        public.display(),
                        private.display(),
                        private.display(),
                        public.display()
                    ),
                ));
            }
            canonical_public_line(line)?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => key
            .public_key()
            .to_openssh()
            .context("cannot encode the public key")?,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", public.display())),
    };
    Ok(KeyInfo {
        public_line,
        encrypted: key.is_encrypted(),
    })
}

/// Validates one public key line and returns it re-encoded by the parser, so only
/// `<algorithm> <base64> [comment]` with a comment free of control characters can reach a
/// template or an authorized_keys file.
pub fn canonical_public_line(line: &str) -> anyhow::Result<String> {
    let line = line.trim();
    let bad = |why: String| {
        failure(
            Exit::Usage,
            format!("invalid public key line: {why}; pass the contents of a .pub file"),
        )
    };
    if line.chars().any(char::is_control) {
        return Err(bad("it contains control characters".into()));
    }
    let key = PublicKey::from_openssh(line).map_err(|e| bad(e.to_string()))?;
    key.to_openssh().map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pairs_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("novita/id_ed25519");
        let key = generate("novita-ssh@test", None).expect("generate");
        assert!(key.public_line.starts_with("ssh-ed25519 "));
        assert!(key.public_line.ends_with(" novita-ssh@test"));
        write_pair(&key_path, &key).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&key_path), 0o600);
            assert_eq!(mode(&public_path(&key_path)), 0o644);
            assert_eq!(mode(key_path.parent().expect("dir")), 0o700);
        }
        let before = fs::read(&key_path).expect("read");
        let again = generate("x", None).expect("generate");
        let err = write_pair(&key_path, &again).expect_err("exists");
        assert_eq!(crate::exit::exit_of(&err), Exit::Exists);
        assert_eq!(fs::read(&key_path).expect("read"), before);
        let info = inspect_pair(&key_path).expect("inspect");
        assert_eq!(info.public_line, key.public_line);
        assert!(!info.encrypted);
    }

    #[test]
    fn encrypted_keys_keep_their_comment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("k");
        let key = generate("c@h", Some(b"secret words")).expect("generate");
        assert!(key.private.is_encrypted());
        write_pair(&key_path, &key).expect("write");
        let info = inspect_pair(&key_path).expect("inspect");
        assert!(info.encrypted);
        assert!(info.public_line.ends_with(" c@h"));
    }

    #[test]
    fn mismatched_or_broken_pairs_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        write_pair(&a, &generate("a", None).expect("gen")).expect("write");
        let other = generate("b", None).expect("gen");
        fs::write(public_path(&a), format!("{}\n", other.public_line)).expect("write");
        assert!(inspect_pair(&a).is_err());
        fs::write(&a, "not a key").expect("write");
        assert!(inspect_pair(&a).is_err());
        assert!(canonical_public_line("ssh-ed25519 AAAA'; rm -rf / #").is_err());
        assert!(canonical_public_line("ssh-ed25519 x\ny").is_err());
    }

    #[test]
    fn stamps_are_utc_dates() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_709_210_096);
        assert_eq!(utc_stamp(t), "20240229T123456Z");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn moved_pairs_free_the_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("id");
        write_pair(&a, &generate("a", None).expect("gen")).expect("write");
        let moved = move_aside(&a).expect("move");
        assert_eq!(moved.len(), 2);
        assert!(!pair_exists(&a));
        assert!(moved.iter().all(|p| p.exists()));
    }
}

//! Keeping the committed man pages and completions equal to what the code renders: tests
//! compare, and with [`REGENERATE_VAR`] set they rewrite the files instead.

use std::fs;
use std::io;
use std::path::Path;

/// Set this environment variable to `1` to make the staleness tests rewrite the committed
/// files instead of failing (`packaging/regenerate-docs.sh` does).
pub const REGENERATE_VAR: &str = "NOVITA_SSH_REGENERATE";

/// What [`sync_file`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// The file already holds the expected bytes.
    Current,
    /// The file differed (or was missing) and was rewritten.
    Written,
    /// The file differs (or is missing); the text says where.
    Stale(String),
}

/// Compares `path` with `expected`; rewrites it when `regenerate` is true.
///
/// # Errors
/// When the file cannot be read (other than not existing) or written.
pub fn sync_file(path: &Path, expected: &[u8], regenerate: bool) -> io::Result<Sync> {
    let current = match fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if current.as_deref() == Some(expected) {
        return Ok(Sync::Current);
    }
    if regenerate {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(path, expected)?;
        return Ok(Sync::Written);
    }
    let detail = match current {
        None => "missing".to_owned(),
        Some(bytes) => first_difference(
            &String::from_utf8_lossy(&bytes),
            &String::from_utf8_lossy(expected),
        ),
    };
    Ok(Sync::Stale(format!(
        "{} is stale ({detail})",
        path.display()
    )))
}

/// The first line where `old` and `new` differ, for a readable failure.
fn first_difference(old: &str, new: &str) -> String {
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    for number in 1.. {
        match (old_lines.next(), new_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                return format!(
                    "line {number}: committed {:?}, rendered {:?}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                )
            }
        }
    }
    "line endings differ".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_missing_current_and_regenerated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/page.1");
        match sync_file(&path, b"a\nb\n", false).expect("sync") {
            Sync::Stale(msg) => assert!(msg.contains("missing"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(!path.exists(), "a check never writes");
        assert_eq!(
            sync_file(&path, b"a\nb\n", true).expect("sync"),
            Sync::Written
        );
        assert_eq!(fs::read(&path).expect("read"), b"a\nb\n");
        assert_eq!(
            sync_file(&path, b"a\nb\n", false).expect("sync"),
            Sync::Current
        );
        match sync_file(&path, b"a\nc\n", false).expect("sync") {
            Sync::Stale(msg) => assert!(msg.contains("line 2") && msg.contains("\"c\""), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&path).expect("read"), b"a\nb\n");
    }
}

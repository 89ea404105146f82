//! A set of file changes computed before anything is written: shown as unified diffs for
//! `--dry-run` and the confirmation prompt, then applied with atomic writes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::atomic_write::{self, WriteError, WriteOptions};

/// The mode of the kit's own files, and of an ssh config the kit creates.
pub const PRIVATE: u32 = 0o600;

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Replace (or create) the file.
    Write {
        /// The new contents.
        contents: String,
        /// The mode of a new file.
        mode: u32,
        /// Where to keep the previous version.
        backup: Option<PathBuf>,
    },
    /// Delete the file.
    Remove {
        /// Where to keep the previous version.
        backup: Option<PathBuf>,
    },
}

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// Its current contents (`None`: it does not exist).
    pub before: Option<String>,
    /// What happens to it.
    pub action: Action,
}

/// Changes to several files, in the order they are applied.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// The changes (only real ones: a file that would stay the same is not listed).
    pub changes: Vec<FileChange>,
}

/// Reads a file as text; `None` when it does not exist.
pub fn read_text(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not valid UTF-8 (byte {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl ChangeSet {
    /// Plans writing `contents` to `path` (nothing when it already holds them).
    pub fn write(
        &mut self,
        path: &Path,
        before: Option<String>,
        contents: String,
        mode: u32,
        backup: Option<PathBuf>,
    ) {
        if before.as_deref() == Some(contents.as_str()) {
            return;
        }
        self.changes.push(FileChange {
            path: path.to_path_buf(),
            before,
            action: Action::Write {
                contents,
                mode,
                backup,
            },
        });
    }

    /// Plans deleting `path` (nothing when it does not exist).
    pub fn remove(&mut self, path: &Path, before: Option<String>, backup: Option<PathBuf>) {
        if before.is_none() && fs::symlink_metadata(path).is_err() {
            return;
        }
        self.changes.push(FileChange {
            path: path.to_path_buf(),
            before,
            action: Action::Remove { backup },
        });
    }

    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when `path` would change.
    pub fn touches(&self, path: &Path) -> bool {
        self.changes.iter().any(|c| c.path == path)
    }

    /// Unified diffs of every change.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            let name = change.path.display().to_string();
            let before = change.before.as_deref().unwrap_or("");
            let (after, old_header, new_header) = match &change.action {
                Action::Write { contents, .. } => (
                    contents.as_str(),
                    if change.before.is_some() {
                        name.clone()
                    } else {
                        "/dev/null".to_owned()
                    },
                    name.clone(),
                ),
                Action::Remove { .. } => ("", name.clone(), "/dev/null".to_owned()),
            };
            let diff = TextDiff::from_lines(before, after);
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(&old_header, &new_header)
                .to_string();
            if text.is_empty() {
                // Only possible for an empty file being removed or created.
                out.push_str(&format!("--- {old_header}\n+++ {new_header}\n"));
            } else {
                out.push_str(&text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Applies every change, in order. Stops at the first failure.
    pub fn apply(&self) -> Result<(), WriteError> {
        for change in &self.changes {
            match &change.action {
                Action::Write {
                    contents,
                    mode,
                    backup,
                } => atomic_write::write_atomic(
                    &change.path,
                    contents.as_bytes(),
                    &WriteOptions {
                        new_mode: *mode,
                        backup: backup.clone(),
                        force_mode: false,
                    },
                )?,
                Action::Remove { backup } => {
                    atomic_write::remove_file(&change.path, backup.as_deref())?
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_show_every_change_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, "one\ntwo\n").expect("write");
        fs::write(&b, "gone\n").expect("write");
        let mut set = ChangeSet::default();
        set.write(
            &a,
            read_text(&a).expect("read"),
            "one\ntwo\n".into(),
            0o600,
            None,
        );
        assert!(set.is_empty());
        set.write(
            &a,
            read_text(&a).expect("read"),
            "one\nthree\n".into(),
            0o600,
            None,
        );
        set.remove(&b, read_text(&b).expect("read"), None);
        set.remove(&dir.path().join("missing"), None, None);
        assert_eq!(set.changes.len(), 2);
        let diff = set.diff();
        assert!(diff.contains("-two\n+three\n"), "{diff}");
        assert!(
            diff.contains("+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n"),
            "{diff}"
        );
        set.apply().expect("apply");
        assert_eq!(fs::read_to_string(&a).expect("read"), "one\nthree\n");
        assert!(!b.exists());
    }
}

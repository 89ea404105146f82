//! Writing a file so that a crash, a full disk or a concurrent reader never sees half of
//! it: a temporary file in the same directory, fsync, rename, fsync of the directory.
//!
//! A symlink is written through (the link's target is replaced, the link stays a link,
//! as dotfile managers need), the mode and owner are kept (0600 for a new file), the
//! previous version is copied to a backup beside the path, and a write-protected file or
//! directory (a home-manager link into a read-only store) is reported as read-only before
//! anything changes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use thiserror::Error;

/// Why a file could not be written.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The file (or the folder it must be replaced in) cannot be written. Nothing changed.
    #[error("{path} is read-only: {reason}")]
    ReadOnly {
        /// The file as the user named it.
        path: PathBuf,
        /// Why it counts as read-only.
        reason: String,
    },
    /// Any other I/O failure.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Follows a chain of symlinks to the file that really holds the bytes (which may not
/// exist yet). Relative link targets are resolved against the link's folder.
pub fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    current
                        .parent()
                        .map(|dir| dir.join(&target))
                        .unwrap_or(target)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at {}",
        path.display()
    )))
}

/// Whether `path` (after following links) can be replaced.
///
/// Read-only means: the file has no owner write permission (a home-manager file in the
/// Nix store is 0444, and even root must respect that intent), opening it for writing
/// fails, or its folder is write-protected (the rename needs to create a file there).
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let target = resolve_links(path).map_err(io_err(path))?;
    let read_only = |reason: String| WriteError::ReadOnly {
        path: path.to_path_buf(),
        reason,
    };
    match fs::metadata(&target) {
        Ok(meta) => {
            if is_write_protected(&meta) {
                return Err(read_only(format!(
                    "{} is write-protected{}",
                    target.display(),
                    mode_text(&meta)
                )));
            }
            if let Err(e) = OpenOptions::new().append(true).open(&target) {
                if is_permission_error(&e) {
                    return Err(read_only(format!("{}: {e}", target.display())));
                }
                return Err(io_err(path)(e));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(meta) = fs::metadata(dir) {
            if is_write_protected(&meta) {
                return Err(read_only(format!(
                    "its folder {} is write-protected{}",
                    dir.display(),
                    mode_text(&meta)
                )));
            }
        }
    }
    Ok(())
}

fn is_permission_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

#[cfg(unix)]
fn is_write_protected(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o200 == 0
}

#[cfg(not(unix))]
fn is_write_protected(meta: &fs::Metadata) -> bool {
    meta.permissions().readonly()
}

#[cfg(unix)]
fn mode_text(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::PermissionsExt;
    format!(" (mode {:04o})", meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_text(_meta: &fs::Metadata) -> String {
    String::new()
}

/// How [`write_atomic`] treats a file.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The mode of a new file (an existing file keeps its own).
    pub new_mode: u32,
    /// Where to copy the previous version, if any.
    pub backup: Option<PathBuf>,
    /// Give an existing file `new_mode` too, instead of keeping its mode (a secret that
    /// must end up private whatever the file was).
    pub force_mode: bool,
}

/// Replaces the contents of `path` atomically (see the module documentation).
pub fn write_atomic(path: &Path, contents: &[u8], opts: &WriteOptions) -> Result<(), WriteError> {
    check_writable(path)?;
    let target = resolve_links(path).map_err(io_err(path))?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if !dir.exists() {
        create_private_dir(&dir).map_err(io_err(path))?;
    }
    let previous = match fs::read(&target) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(path)(e)),
    };
    let meta = fs::metadata(&target).ok();

    let temp = temp_path(&dir, &target);
    let mut file = match create_new(&temp, opts.new_mode) {
        Ok(f) => f,
        Err(e) if is_permission_error(&e) => {
            return Err(WriteError::ReadOnly {
                path: path.to_path_buf(),
                reason: format!("cannot create a file in {}: {e}", dir.display()),
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let result = (|| -> io::Result<()> {
        file.write_all(contents)?;
        if let Some(meta) = meta.as_ref().filter(|_| !opts.force_mode) {
            keep_mode_and_owner(&file, meta)?;
        }
        file.sync_all()?;
        drop(file);
        if let (Some(backup), Some(previous)) = (&opts.backup, &previous) {
            write_backup(backup, previous)?;
        }
        fs::rename(&temp, &target)?;
        sync_dir(&dir);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(io_err(path)(e));
    }
    Ok(())
}

/// Removes `path` (the link's target stays when `path` is a link: only what the user named
/// goes), copying it to `backup` first. A missing file is not an error.
pub fn remove_file(path: &Path, backup: Option<&Path>) -> Result<(), WriteError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
        Ok(_) => {}
    }
    if let Some(backup) = backup {
        if let Ok(previous) = fs::read(path) {
            write_backup(backup, &previous).map_err(io_err(path))?;
        }
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if is_permission_error(&e) => Err(WriteError::ReadOnly {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Creates a folder (and its parents) with mode 0700 where modes exist.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates a new file that must not exist, with `mode` from the first byte on.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let file = opts.open(path)?;
    // The umask may have removed bits the caller asked for (0644 for a .pub).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(file)
}

fn write_backup(backup: &Path, previous: &[u8]) -> io::Result<()> {
    match fs::remove_file(backup) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file = create_new(backup, 0o600)?;
    file.write_all(previous)?;
    file.sync_all()
}

fn temp_path(dir: &Path, target: &Path) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    dir.join(format!(
        ".{name}.novita-ssh-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(unix)]
fn keep_mode_and_owner(file: &File, meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // Owner first: changing the owner may clear set-id bits, which a config never has.
    let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
    file.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_mode_and_owner(file: &File, meta: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(meta.permissions())
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn opts() -> WriteOptions {
        WriteOptions {
            new_mode: 0o600,
            backup: None,
            force_mode: false,
        }
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("meta").permissions().mode() & 0o7777
    }

    #[test]
    fn new_files_are_private_and_modes_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("sub/a");
        write_atomic(&a, b"one", &opts()).expect("write");
        assert_eq!(fs::read(&a).expect("read"), b"one");
        assert_eq!(mode(&a), 0o600);
        fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&a, b"two", &opts()).expect("write");
        assert_eq!(mode(&a), 0o640);
        let leftovers: Vec<_> = fs::read_dir(a.parent().expect("dir"))
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn symlinks_are_written_through_with_a_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("dotfiles/config");
        fs::create_dir_all(real.parent().expect("dir")).expect("mkdir");
        fs::write(&real, "old").expect("write");
        let link = dir.path().join("config");
        symlink("dotfiles/config", &link).expect("symlink");
        let backup = dir.path().join("config.bak");
        write_atomic(
            &link,
            b"new",
            &WriteOptions {
                new_mode: 0o600,
                backup: Some(backup.clone()),
                force_mode: false,
            },
        )
        .expect("write");
        assert!(fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).expect("read"), b"new");
        assert_eq!(fs::read(&backup).expect("read"), b"old");
    }

    #[test]
    fn write_protected_files_and_folders_are_read_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        fs::create_dir(&store).expect("mkdir");
        let file = store.join("config");
        fs::write(&file, "x").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).expect("chmod");
        let link = dir.path().join("config");
        symlink(&file, &link).expect("symlink");
        let err = write_atomic(&link, b"y", &opts()).expect_err("read-only");
        assert!(matches!(err, WriteError::ReadOnly { .. }), "{err}");
        assert_eq!(fs::read(&file).expect("read"), b"x");

        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::set_permissions(&store, fs::Permissions::from_mode(0o555)).expect("chmod");
        let err = check_writable(&link).expect_err("read-only folder");
        assert!(matches!(err, WriteError::ReadOnly { .. }), "{err}");
        fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn dangling_and_relative_links_resolve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("l");
        symlink("missing", &link).expect("symlink");
        assert_eq!(
            resolve_links(&link).expect("resolve"),
            dir.path().join("missing")
        );
        write_atomic(&link, b"z", &opts()).expect("write");
        assert_eq!(fs::read(dir.path().join("missing")).expect("read"), b"z");
    }
}

//! One lock for every change the kit makes, so two runs at once (two `add`s from two
//! terminals, a script) cannot lose each other's changes.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
#[cfg(not(unix))]
use std::path::PathBuf;

use crate::sys;

/// An exclusive lock on `~/.ssh/novita/.lock`, held until dropped.
#[derive(Debug)]
pub struct KitLock {
    _file: File,
    #[cfg(not(unix))]
    path: PathBuf,
}

impl KitLock {
    /// Takes the lock, waiting for another run to finish. `on_wait` is called once if the
    /// lock is busy, to tell the user why nothing happens.
    #[cfg(unix)]
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> io::Result<KitLock> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)?;
        if !sys::lock_exclusive(&file, false)? {
            on_wait();
            sys::lock_exclusive(&file, true)?;
        }
        Ok(KitLock { _file: file })
    }

    /// Takes the lock: on systems without flock the lock file is created exclusively and
    /// removed on drop; a run waits up to a minute for another one to finish.
    #[cfg(not(unix))]
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> io::Result<KitLock> {
        let mut on_wait = Some(on_wait);
        for _ in 0..600 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(file) => {
                    let _ = sys::lock_exclusive(&file, true);
                    return Ok(KitLock {
                        _file: file,
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if let Some(f) = on_wait.take() {
                        f();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "another novita-sshconfig holds {}; if none runs, delete that file",
                path.display()
            ),
        ))
    }
}

#[cfg(not(unix))]
impl Drop for KitLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

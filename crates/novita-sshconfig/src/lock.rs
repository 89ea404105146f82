//! One lock for every change the kit makes, so two runs at once (two `add`s from two
//! terminals, a script) cannot lose each other's changes.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

/// An exclusive lock on `~/.ssh/novita/.lock`, held until dropped (the file stays).
#[derive(Debug)]
pub struct KitLock {
    _file: File,
}

impl KitLock {
    /// Takes the lock, waiting for another run to finish. `on_wait` is called once if the
    /// lock is busy, to tell the user why nothing happens. The operating system releases
    /// it when the file is closed, also when a run is killed.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> io::Result<KitLock> {
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait();
                lock(&file)?;
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        Ok(KitLock { _file: file })
    }
}

/// Waits for the exclusive lock, again when a signal interrupts the wait.
fn lock(file: &File) -> io::Result<()> {
    loop {
        match file.lock() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_second_run_waits_for_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".lock");
        let first = KitLock::acquire(&path, || panic!("the lock is free")).expect("lock");
        let (told, waited) = mpsc::channel();
        let (done, finished) = mpsc::channel();
        let second = std::thread::spawn({
            let path = path.clone();
            move || {
                let lock =
                    KitLock::acquire(&path, move || told.send(()).expect("send")).expect("lock");
                done.send(()).expect("send");
                lock
            }
        });
        waited
            .recv_timeout(Duration::from_secs(10))
            .expect("the second run is told it waits");
        assert!(
            finished.recv_timeout(Duration::from_millis(200)).is_err(),
            "the second run got the lock while the first held it"
        );
        drop(first);
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the second run gets the lock once the first lets go");
        drop(second.join().expect("the second run"));
        assert!(path.exists(), "the lock file stays");
    }
}

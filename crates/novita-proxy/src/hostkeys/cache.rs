//! Host keys fetched from the platform, one file per sandbox ID, so that repeated
//! connections skip the fetch: `<cache dir>/novita-ssh/host-keys/<id>` (`~/.cache` on
//! Linux, `~/Library/Caches` on macOS), one `<type> <base64>` line per key.
//!
//! An ID's keys are written once and never replaced: a different set of keys for a known
//! ID is refused. While the ProxyCommand fetches an ID's keys in the background, a
//! `<id>.pending` file says so, and `known-hosts` waits for that fetch instead of starting
//! its own.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use novita_ssh_core::SandboxId;

use super::keys::{parse_line, HostKey};

/// Entries not used for this long are removed (the platform is asked again, if ever).
const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
/// A pending marker older than this belongs to a fetch that died.
const PENDING_STALE: Duration = Duration::from_secs(30);
/// How often a waiting `known-hosts` looks for the keys.
const POLL: Duration = Duration::from_millis(20);

/// Why keys were not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Other keys are recorded for this ID: they stay.
    Changed {
        /// The keys recorded before.
        recorded: Vec<HostKey>,
        /// The file holding them.
        path: PathBuf,
    },
    /// The file could not be written.
    Io(String),
}

/// The host key cache in one folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The user's cache: `<cache dir>/novita-ssh/host-keys`. `None` without a cache dir.
    pub fn user() -> Option<Cache> {
        dirs::cache_dir().map(|d| Cache::at(d.join("novita-ssh").join("host-keys")))
    }

    /// A cache in `dir`.
    pub fn at(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// Whether the folder exists: `known-hosts` has run on this machine, so the
    /// ProxyCommand's background fetch is worth making.
    pub fn in_use(&self) -> bool {
        self.dir.is_dir()
    }

    /// The file of sandbox `id`.
    pub fn path(&self, id: &SandboxId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    fn pending_path(&self, id: &SandboxId) -> PathBuf {
        self.dir.join(format!("{id}.pending"))
    }

    /// The keys recorded for `id`, if any. A file that does not read back as host keys
    /// counts as absent (and is replaced by the next store).
    pub fn load(&self, id: &SandboxId) -> Option<Vec<HostKey>> {
        let path = self.path(id);
        let text = std::fs::read_to_string(&path).ok()?;
        let keys: Result<Vec<HostKey>, String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_line)
            .collect();
        match keys {
            Ok(keys) if !keys.is_empty() => {
                touch(&path);
                Some(keys)
            }
            Ok(_) => None,
            Err(why) => {
                crate::info!("ignoring the host key cache {}: {why}", path.display());
                None
            }
        }
    }

    /// Records `keys` for `id`. Recording the same keys again is fine; different ones are
    /// refused and the recorded ones stay.
    pub fn store(&self, id: &SandboxId, keys: &[HostKey]) -> Result<(), StoreError> {
        if let Some(recorded) = self.load(id) {
            return if same_set(&recorded, keys) {
                Ok(())
            } else {
                Err(StoreError::Changed {
                    recorded,
                    path: self.path(id),
                })
            };
        }
        let text: String = keys.iter().map(|k| format!("{}\n", k.line())).collect();
        let created = write_new(&self.dir, &self.path(id), text.as_bytes())
            .map_err(|e| StoreError::Io(format!("{}: {e}", self.path(id).display())))?;
        if !created {
            // Another process recorded keys for this ID meanwhile: theirs stay.
            return match self.load(id) {
                Some(recorded) if !same_set(&recorded, keys) => Err(StoreError::Changed {
                    recorded,
                    path: self.path(id),
                }),
                _ => Ok(()),
            };
        }
        self.prune();
        Ok(())
    }

    /// Marks a background fetch of `id`'s keys as under way until the guard is dropped.
    /// `None` when the folder cannot be written.
    pub fn begin_fetch(&self, id: &SandboxId) -> Option<Pending> {
        let path = self.pending_path(id);
        std::fs::write(&path, std::process::id().to_string()).ok()?;
        Some(Pending { path })
    }

    /// Whether a fetch of `id`'s keys is under way (a fresh marker).
    pub fn fetching(&self, id: &SandboxId) -> bool {
        fresh(&self.pending_path(id))
    }

    /// When a fresh background fetch of `id` is under way, waits up to `limit` for it and
    /// returns its keys; `None` at once when there is none, or when it ends without keys.
    pub async fn wait_for_fetch(&self, id: &SandboxId, limit: Duration) -> Option<Vec<HostKey>> {
        let pending = self.pending_path(id);
        if !fresh(&pending) {
            return None;
        }
        crate::info!("waiting for the ProxyCommand's fetch of {id}'s host keys");
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(keys) = self.load(id) {
                return Some(keys);
            }
            if !fresh(&pending) || tokio::time::Instant::now() >= deadline {
                return self.load(id);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Removes entries not used for [`KEEP`], and pending markers of dead fetches.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let limit = if name.ends_with(".pending") {
                PENDING_STALE
            } else if name.starts_with('.') {
                // Temporary files of writes in progress (or that died): an hour is plenty.
                Duration::from_secs(3600)
            } else {
                KEEP
            };
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > limit);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A background fetch under way; the marker goes when this is dropped.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether both hold the same keys, in any order.
pub fn same_set(a: &[HostKey], b: &[HostKey]) -> bool {
    a.len() == b.len() && a.iter().all(|k| b.iter().any(|o| o.same(k)))
}

/// Whether the marker at `path` exists and is younger than [`PENDING_STALE`].
fn fresh(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < PENDING_STALE)
}

/// Marks `path` as used now, so that pruning keeps it.
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Writes `path` whole or not at all (a temporary file linked into place), unless it
/// appeared meanwhile: the first keys recorded for an ID stay. `Ok(false)`: it existed.
fn write_new(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    // A hard link fails when the target exists: the first writer wins, as a rename would not.
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: a rename, checked just before.
        Err(_) if path.exists() => Ok(false),
        Err(_) => return std::fs::rename(&tmp, path).map(|()| true),
    };
    let _ = std::fs::remove_file(&tmp);
    linked
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates the user's cache folder, which turns the ProxyCommand's background fetch on.
pub fn create(cache: &Cache) {
    if let Err(e) = create_private_dir(&cache.dir) {
        crate::debug!("cannot create {}: {e}", cache.dir.display());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(n: u8) -> HostKey {
        // Ed25519 public keys are any 32 bytes as far as parsing goes.
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        blob.extend_from_slice(&[n; 32]);
        use base64::Engine as _;
        super::super::keys::parse_offered(&base64::engine::general_purpose::STANDARD.encode(blob))
            .unwrap()
    }

    fn id() -> SandboxId {
        SandboxId::parse("icache0test0000000000").unwrap()
    }

    #[test]
    fn keys_are_stored_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("host-keys"));
        assert!(!cache.in_use());
        assert_eq!(cache.load(&id()), None);
        cache.store(&id(), &[key(1), key(2)]).unwrap();
        assert!(cache.in_use());
        assert_eq!(cache.load(&id()), Some(vec![key(1), key(2)]));
        // The same keys in another order: fine.
        cache.store(&id(), &[key(2), key(1)]).unwrap();
        // Another key, one key less, one more: refused, and the first ones stay.
        for other in [vec![key(3)], vec![key(1)], vec![key(1), key(2), key(3)]] {
            match cache.store(&id(), &other) {
                Err(StoreError::Changed { recorded, path }) => {
                    assert_eq!(recorded, vec![key(1), key(2)]);
                    assert_eq!(path, cache.path(&id()));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(cache.load(&id()), Some(vec![key(1), key(2)]));
        let text = std::fs::read_to_string(cache.path(&id())).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("ssh-ed25519 AAAA"));
    }

    #[test]
    fn a_damaged_file_counts_as_absent_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        std::fs::write(cache.path(&id()), "garbage\n").unwrap();
        assert_eq!(cache.load(&id()), None);
        std::fs::remove_file(cache.path(&id())).unwrap();
        cache.store(&id(), &[key(7)]).unwrap();
        assert_eq!(cache.load(&id()), Some(vec![key(7)]));
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("a").join("host-keys"));
        cache.store(&id(), &[key(1)]).unwrap();
        let mode = std::fs::metadata(dir.path().join("a").join("host-keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_waiting_reader_gets_the_background_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().to_path_buf());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // No fetch under way: no wait.
        let started = std::time::Instant::now();
        assert_eq!(
            rt.block_on(cache.wait_for_fetch(&id(), Duration::from_secs(5))),
            None
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // A fetch that stores its keys after 100 ms.
        let pending = cache.begin_fetch(&id()).unwrap();
        let writer = cache.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            writer.store(&id(), &[key(4)]).unwrap();
            drop(pending);
        });
        let got = rt.block_on(cache.wait_for_fetch(&id(), Duration::from_secs(5)));
        assert_eq!(got, Some(vec![key(4)]));
        thread.join().unwrap();
        assert!(!dir.path().join(format!("{}.pending", id())).exists());
        // A fetch that ends without keys ends the wait at once.
        let other = SandboxId::parse("icache0test0000000001").unwrap();
        let pending = cache.begin_fetch(&other).unwrap();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(pending);
        });
        let started = std::time::Instant::now();
        assert_eq!(
            rt.block_on(cache.wait_for_fetch(&other, Duration::from_secs(5))),
            None
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        thread.join().unwrap();
    }
}

//! A small cache of which sandbox ID a name pointed at last time, so that
//! `ssh NAME.novita` opens the WebSocket while the API confirms the name, instead of
//! after. The API's answer always decides: a stale entry only costs the time it saved.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use novita_ssh_core::{SandboxId, SandboxName};

/// The cache file: `<cache dir>/novita-ssh/names.json` (`~/.cache` on Linux,
/// `~/Library/Caches` on macOS).
fn file() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("novita-ssh").join("names.json"))
}

fn entry(api: &str, key: &str, name: &SandboxName) -> String {
    format!("{api} {key}={name}")
}

fn load() -> BTreeMap<String, String> {
    file()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The ID `name` had at `api` with metadata key `key`, if cached (and still valid).
pub fn get(api: &str, key: &str, name: &SandboxName) -> Option<SandboxId> {
    load()
        .get(&entry(api, key, name))
        .and_then(|id| SandboxId::parse(id).ok())
}

/// Records (or with `None`, forgets) the ID of `name`. Failures are only logged: the
/// cache is an optimisation.
pub fn put(api: &str, key: &str, name: &SandboxName, id: Option<&SandboxId>) {
    let Some(path) = file() else { return };
    let mut map = load();
    let k = entry(api, key, name);
    let changed = match id {
        Some(id) => map.insert(k, id.to_string()).as_deref() != Some(id.as_str()),
        None => map.remove(&k).is_some(),
    };
    if !changed {
        return;
    }
    // A few hundred names at most: drop the oldest-sorted entries beyond that.
    while map.len() > 256 {
        let Some(first) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&first);
    }
    if let Err(e) = write(&path, &map) {
        crate::debug!("cannot update the name cache {}: {e}", path.display());
    }
}

fn write(path: &std::path::Path, map: &BTreeMap<String, String>) -> std::io::Result<()> {
    let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".names.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(map).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

//! The base root filesystem: Debian minbase with the platform's base provisioning, built once
//! with debootstrap by `tests/sandbox/build-rootfs.sh` and cached.
//!
//! Cache: `$NOVITA_SSH_E2E_CACHE` or `/var/cache/novita-ssh-e2e`, one directory
//! `rootfs-<suite>-<hash>` where the hash covers the build script, so editing the script
//! rebuilds. Concurrent test processes serialise on `flock <cache>/rootfs.lock`; the script
//! builds beside the destination and renames, so a half-built tree is never used.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{require_tool, run};

/// The Debian release of the rootfs (the same as the test machine's, so binaries built on the
/// host, like novita-proxy, run inside it).
pub(crate) const SUITE: &str = "bookworm";

/// The default cache directory.
const DEFAULT_CACHE: &str = "/var/cache/novita-ssh-e2e";

/// How long a first build may take (debootstrap downloads about 60 MiB).
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);

/// The helper scripts' directory (`tests/sandbox`).
pub(crate) fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox")
}

/// The cached base rootfs, built on first use.
///
/// # Panics
/// When the build fails (with the end of its log).
pub(crate) fn base() -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(build).clone()
}

fn build() -> PathBuf {
    let script = scripts_dir().join("build-rootfs.sh");
    let text = fs::read(&script).unwrap_or_else(|e| panic!("read {}: {e}", script.display()));
    let mut hash = Sha256::new();
    hash.update(SUITE.as_bytes());
    hash.update(&text);
    let key: String = hash
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();

    let cache = cache_dir();
    let dest = cache.join(format!("rootfs-{SUITE}-{key}"));
    if dest.is_dir() {
        // In use: the build script prunes only trees nobody used for a week.
        let _ = Command::new("touch").arg(&dest).status();
        return dest;
    }
    fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("create {}: {e}", cache.display()));
    let mirror = mirror();
    let mut cmd = Command::new(require_tool("flock"));
    cmd.arg(cache.join("rootfs.lock"))
        .arg(require_tool("sh"))
        .arg(&script)
        .arg(&dest)
        .arg(&mirror)
        .arg(SUITE);
    let out = run(&mut cmd, None, BUILD_LIMIT);
    let log = cache.join("rootfs-build.log");
    let _ = fs::write(&log, &out.stderr);
    assert!(
        out.status.success() && dest.is_dir(),
        "building the emulated sandbox's rootfs from {mirror} failed ({}); the end of its \
         log ({}):\n{}",
        out.status,
        log.display(),
        tail(&out.stderr, 40)
    );
    dest
}

fn cache_dir() -> PathBuf {
    env::var_os("NOVITA_SSH_E2E_CACHE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CACHE), PathBuf::from)
}

/// The Debian mirror: `$NOVITA_SSH_E2E_DEBIAN_MIRROR`, else the first one the host's apt
/// sources use for this suite, else deb.debian.org.
fn mirror() -> String {
    if let Some(m) = env::var("NOVITA_SSH_E2E_DEBIAN_MIRROR")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return m;
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    files
        .iter()
        .filter_map(|f| {
            let text = fs::read_to_string(f).ok()?;
            if f.extension().is_some_and(|e| e == "sources") {
                mirror_from_deb822(&text)
            } else {
                mirror_from_list(&text)
            }
        })
        .next()
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// The first `URIs:` of a deb822 stanza whose `Suites:` has the suite (security excluded).
pub(crate) fn mirror_from_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
        };
        let is_deb = field("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb"));
        let has_suite = field("Suites").is_some_and(|s| s.split_whitespace().any(|s| s == SUITE));
        let uri = field("URIs")?.split_whitespace().next()?;
        (is_deb && has_suite && usable(uri)).then(|| uri.to_owned())
    })
}

/// The URI of the first one-line `deb URI SUITE ...` entry.
pub(crate) fn mirror_from_list(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: `[arch=amd64 signed-by=...]`, possibly over several words.
            while !uri.ends_with(']') {
                uri = words.next()?;
            }
            uri = words.next()?;
        }
        (words.next()? == SUITE && usable(uri)).then(|| uri.to_owned())
    })
}

fn usable(uri: &str) -> bool {
    (uri.starts_with("http://") || uri.starts_with("https://")) && !uri.contains("security")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_main_mirror_in_deb822_sources() {
        let text =
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n\
                    Suites: bookworm-security\n";
        assert_eq!(
            mirror_from_deb822(text).as_deref(),
            Some("http://deb.debian.org/debian")
        );
        assert_eq!(
            mirror_from_deb822("Types: deb\nURIs: http://x/ubuntu\nSuites: noble\n"),
            None
        );
    }

    #[test]
    fn finds_the_main_mirror_in_a_sources_list() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_from_list(text).as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(
            mirror_from_list("deb http://security.debian.org/debian-security bookworm main\n"),
            None
        );
        assert_eq!(
            mirror_from_list("deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"),
            None
        );
    }
}

//! Random test data and digests.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// A fast, non-cryptographic generator (splitmix64), seeded differently on every call so
/// that no two test files compress or deduplicate against each other.
struct Noise(u64);

impl Noise {
    fn new() -> Noise {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Noise(time ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id()))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// `len` random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    Noise::new().fill(&mut buf);
    buf
}

/// Writes `len` random bytes to `path` and returns their sha256 (hex).
pub fn write_random_file(path: &Path, len: u64) -> String {
    let mut noise = Noise::new();
    let mut hash = Sha256::new();
    let mut out = BufWriter::new(File::create(path).expect("create the random file"));
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
        noise.fill(&mut buf[..n]);
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).expect("write the random file");
        left -= n as u64;
    }
    out.flush().unwrap();
    hex(&hash.finalize())
}

/// The sha256 (hex) of a file's content.
pub fn sha256_file(path: &Path) -> String {
    let mut file =
        File::open(path).unwrap_or_else(|e| panic!("open {} to hash it: {e}", path.display()));
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    hex(&hash.finalize())
}

/// The sha256 (hex) of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Fills `dir` with a small tree: nested directories, files of varied sizes (empty to a few
/// hundred KiB), a name with spaces. Returns the tree's digest ([`tree_digest`]).
pub fn random_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut noise = Noise::new();
    for (i, sub) in ["", "a", "a/b", "a/b/c", "with space", "d"]
        .iter()
        .enumerate()
    {
        let d = dir.join(sub);
        fs::create_dir_all(&d).unwrap();
        for j in 0..4 {
            let len = match (i + j) % 4 {
                0 => 0,
                1 => 100 + noise.next() % 1000,
                2 => 10_000 + noise.next() % 50_000,
                _ => 200_000 + noise.next() % 200_000,
            };
            write_random_file(&d.join(format!("file {i}-{j}.bin")), len);
        }
    }
    tree_digest(dir)
}

/// Every regular file under `dir` (relative path, `/`-separated) with its sha256.
pub fn tree_digest(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_file() {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, sha256_file(&path));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

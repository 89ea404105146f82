//! CPU time of everything the bench starts (ssh, the clients, the bridges, nginx, sshd and its
//! session processes), through a CPU-accounting cgroup that the bench moves itself into: its
//! children inherit it, other users' processes are not in it. This is the measure that holds
//! up on a busy machine, where wall-clock throughput does not.
//!
//! Needs a writable cgroup hierarchy (root on Linux); without one the CPU columns stay empty.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

/// The bench's own accounting group; moves the bench back and removes the group on drop.
#[derive(Debug)]
pub struct CpuAccount {
    dir: PathBuf,
    home: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// cgroup v1 `cpuacct`: `cpuacct.usage`, nanoseconds.
    V1,
    /// cgroup v2: `cpu.stat` `usage_usec`.
    V2,
}

impl CpuAccount {
    /// Creates a group and moves the bench into it, when the system allows.
    pub fn join() -> Option<CpuAccount> {
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let (root, kind, current) = if let Some(path) = own
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, ':');
                let _id = parts.next();
                parts.next().zip(parts.next())
            })
            .find(|(c, _)| c.split(',').any(|x| x == "cpuacct"))
            .map(|(_, p)| p.to_owned())
        {
            (PathBuf::from("/sys/fs/cgroup/cpuacct"), Kind::V1, path)
        } else {
            let path = own.lines().find_map(|l| l.strip_prefix("0::"))?.to_owned();
            (PathBuf::from("/sys/fs/cgroup"), Kind::V2, path)
        };
        let home = root.join(current.trim_start_matches('/'));
        let dir = home.join(format!("novita-bench-{}", std::process::id()));
        fs::create_dir(&dir).ok()?;
        let account = CpuAccount { dir, home, kind };
        if fs::write(
            account.dir.join("cgroup.procs"),
            std::process::id().to_string(),
        )
        .is_err()
            || account.usage_ns().is_none()
        {
            return None; // dropped: the group is removed
        }
        Some(account)
    }

    /// The group's directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// CPU time used by the group so far, nanoseconds.
    pub fn usage_ns(&self) -> Option<u64> {
        match self.kind {
            Kind::V1 => fs::read_to_string(self.dir.join("cpuacct.usage"))
                .ok()?
                .trim()
                .parse()
                .ok(),
            Kind::V2 => fs::read_to_string(self.dir.join("cpu.stat"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse::<u64>()
                .ok()
                .map(|us| us * 1000),
        }
    }
}

impl Drop for CpuAccount {
    fn drop(&mut self) {
        let _ = fs::write(
            self.home.join("cgroup.procs"),
            std::process::id().to_string(),
        );
        // Children killed a moment ago may still be leaving the group.
        for _ in 0..50 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Measures the CPU time of one run: [`Meter::start`] before, [`Meter::stop`] after.
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    start: Option<u64>,
}

impl Meter {
    /// Reads the group's usage now.
    pub fn start(account: Option<&CpuAccount>) -> Meter {
        Meter {
            start: account.and_then(CpuAccount::usage_ns),
        }
    }

    /// CPU seconds since [`Meter::start`].
    pub fn stop(self, account: Option<&CpuAccount>) -> Option<f64> {
        let end = account.and_then(CpuAccount::usage_ns)?;
        Some(end.saturating_sub(self.start?) as f64 / 1e9)
    }
}

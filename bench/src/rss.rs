//! Peak resident memory of a process: `VmHWM` from `/proc/<pid>/status` (Linux), polled while
//! the process runs, because the value disappears with the process.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);

/// The peak resident set size of `pid` so far, in KiB (`VmHWM`), if it is running.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Polls a process's `VmHWM` until stopped, keeping the highest value seen.
#[derive(Debug)]
pub struct HwmPoller {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Option<u64>>,
}

/// Which process to watch.
#[derive(Debug, Clone)]
pub enum Watch {
    /// A known process ID.
    Pid(u32),
    /// The process whose ID a wrapper writes to this file once it starts.
    PidFile(PathBuf),
}

impl HwmPoller {
    /// Starts polling.
    pub fn start(watch: Watch) -> HwmPoller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut pid = None;
            let mut peak: Option<u64> = None;
            while !flag.load(Ordering::SeqCst) {
                if pid.is_none() {
                    pid = match &watch {
                        Watch::Pid(p) => Some(*p),
                        Watch::PidFile(path) => fs::read_to_string(path)
                            .ok()
                            .and_then(|s| s.trim().parse::<u32>().ok()),
                    };
                }
                if let Some(kib) = pid.and_then(vm_hwm_kib) {
                    peak = Some(peak.map_or(kib, |p| p.max(kib)));
                }
                thread::sleep(POLL);
            }
            peak
        });
        HwmPoller { stop, handle }
    }

    /// Stops polling; the peak in KiB, if the process was ever seen.
    pub fn finish(self) -> Option<u64> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().ok().flatten()
    }
}

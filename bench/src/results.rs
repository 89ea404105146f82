//! Every run's value, kept per measure and path, in the order it was measured.

use std::collections::BTreeMap;

use crate::lab::Path;
use crate::measure::Concurrency;
use crate::stats::median;

/// The runs of one measure, per path: a value or the reason the run failed.
#[derive(Debug, Default, Clone)]
pub struct Series {
    runs: BTreeMap<Path, Vec<Result<f64, String>>>,
}

impl Series {
    /// Records one run.
    pub fn push(&mut self, path: Path, run: Result<f64, String>) {
        self.runs.entry(path).or_default().push(run);
    }

    /// The successful values of `path`.
    pub fn values(&self, path: Path) -> Vec<f64> {
        self.runs
            .get(&path)
            .map(|r| r.iter().filter_map(|v| v.as_ref().ok().copied()).collect())
            .unwrap_or_default()
    }

    /// The median of the successful values of `path`.
    pub fn median(&self, path: Path) -> Option<f64> {
        median(&self.values(path))
    }

    /// Every run of `path`, values and failures, in order.
    pub fn runs(&self, path: Path) -> &[Result<f64, String>] {
        self.runs.get(&path).map(Vec::as_slice).unwrap_or_default()
    }

    /// The median over repetitions of `a`'s value divided by `b`'s in the same repetition
    /// (the runs are recorded one per repetition; one that failed on either path is
    /// skipped). Less moved by a machine that speeds up or slows down during a run than
    /// the ratio of the two medians.
    pub fn paired_ratio(&self, a: Path, b: Path) -> Option<f64> {
        let ratios: Vec<f64> = self
            .runs(a)
            .iter()
            .zip(self.runs(b))
            .filter_map(|(x, y)| match (x, y) {
                (Ok(x), Ok(y)) if *y != 0.0 => Some(x / y),
                _ => None,
            })
            .collect();
        median(&ratios)
    }

    /// How many runs of `path` failed.
    pub fn failures(&self, path: Path) -> usize {
        self.runs(path).iter().filter(|r| r.is_err()).count()
    }

    /// Whether anything was recorded.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// Everything one bench invocation measured.
#[derive(Debug, Default)]
pub struct Results {
    /// ssh upload, MiB/s.
    pub upload: Series,
    /// ssh download, MiB/s.
    pub download: Series,
    /// CPU milliseconds per MiB of everything the bench started, ssh upload.
    pub upload_cpu: Series,
    /// The same for the ssh download.
    pub download_cpu: Series,
    /// The same for the raw stream up (includes the bench's own feeding and sink).
    pub raw_up_cpu: Series,
    /// The same for the raw stream down (includes the bench's own source and reading).
    pub raw_down_cpu: Series,
    /// Raw stream client -> sink, MiB/s.
    pub raw_up: Series,
    /// Raw stream source -> client, MiB/s.
    pub raw_down: Series,
    /// Per-run p50 of the one-byte round trips, microseconds.
    pub rtt_p50: Series,
    /// Per-run p99 of the one-byte round trips, microseconds.
    pub rtt_p99: Series,
    /// `ssh host true`, milliseconds.
    pub setup: Series,
    /// The client's peak RSS during ssh transfers, KiB (max over runs).
    pub client_kib: BTreeMap<Path, u64>,
    /// The client's peak RSS during raw streams, KiB (max over runs).
    pub client_raw_kib: BTreeMap<Path, u64>,
    /// The server's peak RSS after all ssh transfers, KiB (websocat server, serve).
    pub server_kib: BTreeMap<Path, u64>,
    /// Simultaneous sessions through one fresh bridge.
    pub concurrency: Vec<(Path, Result<Concurrency, String>)>,
    /// How busy the machine was (0..=1 of all CPUs) just before each repetition.
    pub busy: Vec<(String, f64)>,
}

impl Results {
    /// Keeps the larger of the recorded and the new peak.
    pub fn peak(map: &mut BTreeMap<Path, u64>, path: Path, kib: Option<u64>) {
        if let Some(kib) = kib {
            let e = map.entry(path).or_insert(0);
            *e = (*e).max(kib);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_ratios_skip_failed_runs() {
        let mut s = Series::default();
        for (a, b) in [(2.0, 1.0), (9.0, 3.0), (4.0, 4.0)] {
            s.push(Path::ProxyServe, Ok(a));
            s.push(Path::Relay, Ok(b));
        }
        s.push(Path::ProxyServe, Ok(100.0));
        s.push(Path::Relay, Err("hung".to_owned()));
        assert_eq!(s.paired_ratio(Path::ProxyServe, Path::Relay), Some(2.0));
        assert_eq!(s.paired_ratio(Path::ProxyServe, Path::Websocat), None);
    }
}

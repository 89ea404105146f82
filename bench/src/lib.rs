//! What the benchmark programs share: their argument parsers (clap value parsers) and the
//! set-up benchmarks' interleaving, table and raw-run file.

/// Command-line values.
pub mod args {
    use std::str::FromStr;
    use std::time::Duration;

    /// A count that must be at least 1.
    ///
    /// # Errors
    /// When `value` is not a number, or is zero.
    pub fn at_least_one<T: FromStr + Default + PartialEq>(value: &str) -> Result<T, String> {
        match value.parse() {
            Ok(n) if n == T::default() => Err("must be at least 1".to_owned()),
            Ok(n) => Ok(n),
            Err(_) => Err("not a number".to_owned()),
        }
    }

    /// Milliseconds.
    ///
    /// # Errors
    /// When `value` is not a whole number.
    pub fn millis(value: &str) -> Result<Duration, String> {
        value
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| "not a whole number of milliseconds".to_owned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn counts_start_at_one() {
            assert_eq!(at_least_one::<usize>("3"), Ok(3));
            assert!(at_least_one::<usize>("0").is_err());
            assert!(at_least_one::<u64>("x").is_err());
            assert_eq!(millis("50"), Ok(Duration::from_millis(50)));
            assert!(millis("1.5").is_err());
        }
    }
}

/// The set-up benchmarks (`api-setup`, `hostkeys-setup`): variants of one `ssh ... true`
/// run interleaved, their medians against the first (the baseline), every run kept.
pub mod setup {
    use std::fmt::Write as _;
    use std::io::Write as _;
    use std::path::Path;
    use std::time::Duration;

    use anyhow::{Context as _, Result};
    use clap::Args;

    use crate::args::{at_least_one, millis};

    /// The options every set-up benchmark takes.
    #[derive(Debug, Args)]
    pub struct SetupArgs {
        /// Interleaved rounds of every variant
        #[arg(long, value_name = "N", default_value_t = 15, value_parser = at_least_one::<usize>)]
        pub runs: usize,
        /// One-way delay of the relay in front of the edge (and the API and envd behind
        /// it), in milliseconds
        #[arg(long = "delay-ms", value_name = "MS", default_value = "50", value_parser = millis)]
        pub delay: Duration,
        /// Append every run to FILE (tab-separated) and print the table
        #[arg(long, value_name = "FILE")]
        pub out: Option<std::path::PathBuf>,
    }

    /// The median of `values` (0 for none).
    pub fn median(values: &[f64]) -> f64 {
        let mut s = values.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        match n {
            0 => 0.0,
            _ if n % 2 == 1 => s[n / 2],
            _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        }
    }

    /// Runs every variant once to warm up, then `runs` rounds of all of them, the order
    /// rotated every round so no variant always follows another. `run_one(i)` measures
    /// variant `i` in milliseconds. Returns the times per variant.
    ///
    /// # Errors
    /// The first failed run.
    pub fn interleave(
        name: &str,
        variants: usize,
        runs: usize,
        mut run_one: impl FnMut(usize) -> Result<f64>,
    ) -> Result<Vec<Vec<f64>>> {
        for i in 0..variants {
            run_one(i)?;
        }
        let mut times = vec![Vec::new(); variants];
        for round in 0..runs {
            for k in 0..variants {
                let i = (round + k) % variants;
                times[i].push(run_one(i)?);
            }
            eprintln!("{name}: round {} of {runs} done", round + 1);
        }
        Ok(times)
    }

    /// The Markdown table: one row per variant (`labels`), median, min, max and the ratio
    /// of medians to the first variant.
    pub fn table(delay: Duration, labels: &[&str], times: &[Vec<f64>]) -> String {
        let base = times.first().map(|t| median(t)).unwrap_or(1.0);
        let runs = times.first().map_or(0, Vec::len);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| {} ms one-way delay, {runs} interleaved runs | median ms | min ms | max ms | vs baseline |",
            delay.as_millis()
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (label, t) in labels.iter().zip(times) {
            let min = t.iter().copied().fold(f64::INFINITY, f64::min);
            let max = t.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "| {label} | {:.0} | {min:.0} | {max:.0} | {:.2}x |",
                median(t),
                median(t) / base
            );
        }
        out
    }

    /// Appends every run to `path` as `stamp variant delay_ms run ms` lines (a header
    /// first when the file is new).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn append_runs(
        path: &Path,
        keys: &[&str],
        delay: Duration,
        times: &[Vec<f64>],
    ) -> Result<()> {
        let fresh = !path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?;
        if fresh {
            writeln!(f, "stamp\tvariant\tdelay_ms\trun\tms")?;
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for (key, t) in keys.iter().zip(times) {
            for (run, ms) in t.iter().enumerate() {
                writeln!(
                    f,
                    "{stamp}\t{key}\t{}\t{}\t{ms:.1}",
                    delay.as_millis(),
                    run + 1
                )?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn medians_and_the_table() {
            assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
            assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
            let t = table(
                Duration::from_millis(50),
                &["a", "b"],
                &[vec![100.0, 100.0], vec![110.0, 130.0]],
            );
            assert!(t.contains("| a | 100 | 100 | 100 | 1.00x |"), "{t}");
            assert!(t.contains("| b | 120 | 110 | 130 | 1.20x |"), "{t}");
            assert!(
                t.starts_with("| 50 ms one-way delay, 2 interleaved runs |"),
                "{t}"
            );
        }
    }
}

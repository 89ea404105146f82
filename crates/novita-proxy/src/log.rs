//! The logger behind the `log` facade: lines go to stderr, or to `--log-file`, depending
//! on `-v`. The kit's own lines use the [`info!`](crate::info), [`debug!`](crate::debug)
//! and [`warn!`](crate::warn) macros; the libraries' records (rustls and tokio-rustls
//! with their `logging` feature) are shown with `-vv`, named by their module.
//!
//! Nothing here ever writes to stdout: stdout carries only tunnel bytes.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use ::log::{Level, LevelFilter, Log, Metadata, Record};

/// The facade, for the macros below.
#[doc(hidden)]
pub use ::log as facade;

/// The `log` target prefix of this crate's own records.
const OWN: &str = "novita_proxy";

struct Logger {
    /// The number of `-v`.
    verbosity: u8,
    file: Option<Mutex<File>>,
    start: Instant,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once: `verbosity` is the number of `-v`; with `file`, lines go there
/// instead of stderr (and the file gets `-v` level lines even without `-v`).
pub fn init(verbosity: u8, file: Option<File>) {
    let verbosity = if file.is_some() {
        verbosity.max(1)
    } else {
        verbosity
    };
    let logger = Logger {
        verbosity,
        file: file.map(Mutex::new),
        start: Instant::now(),
    };
    if LOGGER.set(logger).is_err() {
        return;
    }
    if let Some(logger) = LOGGER.get() {
        if ::log::set_logger(logger).is_ok() {
            ::log::set_max_level(max_level(verbosity));
        }
    }
}

/// Warnings always; `-v` adds connection milestones, `-vv` details and the libraries' own
/// records.
fn max_level(verbosity: u8) -> LevelFilter {
    match verbosity {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        _ => LevelFilter::Debug,
    }
}

impl Logger {
    fn write_line(&self, line: &str) {
        match &self.file {
            Some(file) => {
                if let Ok(mut f) = file.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let own = metadata.target().starts_with(OWN);
        let needed = match metadata.level() {
            Level::Trace => u8::MAX,
            // A library's records, warnings included, are about its own details: -vv.
            _ if !own => 2,
            Level::Error | Level::Warn => 0,
            Level::Info => 1,
            Level::Debug => 2,
        };
        self.verbosity >= needed
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = if record.target().starts_with(OWN) {
            record.args().to_string()
        } else {
            format!("{}: {}", record.target(), record.args())
        };
        let elapsed = self.start.elapsed();
        self.write_line(&format!(
            "novita-proxy[{}] {:>4}.{:03}: {}\n",
            std::process::id(),
            elapsed.as_secs(),
            elapsed.subsec_millis(),
            crate::exit::one_line(&message)
        ));
    }

    fn flush(&self) {}
}

/// Writes the final failure line: always to stderr, and also to the log file if any.
pub fn failure(message: &str) {
    let line = format!("novita-proxy: {}\n", crate::exit::one_line(message));
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(logger) = LOGGER.get().filter(|l| l.file.is_some()) {
        logger.write_line(&line);
    }
}

/// Logs at info level (`-v`).
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::log::facade::info!($($arg)*)
    };
}

/// Logs a warning (always written).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log::facade::warn!($($arg)*)
    };
}

/// Logs at debug level (`-vv`).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log::facade::debug!($($arg)*)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(verbosity: u8) -> Logger {
        Logger {
            verbosity,
            file: None,
            start: Instant::now(),
        }
    }

    fn shown(logger: &Logger, target: &str, level: Level) -> bool {
        logger.enabled(&Metadata::builder().target(target).level(level).build())
    }

    #[test]
    fn own_lines_follow_the_v_count() {
        let target = "novita_proxy::tunnel";
        for (v, warn, info, debug) in [
            (0, true, false, false),
            (1, true, true, false),
            (2, true, true, true),
        ] {
            let l = logger(v);
            assert_eq!(shown(&l, target, Level::Warn), warn, "-v x{v} warn");
            assert_eq!(shown(&l, target, Level::Info), info, "-v x{v} info");
            assert_eq!(shown(&l, target, Level::Debug), debug, "-v x{v} debug");
            assert!(!shown(&l, target, Level::Trace));
        }
    }

    #[test]
    fn library_records_need_vv() {
        for level in [Level::Error, Level::Warn, Level::Info, Level::Debug] {
            assert!(!shown(&logger(1), "rustls::client::hs", level), "{level}");
            assert!(shown(&logger(2), "rustls::client::hs", level), "{level}");
        }
        assert!(!shown(&logger(2), "rustls::conn", Level::Trace));
    }

    #[test]
    fn max_level_lets_through_what_the_logger_shows() {
        assert_eq!(max_level(0), LevelFilter::Warn);
        assert_eq!(max_level(1), LevelFilter::Info);
        assert_eq!(max_level(2), LevelFilter::Debug);
        assert_eq!(max_level(5), LevelFilter::Debug);
    }
}

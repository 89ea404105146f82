//! A tiny logger: lines go to stderr, or to `--log-file`, depending on `-v`.
//!
//! Nothing here ever writes to stdout: stdout carries only tunnel bytes.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Problems worth seeing without `-v` (used by `serve`).
    Warn = 0,
    /// Connection milestones (`-v`).
    Info = 1,
    /// Details (`-vv`).
    Debug = 2,
}

struct Logger {
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
    let _ = LOGGER.set(Logger {
        verbosity,
        file: file.map(Mutex::new),
        start: Instant::now(),
    });
}

/// Whether lines at `level` are written.
pub fn enabled(level: Level) -> bool {
    LOGGER.get().is_some_and(|l| l.verbosity >= level as u8)
}

/// Writes one log line (use the [`info!`](crate::info) and [`debug!`](crate::debug) macros).
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    let Some(logger) = LOGGER.get() else { return };
    if logger.verbosity < level as u8 {
        return;
    }
    let elapsed = logger.start.elapsed();
    let line = format!(
        "novita-proxy[{}] {:>4}.{:03}: {}\n",
        std::process::id(),
        elapsed.as_secs(),
        elapsed.subsec_millis(),
        crate::exit::one_line(&args.to_string())
    );
    match &logger.file {
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

/// Writes the final failure line: always to stderr, and also to the log file if any.
pub fn failure(message: &str) {
    let line = format!("novita-proxy: {}\n", crate::exit::one_line(message));
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(Some(file)) = LOGGER.get().map(|l| l.file.as_ref()) {
        if let Ok(mut f) = file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Logs at info level (`-v`).
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Info) {
            $crate::log::write($crate::log::Level::Info, format_args!($($arg)*))
        }
    };
}

/// Logs a warning (always written).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log::write($crate::log::Level::Warn, format_args!($($arg)*))
    };
}

/// Logs at debug level (`-vv`).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Debug) {
            $crate::log::write($crate::log::Level::Debug, format_args!($($arg)*))
        }
    };
}

//! `novita-proxy`: an SSH ProxyCommand that tunnels over WebSocket to a Novita sandbox,
//! and (`novita-proxy serve`) the bridge that runs inside the sandbox.
//!
//! Where a tunnel goes: [`target`]. Where a tunnel byte flows: [`tunnel`]. How the
//! connection is opened: [`connect`] and [`handshake`]. What each failure means: [`exit`]. The binary is [`main`]; the modules
//! are public so that fuzz targets and benchmarks can reach the parsers.

pub mod api;
pub mod cli;
pub mod client;
pub mod connect;
pub mod exit;
pub mod generate;
pub mod handshake;
pub mod hostkeys;
pub mod keepalive;
pub mod log;
pub mod names;
pub mod plan;
pub mod platform;
pub mod resolve;
pub mod serve;
pub mod signal;
pub mod stdio;
pub mod target;
pub mod tunnel;
pub mod ws;

use std::fs::OpenOptions;
use std::path::Path;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::exit::{strip_os_error, Exit, Failure};
use crate::signal::Stop;

/// Runs the program with the process arguments and exits with its exit code.
pub fn main() -> ! {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors exit 2; --help and --version exit 0.
        Err(e) => e.exit(),
    };
    let code = match (&cli.command, cli.generate) {
        (_, Some(what)) => match generate::PROGRAM.generate(what) {
            Ok(()) => Exit::Ok.code(),
            Err(_) => Exit::Internal.code(),
        },
        (Some(Command::Serve(args)), None) => report(serve_main(args)),
        (Some(Command::KnownHosts(_)), None) => match cli.command {
            Some(Command::KnownHosts(args)) => report(known_hosts_main(*args)),
            _ => Exit::Internal.code(),
        },
        (None, None) => report(client_main(&cli.client)),
    };
    stdio::restore();
    std::process::exit(i32::from(code));
}

/// Prints the failure line, if any, and returns the exit code.
fn report(result: Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => Exit::Ok.code(),
        Err(f) => {
            log::failure(&f.message);
            f.exit.code()
        }
    }
}

fn open_log(path: Option<&Path>) -> Result<Option<std::fs::File>, Failure> {
    path.map(|p| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| {
                Failure::new(
                    Exit::Usage,
                    format!(
                        "cannot open the log file {}: {}: pass a writable --log-file path",
                        p.display(),
                        strip_os_error(&e.to_string())
                    ),
                )
            })
    })
    .transpose()
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Exit::Internal,
                format!("cannot start the runtime: {e}: please report this"),
            )
        })
}

fn client_main(args: &cli::ClientArgs) -> Result<(), Failure> {
    // Validate first: a bad HOST is refused before any network I/O or log line.
    let env = |name: &str| std::env::var(name).ok();
    let plan = client::plan(args, &env)?;
    log::init(args.verbose, open_log(args.log_file.as_deref())?);
    let rt = runtime()?;
    let result = rt.block_on(async {
        tokio::select! {
            result = client::run(plan, args) => result,
            () = signal::first_of(&[Stop::HangUp, Stop::Terminate, Stop::Interrupt]) => {
                info!("signal received: exiting");
                Ok(())
            }
        }
    });
    // Do not wait for a blocking read of a terminal's stdin that may never return.
    rt.shutdown_background();
    result
}

fn known_hosts_main(args: cli::KnownHostsArgs) -> Result<(), Failure> {
    log::init(
        args.client.verbose,
        open_log(args.client.log_file.as_deref())?,
    );
    let rt = runtime()?;
    let result = rt.block_on(hostkeys::run(args));
    rt.shutdown_background();
    result
}

fn serve_main(args: &cli::ServeArgs) -> Result<(), Failure> {
    log::init(args.verbose, open_log(args.log_file.as_deref())?);
    let rt = runtime()?;
    let result = rt.block_on(serve::run(args));
    rt.shutdown_background();
    result
}

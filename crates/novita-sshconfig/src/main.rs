//! `novita-sshconfig`: see `novita-sshconfig --help` and the README.

use std::process::ExitCode;

use clap::Parser;
use novita_sshconfig::{cli::Cli, commands, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("novita-sshconfig: error: {}", one_line(&err));
            ExitCode::from(exit::exit_of(&err).code())
        }
    }
}

/// The error and its causes on one line, each cause once.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

//! `--generate`: the man page and shell completions, straight from the clap definition
//! so packages never ship stale docs.

use std::io::{self, Write as _};

use clap_complete::Shell;

use crate::cli::{command, Generate};

/// Writes what `what` asks for to stdout.
pub fn run(what: Generate) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let mut cmd = command();
    match what {
        Generate::Man => clap_mangen::Man::new(cmd).render(&mut out)?,
        Generate::CompleteBash => {
            clap_complete::generate(Shell::Bash, &mut cmd, "novita-proxy", &mut out)
        }
        Generate::CompleteZsh => {
            clap_complete::generate(Shell::Zsh, &mut cmd, "novita-proxy", &mut out)
        }
        Generate::CompleteFish => {
            clap_complete::generate(Shell::Fish, &mut cmd, "novita-proxy", &mut out)
        }
    }
    out.flush()
}

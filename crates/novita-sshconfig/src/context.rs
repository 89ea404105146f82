//! What every command gets: the kit's paths and the global flags, and the ways a command
//! talks to the user (output, notes, warnings, the confirmation prompt).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::atomic_write::{create_private_dir, WriteError};
use crate::changes::ChangeSet;
use crate::exit::{failure, Exit};
use crate::lock::KitLock;
use crate::paths::{find_proxy, KitPaths};
use crate::settings::Settings;

/// What every command gets: the kit's paths and the global flags.
#[derive(Debug)]
pub struct Ctx {
    /// Where the kit's files are.
    pub paths: KitPaths,
    /// `-v`.
    pub verbose: bool,
    /// `--yes`.
    pub yes: bool,
}

impl Ctx {
    /// Prints a line on stdout (the command's output). A closed pipe is not an error.
    pub fn say(&self, text: impl AsRef<str>) {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{}", text.as_ref());
    }

    /// Prints text on stdout as it is.
    pub fn print(&self, text: impl AsRef<str>) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(text.as_ref().as_bytes());
        let _ = out.flush();
    }

    /// Prints a note on stderr with `-v`.
    pub fn note(&self, text: impl AsRef<str>) {
        if self.verbose {
            eprintln!("novita-sshconfig: {}", text.as_ref());
        }
    }

    /// Prints a warning on stderr.
    pub fn warn(&self, text: impl AsRef<str>) {
        eprintln!("novita-sshconfig: warning: {}", text.as_ref());
    }

    /// True when the user can be asked (a terminal and no `--yes`).
    pub fn interactive(&self) -> bool {
        !self.yes && io::stdin().is_terminal() && io::stderr().is_terminal()
    }

    /// Asks a yes/no question on the terminal; `--yes` or no terminal answers yes.
    pub fn confirm(&self, question: &str) -> anyhow::Result<bool> {
        if !self.interactive() {
            return Ok(true);
        }
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
    }

    /// Takes the kit's lock (creating `~/.ssh/novita` if needed).
    pub fn lock(&self) -> anyhow::Result<KitLock> {
        create_private_dir(&self.paths.kit_dir)
            .with_context(|| format!("cannot create {}", self.paths.kit_dir.display()))?;
        KitLock::acquire(&self.paths.lock, || {
            eprintln!("novita-sshconfig: waiting for another novita-sshconfig to finish...");
        })
        .with_context(|| format!("cannot lock {}", self.paths.lock.display()))
    }

    /// Reads the settings.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Settings::load(&self.paths.settings)
    }

    /// The ssh config in use: the flag, else the one installed into, else `~/.ssh/config`.
    pub fn ssh_config(&self, flag: Option<&Path>, settings: &Settings) -> anyhow::Result<PathBuf> {
        match flag {
            Some(p) => crate::paths::absolute(p),
            None => Ok(settings
                .ssh_config
                .clone()
                .unwrap_or_else(|| self.paths.default_ssh_config.clone())),
        }
    }

    /// The novita-proxy the config runs: the stored one while it exists, else found anew.
    pub fn proxy_path(&self, settings: &Settings) -> PathBuf {
        if let Some(p) = settings
            .proxy_command_path
            .as_ref()
            .filter(|p| crate::paths::is_executable(p))
        {
            return p.clone();
        }
        let (found, exists) = find_proxy();
        if !exists {
            self.warn(format!(
                "novita-proxy is not on PATH nor next to this program; the config will run {} \
                 (install novita-proxy there, or pass --proxy-command-path)",
                found.display()
            ));
        }
        found
    }

    /// Shows a change set for `--dry-run`.
    pub fn show_dry_run(&self, changes: &ChangeSet) {
        if changes.is_empty() {
            self.say("Dry run: nothing would change.");
        } else {
            self.print(changes.diff());
            self.say(format!(
                "Dry run: {} file(s) would change; nothing was written.",
                changes.changes.len()
            ));
        }
    }
}

/// Turns a write failure into the right exit code.
pub fn write_failure(err: WriteError) -> anyhow::Error {
    match err {
        WriteError::ReadOnly { .. } => failure(Exit::ReadOnly, err.to_string()),
        WriteError::Io { .. } => anyhow::Error::new(err),
    }
}

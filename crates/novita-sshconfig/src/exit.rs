//! Exit codes, and the error that carries one out of a command.

use std::fmt;

use novita_ssh_docs::{exit_codes_help, ExitCode};

/// The process exit codes of `novita-sshconfig`, listed in `--help` and the README. Scripts
/// depend on these numbers: never renumber them. 10 to 15 mean what they mean for
/// novita-proxy and have the same names there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, including "nothing to change".
    Ok = 0,
    /// An unexpected error (I/O, a failed command): the message says which.
    Internal = 1,
    /// Usage error or invalid input: a bad flag or value, an unknown alias, an unusable key
    /// file.
    Usage = 2,
    /// The ssh config's novita-ssh markers are broken (duplicated, reversed or half
    /// deleted): nothing was changed.
    BrokenMarkers = 3,
    /// The ssh config is read-only (a home-manager link, a write-protected file): the lines
    /// to add or remove by hand were printed, the file was not changed.
    ReadOnly = 4,
    /// `doctor` found at least one problem.
    DoctorFailed = 5,
    /// A file exists that the command will not overwrite (a key pair, template files, an
    /// API key), or a sandbox name is taken.
    Exists = 6,
    /// The confirmation prompt was answered no.
    Cancelled = 7,
    /// No running or paused sandbox has the name. (8 and 9 are free; 10 to 15 mean what
    /// they mean for novita-proxy.)
    NoSuchName = 10,
    /// Several sandboxes have the name.
    SeveralNamed = 11,
    /// The API does not know the sandbox (404): killed or timed out.
    Gone = 12,
    /// No API key is configured, or the API refused it (401/403).
    ApiKey = 13,
    /// The API did not answer, or answered with an error.
    Api = 14,
    /// The API key file is readable by others, or cannot be read.
    KeyFile = 15,
}

impl Exit {
    /// The numeric exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// What each exit code means, in order: the one table that ends `--help` (see [`help`])
/// and that the man page's EXIT STATUS lists.
pub const EXIT_CODES: &[ExitCode<'static>] = &[
    ExitCode::new(
        Exit::Ok.code(),
        "success (also when there was nothing to change)",
    ),
    ExitCode::new(
        Exit::Internal.code(),
        "unexpected error (I/O, a failed command)",
    ),
    ExitCode::new(
        Exit::Usage.code(),
        "invalid input: a bad flag or value, an unknown alias, an unusable key",
    ),
    ExitCode::new(
        Exit::BrokenMarkers.code(),
        "refused: the novita-ssh markers in the ssh config are broken; nothing was changed",
    ),
    ExitCode::new(
        Exit::ReadOnly.code(),
        "the ssh config is read-only: the lines to change by hand were printed",
    ),
    ExitCode::new(Exit::DoctorFailed.code(), "doctor found a problem"),
    ExitCode::new(
        Exit::Exists.code(),
        "refused to overwrite an existing file (key pair, template, API key) or to reuse a \
         sandbox name that a running or paused sandbox has",
    ),
    ExitCode::new(
        Exit::Cancelled.code(),
        "cancelled at the confirmation prompt",
    ),
    ExitCode::new(
        Exit::NoSuchName.code(),
        "no running or paused sandbox has that name (create one: novita-sshconfig create NAME)",
    ),
    ExitCode::new(
        Exit::SeveralNamed.code(),
        "several sandboxes have that name: use an ID",
    ),
    ExitCode::new(
        Exit::Gone.code(),
        "the Novita API does not know the sandbox (404): it was killed or timed out",
    ),
    ExitCode::new(
        Exit::ApiKey.code(),
        "API key missing (novita-sshconfig login) or refused (401/403)",
    ),
    ExitCode::new(
        Exit::Api.code(),
        "the Novita API did not answer, or answered with an error",
    ),
    ExitCode::new(
        Exit::KeyFile.code(),
        "the API key file is readable by others (chmod 600 it) or cannot be read",
    ),
];

/// The exit code table printed at the end of `--help`.
pub fn help() -> String {
    exit_codes_help(EXIT_CODES)
}

/// An error that ends the command with a specific exit code.
///
/// Its text is one line that names the problem and the fix.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// The one-line message.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an [`anyhow::Error`] that exits with `exit`.
pub fn failure(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: message.into(),
    })
}

/// The exit code for an error: the first [`Failure`] in its chain, 2 ([`Exit::Usage`])
/// for a validation error, 1 otherwise.
pub fn exit_of(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.exit;
        }
        if cause
            .downcast_ref::<novita_ssh_core::ValidationError>()
            .is_some()
        {
            return Exit::Usage;
        }
    }
    Exit::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn codes_are_stable_and_all_in_the_table() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Internal, 1),
            (Exit::Usage, 2),
            (Exit::BrokenMarkers, 3),
            (Exit::ReadOnly, 4),
            (Exit::DoctorFailed, 5),
            (Exit::Exists, 6),
            (Exit::Cancelled, 7),
            (Exit::NoSuchName, 10),
            (Exit::SeveralNamed, 11),
            (Exit::Gone, 12),
            (Exit::ApiKey, 13),
            (Exit::Api, 14),
            (Exit::KeyFile, 15),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code);
        }
        let listed: Vec<u8> = EXIT_CODES.iter().map(|e| e.code).collect();
        let codes: Vec<u8> = all.iter().map(|(_, code)| *code).collect();
        assert_eq!(listed, codes, "every code in the table, in order");
    }

    #[test]
    fn codes_survive_context() {
        let err = Err::<(), _>(failure(Exit::ReadOnly, "ro"))
            .context("writing")
            .expect_err("error");
        assert_eq!(exit_of(&err), Exit::ReadOnly);
        let err = anyhow::Error::new(novita_ssh_core::validate::alias("a b").expect_err("bad"))
            .context("add");
        assert_eq!(exit_of(&err), Exit::Usage);
        assert_eq!(exit_of(&anyhow::anyhow!("x")), Exit::Internal);
    }
}

//! Exit codes, and the error that carries one out of a command.

use std::fmt;

/// The process exit codes of `novita-sshconfig`, listed in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Success, including "nothing to change".
    Ok = 0,
    /// An unexpected error (I/O, a failed command): the message says which.
    Internal = 1,
    /// Invalid input: a bad flag or value, an unknown alias, an unusable key file.
    InvalidInput = 2,
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

impl Code {
    /// The numeric exit code.
    pub fn value(self) -> u8 {
        self as u8
    }
}

/// The table printed after `--help` and in the README.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success (also when there was nothing to change)
  1  unexpected error (I/O, a failed command)
  2  invalid input: a bad flag or value, an unknown alias, an unusable key
  3  refused: the novita-ssh markers in the ssh config are broken; nothing was changed
  4  the ssh config is read-only: the lines to change by hand were printed
  5  doctor found a problem
  6  refused to overwrite an existing file (key pair, template, API key) or to reuse a
     sandbox name that a running or paused sandbox has
  7  cancelled at the confirmation prompt
  10  no running or paused sandbox has that name (create one: novita-sshconfig create NAME)
  11  several sandboxes have that name: use an ID
  12  the Novita API does not know the sandbox (404): it was killed or timed out
  13  API key missing (novita-sshconfig login) or refused (401/403)
  14  the Novita API did not answer, or answered with an error
  15  the API key file is readable by others (chmod 600 it) or cannot be read";

/// An error that ends the command with a specific exit code.
///
/// Its text is one line that names the problem and the fix.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// The one-line message.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an [`anyhow::Error`] that exits with `code`.
pub fn failure(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// The exit code for an error: the first [`Failure`] in its chain, 2 for a validation
/// error, 1 otherwise.
pub fn code_of(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code;
        }
        if cause
            .downcast_ref::<novita_ssh_core::ValidationError>()
            .is_some()
        {
            return Code::InvalidInput;
        }
    }
    Code::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn codes_survive_context() {
        let err = Err::<(), _>(failure(Code::ReadOnly, "ro"))
            .context("writing")
            .expect_err("error");
        assert_eq!(code_of(&err), Code::ReadOnly);
        let err = anyhow::Error::new(novita_ssh_core::validate::alias("a b").expect_err("bad"))
            .context("add");
        assert_eq!(code_of(&err), Code::InvalidInput);
        assert_eq!(code_of(&anyhow::anyhow!("x")), Code::Internal);
    }
}

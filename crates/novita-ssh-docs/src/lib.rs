//! The man pages and shell completions of `novita-proxy` and `novita-sshconfig`, rendered
//! from their clap definitions so that `--help`, `man` and the completions always describe
//! the same flags.
//!
//! [`Page`] lays out one page per program: clap_mangen renders every option, subcommands get
//! a section each under COMMANDS, and the sections clap cannot express come from the
//! program: EXAMPLES, FILES, ENVIRONMENT, EXIT STATUS (the same table of [`ExitCode`]s
//! that ends its `--help`, see [`exit_codes_help`]) and SEE ALSO. [`completion`] writes a
//! shell's completion script. [`Program`] ties one program's clap definition and page together: what its
//! hidden `--generate` flag prints and the committed files; [`sync_file`] keeps those
//! current.

mod exit_status;
mod page;
mod program;
mod sync;

pub use clap_complete::Shell;
pub use exit_status::{check_exit_codes, exit_codes_help, ExitCode, EXIT_CODES_HEADING};
pub use page::{Entry, Example, Page};
pub use program::{Generate, Program};
pub use sync::{sync_file, Sync, REGENERATE_VAR};

/// The date the man pages carry (`.TH`): the date of the release they describe, the same
/// as the newest entry of `packaging/deb/changelog`. Bumped with every release.
pub const RELEASE_DATE: &str = "2026-11-27";

/// The package both programs ship in, as the man pages name it.
pub const PACKAGE: &str = "novita-ssh";

/// The completion script for `shell`, with `name` as the program's name.
pub fn completion(cmd: clap::Command, shell: Shell, name: &str) -> Vec<u8> {
    let mut cmd = cmd;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

/// The file name a completion script is installed under in `packaging/completions/`:
/// `NAME.bash`, `_NAME` (zsh) or `NAME.fish`.
pub fn completion_file_name(shell: Shell, name: &str) -> String {
    match shell {
        Shell::Zsh => format!("_{name}"),
        Shell::Fish => format!("{name}.fish"),
        Shell::Elvish => format!("{name}.elv"),
        Shell::PowerShell => format!("_{name}.ps1"),
        _ => format!("{name}.bash"),
    }
}

/// The shells whose completions are committed and packaged.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_files_use_each_shells_conventional_name() {
        assert_eq!(completion_file_name(Shell::Bash, "x"), "x.bash");
        assert_eq!(completion_file_name(Shell::Zsh, "x"), "_x");
        assert_eq!(completion_file_name(Shell::Fish, "x"), "x.fish");
    }

    #[test]
    fn completions_name_the_program_and_its_flags() {
        let cmd = clap::Command::new("demo").arg(clap::Arg::new("flag").long("some-flag"));
        for shell in SHELLS {
            let text = String::from_utf8(completion(cmd.clone(), shell, "demo")).expect("utf-8");
            assert!(text.contains("demo"), "{shell}: {text}");
            assert!(text.contains("some-flag"), "{shell}: {text}");
        }
    }
}

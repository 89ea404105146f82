//! One program's generated documents: what its hidden `--generate` flag prints, and the
//! committed copies in `man/` and `packaging/completions/` that a test keeps current.

use std::io::{self, Write as _};
use std::path::Path;

use clap::ValueEnum;

use crate::{
    completion, completion_file_name, sync_file, Page, Shell, Sync, REGENERATE_VAR, SHELLS,
};

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page (roff).
    Man,
    /// A bash completion script.
    CompleteBash,
    /// A zsh completion script.
    CompleteZsh,
    /// A fish completion script.
    CompleteFish,
}

/// A program whose man page and completions are rendered from its clap definition.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The program's name.
    pub name: &'static str,
    /// Its clap definition.
    pub command: fn() -> clap::Command,
    /// What its man page says beyond the clap definition.
    pub page: &'static Page<'static>,
}

impl Program {
    /// The man page (roff).
    ///
    /// # Errors
    /// When the page cannot be rendered (a malformed exit code table).
    pub fn man_page(&self) -> io::Result<String> {
        self.page.render((self.command)()).map_err(io::Error::other)
    }

    /// The environment variables the program reads: every name its man page's ENVIRONMENT
    /// section lists.
    pub fn environment_variables(&self) -> impl Iterator<Item = &'static str> {
        self.page
            .environment
            .iter()
            .flat_map(|e| e.term.split(", "))
    }

    /// The completion script for `shell`.
    pub fn completion_script(&self, shell: Shell) -> Vec<u8> {
        completion((self.command)(), shell, self.name)
    }

    /// Every generated file, as committed, by its path relative to the workspace root.
    ///
    /// # Errors
    /// When the man page cannot be rendered.
    pub fn files(&self) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut files = vec![(
            format!("man/{}.1", self.name),
            self.man_page()?.into_bytes(),
        )];
        for shell in SHELLS {
            files.push((
                format!(
                    "packaging/completions/{}",
                    completion_file_name(shell, self.name)
                ),
                self.completion_script(shell),
            ));
        }
        Ok(files)
    }

    /// Writes what `what` asks for to stdout.
    ///
    /// # Errors
    /// When the man page cannot be rendered or stdout cannot be written.
    pub fn generate(&self, what: Generate) -> io::Result<()> {
        let bytes = match what {
            Generate::Man => self.man_page()?.into_bytes(),
            Generate::CompleteBash => self.completion_script(Shell::Bash),
            Generate::CompleteZsh => self.completion_script(Shell::Zsh),
            Generate::CompleteFish => self.completion_script(Shell::Fish),
        };
        let mut out = io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()
    }

    /// The test that keeps the committed man page and completions current: panics with
    /// the stale files and the command that regenerates them
    /// (`packaging/regenerate-docs.sh`), or rewrites them when [`REGENERATE_VAR`] is `1`.
    ///
    /// # Panics
    /// When a committed file differs from what the code renders, or cannot be read.
    pub fn assert_committed_files_current(&self) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let stale = self.stale_files(&root).expect("render, read or write");
        assert!(
            stale.is_empty(),
            "{}\nrun packaging/regenerate-docs.sh and commit the result",
            stale.join("\n")
        );
    }

    /// Compares the committed files under the workspace `root` with [`Program::files`] and
    /// returns where they differ; with [`REGENERATE_VAR`] set to `1` rewrites them instead.
    fn stale_files(&self, root: &Path) -> io::Result<Vec<String>> {
        let regenerate = std::env::var(REGENERATE_VAR).is_ok_and(|v| v == "1");
        let mut stale = Vec::new();
        for (path, bytes) in self.files()? {
            match sync_file(&root.join(&path), &bytes, regenerate)? {
                Sync::Stale(why) => stale.push(why),
                Sync::Current | Sync::Written => {}
            }
        }
        Ok(stale)
    }
}

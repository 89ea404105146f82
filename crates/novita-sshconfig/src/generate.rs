//! `--generate`: the man page and shell completions, straight from the clap definition
//! so packages never ship stale docs.
//!
//! The committed copies (`man/novita-sshconfig.1`, `packaging/completions/`) are checked
//! against [`Program::files`] by a test; `packaging/regenerate-docs.sh` rewrites them.

use novita_ssh_docs::{Entry, Example, Page, Program};

use crate::cli::command;
use crate::exit::EXIT_CODES;

/// The program, for `--generate` and the committed man page and completions.
pub const PROGRAM: Program = Program {
    name: "novita-sshconfig",
    command,
    page: &PAGE,
};

/// What the man page says beyond the clap definition.
const PAGE: Page<'static> = Page {
    examples: &[
        Example {
            text: "Set up this machine: a key, the ssh config, and the sandbox template in \
                   ./novita-ssh-template (build it once with the Novita SDK):",
            commands: &["novita-sshconfig init"],
        },
        Example {
            text: "See what init would change, and change nothing:",
            commands: &["novita-sshconfig init --dry-run"],
        },
        Example {
            text: "Store the Novita API key (prompted without echo, or piped in; never an \
                   argument), create a sandbox named myproj from the template, and connect to it \
                   by name; a paused sandbox is resumed, and kept alive while connected:",
            commands: &[
                "novita-sshconfig login",
                "novita-sshconfig create myproj",
                "ssh myproj.novita",
            ],
        },
        Example {
            text: "Your sandboxes (ID, name, state, template, end time), as a table or JSON; \
                   pause, resume and delete them by name or ID:",
            commands: &[
                "novita-sshconfig list",
                "novita-sshconfig list --json",
                "novita-sshconfig pause myproj",
                "novita-sshconfig delete myproj",
            ],
        },
        Example {
            text: "Sandboxes live 20 minutes after a session ends, with the keep-alive every 5 \
                   minutes while connected:",
            commands: &["novita-sshconfig config install --ttl 1200 --keepalive 300"],
        },
        Example {
            text: "Then connect to any sandbox built from the template, with ssh, scp, rsync or \
                   sftp:",
            commands: &[
                "ssh <sandbox-id>.novita",
                "scp notes.txt <sandbox-id>.novita:",
                "rsync -a -e ssh src/ <sandbox-id>.novita:src/",
            ],
        },
        Example {
            text: "Name a sandbox; the name is also listed in VS Code Remote-SSH:",
            commands: &["novita-sshconfig add web <sandbox-id>", "ssh web.novita"],
        },
        Example {
            text: "Check the setup, what ssh -G really uses, and the sandbox's sshd:",
            commands: &["novita-sshconfig doctor --connect web"],
        },
        Example {
            text: "A Python template on the legacy domain of the older documentation:",
            commands: &["novita-sshconfig init --lang python --domain sandbox.novita.ai"],
        },
        Example {
            text: "In a script: no prompts, no template:",
            commands: &["novita-sshconfig --yes init --no-template"],
        },
        Example {
            text: "Undo: ~/.ssh/config is back to its bytes before init (add --purge-keys to \
                   delete the key too):",
            commands: &["novita-sshconfig config uninstall"],
        },
    ],
    files: &[
        Entry {
            term: "~/.ssh/novita/config",
            text: "The kit's ssh config (mode 0600), generated from settings.json and included \
                   from ~/.ssh/config; edits to it are replaced.",
        },
        Entry {
            term: "~/.ssh/novita/settings.json",
            text: "The defaults (domain, user, proxy, the novita-proxy path) and the named hosts \
                   the config is generated from.",
        },
        Entry {
            term: "~/.ssh/novita/id_ed25519, ~/.ssh/novita/id_ed25519.pub",
            text: "The key pair made by init or keygen. It is never overwritten; keygen --force \
                   moves it aside first.",
        },
        Entry {
            term: "~/.ssh/novita/known_hosts",
            text: "The host keys of sandboxes, kept apart from ~/.ssh/known_hosts.",
        },
        Entry {
            term: "~/.ssh/novita/api_key",
            text: "The Novita API key (one line, mode 0600), written by login and removed by \
                   logout. novita-proxy refuses it when others can read it, as ssh does with keys.",
        },
        Entry {
            term: "~/.ssh/novita/.lock",
            text: "Held while the kit's files change, so that two runs never interleave.",
        },
        Entry {
            term: "~/.ssh/config",
            text: "Gets a marked section with one Include line at the top; every other byte stays \
                   as it was. A read-only file is left alone and the lines to add are printed.",
        },
        Entry {
            term: "~/.ssh/config.novita-ssh.bak",
            text: "The previous version of ~/.ssh/config, written before each change.",
        },
        Entry {
            term: "./novita-ssh-template/",
            text: "The sandbox template written by init and template: template.ts and build.ts, \
                   or template.py and build.py.",
        },
    ],
    environment: &[
        Entry {
            term: "NOVITA_DOMAIN",
            text: "The sandbox domain written into the ProxyCommand, when --domain is not given.",
        },
        Entry {
            term: "NOVITA_API_KEY",
            text: "The API key, used instead of ~/.ssh/novita/api_key (as by the SDKs and \
                   novita-proxy).",
        },
        Entry {
            term: "NOVITA_API_URL",
            text: "The API's base URL when --api-url is not configured [default: \
                   https://api.<domain>].",
        },
        Entry {
            term: "HTTPS_PROXY, NO_PROXY",
            text: "The HTTP proxy for API calls when --proxy is not configured, as for \
                   novita-proxy.",
        },
        Entry {
            term: "HOME",
            text: "The home directory whose .ssh folder is used. When it is not the home ssh \
                   expands ~ to (the password database's), absolute paths are written instead \
                   of ~/ ones.",
        },
        Entry {
            term: "PATH",
            text: "Where novita-proxy is looked for when --proxy-command-path is not given (the \
                   path found is written without resolving symlinks), and where doctor finds \
                   ssh.",
        },
    ],
    exit_codes: EXIT_CODES,
    see_also: &[
        "novita-proxy(1)",
        "ssh(1)",
        "ssh_config(5)",
        "ssh-keygen(1)",
        "sshd_config(5)",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed man page and completions are what the code renders. Run
    /// `packaging/regenerate-docs.sh` after changing a flag or help text.
    #[test]
    fn committed_man_page_and_completions_are_current() {
        PROGRAM.assert_committed_files_current();
    }

    /// The `Files:` and `Examples:` blocks of `--help`, one `(first column, line)` per entry.
    fn help_block(heading: &str) -> Vec<String> {
        let help = command().render_long_help().to_string();
        let start = help.find(heading).expect("block in --help") + heading.len();
        help[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| {
                let l = l.trim();
                l.split_once("  ").map_or(l, |(first, _)| first).to_owned()
            })
            .collect()
    }

    #[test]
    fn files_and_examples_cover_what_help_lists() {
        let files = help_block("Files:");
        assert!(files.len() >= 5, "{files:?}");
        for line in files {
            // A path has no spaces; its description may follow after a single one.
            let path = line.split_whitespace().next().unwrap_or_default();
            assert!(
                PAGE.files
                    .iter()
                    .any(|e| e.term.split(", ").any(|t| t == path)),
                "{path} from --help missing from FILES"
            );
        }
        let examples = help_block("Examples:");
        assert!(examples.len() >= 4, "{examples:?}");
        for example in examples {
            let example = example.trim();
            assert!(
                PAGE.examples.iter().any(|e| e.commands.contains(&example)),
                "{example:?} from --help missing from EXAMPLES"
            );
        }
    }

    #[test]
    fn exit_status_lists_every_code_of_the_help_in_order() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|c| c.code).collect();
        assert_eq!(codes, (0..=7).chain(10..=15).collect::<Vec<u8>>());
        let page = PROGRAM.man_page().expect("renders");
        assert!(
            page.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\n"),
            "{page}"
        );
        assert!(page.contains("\\fB7\\fR\ncancelled at the confirmation prompt"));
    }

    #[test]
    fn the_page_documents_every_command_and_visible_flag() {
        let page = PROGRAM.man_page().expect("renders");
        let mut cmd = command();
        cmd.build();
        let mut stack = vec![&cmd];
        while let Some(c) = stack.pop() {
            for arg in c.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
                    assert!(page.contains(&flag), "--{long} missing");
                }
            }
            for sub in c.get_subcommands().filter(|s| s.get_name() != "help") {
                let heading = format!(
                    ".SS \"{}\"",
                    sub.get_bin_name().expect("built").replace('-', "\\-")
                );
                assert!(page.contains(&heading), "{heading} missing");
                stack.push(sub);
            }
        }
        assert!(page.contains("\\fBNOVITA_DOMAIN\\fR"));
        assert!(
            !page.contains("\\-\\-generate"),
            "the hidden --generate stays hidden"
        );
    }
}

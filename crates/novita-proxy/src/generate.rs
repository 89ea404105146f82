//! `--generate`: the man page and shell completions, straight from the clap definition
//! so packages never ship stale docs.
//!
//! The committed copies (`man/novita-proxy.1`, `packaging/completions/`) are checked
//! against [`Program::files`] by a test; `packaging/regenerate-docs.sh` rewrites them.

use novita_ssh_docs::{Entry, Example, Page, Program};

use crate::cli::command;
use crate::exit::EXIT_CODES;

/// The program, for `--generate` and the committed man page and completions.
pub const PROGRAM: Program = Program {
    name: "novita-proxy",
    command,
    page: &PAGE,
};

/// What the man page says beyond the clap definition.
const PAGE: Page<'static> = Page {
    examples: &[
        Example {
            text: "Connect to a sandbox with plain ssh; this replaces the websocat ProxyCommand of \
                   the older documentation:",
            commands: &["ssh -o 'ProxyCommand=novita-proxy %h' user@<sandbox-id>"],
        },
        Example {
            text: "Sandboxes on the legacy domain of the older documentation:",
            commands: &[
                "ssh -o 'ProxyCommand=novita-proxy --domain sandbox.novita.ai %h' user@<sandbox-id>",
            ],
        },
        Example {
            text: "The ssh_config(5) block that makes ssh <sandbox-id>.novita work (novita-sshconfig(1) \
                   writes a complete one with its own key and known_hosts):",
            commands: &[
                "Host *.novita",
                "  ProxyCommand novita-proxy %h",
                "  User user",
                "  ServerAliveInterval 30",
            ],
        },
        Example {
            text: "A sandbox by the name in its metadata, resumed if paused and kept alive while \
                   connected, with the API key that novita-sshconfig login stored:",
            commands: &["ssh -o 'ProxyCommand=novita-proxy %h' user@myproj"],
        },
        Example {
            text: "A private sandbox: its traffic access token from the environment, which ssh \
                   passes on to the ProxyCommand:",
            commands: &[
                "export NOVITA_TRAFFIC_TOKEN=<token>",
                "ssh -o 'ProxyCommand=novita-proxy %h' user@<sandbox-id>",
            ],
        },
        Example {
            text: "Through a corporate HTTP proxy, retrying for up to a minute while the sandbox \
                   starts:",
            commands: &[
                "ssh -o 'ProxyCommand=novita-proxy --proxy http://proxy.corp:3128 --wait 60 %h' user@<sandbox-id>",
            ],
        },
        Example {
            text: "Find out why a connection fails: log each step to a file (the final error line \
                   also goes to ssh's stderr):",
            commands: &[
                "ssh -o 'ProxyCommand=novita-proxy -vv --log-file /tmp/novita-proxy.log %h' user@<sandbox-id>",
            ],
        },
        Example {
            text: "Host keys from the platform instead of trust on first use (OpenSSH 8.5 or \
                   newer, with an API key; novita-sshconfig(1) writes these lines): ssh asks \
                   novita-proxy for the sandbox's keys and refuses any other:",
            commands: &[
                "Host *.novita",
                "  KnownHostsCommand /usr/bin/novita-proxy known-hosts --invocation %I --offered %K %H",
                "  StrictHostKeyChecking yes",
            ],
        },
        Example {
            text: "Print the host keys the platform reports for a sandbox, as known_hosts lines:",
            commands: &["novita-proxy known-hosts myproj.novita"],
        },
        Example {
            text: "Inside the sandbox, bridge the WebSocket port to sshd in place of websocat:",
            commands: &["novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22"],
        },
    ],
    files: &[
        Entry {
            term: "~/.ssh/config",
            text: "Where ssh(1) finds the ProxyCommand that runs novita-proxy (see ssh_config(5)).",
        },
        Entry {
            term: "~/.ssh/novita/config",
            text: "The ssh config novita-sshconfig(1) writes, with a ProxyCommand line for *.novita \
                   hosts.",
        },
        Entry {
            term: "~/.ssh/novita/api_key",
            text: "The Novita API key, one line, mode 0600 (novita-sshconfig login writes it); a \
                   file that others can read is refused, as ssh refuses such keys.",
        },
        Entry {
            term: "~/.cache/novita-ssh/names.json",
            text: "Which sandbox ID each name had last time (~/Library/Caches/novita-ssh on macOS), \
                   so the WebSocket opens while the API confirms the name.",
        },
        Entry {
            term: "~/.cache/novita-ssh/host-keys/",
            text: "The host keys known-hosts fetched from the platform, one file per sandbox ID \
                   (never replaced by different keys; delete a file to fetch again). While it \
                   exists, the client also fetches a new sandbox's keys in the background once \
                   the API has answered, so that known-hosts finds them ready.",
        },
        Entry {
            term: "/etc/ssl/certs",
            text: "The operating system's trust store on Debian and most Linux systems, found the \
                   way OpenSSL finds it (the keychain on macOS); trusted together with the bundled \
                   Mozilla roots and --cacert.",
        },
    ],
    environment: &[
        Entry {
            term: "NOVITA_DOMAIN",
            text: "The sandbox domain, when --domain is not given.",
        },
        Entry {
            term: "NOVITA_TRAFFIC_TOKEN",
            text: "The traffic access token of a private sandbox, when --traffic-token is not given.",
        },
        Entry {
            term: "NOVITA_API_KEY",
            text: "The Novita API key. Without it, the key file (see FILES) is read; with neither, \
                   HOST must be a sandbox ID and no API call is made.",
        },
        Entry {
            term: "NOVITA_API_KEY_FILE",
            text: "The API key file, when --api-key-file is not given.",
        },
        Entry {
            term: "NOVITA_API_URL",
            text: "The Novita API's base URL, when --api-url is not given (default \
                   https://api.<domain>), as in the SDKs.",
        },
        Entry {
            term: "HTTPS_PROXY, https_proxy, ALL_PROXY, all_proxy",
            text: "The HTTP proxy for wss:// URLs, the first one set in this order, unless --proxy \
                   or --no-proxy is given.",
        },
        Entry {
            term: "HTTP_PROXY, http_proxy",
            text: "The HTTP proxy for ws:// URLs, before ALL_PROXY and all_proxy.",
        },
        Entry {
            term: "NO_PROXY, no_proxy",
            text: "Hosts, domains and networks reached without the proxy, with curl's rules (also \
                   with --proxy).",
        },
        Entry {
            term: "SSL_CERT_FILE, SSL_CERT_DIR",
            text: "A CA bundle file or hashed certificate directory used instead of the operating \
                   system's trust store, as in OpenSSL.",
        },
    ],
    exit_codes: EXIT_CODES,
    see_also: &[
        "novita-sshconfig(1)",
        "ssh(1)",
        "ssh_config(5)",
        "scp(1)",
        "sftp(1)",
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

    #[test]
    fn exit_status_lists_every_code_of_the_help_in_order() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|c| c.code).collect();
        assert_eq!(codes, (0..=20).collect::<Vec<u8>>());
        let page = PROGRAM.man_page().expect("renders");
        assert!(
            page.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\n"),
            "{page}"
        );
        assert!(page.contains("\\fB9\\fR\nconnection lost after the tunnel opened"));
    }

    #[test]
    fn environment_names_every_variable_a_flag_reads() {
        let page = PROGRAM.man_page().expect("renders");
        let environment = &page[page.find(".SH ENVIRONMENT").expect("section")..];
        let mut cmd = command();
        cmd.build();
        let mut vars = Vec::new();
        for sub in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
            vars.extend(sub.get_arguments().filter_map(|a| a.get_env()));
        }
        assert!(!vars.is_empty());
        for var in vars {
            let var = var.to_string_lossy();
            assert!(
                environment.contains(&*var),
                "{var} missing from ENVIRONMENT"
            );
        }
    }

    #[test]
    fn environment_variables_are_the_names_the_page_lists() {
        let vars: Vec<_> = PROGRAM.environment_variables().collect();
        assert_eq!(vars.len(), 15, "{vars:?}");
        for var in &vars {
            assert!(
                !var.is_empty() && var.chars().all(|c| c.is_ascii_alphabetic() || c == '_'),
                "{var:?} is not one variable name"
            );
        }
        for var in [
            "NOVITA_TRAFFIC_TOKEN",
            "NOVITA_API_KEY",
            "NOVITA_API_URL",
            "https_proxy",
            "no_proxy",
            "SSL_CERT_DIR",
        ] {
            assert!(vars.contains(&var), "{var} missing from {vars:?}");
        }
    }

    #[test]
    fn the_page_documents_every_visible_flag_and_serve() {
        let page = PROGRAM.man_page().expect("renders");
        let mut cmd = command();
        cmd.build();
        for sub in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
                    assert!(page.contains(&flag), "--{long} missing");
                }
            }
        }
        assert!(page.contains(".SS \"novita\\-proxy serve\""), "{page}");
        assert!(
            !page.contains("\\-\\-generate"),
            "the hidden --generate stays hidden"
        );
    }
}

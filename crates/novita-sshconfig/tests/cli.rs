//! The `novita-sshconfig` binary, run with HOME in a temporary folder, with real OpenSSH
//! (`ssh -F $HOME/.ssh/config -G HOST`, and ssh running the generated ProxyCommand) as
//! the oracle. The template is checked with the real TypeScript and Python SDKs.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod cli {
    pub mod config;
    pub mod doctor;
    pub mod hosts;
    pub mod keys;
    pub mod sdk;
    pub mod support;
}

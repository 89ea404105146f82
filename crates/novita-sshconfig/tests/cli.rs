//! The `novita-sshconfig` binary, run with HOME in a temporary folder, with real OpenSSH
//! (`ssh -F $HOME/.ssh/config -G HOST`, and ssh running the generated ProxyCommand) as
//! the oracle. The template is checked with the real TypeScript and Python SDKs.
//!
//! They set Unix file modes, make symlinks and run OpenSSH's Unix tools, so they build and
//! run on Unix only (the binary itself also builds for Windows).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod cli {
    pub mod config;
    pub mod doctor;
    pub mod hosts;
    pub mod keys;
    pub mod login;
    pub mod sandboxes;
    pub mod sdk;
    pub mod settings;
    pub mod support;
}

//! End-to-end fixtures for novita-ssh: real sshd, ssh, scp, rsync, sftp, websocat, nginx and
//! tinyproxy processes on free loopback ports, in temporary directories, cleaned up on drop
//! (also when a test panics, in which case each fixture prints its log to stderr).
//!
//! A missing tool makes the test fail with the package to install; nothing is skipped.
//!
//! The building blocks:
//! - [`Sshd`]: a real OpenSSH server with a generated host key and client key.
//! - [`Bridge`]: the in-sandbox side, `websocat ws-l:... tcp:...` or `novita-proxy serve`.
//! - [`Edge`]: an nginx TLS edge that routes `wss://8081-<id>.sandbox.test` like Novita's.
//! - [`Tinyproxy`]: an HTTP CONNECT proxy whose log shows what went through it.
//! - [`TlsFront`]: nginx `stream` TLS termination in front of a port (an `https://` proxy).
//! - [`FaultRelay`]: a TCP relay that can pass, blackhole, delay or reset.
//! - [`HttpServer`], [`CountingListener`]: small loopback servers for forwards and probes.
//! - [`platform::Platform`]: a stand-in of the Novita API, edge routing and envd.
//! - [`Rig`]: sshd + bridge (+ edge) wired together, with the ssh command to reach it.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod bridge;
mod edge;
mod fault;
mod files;
mod http;
mod net;
pub mod platform;
mod process;
mod rig;
mod run;
pub mod sandbox;
mod site;
mod sshd;
mod tinyproxy;
mod tls_front;
mod tools;

pub use bridge::{Bridge, BridgeKind};
pub use edge::{Edge, EdgeBuilder, EDGE_DOMAIN};
pub use fault::{Fault, FaultRelay};
pub use files::{
    random_bytes, random_tree, sha256_file, sha256_hex, tree_digest, write_random_file,
};
pub use http::{http_get, HttpServer};
pub use net::{free_port, start_on_free_port, try_wait_for_port, wait_for_port, CountingListener};
#[cfg(unix)]
pub use process::send_signal;
pub use process::{assert_no_process_left, processes_matching, Proc};
pub use rig::{sandbox_id, Link, Rig};
pub use run::{run, run_ok, shell_quote, Outcome, Session};
pub use site::Site;
pub use sshd::{current_user, keygen, Sshd, SshdOptions};
pub use tinyproxy::Tinyproxy;
pub use tls_front::TlsFront;
pub use tools::{bin_path, clean_env, client_env, is_root, require_tool};

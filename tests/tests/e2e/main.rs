//! The end-to-end suite: one test binary, one module per area. Every scenario runs real
//! OpenSSH, websocat, nginx and tinyproxy processes on loopback; a missing tool fails.
//!
//! Fixtures live in the `novita_ssh_e2e` library (`tests/src/`).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod api;
mod hostkeys;
mod network;
mod platform;
mod proxy;
mod rfc6455;
mod sandbox;
mod sshconfig;

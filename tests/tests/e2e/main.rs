//! The end-to-end suite: one test binary, one module per area. Every scenario runs real
//! OpenSSH, websocat, nginx and tinyproxy processes on loopback; a missing tool fails.

mod network;
mod proxy;
mod sandbox;
mod sshconfig;

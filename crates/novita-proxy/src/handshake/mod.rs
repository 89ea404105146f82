//! The WebSocket upgrade (RFC 6455 section 4): the HTTP request that asks for it and the
//! answer that grants or refuses it. [`client`] sends the request and reads what each
//! answer means for the user; [`server`] (for `novita-proxy serve`) reads the request and
//! answers it.

pub mod client;
pub mod server;

/// The longest request or response head accepted.
const MAX_HEAD: usize = 16 * 1024;

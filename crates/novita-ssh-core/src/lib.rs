//! What `novita-proxy` and `novita-sshconfig` must agree on: how a Novita sandbox is
//! addressed, and which values are safe to put into a URL, an HTTP header, an ssh config
//! line or a shell command.
//!
//! Every value that comes from a user or from ssh's `%h` goes through one of the
//! validators here before anything is built from it.

pub mod credentials;
mod destination;
mod error;
mod host;
mod url;
pub mod validate;

pub use destination::{
    api_url, api_url_for_domain, looks_like_id, name_key, parse_destination, Destination,
    SandboxName, DEFAULT_NAME_KEY,
};
pub use error::{quote_for_message, ValidationError};
pub use host::{parse_host, SandboxId};
pub use url::{sandbox_url, url_from_template, WsUrl};

/// The sandbox domain current Novita SDKs use when `NOVITA_DOMAIN` is not set.
pub const DEFAULT_DOMAIN: &str = "us-phx-1.sandbox.novita.ai";

/// The legacy domain used by the older documentation (`wss://8081-%h.sandbox.novita.ai`).
pub const LEGACY_DOMAIN: &str = "sandbox.novita.ai";

/// The sandbox port the bridge (websocat or `novita-proxy serve`) listens on.
pub const DEFAULT_PORT: u16 = 8081;

/// The pseudo top-level domain the kit's ssh config matches (`Host *.novita`).
pub const HOST_SUFFIX: &str = ".novita";

/// The HTTP header a private sandbox's edge requires on every request.
pub const TRAFFIC_TOKEN_HEADER: &str = "e2b-traffic-access-token";

//! Exit codes and the one-line failure messages behind them.
//!
//! Every failure the user can see is a [`Failure`]: an [`Exit`] code and one line that
//! names the problem and the fix. `main` prints it as `novita-proxy: <problem>: <fix>`.

use std::fmt;
use std::io;

use novita_ssh_docs::{exit_codes_help, ExitCode};

/// The process exit codes, listed in `--help` and the README. Scripts and other tools
/// depend on these numbers: never renumber them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The tunnel ended normally.
    Ok = 0,
    /// An internal error (a bug, or the operating system refused something unexpected).
    Internal = 1,
    /// Usage error or invalid input: a bad HOST, URL, header, domain or file.
    Usage = 2,
    /// The host name could not be resolved.
    Dns = 3,
    /// The TCP connection was refused, timed out or the host was unreachable.
    Connect = 4,
    /// The TLS handshake failed (for example an untrusted certificate).
    Tls = 5,
    /// The server answered with an HTTP status instead of upgrading to WebSocket.
    Http = 6,
    /// The edge answered 401/403: the sandbox is private and needs its traffic token.
    Auth = 7,
    /// The HTTP proxy could not be reached or refused the CONNECT.
    Proxy = 8,
    /// The connection was lost after the tunnel had opened.
    Lost = 9,
    /// No running or paused sandbox has the name.
    NoSuchName = 10,
    /// Several sandboxes have the name.
    SeveralNamed = 11,
    /// The API does not know the sandbox (404): killed or timed out.
    Gone = 12,
    /// A name needs the API, but no API key is configured, or the API refused the key.
    ApiKey = 13,
    /// The API did not answer, or answered with an error.
    Api = 14,
    /// The API key file is readable by others, or cannot be read.
    KeyFile = 15,
    /// The sandbox's bridge closed the WebSocket with an error code (not 1000 or 1001).
    BridgeError = 16,
    /// `known-hosts`: envd refused the access token (401/403).
    EnvdAuth = 17,
    /// `known-hosts`: envd could not be reached, or answered with an error.
    Envd = 18,
    /// `known-hosts`: envd's answer is not a public host key.
    BadHostKey = 19,
    /// `known-hosts`: the sandbox offered a host key the platform does not report for it,
    /// or the platform's keys differ from those recorded for its ID.
    HostKeyMismatch = 20,
}

impl Exit {
    /// The numeric exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// What each exit code means, in order: the one table that ends `--help` (see
/// [`help`]) and that the man page's EXIT STATUS lists.
pub const EXIT_CODES: &[ExitCode<'static>] = &[
    ExitCode::new(
        Exit::Ok.code(),
        "the tunnel ended normally (end of input, the sandbox closed, or ssh hung up)",
    ),
    ExitCode::new(Exit::Internal.code(), "internal error"),
    ExitCode::new(
        Exit::Usage.code(),
        "usage error or invalid input (HOST, --url, --header, --domain, files)",
    ),
    ExitCode::new(Exit::Dns.code(), "DNS resolution failed"),
    ExitCode::new(
        Exit::Connect.code(),
        "TCP connection refused, timed out or unreachable",
    ),
    ExitCode::new(
        Exit::Tls.code(),
        "TLS failure (e.g. untrusted certificate: pass --cacert or set SSL_CERT_FILE)",
    ),
    ExitCode::new(
        Exit::Http.code(),
        "HTTP status instead of the WebSocket upgrade (404/502/503: sandbox not found, not \
         running, or nothing listening on that port)",
    ),
    ExitCode::new(
        Exit::Auth.code(),
        "401/403 from the edge: private sandbox, pass --traffic-token",
    ),
    ExitCode::new(
        Exit::Proxy.code(),
        "HTTP proxy failure (unreachable, 407 credentials, 403, 5xx)",
    ),
    ExitCode::new(
        Exit::Lost.code(),
        "connection lost after the tunnel opened (no pong within --ping-timeout, reset)",
    ),
    ExitCode::new(
        Exit::NoSuchName.code(),
        "no running or paused sandbox has that name (create one: novita-sshconfig create NAME)",
    ),
    ExitCode::new(
        Exit::SeveralNamed.code(),
        "several sandboxes have that name: connect by ID",
    ),
    ExitCode::new(
        Exit::Gone.code(),
        "the Novita API does not know the sandbox (404): it was killed or timed out",
    ),
    ExitCode::new(
        Exit::ApiKey.code(),
        "API key missing (a name needs it: novita-sshconfig login) or refused (401/403)",
    ),
    ExitCode::new(
        Exit::Api.code(),
        "the Novita API did not answer, or answered with an error",
    ),
    ExitCode::new(
        Exit::KeyFile.code(),
        "the API key file is readable by others (chmod 600 it) or cannot be read",
    ),
    ExitCode::new(
        Exit::BridgeError.code(),
        "the sandbox's bridge closed the connection with an error code",
    ),
    ExitCode::new(
        Exit::EnvdAuth.code(),
        "known-hosts: envd refused the access token the API gave (401/403)",
    ),
    ExitCode::new(
        Exit::Envd.code(),
        "known-hosts: envd did not answer, or answered with an error",
    ),
    ExitCode::new(
        Exit::BadHostKey.code(),
        "known-hosts: envd's answer is not a public host key (nothing is trusted)",
    ),
    ExitCode::new(
        Exit::HostKeyMismatch.code(),
        "known-hosts: the sandbox offered a host key the platform does not report for it, or \
         its keys differ from those recorded for its ID (possible interception)",
    ),
];

/// The exit code table printed at the end of `--help`.
pub fn help() -> String {
    exit_codes_help(EXIT_CODES)
}

/// A failure with its exit code and a one-line message `"<problem>: <fix>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// One line: the problem, then the fix.
    pub message: String,
    /// For HTTP failures: the status code the server answered, used by `--wait`.
    pub status: Option<u16>,
}

impl Failure {
    /// A failure with `exit` and `message` (one line, problem then fix).
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        let message = one_line(&message.into());
        Self {
            exit,
            message,
            status: None,
        }
    }

    /// A failure caused by an HTTP status.
    pub fn http(exit: Exit, status: u16, message: impl Into<String>) -> Self {
        Self {
            status: Some(status),
            ..Self::new(exit, message)
        }
    }

    /// Whether `--wait` may retry after this failure: it happened before the WebSocket
    /// opened and can go away by itself (DNS, refused connect, 502/503/504 while a
    /// sandbox starts, 409 while a pause or resume is in progress).
    pub fn is_retryable(&self) -> bool {
        match self.exit {
            Exit::Dns | Exit::Connect => true,
            Exit::Http => matches!(self.status, Some(409 | 502..=504)),
            _ => false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Collapses line breaks and control characters so a message always stays on one line.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// A short reason for a failed connect ("connection refused", "timed out", ...).
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::TimedOut => "timed out".to_owned(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        _ => strip_os_error(&e.to_string()),
    }
}

/// Removes the " (os error N)" tail of an I/O error message.
pub fn strip_os_error(text: &str) -> String {
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Internal, 1),
            (Exit::Usage, 2),
            (Exit::Dns, 3),
            (Exit::Connect, 4),
            (Exit::Tls, 5),
            (Exit::Http, 6),
            (Exit::Auth, 7),
            (Exit::Proxy, 8),
            (Exit::Lost, 9),
            (Exit::NoSuchName, 10),
            (Exit::SeveralNamed, 11),
            (Exit::Gone, 12),
            (Exit::ApiKey, 13),
            (Exit::Api, 14),
            (Exit::KeyFile, 15),
            (Exit::BridgeError, 16),
            (Exit::EnvdAuth, 17),
            (Exit::Envd, 18),
            (Exit::BadHostKey, 19),
            (Exit::HostKeyMismatch, 20),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code);
        }
        let listed: Vec<u8> = EXIT_CODES.iter().map(|e| e.code).collect();
        let codes: Vec<u8> = all.iter().map(|(_, code)| *code).collect();
        assert_eq!(listed, codes, "every code in the table, in order");
    }

    #[test]
    fn only_pre_open_transient_failures_are_retried() {
        assert!(Failure::new(Exit::Dns, "x").is_retryable());
        assert!(Failure::new(Exit::Connect, "x").is_retryable());
        assert!(Failure::http(Exit::Http, 502, "x").is_retryable());
        assert!(Failure::http(Exit::Http, 503, "x").is_retryable());
        assert!(!Failure::http(Exit::Http, 404, "x").is_retryable());
        assert!(!Failure::http(Exit::Auth, 403, "x").is_retryable());
        assert!(!Failure::new(Exit::Tls, "x").is_retryable());
        assert!(!Failure::new(Exit::Lost, "x").is_retryable());
        assert!(!Failure::new(Exit::Proxy, "x").is_retryable());
    }

    #[test]
    fn io_errors_lose_their_os_error_tail() {
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(
            io_reason(&io::ErrorKind::ConnectionRefused.into()),
            "connection refused"
        );
        assert_eq!(
            io_reason(&io::Error::other("no route (os error 113)")),
            "no route"
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let f = Failure::new(Exit::Http, "a\r\nb\tc\n");
        assert_eq!(f.message, "a b c");
    }
}

//! DNS resolution and TCP connects, with errors sorted into DNS and connect failures.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// Why a TCP connection could not be opened.
#[derive(Debug)]
pub enum TcpError {
    /// The name did not resolve (or resolved to nothing).
    Dns(io::Error),
    /// Every address refused, was unreachable, or the deadline passed.
    Connect(io::Error),
}

/// Resolves `host:port` and connects to the first address that answers before
/// `deadline`. Sets `TCP_NODELAY`: a keystroke must not wait for Nagle.
pub async fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, TcpError> {
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => return Err(TcpError::Dns(e)),
            Err(_) => {
                return Err(TcpError::Dns(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the DNS lookup timed out",
                )))
            }
        };
    if addrs.is_empty() {
        return Err(TcpError::Dns(io::Error::new(
            io::ErrorKind::NotFound,
            "no addresses found",
        )));
    }
    let mut last = io::Error::new(io::ErrorKind::TimedOut, "timed out");
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                crate::debug!("TCP connected to {addr}");
                return Ok(stream);
            }
            Ok(Err(e)) => {
                crate::debug!("TCP connect to {addr} failed: {e}");
                last = e;
            }
            Err(_) => {
                return Err(TcpError::Connect(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {addr} timed out"),
                )))
            }
        }
    }
    Err(TcpError::Connect(last))
}

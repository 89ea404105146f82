//! The server side of the WebSocket upgrade: read and check the request, then accept it
//! with 101 or refuse it with an HTTP status.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::MAX_HEAD;
use crate::ws;

/// How long to spend sending an answer to a client that does not read it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The Sec-WebSocket-Key.
    pub key: String,
    /// The request path, for the log.
    pub path: String,
    /// Length of the request head.
    pub head_len: usize,
}

/// Why a request was not upgraded: the status and a short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status to answer.
    pub status: u16,
    /// Why, for the body and the log.
    pub why: &'static str,
}

/// Parses a request head. `Ok(None)`: incomplete.
pub fn parse_request(buf: &[u8]) -> Result<Option<UpgradeRequest>, Rejection> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err(Rejection {
                status: 431,
                why: "request head too large",
            })
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Rejection {
                status: 431,
                why: "too many headers",
            })
        }
        Err(_) => {
            return Err(Rejection {
                status: 400,
                why: "not an HTTP request",
            })
        }
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let has_token = |value: &str, token: &str| {
        value
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(&header("upgrade"), "websocket") {
        return Err(Rejection {
            status: 426,
            why: "this is a WebSocket bridge; plain HTTP is not served",
        });
    }
    if req.method != Some("GET") {
        return Err(Rejection {
            status: 400,
            why: "a WebSocket upgrade must use GET",
        });
    }
    if !has_token(&header("connection"), "upgrade") {
        return Err(Rejection {
            status: 400,
            why: "missing Connection: Upgrade",
        });
    }
    if header("sec-websocket-version").trim() != "13" {
        return Err(Rejection {
            status: 426,
            why: "only WebSocket version 13 is supported",
        });
    }
    let key = header("sec-websocket-key").trim().to_owned();
    if BASE64.decode(&key).map(|k| k.len()).ok() != Some(16) {
        return Err(Rejection {
            status: 400,
            why: "missing or invalid Sec-WebSocket-Key",
        });
    }
    let path: String = req.path.unwrap_or("/").chars().take(100).collect();
    Ok(Some(UpgradeRequest {
        key,
        path,
        head_len,
    }))
}

/// The answer for a rejected request.
pub fn rejection_response(r: &Rejection) -> String {
    let reason = match r.status {
        400 => "Bad Request",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let body = format!("{}\n", r.why);
    let extra = if r.status == 426 {
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        r.status,
        body.len()
    )
}

/// Reads the request head. `Err(None)`: the client left; `Err(Some(_))`: answer and close.
pub async fn read_request<S>(sock: &mut S) -> Result<(UpgradeRequest, Vec<u8>), Option<Rejection>>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = sock.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(request) = parse_request(&buf).map_err(Some)? {
            let leftover = buf.split_off(request.head_len);
            return Ok((request, leftover));
        }
    }
}

/// Sends the 101 answer that completes the upgrade; `false` if the client did not take
/// it in time.
pub async fn accept<S>(sock: &mut S, request: &UpgradeRequest) -> bool
where
    S: AsyncWrite + Unpin,
{
    let accept = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        ws::accept_key(&request.key)
    );
    matches!(
        tokio::time::timeout(ANSWER_TIMEOUT, sock.write_all(accept.as_bytes())).await,
        Ok(Ok(()))
    )
}

/// Sends the answer for a refused request, then closes.
pub async fn refuse<S>(mut sock: S, rejection: &Rejection)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let answer = rejection_response(rejection);
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
        sock.write_all(answer.as_bytes()).await?;
        sock.shutdown().await?;
        // Drain a little so the close does not turn into a reset that eats the answer.
        let mut sink = [0u8; 4096];
        let mut total = 0;
        while total < 64 * 1024 {
            match sock.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn accepts_a_websocket_upgrade() {
        let req = parse_request(GOOD.as_bytes())
            .expect("valid")
            .expect("complete");
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(req.path, "/x");
        assert_eq!(req.head_len, GOOD.len());
        assert_eq!(parse_request(&GOOD.as_bytes()[..30]), Ok(None));
    }

    #[test]
    fn refuses_everything_else() {
        let status = |req: &str| {
            parse_request(req.as_bytes())
                .map(|_| 0)
                .unwrap_or_else(|r| r.status)
        };
        assert_eq!(status("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 426);
        assert_eq!(status("\x16\x03\x01garbage\r\n\r\n"), 400);
        assert_eq!(status(&GOOD.replace("GET", "POST")), 400);
        assert_eq!(status(&GOOD.replace("keep-alive, Upgrade", "close")), 400);
        assert_eq!(status(&GOOD.replace("Version: 13", "Version: 8")), 426);
        assert_eq!(
            status(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "short")),
            400
        );
        let many: String = (0..60).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(status(&format!("GET / HTTP/1.1\r\n{many}\r\n")), 431);
        assert_eq!(status(&"A".repeat(MAX_HEAD)), 431);
        assert_eq!(status("\x00\x01 garbage\r\n\r\n"), 400);
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(status(&long), 431);
        let answer = rejection_response(&Rejection {
            status: 426,
            why: "w",
        });
        assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(answer.contains("Sec-WebSocket-Version: 13"));
    }
}

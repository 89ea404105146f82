//! Just enough HTTP/1.1 for the stand-in: reading a request head and a `Content-Length` body
//! from a socket, query strings, and writing a response.

use std::io;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The longest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// A parsed request head, and how many bytes of the read buffer it took.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The length of the head in the buffer it was read into.
    pub len: usize,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The raw query string (empty when there is none).
    pub fn query(&self) -> &str {
        self.target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
    }

    /// Whether the client asked to close the connection after this request.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    fn content_length(&self) -> io::Result<usize> {
        if self.header("transfer-encoding").is_some() {
            return Err(invalid("chunked request bodies are not supported"));
        }
        match self.header("content-length") {
            None => Ok(0),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid("bad Content-Length"))
                .and_then(|n: usize| {
                    if n > MAX_BODY {
                        Err(invalid("body too large"))
                    } else {
                        Ok(n)
                    }
                }),
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Reads until `buf` holds a complete request head and parses it. `Ok(None)` when the peer
/// closed the connection before sending anything.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(
    conn: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<Option<Head>> {
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(len)) => {
                    return Ok(Some(Head {
                        method: req.method.unwrap_or_default().to_owned(),
                        target: req.path.unwrap_or_default().to_owned(),
                        headers: req
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_owned(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                        len,
                    }));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(invalid(&format!("bad request head: {e}"))),
            }
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads the body announced by `head` (whose bytes start `buf`), and removes head and body
/// from `buf`, leaving whatever the client pipelined after them.
pub(crate) async fn read_body<R: AsyncRead + Unpin>(
    conn: &mut R,
    buf: &mut Vec<u8>,
    head: &Head,
) -> io::Result<Vec<u8>> {
    let want = head.content_length()?;
    while buf.len() < head.len + want {
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head.len..head.len + want].to_vec();
    buf.drain(..head.len + want);
    Ok(body)
}

/// A response about to be written.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A response without a body (204 and the like).
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Writes the response; `close` adds `Connection: close`.
    pub async fn write<W: AsyncWrite + Unpin>(&self, conn: &mut W, close: bool) -> io::Result<()> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if self.status != 204 && self.status != 304 {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        conn.write_all(&bytes).await?;
        conn.flush().await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// The `key=value` pairs of a query string (or a form body), percent-decoded, `+` as space.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_form(k), decode_form(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (a space, in query strings and forms).
pub(crate) fn decode_form(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        assert_eq!(
            query_pairs("metadata=name%3Dmy%2520proj%26team%3Dblue&state=running,paused&x"),
            vec![
                ("metadata".to_owned(), "name=my%20proj&team=blue".to_owned()),
                ("state".to_owned(), "running,paused".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
        assert_eq!(decode_form("a+b"), "a b");
    }
}

//! The client side of the WebSocket upgrade, and what each HTTP answer means for the user.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::MAX_HEAD;
use crate::exit::{one_line, strip_os_error, Exit, Failure};
use crate::target::Target;
use crate::ws;

/// Headers the user may not set with `--header`: they belong to the upgrade itself.
pub const RESERVED_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// The upgrade request.
pub fn request(target: &Target, key: &str) -> String {
    let url = &target.url;
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: novita-proxy/{}\r\n",
        url.path_and_query,
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, value) in &target.headers {
        req.push_str(name);
        req.push_str(": ");
        req.push_str(value);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req
}

/// A parsed upgrade response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 101 with the right accept key; the head is this long.
    Upgraded(usize),
    /// Any other status.
    Status(u16, String),
    /// 101 that is not a valid WebSocket upgrade.
    BadUpgrade(&'static str),
}

/// Parses the response head in `buf`. `Ok(None)`: incomplete; `Err`: not HTTP.
pub fn parse_response(buf: &[u8], key: &str) -> Result<Option<Answer>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err("the response head is too long".to_owned())
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP response ({e})")),
    };
    let status = response.code.unwrap_or_default();
    if status != 101 {
        let reason: String = one_line(response.reason.unwrap_or_default())
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        return Ok(Some(Answer::Status(status, reason)));
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Ok(Some(Answer::BadUpgrade(
            "the 101 answer does not upgrade to websocket",
        )));
    }
    if header("sec-websocket-accept").as_deref() != Some(ws::accept_key(key).as_str()) {
        return Ok(Some(Answer::BadUpgrade(
            "the 101 answer has a wrong Sec-WebSocket-Accept",
        )));
    }
    if header("sec-websocket-extensions").is_some_and(|v| !v.is_empty()) {
        return Ok(Some(Answer::BadUpgrade(
            "the server enabled an extension that was not asked for",
        )));
    }
    Ok(Some(Answer::Upgraded(head_len)))
}

/// Sends the upgrade request on `stream` and reads the answer. Returns the bytes that
/// followed the response head (the start of the first frames).
pub async fn upgrade<S>(stream: &mut S, target: &Target) -> Result<Vec<u8>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let url = &target.url;
    let key = ws::generate_key();
    let broken = |e: std::io::Error| {
        Failure::new(
            Exit::Http,
            format!(
                "the connection to {} broke during the WebSocket upgrade: {}: check the URL, or try again",
                url.host_header(),
                strip_os_error(&e.to_string())
            ),
        )
    };
    stream
        .write_all(request(target, &key).as_bytes())
        .await
        .map_err(broken)?;
    stream.flush().await.map_err(broken)?;
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(broken(e)),
        };
        if n == 0 {
            return Err(Failure::new(
                Exit::Http,
                format!(
                    "{} closed the connection without answering the WebSocket upgrade: check that a WebSocket bridge listens there (port {})",
                    url.host_header(),
                    target.port
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let answer = parse_response(&buf, &key).map_err(|why| {
            Failure::new(
                Exit::Http,
                format!("{} did not answer the WebSocket upgrade with HTTP: {why}: check the URL and port", url.host_header()),
            )
        })?;
        match answer {
            None => continue,
            Some(Answer::Upgraded(head_len)) => {
                crate::info!("WebSocket open to {url}");
                return Ok(buf.split_off(head_len));
            }
            Some(Answer::Status(status, reason)) => {
                crate::info!("{} answered {status} {reason}", url.host_header());
                return Err(status_failure(target, status, &reason));
            }
            Some(Answer::BadUpgrade(why)) => {
                return Err(Failure::new(
                    Exit::Http,
                    format!(
                        "{} is not a WebSocket server: {why}: check the URL and port",
                        url.host_header()
                    ),
                ))
            }
        }
    }
}

/// What an HTTP status instead of the upgrade means, and what to do.
pub fn status_failure(target: &Target, status: u16, reason: &str) -> Failure {
    let status_text = format!("{status} {reason}").trim().to_owned();
    let port = target.port;
    let sandbox = match &target.id {
        Some(id) => format!("sandbox {id}"),
        None => "the sandbox".to_owned(),
    };
    let at = target.url.host_header();
    let msg = match status {
        401 | 403 if target.has_token => format!(
            "{at} answered {status_text}: the traffic access token was refused for {sandbox}: pass the token returned when this sandbox was created (--traffic-token or NOVITA_TRAFFIC_TOKEN)"
        ),
        401 | 403 => format!(
            "{at} answered {status_text}: {sandbox} is private: pass its traffic access token with --traffic-token or NOVITA_TRAFFIC_TOKEN"
        ),
        404 => format!(
            "{at} answered {status_text}: {sandbox} was not found, or nothing listens on port {port} in it: check the sandbox ID, --domain and --port"
        ),
        502..=504 => format!(
            "{at} answered {status_text}: {sandbox} is not running, or nothing listens on port {port} in it: start the sandbox and its WebSocket bridge (or pass --wait SECS while it starts)"
        ),
        _ => format!(
            "{at} answered {status_text} instead of a WebSocket upgrade: check that {sandbox} runs a WebSocket bridge on port {port}"
        ),
    };
    let exit = if matches!(status, 401 | 403) {
        Exit::Auth
    } else {
        Exit::Http
    };
    Failure::http(exit, status, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            url: novita_ssh_core::WsUrl::parse("wss://8081-abc.sandbox.test/").expect("url"),
            connect_to: None,
            proxy: None,
            tls: None,
            headers: vec![("e2b-traffic-access-token".into(), "t0k".into())],
            has_token: true,
            id: Some("abc".into()),
            port: 8081,
        }
    }

    #[test]
    fn request_carries_host_and_headers() {
        let req = request(&target(), "k==");
        assert!(req.starts_with("GET / HTTP/1.1\r\nHost: 8081-abc.sandbox.test\r\n"));
        assert!(req.contains("\r\ne2b-traffic-access-token: t0k\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
    }

    #[test]
    fn parses_upgrades_and_statuses() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let good = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nXY";
        assert_eq!(
            parse_response(good, key),
            Ok(Some(Answer::Upgraded(good.len() - 2)))
        );
        let wrong = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: nope\r\n\r\n";
        assert!(matches!(
            parse_response(wrong, key),
            Ok(Some(Answer::BadUpgrade(_)))
        ));
        assert_eq!(
            parse_response(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
                key
            ),
            Ok(Some(Answer::Status(502, "Bad Gateway".into())))
        );
        assert_eq!(parse_response(b"HTTP/1.1 101 Swi", key), Ok(None));
        assert!(parse_response(b"SSH-2.0-OpenSSH_9.2\r\n", key).is_err());
    }

    #[test]
    fn statuses_map_to_exit_codes_and_advice() {
        let mut t = target();
        let f = status_failure(&t, 403, "Forbidden");
        assert_eq!(f.exit, Exit::Auth);
        assert!(f.message.contains("token was refused"));
        t.has_token = false;
        let f = status_failure(&t, 403, "Forbidden");
        assert!(f.message.contains("--traffic-token"), "{}", f.message);
        for (status, needle) in [
            (404, "not found"),
            (502, "not running"),
            (500, "instead of"),
        ] {
            let f = status_failure(&t, status, "X");
            assert_eq!(f.exit, Exit::Http);
            assert!(
                f.message.contains(needle)
                    && f.message.contains("8081")
                    && f.message.contains("abc"),
                "{}",
                f.message
            );
        }
    }
}

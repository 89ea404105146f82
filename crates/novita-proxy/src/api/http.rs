//! One HTTP/1.1 exchange over the kit's own connection stack, with hyper's client
//! (chunked bodies, keep-alive framing) on top: the API's requests, and envd's file reads
//! for host keys.

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use std::sync::Arc;
use std::time::Duration;

use super::{ApiError, ApiSettings};
use crate::connect::http_proxy::Proxy;
use crate::connect::tls::Roots;
use crate::connect::{self, Endpoint};

/// The largest answer body read.
const MAX_BODY: usize = 8 << 20;

/// A complete answer.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// `X-Next-Token`, for pages.
    pub next_token: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, base: &str) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::BadAnswer {
            base: base.to_owned(),
            why: format!("HTTP {}: {e}", self.status),
        })
    }

    /// The platform's error message (`{code, message}`), shortened to one line.
    pub fn message(&self) -> String {
        let text = serde_json::from_slice::<super::model::ErrorBody>(&self.body)
            .map(|b| b.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).into_owned());
        let mut line = crate::exit::one_line(&text);
        if line.len() > 200 {
            let mut cut = 200;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str("...");
        }
        if line.is_empty() {
            "no message".to_owned()
        } else {
            line
        }
    }
}

/// The base URL split for connecting.
struct Base {
    secure: bool,
    host: String,
    port: u16,
    authority: String,
    prefix: String,
}

fn split_base(base: &str) -> Result<Base, String> {
    let uri: hyper::Uri = base.parse().map_err(|e| format!("{e}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err("the scheme must be http or https".to_owned()),
    };
    let authority = uri.authority().ok_or("there is no host")?.clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = authority
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    Ok(Base {
        secure,
        host,
        port,
        authority: authority.as_str().to_owned(),
        prefix: uri.path().trim_end_matches('/').to_owned(),
    })
}

/// Percent-encodes a query component (everything but RFC 3986's unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where one HTTP request goes and how to reach it: the kit's TCP, proxy and TLS stack.
pub struct Site<'a> {
    /// `http(s)://host[:port][/prefix]`: where requests go, and how messages name it.
    pub base: &'a str,
    /// `--connect-to`: where to open the TCP connection instead of the URL's host.
    pub connect_to: Option<&'a (String, u16)>,
    /// The HTTP proxy chosen for the URL's host, if any.
    pub proxy: Option<&'a Proxy>,
    /// Trust anchors.
    pub tls: &'a Arc<Roots>,
    /// The limit for the whole exchange, connection included.
    pub timeout: Duration,
}

/// Sends one request to the API and reads the whole answer, within the settings' timeout.
pub async fn exchange(
    settings: &ApiSettings,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<Answer, ApiError> {
    let site = Site {
        base: &settings.base,
        connect_to: settings.connect_to.as_ref(),
        proxy: settings.proxy.as_ref(),
        tls: &settings.tls,
        timeout: settings.timeout,
    };
    let mut headers = vec![("X-API-KEY", settings.key.expose())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    send(&site, method, path, &headers, "application/json", body)
        .await
        .map_err(|why| ApiError::Unreachable {
            base: settings.base.clone(),
            why,
        })
}

/// Sends one request to `site` (`path` after its prefix, `headers` besides Host,
/// User-Agent and Accept) and reads the whole answer within the site's timeout. The error
/// says why no answer came: DNS, TCP, proxy, TLS, HTTP framing or the timeout.
pub async fn send(
    site: &Site<'_>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    accept: &str,
    body: Option<String>,
) -> Result<Answer, String> {
    let base = split_base(site.base)?;
    let deadline = Instant::now() + site.timeout;
    let endpoint = Endpoint {
        secure: base.secure,
        host: &base.host,
        port: base.port,
        connect_to: site.connect_to,
        proxy: site.proxy,
        tls: Some(site.tls),
    };
    let transport = connect::dial(&endpoint, deadline, site.timeout)
        .await
        .map_err(|f| f.message)?;
    let work = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(transport))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                crate::debug!("HTTP connection ended: {e}");
            }
        });
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", base.prefix))
            .header(hyper::header::HOST, &base.authority)
            .header(
                hyper::header::USER_AGENT,
                concat!("novita-ssh/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::ACCEPT, accept);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let next_token = response
            .headers()
            .get("x-next-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            next_token,
            body,
        })
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {} s (raise --connect-timeout on slow links)",
            site.timeout.as_secs_f32()
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn components_are_encoded() {
        assert_eq!(encode("name=my proj&x"), "name%3Dmy%20proj%26x");
        assert_eq!(encode("running,paused"), "running%2Cpaused");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
    }

    #[test]
    fn bases_split() {
        let b = split_base("https://api.example.com").unwrap();
        assert!(b.secure);
        assert_eq!(
            (b.host.as_str(), b.port, b.prefix.as_str()),
            ("api.example.com", 443, "")
        );
        let b = split_base("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(
            (
                b.host.as_str(),
                b.port,
                b.authority.as_str(),
                b.prefix.as_str()
            ),
            ("127.0.0.1", 8080, "127.0.0.1:8080", "/v1")
        );
        let b = split_base("http://[::1]:9").unwrap();
        assert_eq!(b.host, "::1");
    }
}

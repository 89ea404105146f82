//! HTTP CONNECT proxies: which proxy to use (flags, then `HTTPS_PROXY`/`https_proxy`/
//! `ALL_PROXY`/`all_proxy` with `NO_PROXY`/`no_proxy`, matched with curl's rules by
//! hyper-util), and the CONNECT exchange itself, over `http://` or `https://` proxies.

use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::exit::{one_line, strip_os_error, Exit, Failure};

/// The longest CONNECT response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// An HTTP proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `true` for an `https://` proxy (TLS to the proxy itself).
    pub secure: bool,
    /// The proxy's host (no brackets for IPv6).
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// The `Proxy-Authorization` value, from `user:password@` in the URL.
    pub auth: Option<String>,
    /// Where the setting came from (`--proxy`, `HTTPS_PROXY`, ...), for messages.
    pub source: &'static str,
}

impl Proxy {
    /// The proxy as `scheme://host:port`, never with the password.
    pub fn display(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The environment variables consulted, in order, for a `wss://` (`https`) or `ws://`
/// (`http`) destination.
fn env_names(secure: bool) -> &'static [&'static str] {
    if secure {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    }
}

/// Chooses the proxy for a connection to `host` (the URL's host) over TLS or not.
///
/// `flag` is `--proxy`, which replaces the environment's proxy variables (`NO_PROXY` still
/// applies, as in curl); `no_proxy` is `--no-proxy`. `env` reads a variable.
pub fn select(
    host: &str,
    port: u16,
    secure: bool,
    flag: Option<&str>,
    no_proxy: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, Failure> {
    if no_proxy {
        return Ok(None);
    }
    let no = ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|n| env(n))
        .unwrap_or_default();
    let (raw, source) = match flag {
        Some(url) => (url.to_owned(), "--proxy"),
        None => {
            let found = env_names(secure).iter().find_map(|name| {
                env(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (v, *name))
            });
            match found {
                Some((value, name)) => (value, name),
                None => return Ok(None),
            }
        }
    };
    let parsed = parse_proxy_url(&raw, source)?;
    let matcher = Matcher::builder().all(raw.trim()).no(no).build();
    let scheme = if secure { "https" } else { "http" };
    let dst_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let dst: Uri = format!("{scheme}://{dst_host}:{port}/")
        .parse()
        .map_err(|_| {
            Failure::new(
                Exit::Usage,
                format!("invalid destination {host}:{port}: check the URL"),
            )
        })?;
    match matcher.intercept(&dst) {
        None => Ok(None),
        Some(intercept) => Ok(Some(Proxy {
            auth: intercept
                .basic_auth()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ..parsed
        })),
    }
}

/// Validates a proxy URL (`http://[user:pass@]host[:port]` or `https://...`).
pub fn parse_proxy_url(raw: &str, source: &'static str) -> Result<Proxy, Failure> {
    let value = raw.trim();
    let bad = |why: &str| {
        Failure::new(
            Exit::Usage,
            format!(
                "invalid proxy {source} {}: {why}: use http://[user:password@]host:port or https://..., or pass --no-proxy",
                redact(value)
            ),
        )
    };
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let uri: Uri = with_scheme.parse().map_err(|_| bad("it is not a URL"))?;
    let secure = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => {
            return Err(bad(&format!(
                "the scheme {other}:// is not supported (only HTTP CONNECT proxies)"
            )))
        }
        None => return Err(bad("it has no scheme")),
    };
    let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
    // Brackets must hold an IPv6 address and only `:PORT` may follow the host (`http`
    // alone takes `[::1]:80z` as port-less). The reason only: the value has the password.
    novita_ssh_core::validate::http_url(&with_scheme, true).map_err(|e| match e {
        novita_ssh_core::ValidationError::Invalid { reason, .. } => bad(&reason),
        other => bad(&other.to_string()),
    })?;
    let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
    let host_port: http::uri::Authority =
        host_port.parse().map_err(|_| bad("it has no valid host"))?;
    let host = host_port.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    let port = match host_port.port_u16() {
        Some(0) => return Err(bad("port 0")),
        Some(p) => p,
        None if secure => 443,
        None => 1080,
    };
    Ok(Proxy {
        secure,
        host: host.to_owned(),
        port,
        auth: None,
        source,
    })
}

/// A proxy URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let shown = match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        (None, Some(at)) => {
            let user = url[..at].split(':').next().unwrap_or_default();
            format!("{user}:***{}", &url[at..])
        }
        _ => url.to_owned(),
    };
    novita_ssh_core::quote_for_message(&shown)
}

/// The answer to a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAnswer {
    /// The status code.
    pub status: u16,
    /// The reason phrase, cleaned for printing.
    pub reason: String,
    /// Length of the response head.
    pub head_len: usize,
}

/// Parses a CONNECT response head. `Ok(None)`: incomplete; `Err`: not HTTP.
pub fn parse_connect_response(buf: &[u8]) -> Result<Option<ConnectAnswer>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(head_len)) => {
            let status = response.code.unwrap_or_default();
            let reason = one_line(response.reason.unwrap_or_default());
            let reason: String = reason
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            Ok(Some(ConnectAnswer {
                status,
                reason,
                head_len,
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            Err("the response head is too long".to_owned())
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("not an HTTP response ({e})")),
    }
}

/// The CONNECT request for `target` (`host:port`, IPv6 hosts bracketed).
pub fn connect_request(target: &str, auth: Option<&str>) -> String {
    let mut req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: novita-proxy/{}\r\nProxy-Connection: Keep-Alive\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(auth) = auth {
        req.push_str("Proxy-Authorization: ");
        req.push_str(auth);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req
}

/// Asks the proxy on `stream` to open a tunnel to `host:port`.
pub async fn connect_through<S>(
    stream: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<(), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let shown = proxy.display();
    let lost = |e: std::io::Error| {
        Failure::new(
            Exit::Proxy,
            format!(
                "the HTTP proxy {shown} (from {}) broke the connection during CONNECT {target}: {}: check the proxy, or pass --no-proxy",
                proxy.source,
                strip_os_error(&e.to_string())
            ),
        )
    };
    let request = connect_request(&target, proxy.auth.as_deref());
    stream.write_all(request.as_bytes()).await.map_err(lost)?;
    stream.flush().await.map_err(lost)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let answer = loop {
        let n = stream.read(&mut chunk).await.map_err(lost)?;
        if n == 0 {
            return Err(Failure::new(
                Exit::Proxy,
                format!(
                    "the HTTP proxy {shown} (from {}) closed the connection without answering CONNECT {target}: check the proxy address, or pass --no-proxy",
                    proxy.source
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_connect_response(&buf) {
            Ok(Some(answer)) => break answer,
            Ok(None) => {}
            Err(why) => {
                return Err(Failure::new(
                    Exit::Proxy,
                    format!(
                        "{shown} (from {}) is not an HTTP proxy: {why}: check the proxy address, or pass --no-proxy",
                        proxy.source
                    ),
                ))
            }
        }
    };
    crate::info!(
        "proxy {shown} answered {} {} to CONNECT {target}",
        answer.status,
        answer.reason
    );
    if (200..300).contains(&answer.status) {
        if buf.len() > answer.head_len {
            return Err(Failure::new(
                Exit::Proxy,
                format!("the HTTP proxy {shown} sent data after its CONNECT answer: check the proxy, or pass --no-proxy"),
            ));
        }
        return Ok(());
    }
    Err(refusal(proxy, &target, &answer))
}

/// The failure for a CONNECT answered with a non-2xx status.
pub fn refusal(proxy: &Proxy, target: &str, answer: &ConnectAnswer) -> Failure {
    let shown = proxy.display();
    let status = format!("{} {}", answer.status, answer.reason)
        .trim()
        .to_owned();
    let from = proxy.source;
    let msg = match answer.status {
        // tinyproxy answers 401 to wrong credentials.
        401 | 407 if proxy.auth.is_some() => format!(
            "the HTTP proxy {shown} (from {from}) refused the credentials ({status}): check the user and password in the proxy URL"
        ),
        401 | 407 => format!(
            "the HTTP proxy {shown} (from {from}) requires credentials ({status}): put them in the proxy URL, e.g. http://user:password@host:port"
        ),
        403 => format!(
            "the HTTP proxy {shown} (from {from}) refused CONNECT {target} ({status}): ask its administrator to allow CONNECT to this host and port, or pass --no-proxy if the sandbox is reachable directly"
        ),
        500..=599 => format!(
            "the HTTP proxy {shown} (from {from}) could not open a tunnel to {target} ({status}): check the sandbox ID and --domain, or the proxy's own network"
        ),
        _ => format!(
            "the HTTP proxy {shown} (from {from}) refused CONNECT {target} ({status}): check the proxy settings, or pass --no-proxy"
        ),
    };
    Failure::http(Exit::Proxy, answer.status, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const HOST: &str = "8081-abc.sandbox.novita.ai";

    #[test]
    fn uses_https_proxy_for_wss_and_all_proxy_as_fallback() {
        let env = env_of(&[("HTTPS_PROXY", "http://proxy.corp:3128")]);
        let p = select(HOST, 443, true, None, false, &env)
            .expect("ok")
            .expect("proxy");
        assert_eq!(
            (p.host.as_str(), p.port, p.secure, p.source),
            ("proxy.corp", 3128, false, "HTTPS_PROXY")
        );
        let env = env_of(&[("all_proxy", "https://user:p%40ss@proxy.corp")]);
        let p = select(HOST, 443, true, None, false, &env)
            .expect("ok")
            .expect("proxy");
        assert_eq!((p.port, p.secure, p.source), (443, true, "all_proxy"));
        // Basic auth from the URL, percent-decoded ("user:p@ss").
        assert_eq!(p.auth.as_deref(), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(p.display(), "https://proxy.corp:443");
        // http_proxy is not used for wss.
        let env = env_of(&[("http_proxy", "http://proxy.corp:3128")]);
        assert_eq!(
            select(HOST, 443, true, None, false, &env).expect("ok"),
            None
        );
    }

    #[test]
    fn no_proxy_follows_curl_rules() {
        for no in [
            "sandbox.novita.ai",
            ".novita.ai",
            "*",
            "other.com, novita.ai",
        ] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)].into_boxed_slice());
            assert_eq!(
                select(HOST, 443, true, None, false, &env_of(vars)).expect("ok"),
                None,
                "{no}"
            );
        }
        for no in ["other.com", "novita.ai.evil", "ai.novita"] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("HTTPS_PROXY", "http://p:1"), ("no_proxy", no)].into_boxed_slice());
            assert!(
                select(HOST, 443, true, None, false, &env_of(vars))
                    .expect("ok")
                    .is_some(),
                "{no}"
            );
        }
        let vars = env_of(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "127.0.0.0/8")]);
        assert_eq!(
            select("127.0.0.1", 80, true, None, false, &vars).expect("ok"),
            None
        );
    }

    #[test]
    fn flags_override_the_environment() {
        let env = env_of(&[("HTTPS_PROXY", "http://envproxy:1")]);
        let p = select(HOST, 443, true, Some("http://u:pw@flag:8888"), false, &env)
            .expect("ok")
            .expect("proxy");
        assert_eq!(
            (p.host.as_str(), p.port, p.source),
            ("flag", 8888, "--proxy")
        );
        assert_eq!(p.auth.as_deref(), Some("Basic dTpwdw=="));
        assert_eq!(
            select(HOST, 443, true, Some("http://flag:1"), true, &env).expect("ok"),
            None
        );
        assert_eq!(select(HOST, 443, true, None, true, &env).expect("ok"), None);
    }

    #[test]
    fn refuses_unusable_proxy_urls_without_showing_the_password() {
        for bad in [
            "socks5://u:secret@h:1",
            "http://",
            "ftp://h",
            "http://h:0",
            "http://u:secret@[]:1",
            "http://u:secret@[zz]:1",
            "http://u:secret@[::1]:80z",
            "u:secret@[::1]x",
            "http://h:",
        ] {
            let err = parse_proxy_url(bad, "--proxy").expect_err(bad);
            assert_eq!(err.exit, Exit::Usage);
            assert!(!err.message.contains("secret"), "{}", err.message);
        }
        assert_eq!(
            parse_proxy_url("proxy:3128", "HTTPS_PROXY")
                .expect("ok")
                .port,
            3128
        );
        assert_eq!(redact("http://u:secret@h:1"), "'http://u:***@h:1'");
    }

    #[test]
    fn parses_connect_answers() {
        let ok = parse_connect_response(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .expect("ok")
            .expect("complete");
        assert_eq!(
            (ok.status, ok.reason.as_str(), ok.head_len),
            (200, "Connection established", 39)
        );
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 OK\r\n").expect("ok"),
            None
        );
        let denied = parse_connect_response(b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\nbody")
            .expect("ok")
            .expect("complete");
        assert_eq!(denied.status, 407);
        assert!(parse_connect_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_connect_response(&vec![b'a'; MAX_HEAD]).is_err());
    }

    #[test]
    fn refusals_name_the_proxy_and_status() {
        let proxy = parse_proxy_url("http://p.corp:3128", "HTTPS_PROXY").expect("ok");
        for (status, reason, needle) in [
            (407, "Proxy Authentication Required", "requires credentials"),
            (403, "Forbidden", "refused CONNECT"),
            (502, "Bad Gateway", "could not open a tunnel"),
        ] {
            let f = refusal(
                &proxy,
                "h:443",
                &ConnectAnswer {
                    status,
                    reason: reason.into(),
                    head_len: 0,
                },
            );
            assert_eq!(f.exit, Exit::Proxy);
            assert!(f.message.contains("http://p.corp:3128"), "{}", f.message);
            assert!(f.message.contains(&status.to_string()), "{}", f.message);
            assert!(f.message.contains(needle), "{}", f.message);
        }
    }
}

//! What users, ssh and the environment pass on the command line: HOST as `%h`, URL
//! templates, `--domain`, `--header`, `--traffic-token`, `--connect-to`, proxy URLs and
//! `NO_PROXY`. Never a panic; every error is one line; whatever is accepted is canonical
//! (validating it again gives it back) and safe to put into a request line, a `Host`
//! header or an ssh config line (no whitespace or control characters).
//!
//! The input is the text to parse; for the parsers that take two values (a template and
//! an ID, a destination host and `NO_PROXY`) it is split at the first newline.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_proxy::cli::parse_connect_to;
use novita_proxy::connect::http_proxy::{parse_proxy_url, redact, select};
use novita_ssh_core::{
    parse_host, sandbox_url, url_from_template, validate, SandboxId, WsUrl, DEFAULT_DOMAIN,
};

fn clean(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

fn one_line(message: &str) {
    assert!(
        !message.contains(['\n', '\r']),
        "multi-line message: {message:?}"
    );
}

/// A validator returns the canonical form, which validates to itself.
fn canonical<T, E>(value: &str, check: impl Fn(&str) -> Result<T, E>, text: impl Fn(&T) -> &str)
where
    E: std::fmt::Display,
{
    match check(value) {
        Ok(accepted) => match check(text(&accepted)) {
            Ok(again) => assert_eq!(text(&again), text(&accepted), "not canonical: {value:?}"),
            Err(e) => panic!("canonical form of {value:?} refused: {e}"),
        },
        Err(e) => one_line(&e.to_string()),
    }
}

/// The port as written in a URL's authority (`None` without `:PORT`), to check that a
/// parser neither drops nor invents one.
fn written_port(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = host_port
        .rsplit_once(']')
        .map_or(host_port, |(_, rest)| rest);
    after_host.split_once(':').map(|(_, port)| port)
}

/// The port written in `text` is the one parsed, or none was written and `default` is.
fn same_port(text: &str, port: u16, explicit: bool) {
    match written_port(text) {
        Some(written) => assert!(explicit && written.parse() == Ok(port), "{text:?}: {port}"),
        None => assert!(!explicit, "{text:?}: {port}"),
    }
}

/// A host is an IP address or a valid DNS name, never anything else in brackets.
fn valid_host(host: &str) {
    assert!(
        host.parse::<std::net::IpAddr>().is_ok() || validate::domain(host).is_ok(),
        "{host:?}"
    );
}

fn url_is_safe(url: &WsUrl) {
    valid_host(&url.host);
    assert!(clean(&url.host_header()), "{url:?}");
    assert!(url.path_and_query.starts_with('/') || url.path_and_query.starts_with('?'));
    assert!(clean(&url.path_and_query), "{url:?}");
    // What is printed and sent parses back to the same URL.
    assert_eq!(WsUrl::parse(&url.to_string()).as_ref(), Ok(url));
}

fn host_and_url(text: &str) {
    match parse_host(text) {
        Ok(id) => {
            assert!(clean(id.as_str()));
            assert_eq!(parse_host(id.as_str()).as_ref(), Ok(&id));
            let url = sandbox_url(&id, 8081, DEFAULT_DOMAIN).expect("a valid ID gives a URL");
            url_is_safe(&url);
        }
        Err(e) => one_line(&e.to_string()),
    }
    match WsUrl::parse(text) {
        Ok(url) => {
            url_is_safe(&url);
            same_port(text, url.port, url.explicit_port);
        }
        Err(e) => one_line(&e.to_string()),
    }
    match url_from_template(text, None, 8081) {
        Ok(url) => url_is_safe(&url),
        Err(e) => one_line(&e.to_string()),
    }
    canonical(text, validate::sandbox_id, |s| s.as_str());
    canonical(text, validate::domain, |s| s.as_str());
    canonical(text, validate::alias, |s| s.as_str());
    canonical(text, validate::user, |s| s.as_str());
    canonical(text, validate::traffic_token, |s| s.as_str());
    canonical(text, validate::connect_to, |s| s.as_str());
    canonical(text, |v| validate::http_url(v, true), |s| s.as_str());
    canonical(text, |v| validate::http_url(v, false), |s| s.as_str());
    if validate::http_url(text, true).is_ok() {
        if let Some(written) = written_port(text) {
            assert!(matches!(written.parse::<u16>(), Ok(1..)), "{text:?}");
        }
    }
    match validate::header(text) {
        Ok((name, value)) => {
            assert!(clean(&name));
            assert!(!value.contains(['\r', '\n', '\0']));
            assert_eq!(
                validate::header(&format!("{name}: {value}")),
                Ok((name, value))
            );
        }
        Err(e) => one_line(&e.to_string()),
    }
    if let Ok(port) = text.parse::<u32>() {
        assert_eq!(validate::port(port).is_ok(), (1..=65535).contains(&port));
    }
    match parse_connect_to(text) {
        Ok((host, port)) => {
            valid_host(&host);
            assert!(port != 0);
        }
        Err(e) => one_line(&e.message),
    }
    match parse_proxy_url(text, "--proxy") {
        Ok(proxy) => {
            valid_host(&proxy.host);
            let default = written_port(text.trim()).is_none();
            same_port(text.trim(), proxy.port, !default);
            assert!(!default || proxy.port == if proxy.secure { 443 } else { 1080 });
            one_line(&proxy.display());
        }
        Err(e) => one_line(&e.message),
    }
    let shown = redact(text);
    one_line(&shown);
}

fn pairs(first: &str, second: &str) {
    // A template and the ID substituted into it.
    if let Ok(id) = SandboxId::parse(second) {
        match url_from_template(first, Some(&id), 22) {
            Ok(url) => url_is_safe(&url),
            Err(e) => one_line(&e.to_string()),
        }
    }
    // A destination host with a proxy from the environment and NO_PROXY.
    let env = |name: &str| match name {
        "HTTPS_PROXY" | "HTTP_PROXY" => Some("http://u:p@proxy.example:3128".to_owned()),
        "NO_PROXY" => Some(second.to_owned()),
        _ => None,
    };
    for secure in [true, false] {
        match select(first, 443, secure, None, false, &env) {
            Ok(Some(proxy)) => assert_eq!(proxy.host, "proxy.example"),
            Ok(None) => {}
            Err(e) => one_line(&e.message),
        }
        if let Err(e) = select("sandbox.example", 443, secure, Some(first), false, &env) {
            one_line(&e.message);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    host_and_url(text);
    if let Some((first, second)) = text.split_once('\n') {
        pairs(first, second);
    }
});

//! Validators for every value the kit puts into a URL, a header, an ssh config line, a
//! shell command or a template. Each returns the value in its canonical form or a
//! [`ValidationError`] whose text says what is wrong and how to fix it.

use crate::ValidationError;

/// The longest sandbox ID accepted: `<port>-<id>` must fit one 63-byte DNS label.
pub const MAX_SANDBOX_ID_LEN: usize = 57;
/// The longest alias accepted.
pub const MAX_ALIAS_LEN: usize = 63;
/// The longest user name accepted (the POSIX/glibc limit).
pub const MAX_USER_LEN: usize = 32;
/// The longest domain accepted.
pub const MAX_DOMAIN_LEN: usize = 253;

fn non_empty(what: &'static str, value: &str, hint: &'static str) -> Result<(), ValidationError> {
    if value.is_empty() {
        Err(ValidationError::Empty { what, hint })
    } else {
        Ok(())
    }
}

fn max_len(
    what: &'static str,
    value: &str,
    max: usize,
    hint: &'static str,
) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len > max {
        Err(ValidationError::TooLong {
            what,
            len,
            max,
            hint,
        })
    } else {
        Ok(())
    }
}

/// A non-empty value of at most `max` characters, all visible ASCII (no spaces, control or
/// non-ASCII characters); `reason` is what the error says otherwise.
fn visible_ascii(
    what: &'static str,
    value: &str,
    max: usize,
    reason: &'static str,
    hint: &'static str,
) -> Result<(), ValidationError> {
    non_empty(what, value, hint)?;
    max_len(what, value, max, hint)?;
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ValidationError::invalid(what, value, reason, hint))
    }
}

/// Validates a sandbox ID such as `iz3m5v8axsybc877b539s` or `iz3m5v8axsybc877b539s-b9b802c4`.
///
/// Accepts `^[a-z0-9]+(-[a-z0-9]+)?$` (ASCII upper case is folded to lower case, as DNS
/// does), at most [`MAX_SANDBOX_ID_LEN`] characters.
pub fn sandbox_id(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "sandbox ID";
    const HINT: &str =
        "use the ID printed by Sandbox.create(), e.g. iz3m5v8axsybc877b539s (optionally ending in .novita)";
    non_empty(WHAT, value, HINT)?;
    max_len(WHAT, value, MAX_SANDBOX_ID_LEN, HINT)?;
    let lower = value.to_ascii_lowercase();
    let mut parts = lower.split('-');
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let first = parts.next().unwrap_or_default();
    let second = parts.next();
    let valid = ok_part(first) && second.is_none_or(ok_part) && parts.next().is_none();
    if !valid {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "only letters a-z, digits and one inner '-' are allowed",
            HINT,
        ));
    }
    Ok(lower)
}

/// Validates a DNS domain such as `us-phx-1.sandbox.novita.ai` (no scheme, port or path).
pub fn domain(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "domain";
    const HINT: &str =
        "pass a bare DNS name such as us-phx-1.sandbox.novita.ai (no scheme, port or path)";
    non_empty(WHAT, value, HINT)?;
    max_len(WHAT, value, MAX_DOMAIN_LEN, HINT)?;
    let lower = value.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('.').unwrap_or(&lower);
    for label in trimmed.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(ValidationError::invalid(
                WHAT,
                value,
                "each dot-separated label must be 1-63 letters, digits or inner '-'",
                HINT,
            ));
        }
    }
    Ok(trimmed.to_owned())
}

/// Validates a host alias (the `myhost` of `myhost.novita`).
///
/// Accepts a letter or digit followed by letters, digits, `_` and `-`, at most
/// [`MAX_ALIAS_LEN`] characters. Whitespace, quotes, `%`, `;`, dots, ssh pattern characters
/// and a leading `-` are refused.
pub fn alias(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "alias";
    const HINT: &str =
        "use letters, digits, '_' and '-', starting with a letter or digit, e.g. myhost";
    non_empty(WHAT, value, HINT)?;
    max_len(WHAT, value, MAX_ALIAS_LEN, HINT)?;
    let bytes = value.as_bytes();
    let valid = bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "only letters, digits, '_' and '-' are allowed, starting with a letter or digit",
            HINT,
        ));
    }
    Ok(value.to_owned())
}

/// Validates a login user name inside the sandbox (default `user`).
///
/// Accepts `^[A-Za-z_][A-Za-z0-9_.-]*$`, at most [`MAX_USER_LEN`] characters.
pub fn user(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "user name";
    const HINT: &str = "use a POSIX user name such as user or ubuntu";
    non_empty(WHAT, value, HINT)?;
    max_len(WHAT, value, MAX_USER_LEN, HINT)?;
    let bytes = value.as_bytes();
    let valid = (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if !valid {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "only letters, digits, '_', '.' and '-' are allowed, starting with a letter or '_'",
            HINT,
        ));
    }
    Ok(value.to_owned())
}

/// Validates a TCP port (1-65535).
pub fn port(value: u32) -> Result<u16, ValidationError> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            ValidationError::invalid(
                "port",
                &value.to_string(),
                "a port must be between 1 and 65535",
                "pass the sandbox port the bridge listens on, e.g. 8081",
            )
        })
}

/// Validates an HTTP header given as `Name: value`, returning the name and the value.
///
/// The name must be an RFC 9110 token; the value must be visible ASCII, spaces or tabs,
/// so it can never split the request.
pub fn header(value: &str) -> Result<(String, String), ValidationError> {
    const WHAT: &str = "header";
    const HINT: &str = "pass it as 'Name: value', e.g. --header 'X-Team: infra'";
    let Some((name, val)) = value.split_once(':') else {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "there is no ':'",
            HINT,
        ));
    };
    let name = name.trim();
    let val = val.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "the name must be letters, digits or one of !#$%&'*+-.^_`|~",
            HINT,
        ));
    }
    header_value(WHAT, val, HINT)?;
    Ok((name.to_owned(), val.to_owned()))
}

fn header_value(what: &'static str, val: &str, hint: &'static str) -> Result<(), ValidationError> {
    if val.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            what,
            val,
            "only visible ASCII characters, spaces and tabs are allowed",
            hint,
        ))
    }
}

/// Validates a traffic access token for a private sandbox (visible ASCII, no spaces).
pub fn traffic_token(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "traffic access token";
    const HINT: &str = "pass the trafficAccessToken returned when the sandbox was created";
    visible_ascii(
        WHAT,
        value,
        4096,
        "only visible ASCII characters are allowed",
        HINT,
    )?;
    Ok(value.to_owned())
}

/// Validates an `http://` or `https://` URL such as an HTTP proxy (`http://proxy:3128`)
/// or a download location, returning it unchanged.
///
/// The URL must be visible ASCII with a valid host (DNS name, IPv4 or `[IPv6]`) and a
/// non-zero port when one is given. `user:password@` is accepted only when
/// `credentials_allowed` is true (proxy Basic auth), so a URL that ends up somewhere public
/// (a template) can never carry a secret.
pub fn http_url(value: &str, credentials_allowed: bool) -> Result<String, ValidationError> {
    const WHAT: &str = "URL";
    const HINT: &str = "pass an http:// or https:// URL such as http://proxy.example.com:3128";
    let uri = uri(WHAT, value, HINT)?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "the scheme must be http:// or https://",
            HINT,
        ));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| ValidationError::invalid(WHAT, value, "there is no host", HINT))?;
    if authority.as_str().contains('@') && !credentials_allowed {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "user:password@ is not allowed here",
            "use a URL without credentials",
        ));
    }
    host(WHAT, value, authority.host(), HINT)?;
    authority_port(WHAT, value, authority, HINT)?;
    Ok(value.to_owned())
}

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Parses a URL of any scheme: non-empty, at most [`MAX_URL_LEN`] characters, visible
/// ASCII only (no spaces, control or non-ASCII characters), and valid URI syntax.
pub(crate) fn uri(
    what: &'static str,
    value: &str,
    hint: &'static str,
) -> Result<http::Uri, ValidationError> {
    visible_ascii(
        what,
        value,
        MAX_URL_LEN,
        "it contains spaces, control or non-ASCII characters",
        hint,
    )?;
    value.parse().map_err(|e: http::uri::InvalidUri| {
        ValidationError::invalid(what, value, e.to_string(), hint)
    })
}

/// The port written after a URL's host, `None` when there is none.
///
/// The `http` crate ignores what follows a bracketed IPv6 host (`[::1]:80z` has no port
/// there) and accepts an empty port (`host:`); a URL must not mean something other than
/// what it says, so only nothing or `:` and 1-65535 in digits may follow the host.
pub(crate) fn authority_port(
    what: &'static str,
    whole: &str,
    authority: &http::uri::Authority,
    hint: &'static str,
) -> Result<Option<u16>, ValidationError> {
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host_port)| host_port);
    let after_host = host_port
        .strip_prefix(authority.host())
        .unwrap_or(host_port);
    if after_host.is_empty() {
        return Ok(None);
    }
    let port = after_host
        .strip_prefix(':')
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u16>().ok());
    match port {
        Some(0) => Err(ValidationError::invalid(what, whole, "port 0", hint)),
        Some(p) => Ok(Some(p)),
        None => Err(ValidationError::invalid(
            what,
            whole,
            "the port after the host must be a number 1-65535",
            hint,
        )),
    }
}

/// A `HOST:PORT` pair: a DNS name in canonical form (lower case, no trailing dot), an IPv4
/// address or an IPv6 address (written `[::1]:PORT`, held without the brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host; an IPv6 address without its brackets.
    pub host: String,
    /// The port (0 only where [`host_port`] was asked to allow it).
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    /// `host:port`, with an IPv6 address in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why [`host_port`] refused a value; each flag words it in its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPortFault {
    /// There is no `:PORT`.
    NoPort,
    /// The port is not a number.
    PortNotNumber,
    /// The port is a number outside 1-65535 (0-65535 where port 0 is allowed).
    PortOutOfRange(u32),
    /// Brackets that do not hold an IPv6 address.
    NotIpv6,
    /// The host is neither an IP address nor a valid DNS name.
    BadHost,
}

/// Parses `HOST:PORT`: a DNS name, an IPv4 address or an `[IPv6]` literal, then a port
/// 1-65535 (or 0 with `port_zero`: "any free port" for a listening address). The one
/// parser behind `--connect-to`, `--to` and `--listen`; each flag words the fault itself.
pub fn host_port(value: &str, port_zero: bool) -> Result<HostPort, HostPortFault> {
    let (host_part, port_part) = value.rsplit_once(':').ok_or(HostPortFault::NoPort)?;
    let port_number: u32 = port_part
        .parse()
        .map_err(|_| HostPortFault::PortNotNumber)?;
    let port = u16::try_from(port_number)
        .ok()
        .filter(|p| *p != 0 || port_zero)
        .ok_or(HostPortFault::PortOutOfRange(port_number))?;
    let host = match classify_host(host_part) {
        Ok(HostKind::Ipv6(inner)) => inner
            .parse::<std::net::Ipv6Addr>()
            .map_or_else(|_| inner.to_owned(), |a| a.to_string()),
        Ok(HostKind::Ipv4(v4)) => v4.to_owned(),
        Ok(HostKind::Name(name)) => name,
        Err(HostFault::NotIpv6) => return Err(HostPortFault::NotIpv6),
        Err(HostFault::NotName(_)) => return Err(HostPortFault::BadHost),
    };
    Ok(HostPort { host, port })
}

/// Validates a `HOST:PORT` pair for `--connect-to` (a DNS name, an IPv4 address or an
/// `[IPv6]` literal, and a port 1-65535), returning it in canonical form.
pub fn connect_to(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "connect-to address";
    const HINT: &str = "pass HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443";
    non_empty(WHAT, value, HINT)?;
    let invalid = |reason: &str| ValidationError::invalid(WHAT, value, reason, HINT);
    match host_port(value, false) {
        Ok(pair) => Ok(pair.to_string()),
        Err(HostPortFault::NoPort) => Err(invalid("there is no ':PORT'")),
        Err(HostPortFault::PortNotNumber) => Err(invalid("the port is not a number")),
        Err(HostPortFault::PortOutOfRange(n)) => {
            port(n).and_then(|_| Err(invalid("the port must be 1-65535")))
        }
        Err(HostPortFault::NotIpv6) => Err(invalid("invalid IPv6 address")),
        Err(HostPortFault::BadHost) => {
            Err(invalid("the host is not a valid DNS name or IP address"))
        }
    }
}

/// A URL or address host, classified by [`classify_host`].
pub(crate) enum HostKind<'a> {
    /// A bracketed IPv6 literal; the address inside the brackets.
    Ipv6(&'a str),
    /// An IPv4 address, as written.
    Ipv4(&'a str),
    /// A DNS name in canonical form (lower case, no trailing dot).
    Name(String),
}

/// Why [`classify_host`] refused a host; each caller words it for its own value.
pub(crate) enum HostFault {
    /// Brackets that do not hold an IPv6 address.
    NotIpv6,
    /// Neither an IP address nor a valid DNS name ([`domain`]'s error).
    NotName(ValidationError),
}

/// Tells a bracketed IPv6 literal, an IPv4 address and a DNS name apart, validating each.
pub(crate) fn classify_host(value: &str) -> Result<HostKind<'_>, HostFault> {
    if let Some(inner) = value.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Ok(HostKind::Ipv6(inner)),
            Err(_) => Err(HostFault::NotIpv6),
        };
    }
    if value.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(HostKind::Ipv4(value));
    }
    domain(value)
        .map(HostKind::Name)
        .map_err(HostFault::NotName)
}

/// Checks a URL or address host: a DNS name, an IPv4 address or a bracketed IPv6 literal.
fn host(
    what: &'static str,
    whole: &str,
    value: &str,
    hint: &'static str,
) -> Result<String, ValidationError> {
    match classify_host(value) {
        Ok(HostKind::Ipv6(_) | HostKind::Ipv4(_)) => Ok(value.to_owned()),
        Ok(HostKind::Name(name)) => Ok(name),
        Err(HostFault::NotIpv6) => Err(ValidationError::invalid(
            what,
            whole,
            "invalid IPv6 address",
            hint,
        )),
        Err(HostFault::NotName(_)) => Err(ValidationError::invalid(
            what,
            whole,
            "the host is not a valid DNS name or IP address",
            hint,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_ids() {
        assert_eq!(
            sandbox_id("iz3m5v8axsybc877b539s").as_deref(),
            Ok("iz3m5v8axsybc877b539s")
        );
        assert_eq!(
            sandbox_id("IZ3M5-B9B802C4").as_deref(),
            Ok("iz3m5-b9b802c4")
        );
        for bad in [
            "",
            "a b",
            "x;rm -rf ~",
            "../x",
            "a-",
            "-a",
            "a--b",
            "a-b-c",
            "%h",
            "é",
            "a\nb",
            "a.b",
        ] {
            assert!(sandbox_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(sandbox_id(&"a".repeat(58)).is_err());
        assert!(sandbox_id(&"a".repeat(57)).is_ok());
    }

    #[test]
    fn domains() {
        assert_eq!(
            domain("Sandbox.Novita.AI.").as_deref(),
            Ok("sandbox.novita.ai")
        );
        assert_eq!(domain("localhost").as_deref(), Ok("localhost"));
        for bad in [
            "",
            "https://x.ai",
            "x.ai:443",
            "x.ai/p",
            "a..b",
            "-a.b",
            "a b",
            "x.ai\n",
        ] {
            assert!(domain(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn aliases_and_users() {
        assert!(alias("my-host_1").is_ok());
        assert!(user("user").is_ok());
        assert!(user("_svc.x-1").is_ok());
        for bad in [
            "", "-x", "a b", "a\"b", "a'b", "a%b", "a;b", "a\nb", "a.b", "a*", "ä",
        ] {
            assert!(alias(bad).is_err(), "alias {bad:?} accepted");
            assert!(user(bad).is_err() || bad == "a.b", "user {bad:?} accepted");
        }
    }

    #[test]
    fn headers_and_ports() {
        assert_eq!(
            header("X-A:  b c ").ok(),
            Some(("X-A".to_owned(), "b c".to_owned()))
        );
        assert!(header("X-A: b\r\nEvil: 1").is_err());
        assert!(header("no colon").is_err());
        assert!(header("a b: c").is_err());
        assert_eq!(port(8081), Ok(8081));
        assert!(port(0).is_err());
        assert!(port(70000).is_err());
        assert!(traffic_token("abc DEF").is_err());
    }

    #[test]
    fn http_urls_and_connect_to() {
        assert!(http_url("http://proxy.example.com:3128", false).is_ok());
        assert!(http_url("https://127.0.0.1/x/novita-proxy", false).is_ok());
        assert!(http_url("http://[::1]:8080/", false).is_ok());
        assert!(http_url("http://u:p@proxy:3128", true).is_ok());
        assert!(http_url("http://u:p@proxy:3128", false).is_err());
        for bad in [
            "",
            "ftp://x/",
            "ws://x/",
            "http://",
            "http://a b/",
            "http://x:0/",
            "http://x/\n",
            "x.com",
            "http://-x/",
            "http://[]:1/",
            "http://[zz]/",
            "http://[::1]:80z/",
            "http://[::1]x/",
            "http://x:/",
            "http://x:+80/",
        ] {
            assert!(http_url(bad, true).is_err(), "{bad:?} accepted");
        }
        assert_eq!(connect_to("LocalHost:443").as_deref(), Ok("localhost:443"));
        assert_eq!(connect_to("[::1]:8443").as_deref(), Ok("[::1]:8443"));
        assert_eq!(connect_to("127.0.0.1:1").as_deref(), Ok("127.0.0.1:1"));
        assert_eq!(connect_to("[0::1]:08").as_deref(), Ok("[::1]:8"));
        for bad in [
            "",
            "host",
            "host:",
            ":80",
            "host:0",
            "host:70000",
            "a b:1",
            "[zz]:1",
            "h;x:1",
        ] {
            assert!(connect_to(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn host_port_pairs() {
        let pair = |host: &str, port| HostPort {
            host: host.to_owned(),
            port,
        };
        assert_eq!(host_port("Edge.Test.:1", false), Ok(pair("edge.test", 1)));
        assert_eq!(host_port("[::1]:9", false), Ok(pair("::1", 9)));
        assert_eq!(pair("::1", 9).to_string(), "[::1]:9");
        assert_eq!(host_port("0.0.0.0:0", true), Ok(pair("0.0.0.0", 0)));
        for (bad, fault) in [
            ("x", HostPortFault::NoPort),
            ("", HostPortFault::NoPort),
            ("h:", HostPortFault::PortNotNumber),
            ("h:x", HostPortFault::PortNotNumber),
            ("h:0", HostPortFault::PortOutOfRange(0)),
            ("h:99999", HostPortFault::PortOutOfRange(99_999)),
            ("[zz]:1", HostPortFault::NotIpv6),
            (":1", HostPortFault::BadHost),
            ("a b:1", HostPortFault::BadHost),
            ("h;rm:1", HostPortFault::BadHost),
            ("[::1:1", HostPortFault::BadHost),
        ] {
            assert_eq!(host_port(bad, false), Err(fault), "{bad:?}");
        }
    }
}

//! What `ssh NAME.novita` points at: a sandbox ID, or the name of a sandbox that the
//! platform's API looks up in the sandboxes' metadata.

use std::fmt;

use crate::{validate, SandboxId, ValidationError, HOST_SUFFIX};

/// The metadata key that holds a sandbox's name when none is configured.
pub const DEFAULT_NAME_KEY: &str = "name";

/// The shortest label read as a sandbox ID: platform IDs are `i` and 20 more characters.
pub const MIN_ID_LEN: usize = 20;

/// The longest sandbox name accepted.
pub const MAX_NAME_LEN: usize = 63;

/// A validated sandbox name (`myproj`): the value of the name key in a sandbox's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SandboxName(String);

impl SandboxName {
    /// Validates `value` as a sandbox name: `^[a-z0-9][a-z0-9_-]*$`, at most
    /// [`MAX_NAME_LEN`] characters (ssh lowercases host names, so names are lower case).
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        const WHAT: &str = "sandbox name";
        const HINT: &str =
            "use lower-case letters, digits, '_' and '-', starting with a letter or digit, e.g. myproj";
        if value.is_empty() {
            return Err(ValidationError::Empty {
                what: WHAT,
                hint: HINT,
            });
        }
        if value.chars().count() > MAX_NAME_LEN {
            return Err(ValidationError::TooLong {
                what: WHAT,
                len: value.chars().count(),
                max: MAX_NAME_LEN,
                hint: HINT,
            });
        }
        let bytes = value.as_bytes();
        let lower = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !(lower(bytes[0]) && bytes.iter().all(|&b| lower(b) || b == b'_' || b == b'-')) {
            return Err(ValidationError::invalid(
                WHAT,
                value,
                "only lower-case letters, digits, '_' and '-' are allowed, starting with a letter or digit",
                HINT,
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SandboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a host points: a sandbox by its ID, or by its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A sandbox ID (`iz3m5v8axsybc877b539s`, or with the older `-<client id>` suffix).
    Id(SandboxId),
    /// A name to look up through the API (`myproj`).
    Name(SandboxName),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Id(id) => id.fmt(f),
            Destination::Name(name) => name.fmt(f),
        }
    }
}

/// Whether `label` has the shape of a sandbox ID rather than of a name: at least
/// [`MIN_ID_LEN`] lower-case letters and digits, optionally followed by `-` and a client
/// suffix of letters and digits.
pub fn looks_like_id(label: &str) -> bool {
    let (head, tail) = match label.split_once('-') {
        Some((head, tail)) => (head, Some(tail)),
        None => (label, None),
    };
    let alnum = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    head.len() >= MIN_ID_LEN && alnum(head) && tail.is_none_or(alnum)
}

/// Parses a host as ssh passes it with `%h` (or as a user types it on the command line):
/// `<id>`, `<id>.novita`, `<name>` or `<name>.novita`.
///
/// A label with the shape of a sandbox ID (see [`looks_like_id`]) is an ID; anything else
/// must be a valid [`SandboxName`]. ASCII upper case is folded to lower case, as ssh does.
pub fn parse_destination(host: &str) -> Result<Destination, ValidationError> {
    let lowered = host.to_ascii_lowercase();
    let bare = lowered.strip_suffix(HOST_SUFFIX).unwrap_or(&lowered);
    if bare.is_empty() && !host.is_empty() {
        return Err(ValidationError::invalid(
            "host",
            host,
            "there is no sandbox ID or name before .novita",
            "use <sandbox-id>.novita or <name>.novita, e.g. ssh myproj.novita",
        ));
    }
    if looks_like_id(bare) {
        return SandboxId::parse(bare).map(Destination::Id);
    }
    SandboxName::parse(bare).map(Destination::Name).map_err(|_| {
        ValidationError::invalid(
            "host",
            host,
            "it is neither a sandbox ID nor a sandbox name",
            "use <sandbox-id>.novita or <name>.novita (names: lower-case letters, digits, '_' and '-')",
        )
    })
}

/// Validates the metadata key that holds sandbox names (`name` by default):
/// 1 to 64 characters of letters, digits, `_`, `-` and `.`.
pub fn name_key(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "metadata name key";
    const HINT: &str = "use letters, digits, '_', '-' and '.', e.g. name";
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::invalid(
            WHAT,
            value,
            "only 1 to 64 letters, digits, '_', '-' and '.' are allowed",
            HINT,
        ))
    }
}

/// Validates the API base URL (`https://api.<domain>`, or `NOVITA_API_URL`): an
/// `http://` or `https://` URL without credentials, query or fragment. Returns it
/// without a trailing `/`.
pub fn api_url(value: &str) -> Result<String, ValidationError> {
    const WHAT: &str = "API URL";
    const HINT: &str = "pass the API's base URL, e.g. https://api.us-phx-1.sandbox.novita.ai";
    let url = validate::http_url(value, false).map_err(|e| match e {
        ValidationError::Invalid { shown, reason, .. } => ValidationError::Invalid {
            what: WHAT,
            shown,
            reason,
            hint: HINT,
        },
        other => other,
    })?;
    if url.contains(['?', '#']) {
        return Err(ValidationError::invalid(
            WHAT,
            value,
            "a query or fragment is not allowed",
            HINT,
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The API base URL of a sandbox domain: `https://api.<domain>`.
pub fn api_url_for_domain(domain: &str) -> Result<String, ValidationError> {
    let domain = validate::domain(domain)?;
    Ok(format!("https://api.{domain}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_told_apart() {
        let id = |s: &str| Destination::Id(SandboxId::parse(s).unwrap());
        let name = |s: &str| Destination::Name(SandboxName::parse(s).unwrap());
        for (host, want) in [
            ("iz3m5v8axsybc877b539s", id("iz3m5v8axsybc877b539s")),
            ("iz3m5v8axsybc877b539s.novita", id("iz3m5v8axsybc877b539s")),
            ("IZ3M5V8AXSYBC877B539S.NOVITA", id("iz3m5v8axsybc877b539s")),
            (
                "iz3m5v8axsybc877b539s-b9b802c4",
                id("iz3m5v8axsybc877b539s-b9b802c4"),
            ),
            ("ie2eabcdefgh01234567", id("ie2eabcdefgh01234567")),
            ("myproj", name("myproj")),
            ("myproj.novita", name("myproj")),
            ("MyProj.novita", name("myproj")),
            ("my-proj_2", name("my-proj_2")),
            ("shortid-b9b802c4", name("shortid-b9b802c4")),
        ] {
            assert_eq!(parse_destination(host), Ok(want), "{host}");
        }
    }

    #[test]
    fn bad_hosts_are_refused_on_one_line() {
        for bad in [
            "",
            ".novita",
            "a b",
            "x;rm",
            "-x",
            "_x",
            "a.b.novita",
            "%h",
            "ñ",
            "a\nb",
            "myproj.example.com",
        ] {
            let err = parse_destination(bad).expect_err(bad).to_string();
            assert!(!err.contains('\n'), "{bad:?}: {err}");
        }
        let long = "a-".repeat(40);
        assert!(parse_destination(&long).is_err());
    }

    #[test]
    fn name_keys() {
        assert_eq!(name_key("name").as_deref(), Ok("name"));
        assert!(name_key("novita.ssh-name_1").is_ok());
        for bad in ["", "a b", "a=b", "a&b", &"k".repeat(65)] {
            assert!(name_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_urls() {
        assert_eq!(
            api_url("https://api.example.com/").as_deref(),
            Ok("https://api.example.com")
        );
        assert_eq!(
            api_url("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in ["ftp://x", "https://u:p@x", "https://x/?a=1", "x", ""] {
            assert!(api_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            api_url_for_domain("us-phx-1.sandbox.novita.ai").as_deref(),
            Ok("https://api.us-phx-1.sandbox.novita.ai")
        );
    }
}

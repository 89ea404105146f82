use std::fmt;

use crate::{validate, ValidationError, HOST_SUFFIX};

/// A validated sandbox ID, safe to put into a DNS name, a URL, a config line or a shell word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SandboxId(String);

impl SandboxId {
    /// Validates `value` as a bare sandbox ID (see [`validate::sandbox_id`]).
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        validate::sandbox_id(value).map(Self)
    }

    /// The ID as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the host that ssh passes to a ProxyCommand as `%h`.
///
/// Accepted forms: a sandbox ID (`iz3m5v8axsybc877b539s`), the same with the kit's suffix
/// (`iz3m5v8axsybc877b539s.novita`), or an ID with the older client suffix
/// (`iz3m5v8axsybc877b539s-b9b802c4`). Anything else is refused, so nothing is ever built
/// from an unvalidated host.
pub fn parse_host(host: &str) -> Result<SandboxId, ValidationError> {
    let bare = strip_suffix_ignore_case(host, HOST_SUFFIX).unwrap_or(host);
    if bare.is_empty() && !host.is_empty() {
        return Err(ValidationError::invalid(
            "host",
            host,
            "there is no sandbox ID before .novita",
            "use <sandbox-id>.novita, e.g. ssh iz3m5v8axsybc877b539s.novita",
        ));
    }
    SandboxId::parse(bare)
}

fn strip_suffix_ignore_case<'a>(value: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = value.len().checked_sub(suffix.len())?;
    let tail = value.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &value[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_forms() {
        for (input, id) in [
            ("iz3m5v8axsybc877b539s", "iz3m5v8axsybc877b539s"),
            ("iz3m5v8axsybc877b539s.novita", "iz3m5v8axsybc877b539s"),
            ("IZ3M5V8AXSYBC877B539S.NOVITA", "iz3m5v8axsybc877b539s"),
            (
                "iz3m5v8axsybc877b539s-b9b802c4",
                "iz3m5v8axsybc877b539s-b9b802c4",
            ),
        ] {
            assert_eq!(parse_host(input).map(|h| h.to_string()).as_deref(), Ok(id));
        }
    }

    #[test]
    fn refuses_everything_else() {
        let long = "a".repeat(300);
        for bad in [
            "",
            ".novita",
            "a b",
            "x;rm -rf ~",
            "../x",
            "%h",
            "ñandú",
            "a\nb",
            "a.b.novita",
            "host.example.com",
            long.as_str(),
            "a.novita.novita",
        ] {
            let err = parse_host(bad).expect_err(bad);
            let text = err.to_string();
            assert!(
                !text.contains('\n'),
                "multi-line message for {bad:?}: {text}"
            );
        }
    }
}

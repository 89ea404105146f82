//! What a host key from the platform must be, and the known_hosts lines made from it.
//!
//! Everything envd sends is parsed with `ssh-key` before it can reach ssh: a file that
//! is not exactly one public host key of the type its name says is an error, never a line
//! passed on.

use base64::Engine as _;
use ssh_key::{HashAlg, PublicKey};

/// The host key files read through envd, with the key types each may hold.
pub const HOST_KEY_FILES: [(&str, &[&str]); 3] = [
    ("/etc/ssh/ssh_host_ed25519_key.pub", &["ssh-ed25519"]),
    (
        "/etc/ssh/ssh_host_ecdsa_key.pub",
        &[
            "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp521",
        ],
    ),
    ("/etc/ssh/ssh_host_rsa_key.pub", &["ssh-rsa"]),
];

/// Every key type a host key may have.
fn host_key_type(name: &str) -> bool {
    HOST_KEY_FILES
        .iter()
        .any(|(_, types)| types.contains(&name))
}

/// The largest public key file accepted (an RSA 16384-bit key is under 3 KiB).
const MAX_FILE: usize = 16 * 1024;

/// A public host key, without its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    key: PublicKey,
}

impl HostKey {
    /// The key type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    pub fn algorithm(&self) -> String {
        self.key.algorithm().as_str().to_owned()
    }

    /// The key blob in base64, as known_hosts holds it.
    pub fn base64(&self) -> String {
        let blob = self.key.to_bytes().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(blob)
    }

    /// `<type> <base64>`: a known_hosts line without its host names.
    pub fn line(&self) -> String {
        format!("{} {}", self.algorithm(), self.base64())
    }

    /// `SHA256:...`, as ssh shows fingerprints.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// Whether both are the same key.
    pub fn same(&self, other: &HostKey) -> bool {
        self.key.key_data() == other.key.key_data()
    }
}

/// Parses one `<type> <base64>` line (the cache's format, and what `%t %K` make).
pub fn parse_line(line: &str) -> Result<HostKey, String> {
    let mut words = line.split_ascii_whitespace();
    let (Some(kind), Some(blob), None) = (words.next(), words.next(), words.next()) else {
        return Err("it is not '<type> <base64>'".to_owned());
    };
    if !host_key_type(kind) {
        return Err(format!("{} is not a host key type", printable(kind)));
    }
    let key = PublicKey::from_openssh(&format!("{kind} {blob}"))
        .map_err(|e| format!("it does not parse as an {kind} key: {e}"))?;
    Ok(HostKey { key })
}

/// Parses the key ssh was offered (`%K`: the key blob in base64).
pub fn parse_offered(base64: &str) -> Result<HostKey, String> {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .map_err(|_| "it is not base64".to_owned())?;
    let key = PublicKey::from_bytes(&blob).map_err(|e| format!("it is not a public key: {e}"))?;
    if !host_key_type(key.algorithm().as_str()) {
        return Err(format!(
            "{} is not a host key type the kit checks",
            key.algorithm().as_str()
        ));
    }
    Ok(HostKey { key })
}

/// Parses the content of a `.pub` host key file: exactly one line, `<type> <base64>
/// [comment]`, where the type is one of `types`.
pub fn parse_key_file(bytes: &[u8], types: &[&str]) -> Result<HostKey, String> {
    if bytes.len() > MAX_FILE {
        return Err(format!(
            "{} bytes is too long for a public key",
            bytes.len()
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not text".to_owned())?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(if text.trim().is_empty() {
            "it is empty".to_owned()
        } else {
            "it has more than one line".to_owned()
        });
    };
    let line = line.trim();
    let kind = line.split_ascii_whitespace().next().unwrap_or_default();
    if !types.contains(&kind) {
        return Err(format!(
            "it starts with {}, not {}",
            printable(kind),
            types.join(" or ")
        ));
    }
    let key =
        PublicKey::from_openssh(line).map_err(|e| format!("it does not parse as a key: {e}"))?;
    if key.algorithm().as_str() != kind {
        return Err(format!(
            "its key is an {}, not an {kind}",
            key.algorithm().as_str()
        ));
    }
    Ok(HostKey { key })
}

/// A word from an answer, shortened and stripped of anything unprintable, for messages.
fn printable(word: &str) -> String {
    let mut out: String = word
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if word.chars().count() > 40 {
        out.push_str("...");
    }
    format!("'{out}'")
}

/// A host name as ssh asks for it (`%H`): `name`, or `[name]:port` when the port is not 22.
/// Returns the label to look up (`myproj.novita`, `<id>`); the name itself is printed back
/// as given, so it must be made of what such names are made of.
pub fn lookup_label(known_host: &str) -> Result<&str, String> {
    let label = match known_host.strip_prefix('[') {
        Some(rest) => {
            let (label, port) = rest
                .split_once("]:")
                .ok_or_else(|| "a '[' without ']:PORT'".to_owned())?;
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                return Err("the port is not a number".to_owned());
            }
            label
        }
        None => known_host,
    };
    let ok = !label.is_empty()
        && label.len() <= 253
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(label)
    } else {
        Err("it is not a sandbox host name".to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN/bjy4i7CYiHmQ9cJHEIj2IlBpWj2BNjVWTKzHtxf9C root@sandbox";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFwXwTKsUL7isEGD3sZy+laDL0MyDOUwoz6fw9IIiI1IyAqUcoCl5EeiM4z0xkkW99MCr+Spi2Ha7ldc9G0XzH0= root@x";

    #[test]
    fn a_host_key_file_parses_and_loses_its_comment() {
        let key = parse_key_file(format!("{ED}\n").as_bytes(), &["ssh-ed25519"]).unwrap();
        assert_eq!(key.algorithm(), "ssh-ed25519");
        assert_eq!(
            key.line(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN/bjy4i7CYiHmQ9cJHEIj2IlBpWj2BNjVWTKzHtxf9C"
        );
        assert!(key.fingerprint().starts_with("SHA256:"));
        // The cache's line reads back as the same key; so does the blob ssh offers.
        assert!(parse_line(&key.line()).unwrap().same(&key));
        assert!(parse_offered(&key.base64()).unwrap().same(&key));
    }

    #[test]
    fn anything_else_is_refused() {
        let ed = &["ssh-ed25519"][..];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "empty"),
            (b"\n\n".to_vec(), "empty"),
            (b"<html>502 Bad Gateway</html>".to_vec(), "starts with"),
            (format!("{ED}\n{ED}\n").into_bytes(), "more than one line"),
            (ECDSA.as_bytes().to_vec(), "starts with 'ecdsa"),
            (
                b"ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAgQC root".to_vec(),
                "does not parse",
            ),
            (b"ssh-ed25519 not-base64!".to_vec(), "does not parse"),
            (
                b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n".to_vec(),
                "more than one line",
            ),
            (
                format!("command=\"x\" {ED}").into_bytes(),
                "starts with 'command=",
            ),
            (vec![0xff, 0xfe, 0x00], "not text"),
            (vec![b'a'; MAX_FILE + 1], "too long"),
        ];
        for (bytes, why) in cases {
            let err = parse_key_file(&bytes, ed).unwrap_err();
            assert!(err.contains(why), "{why:?} not in {err:?}");
        }
        // A key of another type under the type's own name is refused too.
        let rsa_named_ed = ED.replace("ssh-ed25519 ", "ssh-rsa ");
        assert!(parse_key_file(rsa_named_ed.as_bytes(), &["ssh-rsa"]).is_err());
    }

    #[test]
    fn an_ecdsa_key_parses_in_its_own_file() {
        let types = HOST_KEY_FILES[1].1;
        let key = parse_key_file(ECDSA.as_bytes(), types).unwrap();
        assert_eq!(key.algorithm(), "ecdsa-sha2-nistp256");
    }

    #[test]
    fn cached_lines_and_offered_keys_are_checked() {
        assert!(parse_line("ssh-ed25519").is_err());
        assert!(parse_line("ssh-dss AAAA")
            .unwrap_err()
            .contains("not a host key type"));
        assert!(parse_line("ssh-ed25519 AAAA extra").is_err());
        assert!(parse_offered("NONE").is_err());
        assert!(parse_offered("AAAA").is_err());
    }

    #[test]
    fn host_names_from_ssh() {
        assert_eq!(lookup_label("myproj.novita"), Ok("myproj.novita"));
        assert_eq!(lookup_label("[myproj.novita]:2222"), Ok("myproj.novita"));
        assert_eq!(
            lookup_label("iz3m5v8axsybc877b539s"),
            Ok("iz3m5v8axsybc877b539s")
        );
        for bad in [
            "",
            "[x]",
            "[x]:",
            "[x]:22a",
            "a b",
            "x\nssh-ed25519 AAAA",
            "*.novita",
            "x,y",
            "[x]:123456",
        ] {
            assert!(lookup_label(bad).is_err(), "{bad:?}");
        }
    }
}

//! Serving a template's downloads without internet: the template's own `curl` runs unchanged
//! against a server on the sandbox's loopback.
//!
//! For each URL in the template's `RUN` steps whose file the harness has a local copy of,
//! the sandbox's `/etc/hosts` points the URL's host at 127.0.0.1, and
//! `tests/sandbox/serve_downloads.py` (a host Python on the sandbox's network) answers that
//! host and path with the file. For https, a test CA signs the server's certificate and is
//! appended to the sandbox's CA bundle. Local copies, by the URL's last path segment:
//! `*novita-proxy*` is the novita-proxy binary under test ([`crate::bin_path`]), `*websocat*`
//! is the websocat on the test machine; [`super::SandboxOptions::download`] adds others.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::namespace::Namespace;
use super::rootfs::scripts_dir;
use super::template::python;
use crate::{bin_path, require_tool, Proc};

/// One URL to serve and the local file behind it.
#[derive(Debug, Clone)]
pub(crate) struct Download {
    tls: bool,
    host: String,
    port: u16,
    path: String,
    file: PathBuf,
}

impl Download {
    /// Splits `url` (`http(s)://host[:port]/path`) and pairs it with `file`.
    pub(crate) fn new(url: &str, file: PathBuf) -> Option<Download> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        if authority.contains(['@', '[']) {
            return None;
        }
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return None;
        }
        Some(Download {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_owned(),
            file,
        })
    }
}

/// The local copy of a well-known download, chosen by the URL's last path segment.
pub(crate) fn known_file(url: &str) -> Option<PathBuf> {
    let name = url
        .split(['?', '#'])
        .next()?
        .rsplit('/')
        .next()?
        .to_ascii_lowercase();
    if name.contains("novita-proxy") {
        Some(bin_path("novita-proxy"))
    } else if name.contains("websocat") {
        Some(require_tool("websocat"))
    } else {
        None
    }
}

/// Starts one server per (scheme, port) in `ns` and points the hosts at them.
///
/// # Panics
/// When a server does not start, or the sandbox's files cannot be edited.
pub(crate) fn serve(ns: &Namespace, downloads: &[Download]) -> Vec<Proc> {
    if downloads.is_empty() {
        return Vec::new();
    }
    let mut hosts: Vec<&str> = downloads.iter().map(|d| d.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let hosts_lines: String = hosts.iter().map(|h| format!("127.0.0.1\t{h}\n")).collect();
    let out = ns.root_shell("cat >>/etc/hosts", Some(hosts_lines.as_bytes()));
    assert!(out.status.success(), "edit /etc/hosts: {}", out.stderr);

    let dir = ns.state().join("downloads");
    fs::create_dir_all(&dir).expect("create the downloads dir");
    let tls_hosts: Vec<String> = downloads
        .iter()
        .filter(|d| d.tls)
        .map(|d| d.host.clone())
        .collect();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    if !tls_hosts.is_empty() {
        let (ca, leaf, leaf_key) = certificates(tls_hosts);
        fs::write(&cert, leaf).expect("write the server certificate");
        fs::write(&key, leaf_key).expect("write the server key");
        let out = ns.root_shell(
            "cat >>/etc/ssl/certs/ca-certificates.crt",
            Some(ca.as_bytes()),
        );
        assert!(out.status.success(), "add the test CA: {}", out.stderr);
    }

    let mut servers: BTreeMap<(bool, u16), Vec<&Download>> = BTreeMap::new();
    for d in downloads {
        servers.entry((d.tls, d.port)).or_default().push(d);
    }
    servers
        .into_iter()
        .map(|((tls, port), routes)| {
            let mut cmd: Command = ns.on_loopback(python());
            cmd.arg(scripts_dir().join("serve_downloads.py"))
                .arg("--port")
                .arg(port.to_string())
                .env("PYTHONDONTWRITEBYTECODE", "1");
            if tls {
                cmd.arg("--cert").arg(&cert).arg("--key").arg(&key);
            }
            for d in routes {
                cmd.arg("--route").arg(&d.host).arg(&d.path).arg(&d.file);
            }
            let scheme = if tls { "https" } else { "http" };
            let mut proc = Proc::spawn(
                &format!("download server ({scheme}, port {port})"),
                cmd,
                &dir.join(format!("{scheme}-{port}.log")),
            );
            proc.wait_for_log(Duration::from_secs(20), "serving", |log| {
                log.contains("serving downloads")
            });
            proc
        })
        .collect()
}

/// A test CA (PEM), and a certificate for `hosts` it signed with the certificate's key.
fn certificates(hosts: Vec<String>) -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        DnType::CommonName,
        "novita-ssh emulated sandbox downloads CA",
    );
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("server key");
    let mut leaf = CertificateParams::new(hosts.clone()).expect("server params");
    leaf.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_default(),
    );
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("sign the server cert");
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_download_urls() {
        let d = Download::new(
            "https://GitHub.com/vi/websocat/releases/latest/download/websocat.x86_64-unknown-linux-musl",
            PathBuf::from("/w"),
        )
        .unwrap();
        assert!(d.tls);
        assert_eq!((d.host.as_str(), d.port), ("github.com", 443));
        assert_eq!(
            d.path,
            "/vi/websocat/releases/latest/download/websocat.x86_64-unknown-linux-musl"
        );
        let d = Download::new("http://dl.example:8080/x/novita-proxy?v=1", PathBuf::new()).unwrap();
        assert!(!d.tls);
        assert_eq!(
            (d.host.as_str(), d.port, d.path.as_str()),
            ("dl.example", 8080, "/x/novita-proxy?v=1")
        );
        assert!(Download::new("ftp://x/y", PathBuf::new()).is_none());
        assert!(Download::new("https://user@x/y", PathBuf::new()).is_none());
    }
}

//! TLS with rustls: verification always on, with the OS roots, the bundled Mozilla roots,
//! `SSL_CERT_FILE` and `--cacert`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::exit::{Exit, Failure};

/// Builds the client TLS configuration. A `--cacert` file that cannot be read or holds no
/// certificate is a usage error.
pub fn client_config(cacert: Option<&Path>) -> Result<Arc<ClientConfig>, Failure> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Honours SSL_CERT_FILE and SSL_CERT_DIR as well as the platform's store.
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    crate::debug!(
        "loaded {added} OS root certificates ({} errors)",
        native.errors.len()
    );
    if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        add_pem_file(&mut roots, Path::new(&path), "SSL_CERT_FILE")?;
    }
    if let Some(path) = cacert {
        add_pem_file(&mut roots, path, "--cacert")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            Failure::new(
                Exit::Internal,
                format!("TLS setup failed: {e}: please report this"),
            )
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn add_pem_file(roots: &mut RootCertStore, path: &Path, what: &str) -> Result<(), Failure> {
    let shown = path.display();
    let bad = |why: String| {
        Failure::new(
            Exit::Usage,
            format!("cannot use {what} {shown}: {why}: pass a readable PEM file with the CA certificate(s)"),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(pem_error(e)))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(pem_error(e)))?;
    if certs.is_empty() {
        return Err(bad("it contains no PEM certificate".to_owned()));
    }
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(bad("none of its certificates could be parsed".to_owned()));
    }
    crate::debug!("added {added} root certificates from {what} {shown}");
    Ok(())
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => super::tcp::strip_os_error(&io.to_string()),
        other => format!("{other:?}"),
    }
}

/// The name to send as SNI and to verify the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Failure> {
    ServerName::try_from(host.to_owned()).map_err(|_| {
        Failure::new(
            Exit::Usage,
            format!("invalid TLS server name {host:?}: check the URL"),
        )
    })
}

/// Turns a TLS handshake error with `host` into a one-line failure with `exit`.
pub fn classify(e: &io::Error, host: &str, exit: Exit) -> Failure {
    use rustls::{CertificateError, Error as TlsError};
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>());
    let fix_roots =
        "if a corporate proxy or a private CA signs it, pass --cacert FILE or set SSL_CERT_FILE";
    let msg = match inner {
        Some(TlsError::InvalidCertificate(cert)) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                format!("TLS failure: the certificate of {host} is not trusted (unknown issuer): {fix_roots}")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "TLS failure: the certificate presented for {host} is not valid for that name: check --domain and --connect-to"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("TLS failure: the certificate of {host} has expired: check the system clock, or the server's certificate")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("TLS failure: the certificate of {host} is not valid yet: check the system clock")
            }
            other => format!("TLS failure: the certificate of {host} was refused ({other:?}): {fix_roots}"),
        },
        Some(TlsError::AlertReceived(alert)) => {
            format!("TLS failure: {host} refused the TLS handshake ({alert:?}): check the URL and port")
        }
        Some(TlsError::InvalidMessage(_)) => format!(
            "TLS failure: {host} did not answer with TLS: is this a TLS port? For a plain server use a ws:// URL"
        ),
        Some(other) => format!("TLS failure with {host}: {other}: check the URL and port"),
        None if e.kind() == io::ErrorKind::UnexpectedEof => format!(
            "TLS failure: {host} closed the connection during the TLS handshake: is this a TLS port? For a plain server use a ws:// URL"
        ),
        None if e.kind() == io::ErrorKind::InvalidData => format!(
            "TLS failure: {host} did not answer with TLS: is this a TLS port? For a plain server use a ws:// URL"
        ),
        None => format!(
            "TLS failure with {host}: {}: check the network and the URL",
            super::tcp::strip_os_error(&e.to_string())
        ),
    };
    Failure::new(exit, msg)
}

//! TLS with rustls: verification always on, with the OS roots, the bundled Mozilla roots,
//! `SSL_CERT_FILE` and `--cacert`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::exit::{strip_os_error, Exit, Failure};

/// The trust anchors of the client, loaded once, in the background.
///
/// Loading the OS trust store reads hundreds of files on Linux and queries the keychain on
/// macOS; [`Roots::preload`] starts it on a blocking thread while DNS, TCP and the proxy
/// proceed, and [`Roots::config`] waits for it only when the TLS handshake starts.
pub struct Roots {
    extra: Vec<CertificateDer<'static>>,
    config: tokio::sync::OnceCell<Arc<ClientConfig>>,
    loading: Mutex<Option<tokio::task::JoinHandle<Arc<ClientConfig>>>>,
}

impl Roots {
    /// Reads every `--cacert` file now (a file that cannot be read or holds no certificate
    /// is a usage error); the rest is loaded later.
    pub fn new(cacert: &[PathBuf]) -> Result<Arc<Self>, Failure> {
        let mut extra = Vec::new();
        for path in cacert {
            extra.extend(read_pem_file(path, "--cacert")?);
        }
        Ok(Arc::new(Self {
            extra,
            config: tokio::sync::OnceCell::new(),
            loading: Mutex::new(None),
        }))
    }

    /// Starts loading on a blocking thread. Call inside the runtime.
    pub fn preload(&self) {
        let extra = self.extra.clone();
        let handle = tokio::task::spawn_blocking(move || build(extra));
        if let Ok(mut loading) = self.loading.lock() {
            *loading = Some(handle);
        }
    }

    /// The TLS configuration, waiting for [`Roots::preload`] if it is still loading.
    pub async fn config(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| async {
                let handle = self.loading.lock().ok().and_then(|mut l| l.take());
                match handle {
                    Some(handle) => match handle.await {
                        Ok(config) => config,
                        Err(_) => build(self.extra.clone()),
                    },
                    None => build(self.extra.clone()),
                }
            })
            .await
            .clone()
    }
}

/// Builds the client configuration: the OS trust store (or `SSL_CERT_FILE`/`SSL_CERT_DIR`
/// in its place, as in OpenSSL), the bundled Mozilla roots, and `extra`.
fn build(extra: Vec<CertificateDer<'static>>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    crate::debug!(
        "loaded {added} OS root certificates ({} errors)",
        native.errors.len()
    );
    let (added, _) = roots.add_parsable_certificates(extra);
    if added > 0 {
        crate::debug!("added {added} root certificates from --cacert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider);
    // The ring provider supports TLS 1.2 and 1.3, so this cannot fail; fall back to the
    // defaults rather than abort if a future version disagrees.
    let mut config = match builder.with_safe_default_protocol_versions() {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        Err(_) => ClientConfig::builder()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn read_pem_file(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Failure> {
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
    let mut probe = RootCertStore::empty();
    let (added, _) = probe.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(bad("none of its certificates could be parsed".to_owned()));
    }
    Ok(certs)
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => strip_os_error(&io.to_string()),
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
            strip_os_error(&e.to_string())
        ),
    };
    Failure::new(exit, msg)
}

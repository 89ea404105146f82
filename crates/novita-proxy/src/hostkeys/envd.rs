//! Reading a sandbox's host keys through envd, the sandbox's own authenticated API on
//! port 49983: `GET https://49983-<id>.<domain>/files?path=...&username=root` with
//! `X-Access-Token`, over the same TCP, proxy and TLS settings as the tunnel.

use std::sync::Arc;
use std::time::Duration;

use novita_ssh_core::SandboxId;

use super::keys::{parse_key_file, HostKey, HOST_KEY_FILES};
use crate::api::http::{encode, send, Site};
use crate::cli::ClientArgs;
use crate::connect::{http_proxy, tls::Roots};
use crate::exit::{Exit, Failure};
use crate::plan::Plan;

/// The sandbox port envd listens on.
pub const ENVD_PORT: u16 = 49983;

/// How to reach envd: what the arguments say about every connection.
#[derive(Clone)]
pub struct Envd {
    connect_to: Option<(String, u16)>,
    roots: Arc<Roots>,
    proxy: Option<String>,
    no_proxy: bool,
    domain: String,
    timeout: Duration,
}

/// What one file read gave.
enum Read {
    Key(HostKey),
    Missing,
}

impl Envd {
    /// envd as the validated arguments reach it.
    pub fn new(plan: &Plan, args: &ClientArgs) -> Envd {
        Envd {
            connect_to: plan.connect_to().cloned(),
            roots: plan.roots().clone(),
            proxy: args.proxy.clone(),
            no_proxy: args.no_proxy,
            domain: plan.domain().to_owned(),
            timeout: args.connect_timeout,
        }
    }

    /// `https://49983-<id>.<domain>`, on the API's `domain` when it gave a valid one.
    pub fn base(&self, id: &SandboxId, domain: Option<&str>) -> String {
        let domain = domain
            .filter(|d| !d.is_empty())
            .and_then(|d| novita_ssh_core::validate::domain(d).ok())
            .unwrap_or_else(|| self.domain.clone());
        format!("https://{ENVD_PORT}-{id}.{domain}")
    }

    /// The sandbox's public host keys (ed25519, ECDSA and RSA, each when present), each
    /// checked to be a public host key of its file's type. `token` is envd's access token
    /// from the API (none for a sandbox created with `secure=False`).
    pub async fn host_keys(
        &self,
        id: &SandboxId,
        domain: Option<&str>,
        token: Option<&str>,
    ) -> Result<Vec<HostKey>, Failure> {
        let base = self.base(id, domain);
        let env = |name: &str| std::env::var(name).ok();
        let host = base.trim_start_matches("https://").to_owned();
        let proxy =
            http_proxy::select(&host, 443, true, self.proxy.as_deref(), self.no_proxy, &env)?;
        let site = Site {
            base: &base,
            connect_to: self.connect_to.as_ref(),
            proxy: proxy.as_ref(),
            tls: &self.roots,
            timeout: self.timeout,
        };
        crate::info!("reading sandbox {id}'s host keys from {base}");
        let [(ed, ed_types), (ec, ec_types), (rsa, rsa_types)] = HOST_KEY_FILES;
        let (a, b, c) = tokio::join!(
            read(&site, id, token, ed, ed_types),
            read(&site, id, token, ec, ec_types),
            read(&site, id, token, rsa, rsa_types),
        );
        let mut keys = Vec::new();
        for read in [a, b, c] {
            if let Read::Key(key) = read? {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(Failure::new(
                Exit::BadHostKey,
                format!(
                    "envd of sandbox {id} ({base}) has none of /etc/ssh/ssh_host_{{ed25519,ecdsa,rsa}}_key.pub: its host key cannot be verified, so no key is trusted; make sure the sandbox's template keeps sshd's host keys in /etc/ssh"
                ),
            ));
        }
        Ok(keys)
    }
}

async fn read(
    site: &Site<'_>,
    id: &SandboxId,
    token: Option<&str>,
    path: &str,
    types: &[&str],
) -> Result<Read, Failure> {
    let base = site.base;
    let query = format!("/files?path={}&username=root", encode(path));
    let headers: Vec<(&str, &str)> = token.map(|t| ("X-Access-Token", t)).into_iter().collect();
    let answer = send(site, "GET", &query, &headers, "*/*", None)
        .await
        .map_err(|why| {
            Failure::new(
                Exit::Envd,
                format!(
                    "cannot read sandbox {id}'s host keys from envd ({base}): {why}: its host key cannot be verified, so ssh is stopped; check your network, and that the sandbox is running"
                ),
            )
        })?;
    crate::info!("envd GET {path}: {}", answer.status);
    match answer.status {
        200 => parse_key_file(&answer.body, types)
            .map(Read::Key)
            .map_err(|why| {
                Failure::new(
                    Exit::BadHostKey,
                    format!(
                        "envd of sandbox {id} ({base}) sent a {path} that is not an {} public host key: {why}: no key is trusted; check the sandbox's /etc/ssh",
                        types.join("/")
                    ),
                )
            }),
        404 => Ok(Read::Missing),
        status @ (401 | 403) => Err(Failure::http(
            Exit::EnvdAuth,
            status,
            format!(
                "envd of sandbox {id} ({base}) refused the access token the Novita API gave for it ({status}): its host key cannot be verified, so no key is trusted; check that --domain and --api-url name the same region"
            ),
        )),
        status => Err(Failure::http(
            Exit::Envd,
            status,
            format!(
                "envd of sandbox {id} ({base}) answered {status} for {path}: {}: its host key cannot be verified, so ssh is stopped; check that the sandbox is running",
                answer.message()
            ),
        )),
    }
}

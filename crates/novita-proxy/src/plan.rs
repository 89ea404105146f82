//! [`Plan`]: everything `novita-proxy HOST`'s arguments say, validated before any
//! network I/O, from which each [`Target`] is built.

use std::sync::Arc;

use novita_ssh_core::{
    parse_destination, parse_host, sandbox_url, url_from_template, validate, Destination,
    SandboxId, TRAFFIC_TOKEN_HEADER,
};

use crate::api::Api;
use crate::cli::ClientArgs;
use crate::connect::{http_proxy, tls};
use crate::exit::{Exit, Failure};
use crate::target::Target;

/// Everything the arguments say, validated, from which the tunnel's [`Target`] is built
/// once the sandbox ID (and, through the API, its domain and token) is known.
pub struct Plan {
    /// Where ssh pointed: a sandbox ID or a name. `None` only with a `--url` without `{id}`.
    pub dest: Option<Destination>,
    /// The API client, when an API key is configured and `--no-api` is absent.
    pub api: Option<Api>,
    url_template: Option<String>,
    port: u16,
    domain: String,
    connect_to: Option<(String, u16)>,
    headers: Vec<(String, String)>,
    token: Option<String>,
    roots: Arc<tls::Roots>,
    proxy: Option<String>,
    no_proxy: bool,
}

impl Plan {
    /// Checks every argument: nothing touches the network, and nothing is built from a
    /// value before it is validated. The API client is left for the caller to add.
    pub fn new(args: &ClientArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, Failure> {
        let usage = |e: novita_ssh_core::ValidationError| Failure::new(Exit::Usage, e.to_string());
        // With --url, HOST only fills in {id}: it is an ID whatever its shape, as before names.
        let dest: Option<Destination> = args
            .host
            .as_deref()
            .map(|host| match &args.url {
                Some(_) => parse_host(host).map(Destination::Id),
                None => parse_destination(host),
            })
            .transpose()
            .map_err(usage)?;
        if args.url.is_none() && dest.is_none() {
            return Err(Failure::new(
                Exit::Usage,
                "missing HOST: pass the sandbox ID or name, e.g. novita-proxy iz3m5v8axsybc877b539s (ssh passes it as %h)",
            ));
        }
        let connect_to = args
            .connect_to
            .as_deref()
            .map(crate::cli::parse_connect_to)
            .transpose()?;
        let mut headers = Vec::new();
        for raw in &args.headers {
            let (name, value) = validate::header(raw).map_err(usage)?;
            if handshake_header(&name) {
                return Err(Failure::new(
                    Exit::Usage,
                    format!(
                        "--header {name} cannot be set: it is part of the WebSocket upgrade; remove it"
                    ),
                ));
            }
            headers.push((name, value));
        }
        let token = args
            .traffic_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| validate::traffic_token(t).map_err(usage))
            .transpose()?;
        let domain = validate::domain(&args.domain).map_err(usage)?;
        let roots = tls::Roots::new(&args.cacert)?;
        let plan = Plan {
            dest,
            api: None,
            url_template: args.url.clone(),
            port: args.port,
            domain,
            connect_to,
            headers,
            token,
            roots,
            proxy: args.proxy.clone(),
            no_proxy: args.no_proxy,
        };
        // Every value of the URL is checked now, with a stand-in ID for a name.
        let probe = match &plan.dest {
            Some(Destination::Name(_)) => Some(SandboxId::parse("probe").map_err(usage)?),
            Some(Destination::Id(id)) => Some(id.clone()),
            None => None,
        };
        plan.target(probe.as_ref(), None, None, env)?;
        Ok(plan)
    }

    /// The tunnel's target for sandbox `id`, on `domain` (the API's answer) or the
    /// configured one, with `token` (the API's) or the configured traffic token.
    pub fn target(
        &self,
        id: Option<&SandboxId>,
        domain: Option<&str>,
        token: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, Failure> {
        let usage = |e: novita_ssh_core::ValidationError| Failure::new(Exit::Usage, e.to_string());
        let url = match (&self.url_template, id) {
            (Some(template), _) => url_from_template(template, id, self.port).map_err(usage)?,
            (None, Some(id)) => {
                sandbox_url(id, self.port, domain.unwrap_or(&self.domain)).map_err(usage)?
            }
            (None, None) => {
                return Err(Failure::new(
                    Exit::Usage,
                    "missing HOST: pass the sandbox ID or name (ssh passes it as %h)",
                ))
            }
        };
        let mut headers = self.headers.clone();
        let token = token.or(self.token.as_deref());
        if let Some(token) = token {
            headers.push((
                TRAFFIC_TOKEN_HEADER.to_owned(),
                validate::traffic_token(token).map_err(usage)?,
            ));
        }
        let proxy = http_proxy::select(
            &url.host,
            url.port,
            url.secure,
            self.proxy.as_deref(),
            self.no_proxy,
            env,
        )?;
        let tls = (url.secure || proxy.as_ref().is_some_and(|p| p.secure))
            .then(|| Arc::clone(&self.roots));
        Ok(Target {
            url,
            connect_to: self.connect_to.clone(),
            proxy,
            tls,
            headers,
            has_token: token.is_some(),
            id: id.map(|i| i.to_string()),
            port: self.port,
        })
    }

    /// The configured sandbox domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The trust anchors (loaded in the background by [`tls::Roots::preload`]).
    pub fn roots(&self) -> &Arc<tls::Roots> {
        &self.roots
    }

    /// `--connect-to`.
    pub fn connect_to(&self) -> Option<&(String, u16)> {
        self.connect_to.as_ref()
    }

    /// Whether a traffic token was configured.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

fn handshake_header(name: &str) -> bool {
    crate::handshake::client::RESERVED_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

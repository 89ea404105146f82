//! `novita-proxy HOST`: validate everything, open the WebSocket (retrying with `--wait`
//! where that is safe), then run the tunnel between stdin/stdout and the sandbox.

use std::time::Duration;

use std::sync::Arc;

use novita_ssh_core::{
    parse_destination, parse_host, sandbox_url, url_from_template, validate, Destination,
    SandboxId, TRAFFIC_TOKEN_HEADER,
};

use crate::api::Api;

use crate::cli::ClientArgs;
use crate::connect::{self, http_proxy, tls};
use crate::exit::{strip_os_error, Exit, Failure};
use crate::target::{log_target, Target};
use crate::tunnel::{End, Options, Side, Tunnel, TunnelError};

/// How long to wait, after our Close, for a peer that has gone quiet.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// After a reset, how long to wait for ssh's SIGHUP before calling the connection lost.
const LOST_GRACE: Duration = Duration::from_millis(500);
/// The read buffer for frames from the sandbox.
const READ_BUFFER: usize = 128 * 1024;

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

/// Checks every argument: nothing touches the network, and nothing is built from a value
/// before it is validated. Finds the API key (environment, then the key file).
pub fn plan(args: &ClientArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, Failure> {
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
    let mut plan = Plan {
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
    plan.api = crate::platform::api(args, &plan, env)?;
    Ok(plan)
}

impl Plan {
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

/// Opens the WebSocket, retrying safe failures until `wait` has passed.
pub async fn open_with_retry(
    target: &Target,
    args: &ClientArgs,
    wait: Duration,
) -> Result<(connect::Transport, Vec<u8>), Failure> {
    let give_up = tokio::time::Instant::now() + wait;
    let mut backoff = Duration::from_millis(250);
    loop {
        match connect::open(target, args.connect_timeout).await {
            Ok(open) => return Ok(open),
            Err(f) if f.is_retryable() && tokio::time::Instant::now() + backoff < give_up => {
                crate::info!(
                    "not yet ({}); retrying in {} ms",
                    f.message,
                    backoff.as_millis()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(f) => return Err(f),
        }
    }
}

/// Runs the client to its end and returns the failure, if any.
pub async fn run(plan: Plan, args: &ClientArgs) -> Result<(), Failure> {
    let env = |name: &str| std::env::var(name).ok();
    plan.roots().preload();
    let opened = match (&plan.api, &plan.dest) {
        (Some(api), Some(dest)) => crate::platform::open(&plan, api, dest, args, &env).await?,
        (None, Some(Destination::Name(name))) => return Err(crate::platform::name_needs_key(name)),
        (_, dest) => {
            let id = match dest {
                Some(Destination::Id(id)) => Some(id),
                _ => None,
            };
            let target = plan.target(id, None, None, &env)?;
            log_target(&target);
            let (transport, leftover) = open_with_retry(&target, args, args.wait).await?;
            crate::platform::Opened {
                transport,
                leftover,
                target,
                keepalive: None,
            }
        }
    };
    let crate::platform::Opened {
        transport,
        leftover,
        target,
        keepalive,
    } = opened;
    let (input, output) = crate::stdio::open();
    let ping_interval = (!args.ping_interval.is_zero()).then_some(args.ping_interval);
    let opts = Options {
        side: Side::CLIENT,
        ping_interval,
        ping_timeout: args.ping_timeout.unwrap_or(args.ping_interval * 3),
        max_message: None,
        close_grace: CLOSE_GRACE,
        read_buffer: READ_BUFFER,
    };
    let tunnel = Tunnel::new(transport, input, output, &leftover, opts).run();
    let result = match keepalive {
        // The keep-alive never ends the session: it runs until the tunnel does.
        Some(keepalive) => {
            tokio::pin!(tunnel);
            tokio::select! {
                result = &mut tunnel => result,
                () = keepalive => tunnel.await,
            }
        }
        None => tunnel.await,
    };
    match result {
        Ok(End::PeerClosedWith(code, reason)) => Err(crate::tunnel::closed_with(code, &reason)),
        Ok(end) => {
            crate::info!("tunnel ended: {}", describe(end));
            Ok(())
        }
        Err(e @ TunnelError::Lost(_)) => {
            // A bridge that exits with the session (websocat --exit-on-eof) may reset the
            // connection just as ssh finishes. ssh then hangs up within milliseconds:
            // give it that chance (the caller exits 0 on SIGHUP) before reporting.
            crate::debug!("connection ended with {e}; waiting briefly for ssh to hang up");
            tokio::time::sleep(LOST_GRACE).await;
            Err(lost(&e, &target))
        }
        Err(e) => Err(lost(&e, &target)),
    }
}

fn describe(end: End) -> String {
    match end {
        End::PeerClosed(code) => format!("the sandbox closed the connection (code {code:?})"),
        End::PeerClosedWith(code, _) => format!("the sandbox closed the connection (code {code})"),
        End::PeerEof => "the sandbox ended the connection".to_owned(),
        End::InputDone => "end of input".to_owned(),
        End::OutputClosed => "stdout was closed".to_owned(),
    }
}

fn lost(e: &TunnelError, target: &Target) -> Failure {
    let sandbox = target
        .id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    match e {
        TunnelError::PingTimeout(_) => Failure::new(
            Exit::Lost,
            format!(
                "connection to the sandbox was lost{sandbox}: {e}: check your network; the sandbox may have stopped (raise --ping-timeout on slow links)"
            ),
        ),
        TunnelError::Lost(io) => Failure::new(
            Exit::Lost,
            format!(
                "connection to the sandbox was lost{sandbox}: {}: check your network and reconnect",
                strip_os_error(&io.to_string())
            ),
        ),
        TunnelError::Protocol(p) => Failure::new(
            Exit::Lost,
            format!("connection to the sandbox was lost{sandbox}: the bridge sent an {p}: check the bridge in the sandbox"),
        ),
        TunnelError::Local(io) => Failure::new(
            Exit::Internal,
            format!(
                "reading stdin or writing stdout failed: {}: run novita-proxy as an ssh ProxyCommand",
                strip_os_error(&io.to_string())
            ),
        ),
    }
}

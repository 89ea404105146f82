//! The Novita API in the connection path: a name becomes the ID of the one running or
//! paused sandbox with that name; connecting resumes a paused sandbox, extends its time to
//! live and fetches a private sandbox's traffic token and its domain, while the WebSocket
//! opens at the same time; while the tunnel is open, [`crate::keepalive`] keeps it alive.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use novita_ssh_core::credentials::{default_key_file, find_api_key};
use novita_ssh_core::{api_url, api_url_for_domain, name_key, Destination, SandboxId, SandboxName};

use crate::api::{Api, ApiError, ApiSettings, Connected, State};
use crate::cli::ClientArgs;
use crate::connect::{self, http_proxy, open_with_retry, Transport};
use crate::exit::{Exit, Failure};
use crate::keepalive::{self, Schedule};
use crate::plan::Plan;
use crate::target::{log_target, Target};

/// An open WebSocket, ready for the tunnel.
pub struct Opened {
    /// The connection.
    pub transport: Transport,
    /// Bytes read past the upgrade answer.
    pub leftover: Vec<u8>,
    /// Where it goes.
    pub target: Target,
    /// Keeps the sandbox alive while polled; `None` without the API.
    pub keepalive: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

/// The API client for these arguments: `None` with `--no-api` or when no key is
/// configured (then no API call is ever made). A key file others can read is an error.
pub fn api(
    args: &ClientArgs,
    plan: &Plan,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Api>, Failure> {
    if args.no_api {
        return Ok(None);
    }
    let default_file = dirs::home_dir().map(|h| default_key_file(&h));
    let found =
        find_api_key(env, args.api_key_file.as_deref(), default_file.as_deref()).map_err(|e| {
            let exit = match e {
                novita_ssh_core::credentials::CredentialError::Unsafe { .. }
                | novita_ssh_core::credentials::CredentialError::Unreadable { .. }
                | novita_ssh_core::credentials::CredentialError::BadFile { .. } => Exit::KeyFile,
                _ => Exit::ApiKey,
            };
            Failure::new(exit, e.to_string())
        })?;
    let Some((key, key_source)) = found else {
        crate::debug!("no API key configured: the API is not used");
        return Ok(None);
    };
    let usage = |e: novita_ssh_core::ValidationError| Failure::new(Exit::Usage, e.to_string());
    name_key(&args.name_key).map_err(usage)?;
    let base = match args.api_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => api_url(url),
        None => api_url_for_domain(plan.domain()),
    }
    .map_err(usage)?;
    let uri: http::Uri = base.parse().map_err(|_| {
        Failure::new(
            Exit::Usage,
            format!("invalid API URL {base}: pass --api-url https://api.<domain>"),
        )
    })?;
    let secure = uri.scheme_str() == Some("https");
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let proxy = http_proxy::select(
        &host,
        port,
        secure,
        args.proxy.as_deref(),
        args.no_proxy,
        env,
    )?;
    crate::info!("API {base} with the key from {key_source}");
    Ok(Some(Api::new(ApiSettings {
        base,
        key,
        key_source,
        connect_to: plan.connect_to().cloned(),
        proxy,
        tls: plan.roots().clone(),
        timeout: args.connect_timeout,
    })))
}

/// The failure for a name without an API key.
pub fn name_needs_key(name: &SandboxName) -> Failure {
    Failure::new(
        Exit::ApiKey,
        format!(
            "'{name}' is a sandbox name, and finding it needs the Novita API, but no API key is configured: run novita-sshconfig login (or set NOVITA_API_KEY), or connect by sandbox ID"
        ),
    )
}

/// The failure for an API error, about sandbox `what` (a name or an ID).
pub fn api_failure(e: &ApiError, what: &str) -> Failure {
    match e {
        ApiError::Unauthorized { .. } => Failure::new(
            Exit::ApiKey,
            format!("{e}: run novita-sshconfig login with a valid key (or set NOVITA_API_KEY)"),
        ),
        ApiError::NotFound => Failure::new(
            Exit::Gone,
            format!(
                "sandbox {what} no longer exists (the Novita API does not know it): it was killed or timed out; create a new one (novita-sshconfig create NAME) and connect by name"
            ),
        ),
        ApiError::Unreachable { .. } => Failure::new(
            Exit::Api,
            format!("{e}: check your network and proxy settings (HTTPS_PROXY, --proxy), or pass --no-api to connect by ID without it"),
        ),
        _ => Failure::new(
            Exit::Api,
            format!("{e}: try again later, or pass --no-api to connect by ID without the API"),
        ),
    }
}

/// Finds the one running or paused sandbox named `name` (metadata `key=name`).
pub async fn lookup(api: &Api, key: &str, name: &SandboxName) -> Result<SandboxId, Failure> {
    let found = api
        .list(
            &[(key.to_owned(), name.to_string())],
            &[State::Running, State::Paused],
        )
        .await
        .map_err(|e| api_failure(&e, name.as_str()))?;
    // Filter again: a platform that ignored the filter must not lead anywhere else.
    let mut ids: Vec<String> = found
        .into_iter()
        .filter(|s| {
            s.metadata
                .as_ref()
                .and_then(|m| m.get(key))
                .is_some_and(|v| v == name.as_str())
                && matches!(s.state.as_str(), "running" | "paused" | "")
        })
        .map(|s| s.sandbox_id)
        .collect();
    ids.sort();
    ids.dedup();
    match ids.as_slice() {
        [] => Err(Failure::new(
            Exit::NoSuchName,
            format!(
                "no running or paused sandbox is named '{name}' (metadata {key}={name}): create one with novita-sshconfig create {name}, or see novita-sshconfig list"
            ),
        )),
        [id] => SandboxId::parse(id).map_err(|_| {
            Failure::new(
                Exit::Api,
                format!("the Novita API named an invalid sandbox ID for '{name}': report this"),
            )
        }),
        several => Err(Failure::new(
            Exit::SeveralNamed,
            format!(
                "{} sandboxes are named '{name}' ({}): connect by ID (ssh <id>.novita), or delete the extra ones (novita-sshconfig delete <id>)",
                several.len(),
                several.join(", ")
            ),
        )),
    }
}

/// Opens the WebSocket to `dest` with the API's help.
pub async fn open(
    plan: &Plan,
    api: &Api,
    dest: &Destination,
    args: &ClientArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Opened, Failure> {
    let name = match dest {
        Destination::Id(id) => return open_id(plan, api, id.clone(), args, env).await,
        Destination::Name(name) => name,
    };
    let key = args.name_key.as_str();
    let base = api.settings().base.clone();
    let Some(cached) = crate::names::get(&base, key, name) else {
        let id = lookup(api, key, name).await?;
        crate::info!("'{name}' is sandbox {id}");
        crate::names::put(&base, key, name, Some(&id));
        return open_id(plan, api, id, args, env).await;
    };
    // The name pointed at `cached` last time: open it while the API confirms the name.
    crate::info!("'{name}' was sandbox {cached}; checking with the API meanwhile");
    let confirm = lookup(api, key, name);
    let attempt = open_id(plan, api, cached.clone(), args, env);
    tokio::pin!(confirm, attempt);
    let (found, early) = tokio::select! {
        found = &mut confirm => (found, None),
        opened = &mut attempt => (confirm.await, Some(opened)),
    };
    let id = match found {
        Ok(id) => id,
        Err(f) => {
            if matches!(f.exit, Exit::NoSuchName) {
                crate::names::put(&base, key, name, None);
            }
            return Err(f);
        }
    };
    if id == cached {
        return match early {
            Some(opened) => opened,
            None => attempt.await,
        };
    }
    crate::info!("'{name}' is now sandbox {id}");
    crate::names::put(&base, key, name, Some(&id));
    open_id(plan, api, id, args, env).await
}

/// Opens the WebSocket to sandbox `id` while the API connects it (resume, extend, token,
/// domain). For a running sandbox the tunnel starts as soon as the WebSocket is open.
async fn open_id(
    plan: &Plan,
    api: &Api,
    id: SandboxId,
    args: &ClientArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Opened, Failure> {
    let target = plan.target(Some(&id), None, None, env)?;
    log_target(&target);
    let connect_call: Pin<Box<dyn Future<Output = Result<Connected, ApiError>>>> = {
        let api = api.clone();
        let id = id.clone();
        let ttl = args.ttl;
        let envd = crate::hostkeys::envd::Envd::new(plan, args);
        Box::pin(async move {
            let connected = api.connect(&id, ttl).await;
            if let Ok(c) = &connected {
                // envd's token is here: the host keys can be read while ssh starts.
                crate::hostkeys::prefetch(
                    envd,
                    id.clone(),
                    c.domain.clone(),
                    c.envd_access_token.clone(),
                );
            }
            connected
        })
    };
    let mut connect_call = connect_call;
    let first_target = target.clone();
    let first = connect::open(&first_target, args.connect_timeout);
    tokio::pin!(first);
    let early = tokio::select! {
        opened = &mut first => Err(opened),
        connected = &mut connect_call => Ok(connected),
    };
    let (connected, failed) = match early {
        // The WebSocket opened before the API answered: the tunnel starts now and the
        // API's answer is awaited by the keep-alive.
        Err(Ok((transport, leftover))) => {
            return Ok(Opened {
                transport,
                leftover,
                target,
                keepalive: Some(keepalive_for(api, &id, args, connect_call)),
            });
        }
        Err(Err(failed)) => (connect_call.await, Some(failed)),
        Ok(connected) => (connected, None),
    };
    let connected = connected.map_err(|e| api_failure(&e, id.as_str()))?;
    if connected.resumed {
        crate::info!("sandbox {id} was paused: resumed");
    }
    let domain = connected
        .domain
        .as_deref()
        .filter(|d| !d.is_empty() && *d != plan.domain())
        .and_then(|d| novita_ssh_core::validate::domain(d).ok());
    let token = connected
        .traffic_access_token
        .as_deref()
        .filter(|t| !t.is_empty() && !plan.has_token());
    let retarget = domain.is_some() || token.is_some();
    let target = if retarget {
        let t = plan.target(Some(&id), domain.as_deref(), token, env)?;
        crate::info!(
            "the API gave {}{}",
            if domain.is_some() {
                "the sandbox's domain "
            } else {
                ""
            },
            if token.is_some() {
                "a traffic access token"
            } else {
                ""
            }
        );
        log_target(&t);
        t
    } else {
        target
    };
    // After a resume the edge may answer 502 or 409 for a moment: retry within the
    // connect timeout even without --wait.
    let wait = if connected.resumed {
        args.wait.max(args.connect_timeout)
    } else {
        args.wait
    };
    let opened = match failed {
        Some(f) if !retarget && !f.is_retryable() => Err(f),
        Some(_) => open_with_retry(&target, args, wait).await,
        None if retarget => open_with_retry(&target, args, wait).await,
        None => match first.await {
            Ok(open) => Ok(open),
            Err(f) if f.is_retryable() => open_with_retry(&target, args, wait).await,
            Err(f) => Err(f),
        },
    };
    let (transport, leftover) = opened.map_err(|f| explain_token(f, &target, token.is_some()))?;
    let done: Pin<Box<dyn Future<Output = Result<Connected, ApiError>>>> =
        Box::pin(std::future::ready(Ok(connected)));
    Ok(Opened {
        transport,
        leftover,
        target,
        keepalive: Some(keepalive_for(api, &id, args, done)),
    })
}

/// Says which token is missing when the edge answers 401/403 after the API was asked.
fn explain_token(f: Failure, target: &Target, from_api: bool) -> Failure {
    if f.exit != Exit::Auth {
        return f;
    }
    let id = target.id.as_deref().unwrap_or("?");
    let status = f.status.unwrap_or(403);
    let message = if from_api {
        format!("{} answered {status}: the traffic access token the Novita API returned for sandbox {id} was refused: check --domain and --api-url point at the same region", target.url.host_header())
    } else if target.has_token {
        format!("{} answered {status}: the configured traffic access token (--traffic-token or NOVITA_TRAFFIC_TOKEN) was refused for sandbox {id}: remove it, so that the token comes from the Novita API", target.url.host_header())
    } else {
        format!("{} answered {status}: sandbox {id} is private and the Novita API returned no traffic access token for it: pass --traffic-token TOKEN", target.url.host_header())
    };
    Failure::http(Exit::Auth, status, message)
}

fn keepalive_for(
    api: &Api,
    id: &SandboxId,
    args: &ClientArgs,
    first: Pin<Box<dyn Future<Output = Result<Connected, ApiError>>>>,
) -> Pin<Box<dyn Future<Output = ()>>> {
    let interval = match args.keepalive {
        Some(0) => None,
        Some(secs) => Some(Duration::from_secs(secs)),
        None => Some(Duration::from_secs((args.ttl / 3).max(1))),
    };
    let schedule = Schedule {
        ttl: args.ttl,
        interval,
        quota_warning: !args.no_quota_warning,
    };
    Box::pin(keepalive::run(api.clone(), id.clone(), schedule, first))
}

//! The Novita API in the connection path: a name becomes the ID of the one running or
//! paused sandbox with that name; connecting resumes a paused sandbox, extends its time to
//! live and fetches a private sandbox's traffic token and its domain, while the WebSocket
//! opens at the same time; while the tunnel is open, [`crate::keepalive`] keeps it alive.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use novita_ssh_core::{Destination, SandboxId};

use crate::api::{Api, ApiError, Connected};
use crate::cli::ClientArgs;
use crate::connect::{self, open_with_retry, Transport};
use crate::exit::{Exit, Failure};
use crate::keepalive::{self, Schedule};
use crate::plan::Plan;
use crate::resolve::{api_failure, lookup};
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

//! From what ssh passed to a sandbox ID, through the Novita API: the API client for the
//! arguments (the key from `NOVITA_API_KEY` or the key file), the name lookup, and what
//! each API failure means for the user.

use novita_ssh_core::credentials::{default_key_file, find_api_key};
use novita_ssh_core::{api_url, api_url_for_domain, name_key, SandboxId, SandboxName};

use crate::api::{Api, ApiError, ApiSettings, SandboxInfo};
use crate::cli::ClientArgs;
use crate::connect::http_proxy;
use crate::exit::{Exit, Failure};
use crate::plan::Plan;

/// Checks every argument ([`Plan::new`]) and finds the API key: the client's plan.
pub fn plan(args: &ClientArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, Failure> {
    let mut plan = Plan::new(args, env)?;
    plan.api = api(args, &plan, env)?;
    Ok(plan)
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
        .named(key, name.as_str())
        .await
        .map_err(|e| api_failure(&e, name.as_str()))?;
    the_one(
        &found,
        key,
        name,
        "connect by ID (ssh <id>.novita), or delete the extra ones (novita-sshconfig delete <id>)",
    )
}

/// The one sandbox among `found` ([`Api::named`]'s answer for `name`), or the failure: no
/// sandbox has the name (exit 10), or several have it (exit 11, with `several_fix`).
pub fn the_one(
    found: &[SandboxInfo],
    key: &str,
    name: &SandboxName,
    several_fix: &str,
) -> Result<SandboxId, Failure> {
    match found {
        [] => Err(Failure::new(
            Exit::NoSuchName,
            format!(
                "no running or paused sandbox is named '{name}' (metadata {key}={name}): create one with novita-sshconfig create {name}, or see novita-sshconfig list"
            ),
        )),
        [one] => SandboxId::parse(&one.sandbox_id).map_err(|_| {
            Failure::new(
                Exit::Api,
                format!("the Novita API named an invalid sandbox ID for '{name}': report this"),
            )
        }),
        several => Err(Failure::new(
            Exit::SeveralNamed,
            format!(
                "{} sandboxes are named '{name}' ({}): {several_fix}",
                several.len(),
                several
                    .iter()
                    .map(|s| s.sandbox_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

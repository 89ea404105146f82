//! The Novita API for the kit's own commands (`login`, `create`, `list`, `pause`, `resume`,
//! `delete`, `doctor`): novita-proxy's client, configured from exactly the arguments the
//! ProxyCommand line gets (domain, API URL, proxy, CA file, connect-to, name key), so the
//! commands reach the API the way `ssh NAME.novita` does.

use std::future::Future;
use std::time::{Duration, SystemTime};

use clap::Parser as _;
use novita_proxy::api::{Api, ApiError, ApiSettings, SandboxInfo};
use novita_ssh_core::credentials::{ApiKey, KeySource};
use novita_ssh_core::{parse_destination, Destination, SandboxId, SandboxName, HOST_SUFFIX};

use crate::exit::{failure, Exit};
use crate::kit_config::KitConfig;
use crate::paths::KitPaths;
use crate::settings::{ProxyOptions, Settings, DEFAULT_TTL};

/// A sandbox ID that only stands in for the host when novita-proxy's arguments are checked.
const PLACEHOLDER_ID: &str = "i0novitasshconfig0000";

/// The API, with the settings the commands need.
#[derive(Clone)]
pub struct Platform {
    /// The client.
    pub api: Api,
    /// The metadata key holding names.
    pub name_key: String,
    /// The time to live asked for when resuming or creating.
    pub ttl: u64,
}

/// Runs a future to completion on a small runtime of its own.
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the I/O runtime: {e}"))?;
    Ok(runtime.block_on(future))
}

/// The global proxy options with the API on: the kit's commands use the API even when
/// the ProxyCommand is told not to.
fn api_options(settings: &Settings) -> ProxyOptions {
    ProxyOptions {
        api: Some(true),
        ..settings.defaults.clone()
    }
}

fn from_proxy_failure(f: &novita_proxy::exit::Failure) -> anyhow::Error {
    let code = match f.exit.code() {
        2 => Exit::Usage,
        10 => Exit::NoSuchName,
        11 => Exit::SeveralNamed,
        13 => Exit::ApiKey,
        14 => Exit::Api,
        15 => Exit::KeyFile,
        _ => Exit::Internal,
    };
    failure(code, f.message.clone())
}

/// The API as novita-proxy would use it with the global settings, with the key found the
/// way it finds it (`NOVITA_API_KEY`, else the key file). `None` when no key is
/// configured. `key` replaces the configured key (`login` checks a key before storing it).
pub fn connect(
    paths: &KitPaths,
    settings: &Settings,
    key: Option<(ApiKey, KeySource)>,
) -> anyhow::Result<Option<Platform>> {
    let opts = api_options(settings);
    let kit = KitConfig {
        settings,
        paths,
        proxy_path: std::path::Path::new("novita-proxy"),
    };
    let mut argv = vec!["novita-proxy".to_owned()];
    argv.extend(kit.proxy_args(&opts));
    argv.push(PLACEHOLDER_ID.to_owned());
    let cli = novita_proxy::cli::Cli::try_parse_from(&argv).map_err(|e| {
        failure(
            Exit::Usage,
            format!(
                "the stored settings are not valid novita-proxy arguments: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
        )
    })?;
    let supplied = key.clone();
    let env = move |name: &str| -> Option<String> {
        if supplied.is_some() && name == novita_ssh_core::credentials::API_KEY_ENV {
            // Found below from `key`; a stand-in keeps the environment's key out of the way.
            return Some("stand-in".to_owned());
        }
        std::env::var(name).ok()
    };
    let plan = novita_proxy::client::plan(&cli.client, &env).map_err(|f| from_proxy_failure(&f))?;
    let Some(api) = plan.api else {
        return Ok(None);
    };
    let api = match key {
        Some((key, key_source)) => Api::new(ApiSettings {
            key,
            key_source,
            ..api.settings().clone()
        }),
        None => api,
    };
    Ok(Some(Platform {
        api,
        name_key: cli.client.name_key.clone(),
        ttl: opts.ttl.unwrap_or(DEFAULT_TTL),
    }))
}

/// Like [`connect`], but no key is an error (exit 13) that says how to add one.
pub fn require(paths: &KitPaths, settings: &Settings) -> anyhow::Result<Platform> {
    connect(paths, settings, None)?.ok_or_else(|| {
        failure(
            Exit::ApiKey,
            "no Novita API key is configured: run novita-sshconfig login (or set NOVITA_API_KEY)",
        )
    })
}

/// The error for an API failure about sandbox `what` (a name or an ID), with the fix.
pub fn api_error(e: &ApiError, what: &str) -> anyhow::Error {
    match e {
        ApiError::Unauthorized { .. } => failure(
            Exit::ApiKey,
            format!("{e}: run novita-sshconfig login with a valid key (or set NOVITA_API_KEY)"),
        ),
        ApiError::NotFound => failure(
            Exit::Gone,
            format!(
                "the Novita API does not know sandbox {what} (404): it was killed or timed out; novita-sshconfig list shows the sandboxes"
            ),
        ),
        ApiError::Unreachable { .. } => failure(
            Exit::Api,
            format!(
                "{e}: check your network and proxy settings (HTTPS_PROXY, or config install --proxy) and the API URL (config install --api-url)"
            ),
        ),
        _ => failure(Exit::Api, format!("{e}: try again later")),
    }
}

/// What a command was pointed at, resolved to a sandbox ID.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The sandbox.
    pub id: SandboxId,
    /// How to name it in messages: `myproj (iz3m...)` or the ID.
    pub shown: String,
}

/// Resolves `given`: an alias from `add` (as ssh would), a sandbox ID, or a name found
/// through the API (the one running or paused sandbox whose metadata names it).
pub async fn resolve(
    platform: &Platform,
    settings: &Settings,
    given: &str,
) -> anyhow::Result<Resolved> {
    let lowered = given.to_ascii_lowercase();
    let bare = lowered.strip_suffix(HOST_SUFFIX).unwrap_or(&lowered);
    if let Some(host) = settings.host(bare) {
        let id = SandboxId::parse(&host.id)?;
        return Ok(Resolved {
            shown: format!("{} ({id})", host.alias),
            id,
        });
    }
    match parse_destination(given)? {
        Destination::Id(id) => Ok(Resolved {
            shown: id.to_string(),
            id,
        }),
        Destination::Name(name) => {
            let id = lookup(platform, &name).await?;
            Ok(Resolved {
                shown: format!("{name} ({id})"),
                id,
            })
        }
    }
}

/// The running or paused sandboxes named `name`.
pub async fn named(platform: &Platform, name: &SandboxName) -> anyhow::Result<Vec<SandboxInfo>> {
    platform
        .api
        .named(&platform.name_key, name.as_str())
        .await
        .map_err(|e| api_error(&e, name.as_str()))
}

/// Finds the one running or paused sandbox named `name`.
pub async fn lookup(platform: &Platform, name: &SandboxName) -> anyhow::Result<SandboxId> {
    let found = named(platform, name).await?;
    novita_proxy::resolve::the_one(
        &found,
        &platform.name_key,
        name,
        "pass an ID instead (novita-sshconfig list shows them), or delete the extra ones",
    )
    .map_err(|f| from_proxy_failure(&f))
}

/// A sandbox's name: the value of the name key in its metadata.
pub fn name_of<'s>(sandbox: &'s SandboxInfo, key: &str) -> Option<&'s str> {
    sandbox.metadata_value(key)
}

/// `14:05:09 UTC (in 9m)`: when a sandbox ends, from the API's `endAt`.
pub fn ends(end_at: Option<&str>, now: SystemTime) -> String {
    let Some(text) = end_at.filter(|t| !t.is_empty()) else {
        return "-".to_owned();
    };
    let Some(at) = novita_proxy::api::time::parse_rfc3339(text) else {
        return text.to_owned();
    };
    let clock = novita_proxy::api::time::clock_utc(at);
    match at.duration_since(now) {
        Ok(left) => format!("{clock} (in {})", span(left)),
        Err(past) => format!("{clock} ({} ago)", span(past.duration())),
    }
}

/// `2h 5m`, `9m`, `40s`.
pub fn span(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_times_read_well() {
        let now = novita_proxy::api::time::parse_rfc3339("2026-01-02T03:00:00Z").expect("time");
        assert_eq!(
            ends(Some("2026-01-02T03:09:30Z"), now),
            "03:09:30 UTC (in 9m)"
        );
        assert_eq!(
            ends(Some("2026-01-02T05:30:00.5Z"), now),
            "05:30:00 UTC (in 2h 30m)"
        );
        assert_eq!(
            ends(Some("2026-01-02T02:59:20Z"), now),
            "02:59:20 UTC (40s ago)"
        );
        assert_eq!(ends(None, now), "-");
        assert_eq!(ends(Some("soon"), now), "soon");
    }
}

//! `novita-proxy known-hosts`: the host keys of sandboxes as the Novita platform reports
//! them, printed as known_hosts lines for ssh's `KnownHostsCommand`, so that ssh knows a
//! sandbox's key before the first connection and refuses any other.
//!
//! The platform is the authority: the API (with the user's key) names the sandbox and
//! gives envd's access token, and envd (over the same TLS-verified edge) serves the
//! sandbox's `/etc/ssh/ssh_host_*_key.pub`. Keys are tied to sandbox IDs, never to names or
//! aliases, and kept in [`cache`] once fetched. The ProxyCommand fetches them in the
//! background as soon as the API has answered ([`prefetch`]), so that `known-hosts`, which
//! ssh runs after the tunnel opened, usually finds them there.

pub mod cache;
pub mod envd;
pub mod keys;

use std::io::Write as _;

use novita_ssh_core::{parse_destination, Destination, SandboxId};

use crate::api::Api;
use crate::cli::KnownHostsArgs;
use crate::exit::{Exit, Failure};
use cache::{Cache, StoreError};
use envd::Envd;
use keys::{lookup_label, parse_offered, HostKey};

/// Which lookup ssh makes (`%I`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// Before the key exchange, to order the key types: recorded keys only, no network.
    Order,
    /// The server's key is known (`%K`): the keys, fetched when not recorded.
    Hostname,
    /// The server's address (CheckHostIP): nothing to say.
    Address,
}

impl Invocation {
    /// From `--invocation` (ssh's `%I`); absent means [`Invocation::Hostname`].
    pub fn parse(value: Option<&str>) -> Invocation {
        match value.map(str::to_ascii_uppercase).as_deref() {
            Some("ORDER") => Invocation::Order,
            Some("ADDRESS") => Invocation::Address,
            _ => Invocation::Hostname,
        }
    }
}

/// One host ssh asked about.
struct Asked {
    /// As ssh gave it, printed back at the start of each line.
    known_host: String,
    dest: Destination,
}

/// Runs `known-hosts`: prints the known_hosts lines, or fails with one line and no output.
pub async fn run(args: KnownHostsArgs) -> Result<(), Failure> {
    let KnownHostsArgs {
        mut client,
        more_hosts,
        invocation,
        offered,
    } = args;
    let invocation = Invocation::parse(invocation.as_deref());
    if invocation == Invocation::Address {
        // ssh asks by the server's address (CheckHostIP): sandboxes have none of their own.
        return Ok(());
    }
    let mut asked = Vec::new();
    for host in client.host.iter().chain(&more_hosts) {
        asked.push(parse_asked(host)?);
    }
    let Some(first) = asked.first() else {
        return Err(Failure::new(
            Exit::Usage,
            "missing HOST: pass the host ssh looks up, as KnownHostsCommand's %H",
        ));
    };
    let offered = offered
        .as_deref()
        .filter(|k| !k.is_empty() && *k != "NONE")
        .map(|k| {
            parse_offered(k).map_err(|why| {
                Failure::new(
                    Exit::Usage,
                    format!("the --offered key is not a host key: {why}: pass ssh's %K"),
                )
            })
        })
        .transpose()?;
    // The client's checks and settings, for the first host (a name or an ID); --url has no
    // say here: envd is always at 49983-<id>.<domain>.
    client.host = Some(first.dest.to_string());
    client.url = None;
    let env = |name: &str| std::env::var(name).ok();
    let plan = crate::resolve::plan(&client, &env)?;
    let cache = Cache::user();
    if let Some(cache) = &cache {
        cache::create(cache);
    }
    let envd = Envd::new(&plan, &client);
    let mut out = String::new();
    for a in &asked {
        let keys = match invocation {
            Invocation::Order => recorded(&plan, &client, cache.as_ref(), &a.dest),
            _ => Some(
                keys_for(
                    &plan,
                    &client,
                    cache.as_ref(),
                    &envd,
                    &a.dest,
                    offered.as_ref(),
                )
                .await?,
            ),
        };
        for key in keys.unwrap_or_default() {
            out.push_str(&format!("{} {}\n", a.known_host, key.line()));
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Failure::new(
                Exit::Internal,
                format!(
                    "cannot write to stdout: {e}: run known-hosts from ssh's KnownHostsCommand"
                ),
            )
        })
}

fn parse_asked(host: &str) -> Result<Asked, Failure> {
    let bad = |why: String| {
        Failure::new(
            Exit::Usage,
            format!(
                "invalid HOST {}: {why}: pass the host ssh looks up (%H), e.g. myproj.novita",
                novita_ssh_core::quote_for_message(host)
            ),
        )
    };
    let label = lookup_label(host).map_err(&bad)?;
    let dest = parse_destination(label).map_err(|e| bad(e.to_string()))?;
    Ok(Asked {
        known_host: host.to_owned(),
        dest,
    })
}

/// The keys recorded for `dest`, found without the network (an ID, or a name the name
/// cache knows).
fn recorded(
    plan: &crate::plan::Plan,
    client: &crate::cli::ClientArgs,
    cache: Option<&Cache>,
    dest: &Destination,
) -> Option<Vec<HostKey>> {
    let id = match dest {
        Destination::Id(id) => id.clone(),
        Destination::Name(name) => {
            let api = plan.api.as_ref()?;
            crate::names::get(&api.settings().base, &client.name_key, name)?
        }
    };
    cache?.load(&id)
}

/// The sandbox ID behind `dest`: the name cache (which the ProxyCommand just confirmed),
/// else the API.
async fn resolve(
    api: &Api,
    client: &crate::cli::ClientArgs,
    dest: &Destination,
) -> Result<SandboxId, Failure> {
    match dest {
        Destination::Id(id) => Ok(id.clone()),
        Destination::Name(name) => {
            let base = api.settings().base.clone();
            let key = client.name_key.as_str();
            if let Some(id) = crate::names::get(&base, key, name) {
                return Ok(id);
            }
            let id = crate::resolve::lookup(api, key, name).await?;
            crate::names::put(&base, key, name, Some(&id));
            Ok(id)
        }
    }
}

fn needs_api(client: &crate::cli::ClientArgs, dest: &Destination) -> Failure {
    if client.no_api {
        return Failure::new(
            Exit::Usage,
            format!("the host key of {dest} comes from the Novita API, and --no-api forbids it: remove --no-api from the KnownHostsCommand"),
        );
    }
    Failure::new(
        Exit::ApiKey,
        format!(
            "cannot verify the host key of {dest}: the ssh config asks the Novita platform for it, but no API key is configured: run novita-sshconfig login (or set NOVITA_API_KEY), or run novita-sshconfig config install again to go back to trusting new keys on first use"
        ),
    )
}

/// The platform's keys for `dest` (recorded, or fetched and recorded), checked against the
/// key the sandbox offered.
async fn keys_for(
    plan: &crate::plan::Plan,
    client: &crate::cli::ClientArgs,
    cache: Option<&Cache>,
    envd: &Envd,
    dest: &Destination,
    offered: Option<&HostKey>,
) -> Result<Vec<HostKey>, Failure> {
    let id = match (dest, plan.api.as_ref()) {
        (Destination::Id(id), _) => id.clone(),
        (Destination::Name(_), Some(api)) => resolve(api, client, dest).await?,
        (Destination::Name(_), None) => return Err(needs_api(client, dest)),
    };
    let mut from_cache = cache.and_then(|c| c.load(&id));
    if from_cache.is_none() {
        if let Some(cache) = cache {
            from_cache = cache.wait_for_fetch(&id, client.connect_timeout).await;
        }
    }
    if let Some(keys) = from_cache {
        crate::info!("sandbox {id}'s host keys are recorded");
        if let Some(offered) = offered {
            if !keys.iter().any(|k| k.same(offered)) {
                let path = cache.map(|c| c.path(&id).display().to_string());
                return Err(Failure::new(
                    Exit::HostKeyMismatch,
                    format!(
                        "sandbox {id} offered the host key {} ({}), but the key recorded for it from the Novita platform is {}: the connection may be intercepted, so ssh is stopped; if the sandbox's host keys were regenerated on purpose, delete {} to fetch them again",
                        offered.fingerprint(),
                        offered.algorithm(),
                        fingerprints(&keys),
                        path.unwrap_or_default()
                    ),
                ));
            }
        }
        return Ok(keys);
    }
    let Some(api) = plan.api.as_ref() else {
        return Err(needs_api(client, dest));
    };
    let info = api
        .get(&id)
        .await
        .map_err(|e| crate::resolve::api_failure(&e, id.as_str()))?;
    let token = info.envd_access_token.as_deref().filter(|t| !t.is_empty());
    if token.is_none() {
        crate::info!("the API gave no envd access token for {id}: reading without one");
    }
    let fetching = cache.and_then(|c| c.begin_fetch(&id));
    let keys = envd.host_keys(&id, info.domain.as_deref(), token).await;
    drop(fetching);
    let keys = keys?;
    if let Some(cache) = cache {
        match cache.store(&id, &keys) {
            Ok(()) => {}
            Err(StoreError::Changed { recorded, path }) => {
                return Err(Failure::new(
                    Exit::HostKeyMismatch,
                    format!(
                        "the Novita platform now reports the host key {} for sandbox {id}, but {} was recorded for it: a sandbox's keys do not change, so nothing is trusted and ssh is stopped; if they were regenerated on purpose, delete {} and connect again",
                        fingerprints(&keys),
                        fingerprints(&recorded),
                        path.display()
                    ),
                ))
            }
            Err(StoreError::Io(why)) => {
                crate::info!("cannot record the host keys: {why}");
            }
        }
    }
    if let Some(offered) = offered {
        if !keys.iter().any(|k| k.same(offered)) {
            return Err(Failure::new(
                Exit::HostKeyMismatch,
                format!(
                    "sandbox {id} offered the host key {} ({}), which is not one the Novita platform reports for it ({}): the connection may be intercepted, so ssh is stopped",
                    offered.fingerprint(),
                    offered.algorithm(),
                    fingerprints(&keys)
                ),
            ));
        }
    }
    Ok(keys)
}

fn fingerprints(keys: &[HostKey]) -> String {
    keys.iter()
        .map(|k| format!("{} ({})", k.fingerprint(), k.algorithm()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fetches sandbox `id`'s host keys into the cache in the background, once the API gave
/// envd's token, when `known-hosts` is in use on this machine (its cache folder exists)
/// and they are not recorded yet. It only logs: the tunnel never waits for it or fails
/// because of it.
pub fn prefetch(envd: Envd, id: SandboxId, domain: Option<String>, token: Option<String>) {
    let Some(cache) = Cache::user().filter(Cache::in_use) else {
        return;
    };
    if cache.load(&id).is_some() || cache.fetching(&id) {
        return;
    }
    let Some(pending) = cache.begin_fetch(&id) else {
        return;
    };
    tokio::spawn(async move {
        let _pending = pending;
        match envd
            .host_keys(&id, domain.as_deref(), token.as_deref())
            .await
        {
            Ok(keys) => match cache.store(&id, &keys) {
                Ok(()) => crate::info!("recorded sandbox {id}'s host keys"),
                Err(e) => crate::info!("host keys of {id} not recorded: {e:?}"),
            },
            Err(f) => crate::info!("host keys of {id} not fetched: {}", f.message),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations() {
        assert_eq!(Invocation::parse(Some("ORDER")), Invocation::Order);
        assert_eq!(Invocation::parse(Some("address")), Invocation::Address);
        assert_eq!(Invocation::parse(Some("HOSTNAME")), Invocation::Hostname);
        assert_eq!(Invocation::parse(None), Invocation::Hostname);
    }

    #[test]
    fn hosts_are_names_or_ids() {
        let a = parse_asked("[myproj.novita]:2222").map_err(|f| f.message);
        let a = a
            .as_ref()
            .map(|a| (a.known_host.as_str(), a.dest.to_string()));
        assert_eq!(a, Ok(("[myproj.novita]:2222", "myproj".to_owned())));
        let a = parse_asked("iz3m5v8axsybc877b539s").map(|a| a.dest.to_string());
        assert_eq!(a.ok().as_deref(), Some("iz3m5v8axsybc877b539s"));
        for bad in ["", "a b", "x.novita\nssh-rsa", "UPPER_but.bad!"] {
            assert_eq!(
                parse_asked(bad).err().map(|f| f.exit),
                Some(Exit::Usage),
                "{bad:?}"
            );
        }
    }
}

//! `doctor [HOST] [--connect]`.

use std::time::SystemTime;

use novita_proxy::api::ApiError;
use novita_ssh_core::credentials::{find_api_key, CredentialError, KeySource};
use novita_ssh_core::{parse_destination, validate, Destination, HOST_SUFFIX};

use crate::cli::DoctorArgs;
use crate::context::Ctx;
use crate::doctor::{connect_checks, run_checks, Check, Expected, Inputs, Status};
use crate::exit::{failure, Exit};
use crate::kit_config::KitConfig;
use crate::paths::{ssh_config_arg, Expansion};
use crate::platform;
use crate::settings::{HostEntry, ProxyOptions, Settings};

/// The host `ssh -G` is asked about when none is given: any sandbox ID shows the
/// `*.novita` settings.
const PLACEHOLDER: &str = "i0doctorcheck0000000000";

/// `doctor`.
pub fn doctor(ctx: &Ctx, args: &DoctorArgs) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    let (host, entry) = match &args.host {
        None if args.connect => {
            return Err(failure(
                Exit::Usage,
                "--connect needs a HOST: an alias or a sandbox ID",
            ))
        }
        None => (format!("{PLACEHOLDER}{HOST_SUFFIX}"), None),
        Some(given) => resolve_host(given, &settings.hosts)?,
    };
    // The path the config uses, even when it is gone (that is what doctor reports).
    let proxy_path = settings
        .proxy_command_path
        .clone()
        .unwrap_or_else(|| ctx.proxy_path(&settings));
    let kit = KitConfig {
        settings: &settings,
        paths: &ctx.paths,
        proxy_path: &proxy_path,
    };
    let (options, user) = match &entry {
        Some(h) if h.proxy != ProxyOptions::default() => (
            h.proxy.or(&settings.defaults),
            h.user.clone().unwrap_or_else(|| settings.user.clone()),
        ),
        Some(h) => (
            settings.defaults.clone(),
            h.user.clone().unwrap_or_else(|| settings.user.clone()),
        ),
        None => (settings.defaults.clone(), settings.user.clone()),
    };
    let written = |p: &std::path::Path| -> anyhow::Result<String> {
        // As written into the config, without the quotes ssh -G does not print.
        Ok(
            ssh_config_arg("path", &ctx.paths.display_for_ssh(p), Expansion::Tokens)?
                .trim_matches('"')
                .to_owned(),
        )
    };
    let ssh_config = ctx.ssh_config(args.ssh_config.as_deref(), &settings)?;
    let default_read_by_ssh = crate::sys::passwd_home()
        .map(|h| h.join(".ssh").join("config"))
        .is_some_and(|p| p == ssh_config);
    let inputs = Inputs {
        paths: &ctx.paths,
        use_dash_f: !default_read_by_ssh,
        ssh_config,
        include_arg: crate::plan::ssh_config::include_arg(ctx)?,
        proxy_path: proxy_path.clone(),
        identity_path: kit.identity_file(),
        kit_config_expected: kit.render()?,
        expected: Expected {
            proxy_command: kit.proxy_command(&options)?,
            user,
            identity_file: written(&kit.identity_file())?,
            known_hosts: written(&ctx.paths.known_hosts)?,
        },
        host,
        connect: args.connect,
        verbose: ctx.verbose,
    };
    if inputs.use_dash_f {
        ctx.note(format!(
            "checking with ssh -F {} (ssh's own default is elsewhere; /etc/ssh/ssh_config is then not read)",
            inputs.ssh_config.display()
        ));
    }
    let mut checks = run_checks(&inputs);
    let api_on = options.api_enabled();
    checks.extend(api_checks(
        ctx,
        &settings,
        api_on,
        args.connect.then_some(&inputs.host),
    ));
    let decision = crate::host_keys::detect(&ctx.paths, &options);
    checks.push(crate::host_keys::check(
        &decision,
        &crate::host_keys::key_state_here(&ctx.paths),
    ));
    if args.connect {
        checks.extend(connect_checks(&inputs));
    }
    for check in &checks {
        ctx.say(check.to_string());
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(failure(
            Exit::DoctorFailed,
            format!("{failed} check(s) failed: see the fixes above"),
        ));
    }
    ctx.say("All checks passed.");
    Ok(())
}

/// The API key, whether the API accepts it, and with `--connect` the sandbox's state.
fn api_checks(
    ctx: &Ctx,
    settings: &Settings,
    api_on: bool,
    connect: Option<&String>,
) -> Vec<Check> {
    const KEY: &str = "API key";
    const API: &str = "Novita API";
    let login = "run `novita-sshconfig login` (or set NOVITA_API_KEY)";
    let env = |n: &str| std::env::var(n).ok();
    let mut checks = Vec::new();
    match find_api_key(&env, None, Some(&ctx.paths.api_key)) {
        Ok(Some((_, KeySource::Env))) => {
            checks.push(Check::pass(KEY, "from NOVITA_API_KEY"));
        }
        Ok(Some((_, KeySource::File(path)))) => {
            checks.push(Check::pass(KEY, format!("{} (mode 0600)", path.display())));
        }
        Ok(None) => {
            checks.push(Check::warn(
                KEY,
                format!(
                    "none: {} does not exist and NOVITA_API_KEY is not set, so only sandbox IDs work (no names, resume or keep-alive)",
                    ctx.paths.api_key.display()
                ),
                login,
            ));
            return checks;
        }
        Err(e @ CredentialError::Unsafe { .. }) => {
            checks.push(Check::fail(
                KEY,
                e.to_string(),
                format!("chmod 600 {}", ctx.paths.api_key.display()),
            ));
            return checks;
        }
        Err(e) => {
            checks.push(Check::fail(KEY, e.to_string(), login));
            return checks;
        }
    }
    if !api_on {
        checks.push(Check::warn(
            API,
            "off for this host (--api off): novita-proxy never calls it",
            "`novita-sshconfig config install --api on` (or add --api on) turns it on",
        ));
    }
    let p = match platform::connect(&ctx.paths, settings, None) {
        Ok(Some(p)) => p,
        Ok(None) => return checks,
        Err(e) => {
            checks.push(Check::fail(API, e.to_string(), "see the message"));
            return checks;
        }
    };
    let base = p.api.settings().base.clone();
    match platform::block_on(p.api.quota()) {
        Ok(Ok(quota)) => checks.push(Check::pass(
            API,
            format!(
                "{base} accepted the key (sandboxes may run up to {} h)",
                quota.limit.max_length_hours
            ),
        )),
        Ok(Err(e @ ApiError::Unauthorized { .. })) => {
            checks.push(Check::fail(API, e.to_string(), login));
            return checks;
        }
        Ok(Err(e)) => {
            checks.push(Check::fail(
                API,
                e.to_string(),
                "check your network and proxy settings (HTTPS_PROXY, config install --proxy) and the API URL (config install --api-url)",
            ));
            return checks;
        }
        Err(e) => {
            checks.push(Check::fail(API, e.to_string(), "see the message"));
            return checks;
        }
    }
    if let Some(host) = connect {
        checks.push(sandbox_check(&p, settings, host));
    }
    checks
}

/// The sandbox behind `host`: its ID, state and end time (`GET /sandboxes/{id}`).
fn sandbox_check(p: &platform::Platform, settings: &Settings, host: &str) -> Check {
    const NAME: &str = "sandbox";
    let result = platform::block_on(async {
        let resolved = platform::resolve(p, settings, host).await?;
        let info = p
            .api
            .get(&resolved.id)
            .await
            .map_err(|e| platform::api_error(&e, &resolved.shown))?;
        Ok::<_, anyhow::Error>((resolved, info))
    });
    match result.and_then(|r| r) {
        Ok((resolved, info)) => {
            let ends = platform::ends(info.end_at.as_deref(), SystemTime::now());
            let detail = format!("{host} is {}: {}, ends {ends}", resolved.shown, info.state);
            if info.state == "paused" {
                Check::warn(NAME, detail, "ssh resumes it (or `novita-sshconfig resume`)")
            } else {
                Check::pass(NAME, detail)
            }
        }
        Err(e) => Check::fail(
            NAME,
            e.to_string(),
            "`novita-sshconfig list` shows your sandboxes; `novita-sshconfig create NAME` makes one",
        ),
    }
}

/// `myhost`, `myhost.novita`, `<id>`, `<name>` or either with `.novita` -> the host for ssh
/// and its entry.
fn resolve_host(given: &str, hosts: &[HostEntry]) -> anyhow::Result<(String, Option<HostEntry>)> {
    let cut = given.len().saturating_sub(HOST_SUFFIX.len());
    let bare = match given.get(cut..) {
        Some(tail) if tail.eq_ignore_ascii_case(HOST_SUFFIX) => &given[..cut],
        _ => given,
    };
    if let Ok(alias) = validate::alias(bare) {
        if let Some(h) = hosts.iter().find(|h| h.alias == alias) {
            return Ok((format!("{alias}{HOST_SUFFIX}"), Some(h.clone())));
        }
    }
    let host = match parse_destination(given)? {
        Destination::Id(id) => id.to_string(),
        Destination::Name(name) => name.to_string(),
    };
    Ok((format!("{host}{HOST_SUFFIX}"), None))
}

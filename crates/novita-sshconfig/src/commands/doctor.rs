//! `doctor [HOST] [--connect]`.

use novita_ssh_core::{validate, HOST_SUFFIX};

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::doctor::{run_checks, Expected, Inputs, Status};
use crate::exit::{failure, Code};
use crate::kit_config::KitConfig;
use crate::paths::{ssh_config_arg, Expansion};
use crate::settings::{HostEntry, ProxyOptions};

/// The host `ssh -G` is asked about when none is given: any sandbox ID shows the
/// `*.novita` settings.
const PLACEHOLDER: &str = "i0doctorcheck0000000000";

/// `doctor`.
pub fn doctor(ctx: &Ctx, args: &DoctorArgs) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    let (host, entry) = match &args.host {
        None if args.connect => {
            return Err(failure(
                Code::InvalidInput,
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
        include_arg: super::setup::include_arg(ctx)?,
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
    let checks = run_checks(&inputs);
    for check in &checks {
        ctx.say(check.to_string());
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(failure(
            Code::DoctorFailed,
            format!("{failed} check(s) failed: see the fixes above"),
        ));
    }
    ctx.say("All checks passed.");
    Ok(())
}

/// `myhost`, `myhost.novita`, `<id>` or `<id>.novita` -> the host for ssh and its entry.
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
    let id = novita_ssh_core::parse_host(given)?;
    Ok((format!("{id}{HOST_SUFFIX}"), None))
}

//! `add` and `remove`: named hosts, so `ssh myhost.novita` reaches a sandbox.

use novita_ssh_core::{parse_host, validate, DEFAULT_DOMAIN, HOST_SUFFIX};

use crate::cli::{AddArgs, RemoveArgs};
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::managed_section;
use crate::plan::options::proxy_options;
use crate::settings::{HostEntry, Settings};

/// Writes settings.json and the kit's config for `settings`, or shows the diff.
fn save(ctx: &Ctx, settings: Settings, dry_run: bool) -> anyhow::Result<bool> {
    crate::plan::kit::rewrite(ctx, &settings, dry_run)
}

/// Says how to make ssh read the kit's config when it does not yet.
fn hint_if_not_included(ctx: &Ctx, settings: &Settings) {
    let path = settings
        .ssh_config
        .clone()
        .unwrap_or_else(|| ctx.paths.default_ssh_config.clone());
    let included = std::fs::read_to_string(&path)
        .ok()
        .is_some_and(|text| matches!(managed_section::find(&text), Ok(Some(_))));
    if !included {
        ctx.say(format!(
            "Note: {} does not include the kit's config yet: run `novita-sshconfig init` (or `config install`).",
            path.display()
        ));
    }
}

/// `add ALIAS SANDBOX_ID`.
pub fn add(ctx: &Ctx, args: &AddArgs) -> anyhow::Result<()> {
    // Everything is validated before the lock is taken or a file is touched.
    let alias = validate::alias(&args.alias)?;
    let id = parse_host(&args.sandbox_id)?;
    let user = args.user.as_deref().map(validate::user).transpose()?;
    let mut proxy = proxy_options(&args.proxy)?;
    proxy.traffic_token = args
        .traffic_token
        .as_deref()
        .map(validate::traffic_token)
        .transpose()?;
    proxy.or(&ctx.settings()?.defaults).check_keepalive()?;

    let _lock = if args.dry_run {
        None
    } else {
        Some(ctx.lock()?)
    };
    let mut settings = ctx.settings()?;
    let default_domain = settings
        .defaults
        .domain
        .clone()
        .unwrap_or_else(|| DEFAULT_DOMAIN.to_owned());
    if proxy.url.is_none() && proxy.domain.as_deref() == Some(default_domain.as_str()) {
        proxy.domain = None;
    }
    let entry = HostEntry {
        alias: alias.clone(),
        id: id.to_string(),
        user: user.filter(|u| *u != settings.user),
        proxy,
    };
    let previous = settings.upsert(entry.clone());
    if previous.as_ref() == Some(&entry) {
        ctx.say(format!(
            "Nothing to change: {alias}{HOST_SUFFIX} already reaches {id}."
        ));
        return Ok(());
    }
    let hint_settings = settings.clone();
    if save(ctx, settings, args.dry_run)? {
        ctx.say(format!(
            "{} {alias}{HOST_SUFFIX} -> {id}: `ssh {alias}{HOST_SUFFIX}` reaches it.",
            if previous.is_some() {
                "Updated"
            } else {
                "Added"
            }
        ));
        hint_if_not_included(ctx, &hint_settings);
    }
    Ok(())
}

/// `remove ALIAS`.
pub fn remove(ctx: &Ctx, args: &RemoveArgs) -> anyhow::Result<()> {
    let alias = validate::alias(args.alias.strip_suffix(HOST_SUFFIX).unwrap_or(&args.alias))?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(ctx.lock()?)
    };
    let mut settings = ctx.settings()?;
    if settings.remove(&alias).is_none() {
        return Err(failure(
            Exit::Usage,
            format!("there is no host named {alias}: `novita-sshconfig list` shows them"),
        ));
    }
    if save(ctx, settings, args.dry_run)? {
        ctx.say(format!("Removed {alias}{HOST_SUFFIX}."));
    }
    Ok(())
}

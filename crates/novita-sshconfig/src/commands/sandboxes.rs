//! `create`, `pause`, `resume` and `delete`: sandboxes through the Novita API, by name or
//! ID, with the key `login` stored.

use std::collections::BTreeMap;

use novita_proxy::api::{ApiError, AutoResume, CreateRequest, Network};
use novita_ssh_core::{parse_destination, Destination, HOST_SUFFIX};

use crate::cli::{CreateArgs, TargetArgs};
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::platform::{self, api_error, block_on, Platform};

/// Validates a template ID or alias (`novita-ssh`).
fn template(value: &str) -> anyhow::Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(failure(
            Exit::Usage,
            format!(
                "invalid template {}: use the template's ID or name (letters, digits, '_', '-', '.', '/', ':'), e.g. novita-ssh",
                novita_ssh_core::quote_for_message(value)
            ),
        ))
    }
}

/// Validates `--metadata KEY=VALUE` pairs; the name key is reserved for NAME.
fn metadata(pairs: &[String], name_key: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let shown = novita_ssh_core::quote_for_message(pair);
        let Some((key, value)) = pair.split_once('=') else {
            return Err(failure(
                Exit::Usage,
                format!("invalid --metadata {shown}: write KEY=VALUE, e.g. --metadata team=infra"),
            ));
        };
        let key = novita_ssh_core::name_key(key)?;
        if key == name_key {
            return Err(failure(
                Exit::Usage,
                format!(
                    "--metadata {shown} sets the name key '{name_key}': the sandbox's name is NAME; drop this --metadata"
                ),
            ));
        }
        if value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(failure(
                Exit::Usage,
                format!(
                    "invalid --metadata {shown}: the value must be at most 1024 characters without control characters"
                ),
            ));
        }
        out.insert(key, value.to_owned());
    }
    Ok(out)
}

/// `create NAME`.
pub fn create(ctx: &Ctx, args: &CreateArgs) -> anyhow::Result<()> {
    let name = match parse_destination(&args.name)? {
        Destination::Name(name) => name,
        Destination::Id(_) => {
            return Err(failure(
                Exit::Usage,
                format!(
                    "{} has the shape of a sandbox ID, so ssh could not reach it by name: choose a shorter name, or one with '-' or '_'",
                    novita_ssh_core::quote_for_message(&args.name)
                ),
            ))
        }
    };
    let template = template(&args.template)?;
    let settings = ctx.settings()?;
    let p = platform::require(&ctx.paths, &settings)?;
    let mut meta = metadata(&args.metadata, &p.name_key)?;
    meta.insert(p.name_key.clone(), name.to_string());
    let ttl = args.ttl.unwrap_or(p.ttl);
    let taken = block_on(platform::named(&p, &name))??;
    if !taken.is_empty() {
        let ids: Vec<&str> = taken.iter().map(|s| s.sandbox_id.as_str()).collect();
        return Err(failure(
            Exit::Exists,
            format!(
                "a running or paused sandbox is already named '{name}' ({}): connect with ssh {name}{HOST_SUFFIX}, or delete it first (novita-sshconfig delete {name})",
                ids.join(", ")
            ),
        ));
    }
    let request = CreateRequest {
        template_id: template.clone(),
        timeout: ttl,
        auto_pause: args.auto_pause,
        auto_resume: Some(AutoResume {
            enabled: args.auto_resume,
        }),
        secure: true,
        allow_internet_access: true,
        network: args.private.then_some(Network {
            allow_public_traffic: false,
        }),
        metadata: meta,
        env_vars: BTreeMap::new(),
    };
    ctx.note(format!(
        "POST {}/sandboxes (template {template}, timeout {ttl} s)",
        p.api.settings().base
    ));
    let created = block_on(p.api.create(&request))?.map_err(|e| match e {
        ApiError::NotFound => failure(
            Exit::Api,
            format!(
                "the Novita API does not know the template {template} (404): build it first (see novita-sshconfig template), or pass --template"
            ),
        ),
        other => api_error(&other, name.as_str()),
    })?;
    ctx.say(format!(
        "Created sandbox {} named {name} from {template}; it {} in {} unless a session keeps it alive (--ttl).",
        created.sandbox_id,
        if args.auto_pause { "pauses" } else { "ends" },
        platform::span(std::time::Duration::from_secs(ttl)),
    ));
    ctx.say(format!("Connect: ssh {name}{HOST_SUFFIX}"));
    Ok(())
}

fn target(ctx: &Ctx, args: &TargetArgs) -> anyhow::Result<(Platform, platform::Resolved)> {
    // A bad NAME|ID is refused before the key is even looked for.
    let settings = ctx.settings()?;
    let bare = args
        .sandbox
        .strip_suffix(HOST_SUFFIX)
        .unwrap_or(&args.sandbox);
    if settings.host(bare).is_none() {
        parse_destination(&args.sandbox)?;
    }
    let p = platform::require(&ctx.paths, &settings)?;
    let resolved = block_on(platform::resolve(&p, &settings, &args.sandbox))??;
    ctx.note(format!("{} is sandbox {}", args.sandbox, resolved.id));
    Ok((p, resolved))
}

/// `pause NAME|ID`.
pub fn pause(ctx: &Ctx, args: &TargetArgs) -> anyhow::Result<()> {
    let (p, t) = target(ctx, args)?;
    match block_on(p.api.pause(&t.id))? {
        Ok(()) => ctx.say(format!(
            "Paused {}: ssh or `novita-sshconfig resume` resumes it.",
            t.shown
        )),
        Err(ApiError::Conflict(_)) => ctx.say(format!("{} is already paused.", t.shown)),
        Err(e) => return Err(api_error(&e, &t.shown)),
    }
    Ok(())
}

/// `resume NAME|ID`.
pub fn resume(ctx: &Ctx, args: &TargetArgs) -> anyhow::Result<()> {
    let (p, t) = target(ctx, args)?;
    let connected = block_on(p.api.connect(&t.id, p.ttl))?.map_err(|e| api_error(&e, &t.shown))?;
    let ttl = platform::span(std::time::Duration::from_secs(p.ttl));
    if connected.resumed {
        ctx.say(format!(
            "Resumed {}; it lives at least {ttl} more unless a session keeps it alive.",
            t.shown
        ));
    } else {
        ctx.say(format!(
            "{} is running; it now lives at least {ttl} more.",
            t.shown
        ));
    }
    Ok(())
}

/// `delete NAME|ID` (alias `kill`).
pub fn delete(ctx: &Ctx, args: &TargetArgs) -> anyhow::Result<()> {
    let (p, t) = target(ctx, args)?;
    if !ctx.confirm(&format!(
        "Kill sandbox {}? It and its files are gone for good.",
        t.shown
    ))? {
        return Err(failure(Exit::Cancelled, "cancelled: nothing was changed"));
    }
    block_on(p.api.kill(&t.id))?.map_err(|e| api_error(&e, &t.shown))?;
    ctx.say(format!("Killed {}.", t.shown));
    Ok(())
}

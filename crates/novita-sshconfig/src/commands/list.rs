//! `list`: the running and paused sandboxes (through the Novita API, with the key `login`
//! stored), then the named hosts of `add`; without an API key, the named hosts only.

use std::collections::BTreeMap;
use std::time::SystemTime;

use novita_proxy::api::{SandboxInfo, State};
use novita_ssh_core::HOST_SUFFIX;
use serde::Serialize;

use crate::cli::ListArgs;
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::platform::{self, api_error, block_on, name_of};

/// One sandbox as `list --json` prints it.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: Option<&'a str>,
    state: &'a str,
    template: &'a str,
    started_at: Option<&'a str>,
    ends_at: Option<&'a str>,
    metadata: BTreeMap<String, String>,
    /// Aliases from `add` that point at it.
    hosts: Vec<String>,
}

fn template_of(s: &SandboxInfo) -> &str {
    s.alias
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or(&s.template_id)
}

/// Prints rows as a table with aligned columns.
fn table<const N: usize>(ctx: &Ctx, header: [&str; N], rows: &[[String; N]]) {
    let header = header.map(str::to_owned);
    let mut widths = [0usize; N];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        ctx.say(line.trim_end());
    }
}

/// `list [--json]`.
pub fn list(ctx: &Ctx, args: &ListArgs) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    let Some(p) = platform::connect(&ctx.paths, &settings, None)? else {
        if args.json {
            return Err(failure(
                Exit::ApiKey,
                "no Novita API key is configured: run novita-sshconfig login (or set NOVITA_API_KEY)",
            ));
        }
        return named_hosts(ctx);
    };
    let mut sandboxes = block_on(p.api.list(&[], &[State::Running, State::Paused]))?
        .map_err(|e| api_error(&e, "list"))?;
    let key = p.name_key.as_str();
    sandboxes
        .sort_by(|a, b| (name_of(a, key), &a.sandbox_id).cmp(&(name_of(b, key), &b.sandbox_id)));
    let aliases = |id: &str| -> Vec<String> {
        settings
            .hosts
            .iter()
            .filter(|h| h.id == id)
            .map(|h| format!("{}{HOST_SUFFIX}", h.alias))
            .collect()
    };
    if args.json {
        let listed: Vec<Listed<'_>> = sandboxes
            .iter()
            .map(|s| Listed {
                id: &s.sandbox_id,
                name: name_of(s, key),
                state: &s.state,
                template: template_of(s),
                started_at: s.started_at.as_deref(),
                ends_at: s.end_at.as_deref(),
                metadata: s.metadata.clone().unwrap_or_default(),
                hosts: aliases(&s.sandbox_id),
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&listed)?;
        text.push('\n');
        ctx.print(text);
        return Ok(());
    }
    if sandboxes.is_empty() {
        ctx.say("No running or paused sandboxes: `novita-sshconfig create NAME` creates one.");
    } else {
        let now = SystemTime::now();
        let rows: Vec<[String; 5]> = sandboxes
            .iter()
            .map(|s| {
                [
                    s.sandbox_id.clone(),
                    name_of(s, key).unwrap_or("-").to_owned(),
                    s.state.clone(),
                    template_of(s).to_owned(),
                    platform::ends(s.end_at.as_deref(), now),
                ]
            })
            .collect();
        table(ctx, ["ID", "NAME", "STATE", "TEMPLATE", "ENDS"], &rows);
    }
    if !settings.hosts.is_empty() {
        ctx.say("");
        named_hosts(ctx)?;
    }
    Ok(())
}

/// The named hosts of `add`, as a table.
fn named_hosts(ctx: &Ctx) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    if settings.hosts.is_empty() {
        ctx.say("No named hosts: `novita-sshconfig add ALIAS SANDBOX_ID` adds one.");
        return Ok(());
    }
    let rows: Vec<[String; 4]> = settings
        .hosts
        .iter()
        .map(|h| {
            let how = match (&h.proxy.url, &h.proxy.domain) {
                (Some(url), _) => url.clone(),
                (None, Some(domain)) => domain.clone(),
                (None, None) => "(default)".to_owned(),
            };
            [
                format!("{}{HOST_SUFFIX}", h.alias),
                h.id.clone(),
                h.user.clone().unwrap_or_else(|| settings.user.clone()),
                how,
            ]
        })
        .collect();
    table(ctx, ["HOST", "SANDBOX", "USER", "DOMAIN/URL"], &rows);
    Ok(())
}

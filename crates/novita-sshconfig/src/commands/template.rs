//! `template`, and the template part of `init`.

use std::path::PathBuf;

use super::{write_failure, Ctx};
use crate::changes::{read_text, ChangeSet};
use crate::cli::{TemplateArgs, TemplateOptions};
use crate::exit::{failure, Code};
use crate::keys;
use crate::template::{render, Spec};

/// The template files: (path, current contents, new contents).
pub(super) fn plan_files(
    ctx: &Ctx,
    opts: &TemplateOptions,
    public_line: &str,
    user: &str,
) -> anyhow::Result<Vec<(PathBuf, Option<String>, String)>> {
    let plan = Spec {
        user: user.to_owned(),
        public_key: public_line.to_owned(),
        bridge: opts.bridge,
        bridge_url: opts.bridge_url.clone(),
    }
    .plan()?;
    let dir = crate::paths::absolute(&opts.out)?;
    ctx.note(format!("template files go to {}", dir.display()));
    render(&plan, opts.lang)?
        .into_iter()
        .map(|file| {
            let path = dir.join(file.name);
            let before = read_text(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            Ok((path, before, file.contents))
        })
        .collect()
}

/// Checks the template options (with a placeholder key) before anything is written.
pub(super) fn precheck(opts: &TemplateOptions, user: &str) -> anyhow::Result<()> {
    const PLACEHOLDER_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSDQhBdGl8U0mEdaDxGfS2uj3rR5LZB7p3Cn9xKNvwQ check";
    Spec {
        user: user.to_owned(),
        public_key: PLACEHOLDER_KEY.to_owned(),
        bridge: opts.bridge,
        bridge_url: opts.bridge_url.clone(),
    }
    .plan()
    .map(|_| ())
}

/// The public key line the template authorizes.
fn public_line(ctx: &Ctx, args: &TemplateArgs) -> anyhow::Result<String> {
    if let Some(file) = &args.public_key {
        let text = std::fs::read_to_string(file).map_err(|e| {
            failure(
                Code::InvalidInput,
                format!("cannot read --public-key {}: {e}", file.display()),
            )
        })?;
        return keys::canonical_public_line(text.lines().next().unwrap_or(""));
    }
    let settings = ctx.settings()?;
    let key = settings
        .identity_file
        .clone()
        .unwrap_or_else(|| ctx.paths.default_key.clone());
    if !keys::pair_exists(&key) {
        return Err(failure(
            Code::InvalidInput,
            format!(
                "there is no key at {}: run `novita-sshconfig keygen` (or init) first, or pass --public-key FILE",
                key.display()
            ),
        ));
    }
    Ok(keys::inspect_pair(&key)?.public_line)
}

/// `template`.
pub fn template(ctx: &Ctx, args: &TemplateArgs) -> anyhow::Result<()> {
    let line = public_line(ctx, args)?;
    let user = match &args.user {
        Some(u) => u.clone(),
        None => ctx.settings()?.user,
    };
    let files = plan_files(ctx, &args.template, &line, &user)?;
    let differing: Vec<String> = files
        .iter()
        .filter(|(_, before, new)| before.as_ref().is_some_and(|b| b != new))
        .map(|(p, _, _)| p.display().to_string())
        .collect();
    let mut changes = ChangeSet::default();
    for (path, before, contents) in files {
        changes.write(&path, before, contents, 0o644, None);
    }
    if args.dry_run {
        ctx.show_dry_run(&changes);
        return Ok(());
    }
    if !differing.is_empty() && !args.force {
        return Err(failure(
            Code::Exists,
            format!(
                "{} already exist(s) with other contents: pass --force to replace, or --out DIR for another folder",
                differing.join(", ")
            ),
        ));
    }
    changes.apply().map_err(write_failure)?;
    if changes.is_empty() {
        ctx.say("Nothing to change: the template files are up to date.");
    }
    for change in &changes.changes {
        ctx.say(format!("Wrote {}.", change.path.display()));
    }
    Ok(())
}

//! `template`: the sandbox template's files, authorizing the kit's public key.

use crate::changes::ChangeSet;
use crate::cli::TemplateArgs;
use crate::context::{write_failure, Ctx};
use crate::exit::{failure, Exit};
use crate::keys;
use crate::plan::template::plan_files;

/// The public key line the template authorizes.
fn public_line(ctx: &Ctx, args: &TemplateArgs) -> anyhow::Result<String> {
    if let Some(file) = &args.public_key {
        let text = std::fs::read_to_string(file).map_err(|e| {
            failure(
                Exit::Usage,
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
            Exit::Usage,
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
            Exit::Exists,
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

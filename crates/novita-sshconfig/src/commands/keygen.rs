//! `keygen`: a new key pair for the kit, or `--key` to use one of your own.

use crate::cli::KeygenArgs;
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::keys;
use crate::plan::key::{generate, write_default_key};
use crate::settings::Settings;

/// `keygen`.
pub fn keygen(ctx: &Ctx, args: &KeygenArgs) -> anyhow::Result<()> {
    let _lock = ctx.lock()?;
    let mut settings = ctx.settings()?;
    if let Some(path) = &args.key.key {
        if args.force {
            return Err(failure(
                Exit::Usage,
                "--force only replaces the kit's own key, never one passed with --key",
            ));
        }
        let abs = crate::paths::absolute(path)?;
        let info = keys::inspect_pair(&abs)?;
        settings.identity_file = Some(abs.clone());
        rewrite_config(ctx, &settings)?;
        ctx.say(format!(
            "Using the key {}{}; the kit's ssh config now uses it.\nIts public key: {}",
            abs.display(),
            if info.encrypted {
                " (with a passphrase)"
            } else {
                ""
            },
            info.public_line
        ));
        return Ok(());
    }
    let default = ctx.paths.default_key.clone();
    if keys::pair_exists(&default) {
        if !args.force {
            return Err(failure(
                Exit::Exists,
                format!(
                    "a key already exists at {}: it is never overwritten; keep using it, or pass \
                     --force to move it aside with a timestamp and make a new one",
                    default.display()
                ),
            ));
        }
        for moved in keys::move_aside(&default)? {
            ctx.say(format!("Moved the old key to {}.", moved.display()));
        }
        ctx.warn(
            "sandboxes built with the old key do not accept the new one: regenerate the \
             template (`novita-sshconfig template --force`) and rebuild it",
        );
    }
    let key = generate(ctx, &args.key)?;
    write_default_key(ctx, &key)?;
    ctx.say(format!("Its public key: {}", key.public_line));
    if settings.identity_file.take().is_some() {
        rewrite_config(ctx, &settings)?;
        ctx.say("The kit's ssh config now uses it.");
    }
    Ok(())
}

fn rewrite_config(ctx: &Ctx, settings: &Settings) -> anyhow::Result<()> {
    crate::plan::kit::rewrite(ctx, settings, false).map(drop)
}

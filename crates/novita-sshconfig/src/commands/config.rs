//! `config install`, `config uninstall` and `config show`: the kit's config and its
//! `Include` in the user's ssh config.

use std::fs;

use anyhow::Context;

use crate::atomic_write::{self, WriteError};
use crate::changes::{read_text, ChangeSet, PRIVATE};
use crate::cli::{InstallArgs, ShowArgs, UninstallArgs};
use crate::context::{write_failure, Ctx};
use crate::exit::{failure, Exit};
use crate::kit_config::KitConfig;
use crate::managed_section;
use crate::plan::install::{plan_install, precheck};
use crate::plan::ssh_config::{
    backup_path, check_markers, confirm_user_change, describe_ssh_change, include_arg,
    read_only_failure, read_user_config,
};

/// `config install`.
pub fn install(ctx: &Ctx, args: &InstallArgs) -> anyhow::Result<()> {
    precheck(ctx, args)?;
    let _lock = if args.write.dry_run {
        None
    } else {
        Some(ctx.lock()?)
    };
    let current = ctx.settings()?;
    let plan = plan_install(ctx, args, &current)?;
    if args.write.dry_run {
        ctx.show_dry_run(&plan.changes);
        if let Some(reason) = &plan.ssh.read_only {
            ctx.say(format!(
                "{} is read-only ({reason}): install would print the lines to add by hand.",
                plan.ssh.path.display()
            ));
        }
        return Ok(());
    }
    confirm_user_change(ctx, &plan.changes, &plan.ssh.path)?;
    plan.changes.apply().map_err(write_failure)?;
    if plan.changes.touches(&ctx.paths.kit_config) {
        ctx.say(format!("Wrote {}.", ctx.paths.kit_config.display()));
    }
    describe_ssh_change(ctx, &plan.ssh);
    if let Some(reason) = &plan.ssh.read_only {
        return Err(read_only_failure(ctx, &plan.ssh, reason)?);
    }
    if plan.changes.is_empty() {
        ctx.say("Nothing to change: the ssh config is already installed.");
    }
    Ok(())
}

/// `config uninstall`.
pub fn uninstall(ctx: &Ctx, args: &UninstallArgs) -> anyhow::Result<()> {
    let dry_run = args.write.dry_run;
    check_markers(&ctx.ssh_config(args.write.ssh_config.as_deref(), &ctx.settings()?)?)?;
    let _lock = if dry_run || !ctx.paths.kit_dir.exists() {
        None
    } else {
        Some(ctx.lock()?)
    };
    let settings = ctx.settings()?;
    let path = ctx.ssh_config(args.write.ssh_config.as_deref(), &settings)?;
    let before = read_user_config(&path)?;
    let mut changes = ChangeSet::default();
    let mut read_only = None;
    let mut by_hand = None;
    if let Some(text) = &before {
        let removed = managed_section::remove(text).map_err(|e| {
            failure(
                Exit::BrokenMarkers,
                format!("refusing to change {}: {e}", path.display()),
            )
        })?;
        match removed {
            Some(after) => match atomic_write::check_writable(&path) {
                Ok(()) if after.is_empty() && settings.created_ssh_config => {
                    changes.remove(&path, before.clone(), Some(backup_path(&path)));
                }
                Ok(()) => changes.write(
                    &path,
                    before.clone(),
                    after,
                    PRIVATE,
                    Some(backup_path(&path)),
                ),
                Err(WriteError::ReadOnly { reason, .. }) => read_only = Some(reason),
                Err(e) => return Err(anyhow::Error::new(e)),
            },
            None => {
                let targets = [
                    ctx.paths.display_for_ssh(&ctx.paths.kit_config),
                    ctx.paths.kit_config.to_string_lossy().into_owned(),
                ];
                by_hand = managed_section::find_plain_include(text, &targets);
            }
        }
    }
    if let Some(reason) = read_only {
        ctx.say(format!(
            "{} is read-only ({reason}), so nothing was changed.\n\
             Remove the lines from '{}' to '{}' by hand, then run this command again.",
            path.display(),
            managed_section::BEGIN_LINE,
            managed_section::END_LINE
        ));
        return Err(failure(
            Exit::ReadOnly,
            format!(
                "{} is read-only: remove the section by hand",
                path.display()
            ),
        ));
    }
    let p = &ctx.paths;
    let mut kit_changes = ChangeSet::default();
    kit_changes.remove(&p.kit_config, read_text(&p.kit_config)?, None);
    kit_changes.remove(&p.settings, read_text(&p.settings)?, None);
    if args.purge_keys {
        for file in [
            p.default_key.clone(),
            crate::keys::public_path(&p.default_key),
            p.known_hosts.clone(),
            p.api_key.clone(),
        ] {
            if fs::symlink_metadata(&file).is_ok() {
                // Keys are not text: list them without contents.
                kit_changes.remove(&file, Some(String::new()), None);
            }
        }
    }
    // The user's file first: then the Include never points at a removed file for long.
    changes.changes.extend(kit_changes.changes);
    if dry_run {
        ctx.show_dry_run(&changes);
        return Ok(());
    }
    confirm_user_change(ctx, &changes, &path)?;
    changes.apply().map_err(write_failure)?;
    for change in &changes.changes {
        if change.path == path {
            ctx.say(format!(
                "Removed the novita-ssh section from {}.",
                path.display()
            ));
        } else {
            ctx.say(format!("Removed {}.", change.path.display()));
        }
    }
    if let Some(line) = by_hand {
        ctx.say(format!(
            "{} includes the kit's config by hand (line {line}): remove that line yourself.",
            path.display()
        ));
    }
    if args.purge_keys {
        let _ = fs::remove_file(&p.lock);
        if fs::remove_dir(&p.kit_dir).is_ok() {
            ctx.say(format!("Removed {}.", p.kit_dir.display()));
        }
    } else if p.default_key.exists() {
        ctx.say(format!(
            "Kept the key {} (`config uninstall --purge-keys` deletes it).",
            p.default_key.display()
        ));
    }
    if changes.is_empty() {
        ctx.say("Nothing to remove: the kit's ssh config is not installed.");
    }
    Ok(())
}

/// `config show`.
pub fn show(ctx: &Ctx, args: &ShowArgs) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    let path = ctx.ssh_config(args.ssh_config.as_deref(), &settings)?;
    let include = include_arg(ctx)?;
    match read_user_config(&path)? {
        None => ctx.say(format!("{} does not exist: `novita-sshconfig config install` creates it.", path.display())),
        Some(text) => match managed_section::find(&text) {
            Ok(Some(section)) => ctx.say(format!(
                "{}: novita-ssh section at lines {}-{}{}.",
                path.display(),
                section.begin_line,
                section.end_line,
                match managed_section::first_host_or_match(&text) {
                    Some(n) if n < section.begin_line => format!(
                        ", below the Host/Match line {n}: it only applies there (`config install` moves it)"
                    ),
                    _ => String::new(),
                }
            )),
            Ok(None) => ctx.say(format!(
                "{}: no novita-ssh section (`novita-sshconfig config install` adds it).",
                path.display()
            )),
            Err(e) => ctx.say(format!("{}: {e}", path.display())),
        },
    }
    ctx.say(format!(
        "\nThe section:\n{}",
        managed_section::render(&include, "\n")
    ));
    let proxy_path = ctx.proxy_path(&settings);
    let kit = KitConfig {
        settings: &settings,
        paths: &ctx.paths,
        proxy_path: &proxy_path,
    }
    .render()?;
    let current = read_text(&ctx.paths.kit_config)
        .with_context(|| format!("cannot read {}", ctx.paths.kit_config.display()))?;
    let state = match &current {
        None => " (not written yet)",
        Some(text) if *text != kit => " (differs on disk: `config install` rewrites it)",
        Some(_) => "",
    };
    ctx.say(format!("{}{state}:\n{kit}", ctx.paths.kit_config.display()));
    Ok(())
}

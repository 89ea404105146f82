//! The kit's own files: `settings.json` and `~/.ssh/novita/config`, written from the
//! settings.

use std::path::Path;

use crate::changes::{read_text, ChangeSet, PRIVATE};
use crate::context::{write_failure, Ctx};
use crate::kit_config::KitConfig;
use crate::settings::Settings;

/// Writes the kit's own files again from `settings`, with the ProxyCommand path found
/// now (a `--dry-run` shows the diff instead). Returns whether anything changed.
pub fn rewrite(ctx: &Ctx, settings: &Settings, dry_run: bool) -> anyhow::Result<bool> {
    let proxy_path = ctx.proxy_path(settings);
    let mut stored = settings.clone();
    stored.proxy_command_path = Some(proxy_path.clone());
    let mut changes = ChangeSet::default();
    plan_kit_files(ctx, &stored, &proxy_path, &mut changes)?;
    if dry_run {
        ctx.show_dry_run(&changes);
        return Ok(false);
    }
    changes.apply().map_err(write_failure)?;
    Ok(!changes.is_empty())
}

/// Plans the kit's own files: settings.json and ~/.ssh/novita/config.
pub fn plan_kit_files(
    ctx: &Ctx,
    settings: &Settings,
    proxy_path: &Path,
    changes: &mut ChangeSet,
) -> anyhow::Result<String> {
    let kit = KitConfig {
        settings,
        paths: &ctx.paths,
        proxy_path,
    }
    .render()?;
    let p = &ctx.paths;
    changes.write(
        &p.settings,
        read_text(&p.settings)?,
        settings.to_text(),
        PRIVATE,
        None,
    );
    changes.write(
        &p.kit_config,
        read_text(&p.kit_config)?,
        kit.clone(),
        PRIVATE,
        None,
    );
    Ok(kit)
}

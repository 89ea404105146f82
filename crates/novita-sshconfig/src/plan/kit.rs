//! The kit's own files: `settings.json` and `~/.ssh/novita/config`, written from the
//! settings.

use std::path::Path;

use crate::changes::{read_text, ChangeSet, PRIVATE};
use crate::context::Ctx;
use crate::kit_config::KitConfig;
use crate::settings::Settings;

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

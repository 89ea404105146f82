//! The sandbox template's files that `init` and `template` write.

use std::path::PathBuf;

use crate::changes::read_text;
use crate::cli::TemplateOptions;
use crate::context::Ctx;
use crate::template::{render, Spec};

/// The template files: (path, current contents, new contents).
pub fn plan_files(
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
pub fn precheck(opts: &TemplateOptions, user: &str) -> anyhow::Result<()> {
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

//! The marked section in the user's ssh config (`~/.ssh/config`): the one `Include` of
//! the kit's config, planned, confirmed, described, or printed for a read-only file.

use std::path::{Path, PathBuf};

use crate::atomic_write::{self, WriteError};
use crate::changes::{read_text, ChangeSet, PRIVATE};
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::managed_section::{self, Change};
use crate::paths::{ssh_config_arg, Expansion};

/// The `Include` argument for the kit's config, quoted for ssh_config.
pub fn include_arg(ctx: &Ctx) -> anyhow::Result<String> {
    Ok(ssh_config_arg(
        "kit config path",
        &ctx.paths.display_for_ssh(&ctx.paths.kit_config),
        Expansion::Glob,
    )?)
}

/// The backup of a user file: `<name>.novita-ssh.bak` beside the path as named.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".novita-ssh.bak");
    path.with_file_name(name)
}
/// What installing the section into the user's ssh config does.
#[derive(Debug)]
pub struct SshConfigPlan {
    /// The file.
    pub path: PathBuf,
    /// What changes in it.
    pub change: Change,
    /// Line of an Include written by hand, when there is one instead of a section.
    pub by_hand: Option<usize>,
    /// Why it cannot be written, when it is read-only and would change.
    pub read_only: Option<String>,
    /// True when the file does not exist yet.
    pub creates: bool,
}

/// Reads the user's ssh config (`None` when it does not exist); text that is not UTF-8
/// is refused (exit 3), never rewritten.
pub fn read_user_config(path: &Path) -> anyhow::Result<Option<String>> {
    read_text(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            failure(
                Exit::BrokenMarkers,
                format!(
                    "refusing to change {}: {e}; it is left as it is (add the Include line by hand)",
                    path.display()
                ),
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
        }
    })
}

/// Plans the marked section in the user's ssh config.
pub fn plan_ssh_config(
    ctx: &Ctx,
    path: &Path,
    changes: &mut ChangeSet,
) -> anyhow::Result<SshConfigPlan> {
    let include = include_arg(ctx)?;
    let before = read_user_config(path)?;
    let text = before.clone().unwrap_or_default();
    let refused = |e: managed_section::MarkerError| {
        failure(
            Exit::BrokenMarkers,
            format!("refusing to change {}: {e}", path.display()),
        )
    };
    let (after, change) = managed_section::install(&text, &include).map_err(refused)?;
    let mut plan = SshConfigPlan {
        path: path.to_path_buf(),
        change,
        by_hand: None,
        read_only: None,
        creates: before.is_none(),
    };
    if change == Change::Added {
        let targets = [
            ctx.paths.display_for_ssh(&ctx.paths.kit_config),
            ctx.paths.kit_config.to_string_lossy().into_owned(),
        ];
        if let Some(line) = managed_section::find_plain_include(&text, &targets) {
            plan.change = Change::Unchanged;
            plan.by_hand = Some(line);
            return Ok(plan);
        }
    }
    if change == Change::Unchanged {
        return Ok(plan);
    }
    match atomic_write::check_writable(path) {
        Ok(()) => {
            changes.write(path, before, after, PRIVATE, Some(backup_path(path)));
        }
        Err(WriteError::ReadOnly { reason, .. }) => plan.read_only = Some(reason),
        Err(e) => return Err(anyhow::Error::new(e)),
    }
    Ok(plan)
}

/// Prints the lines to add by hand to a read-only config and returns the exit error.
pub fn read_only_failure(
    ctx: &Ctx,
    plan: &SshConfigPlan,
    reason: &str,
) -> anyhow::Result<anyhow::Error> {
    let include = include_arg(ctx)?;
    ctx.say(format!(
        "{} is read-only ({reason}), so it was not changed.\n\
         Add these lines at its top, above every Host and Match line:\n\n{}\n\
         With home-manager: programs.ssh.includes = [ \"{}\" ];",
        plan.path.display(),
        managed_section::render(&include, "\n"),
        include.trim_matches('"'),
    ));
    Ok(failure(
        Exit::ReadOnly,
        format!(
            "{} is read-only: add the lines printed above by hand; nothing in it was changed",
            plan.path.display()
        ),
    ))
}
/// Refuses (exit 3) a user config whose markers are broken.
pub fn check_markers(path: &Path) -> anyhow::Result<()> {
    if let Some(text) = read_user_config(path)? {
        managed_section::find(&text).map_err(|e| {
            failure(
                Exit::BrokenMarkers,
                format!("refusing to change {}: {e}", path.display()),
            )
        })?;
    }
    Ok(())
}
/// Says what happened to the section.
pub fn describe_ssh_change(ctx: &Ctx, ssh: &SshConfigPlan) {
    let path = ssh.path.display();
    match (ssh.change, ssh.by_hand) {
        (_, Some(line)) => ctx.say(format!("{path} includes the kit's config by hand (line {line}).")),
        (Change::Added, _) => ctx.say(format!(
            "Added the novita-ssh section at the top of {path} (previous version: {}).",
            backup_path(&ssh.path).display()
        )),
        (Change::Updated, _) => ctx.say(format!("Repaired the novita-ssh section of {path}.")),
        (Change::Moved, _) => ctx.say(format!(
            "Moved the novita-ssh section of {path} above its first Host/Match line, where it applies."
        )),
        (Change::Unchanged, _) => {}
    }
}

/// Confirms a change to the user's ssh config on a terminal (shows the diff first).
pub fn confirm_user_change(
    ctx: &Ctx,
    changes: &ChangeSet,
    ssh_config: &Path,
) -> anyhow::Result<()> {
    if !changes.touches(ssh_config) || !ctx.interactive() {
        return Ok(());
    }
    eprint!("{}", changes.diff());
    if ctx.confirm(&format!("Change {} as shown?", ssh_config.display()))? {
        Ok(())
    } else {
        Err(failure(Exit::Cancelled, "cancelled: nothing was changed"))
    }
}

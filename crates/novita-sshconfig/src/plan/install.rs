//! What `config install` and `init` share: the settings the flags ask for, the checks
//! made before anything is touched, and the changes to the kit's files and the user's
//! ssh config.

use std::path::PathBuf;

use super::kit::plan_kit_files;
use super::options::proxy_options;
use super::ssh_config::{check_markers, plan_ssh_config, SshConfigPlan};
use crate::changes::ChangeSet;
use crate::cli::InstallArgs;
use crate::context::Ctx;
use crate::managed_section::Change;
use crate::settings::Settings;

/// Applies `args` to the stored settings.
fn configured_settings(
    ctx: &Ctx,
    args: &InstallArgs,
    current: &Settings,
) -> anyhow::Result<(Settings, PathBuf)> {
    let mut s = current.clone();
    if let Some(user) = &args.user {
        s.user = novita_ssh_core::validate::user(user)?;
    }
    let given = proxy_options(&args.proxy)?;
    s.defaults = given.or(&s.defaults);
    if given.url.is_some() {
        s.defaults.domain = given.domain.clone();
    } else if given.domain.is_some() {
        s.defaults.url = None;
    }
    let proxy_path = match &args.proxy_command_path {
        Some(p) => {
            let abs = crate::paths::absolute(p)?;
            if !crate::paths::is_executable(&abs) {
                ctx.warn(format!(
                    "{} is not an executable file yet; ssh will fail until novita-proxy is there",
                    abs.display()
                ));
            }
            abs
        }
        None => ctx.proxy_path(current),
    };
    s.proxy_command_path = Some(proxy_path.clone());
    let ssh_config = ctx.ssh_config(args.write.ssh_config.as_deref(), current)?;
    if let Some(old) = current
        .ssh_config
        .as_ref()
        .filter(|old| **old != ssh_config)
    {
        ctx.warn(format!(
            "the kit was installed into {}; run `novita-sshconfig config uninstall --ssh-config {}` to remove it there",
            old.display(),
            old.display()
        ));
    }
    s.ssh_config = Some(ssh_config.clone());
    Ok((s.validated()?, proxy_path))
}

/// Everything that can refuse the command, checked before the lock is taken or a folder
/// is created, so a refused command leaves no trace.
pub fn precheck(ctx: &Ctx, args: &InstallArgs) -> anyhow::Result<()> {
    if let Some(user) = &args.user {
        novita_ssh_core::validate::user(user)?;
    }
    let given = proxy_options(&args.proxy)?;
    let settings = ctx.settings()?;
    given.or(&settings.defaults).check_keepalive()?;
    let path = ctx.ssh_config(args.write.ssh_config.as_deref(), &settings)?;
    check_markers(&path)
}

/// What `install` planned.
pub struct InstallPlan {
    /// The kit's files, then the user's ssh config.
    pub changes: ChangeSet,
    /// The section in the user's ssh config.
    pub ssh: SshConfigPlan,
}

/// Plans `config install` (with `args`) over the `current` settings.
pub fn plan_install(
    ctx: &Ctx,
    args: &InstallArgs,
    current: &Settings,
) -> anyhow::Result<InstallPlan> {
    let (mut settings, proxy_path) = configured_settings(ctx, args, current)?;
    let ssh_config = settings
        .ssh_config
        .clone()
        .unwrap_or_else(|| ctx.paths.default_ssh_config.clone());
    let mut ssh_changes = ChangeSet::default();
    let ssh = plan_ssh_config(ctx, &ssh_config, &mut ssh_changes)?;
    if ssh.creates && ssh.read_only.is_none() && ssh.change != Change::Unchanged {
        settings.created_ssh_config = true;
    }
    let mut changes = ChangeSet::default();
    plan_kit_files(ctx, &settings, &proxy_path, &mut changes)?;
    // The user's file last: if anything fails before, it still points nowhere new.
    changes.changes.extend(ssh_changes.changes);
    Ok(InstallPlan { changes, ssh })
}

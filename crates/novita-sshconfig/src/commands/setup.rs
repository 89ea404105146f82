//! `init`, `config install`, `config uninstall` and `config show`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{write_failure, Ctx};
use crate::atomic_write::{self, WriteError};
use crate::changes::{read_text, ChangeSet};
use crate::cli::{InitArgs, InstallArgs, ProxyArgs, ShowArgs, UninstallArgs};
use crate::exit::{failure, Code};
use crate::kit_config::KitConfig;
use crate::managed_section::{self, Change};
use crate::paths::{ssh_config_arg, Expansion};
use crate::settings::{ProxyOptions, Settings};

/// Mode of the kit's own files.
const PRIVATE: u32 = 0o600;

/// Validates proxy flags into options (only the flags that were given).
pub(super) fn proxy_options(args: &ProxyArgs) -> anyhow::Result<ProxyOptions> {
    let cacert = match &args.cacert {
        Some(path) => {
            let abs = crate::paths::absolute(path)?;
            if !abs.is_file() {
                return Err(failure(
                    Code::InvalidInput,
                    format!("--cacert {} does not exist: pass a PEM file", abs.display()),
                ));
            }
            Some(abs)
        }
        None => None,
    };
    Ok(ProxyOptions {
        domain: args.domain.clone(),
        url: args.url.clone(),
        proxy: args.proxy.clone(),
        traffic_token: None,
        cacert,
        connect_to: args.connect_to.clone(),
        api_url: args.api_url.clone(),
        api: args.api.map(crate::cli::Switch::is_on),
        name_key: args.name_key.clone(),
        ttl: args.ttl,
        keepalive: args.keepalive,
        quota_warning: args.quota_warning.map(crate::cli::Switch::is_on),
    }
    .validated()?)
}

/// The `Include` argument for the kit's config, quoted for ssh_config.
pub(super) fn include_arg(ctx: &Ctx) -> anyhow::Result<String> {
    Ok(ssh_config_arg(
        "kit config path",
        &ctx.paths.display_for_ssh(&ctx.paths.kit_config),
        Expansion::Glob,
    )?)
}

/// The backup of a user file: `<name>.novita-ssh.bak` beside the path as named.
pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".novita-ssh.bak");
    path.with_file_name(name)
}

/// Plans the kit's own files: settings.json and ~/.ssh/novita/config.
pub(super) fn plan_kit_files(
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

/// What installing the section into the user's ssh config does.
#[derive(Debug)]
pub(super) struct SshConfigPlan {
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

fn read_user_config(path: &Path) -> anyhow::Result<Option<String>> {
    read_text(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            failure(
                Code::BrokenMarkers,
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
pub(super) fn plan_ssh_config(
    ctx: &Ctx,
    path: &Path,
    changes: &mut ChangeSet,
) -> anyhow::Result<SshConfigPlan> {
    let include = include_arg(ctx)?;
    let before = read_user_config(path)?;
    let text = before.clone().unwrap_or_default();
    let refused = |e: managed_section::MarkerError| {
        failure(
            Code::BrokenMarkers,
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
fn read_only_failure(
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
        Code::ReadOnly,
        format!(
            "{} is read-only: add the lines printed above by hand; nothing in it was changed",
            plan.path.display()
        ),
    ))
}

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
fn precheck(ctx: &Ctx, args: &InstallArgs) -> anyhow::Result<()> {
    if let Some(user) = &args.user {
        novita_ssh_core::validate::user(user)?;
    }
    let given = proxy_options(&args.proxy)?;
    let settings = ctx.settings()?;
    given.or(&settings.defaults).check_keepalive()?;
    let path = ctx.ssh_config(args.write.ssh_config.as_deref(), &settings)?;
    check_markers(&path)
}

/// Refuses (exit 3) a user config whose markers are broken.
fn check_markers(path: &Path) -> anyhow::Result<()> {
    if let Some(text) = read_user_config(path)? {
        managed_section::find(&text).map_err(|e| {
            failure(
                Code::BrokenMarkers,
                format!("refusing to change {}: {e}", path.display()),
            )
        })?;
    }
    Ok(())
}

/// What `install` planned.
struct InstallPlan {
    changes: ChangeSet,
    ssh: SshConfigPlan,
}

fn plan_install(ctx: &Ctx, args: &InstallArgs, current: &Settings) -> anyhow::Result<InstallPlan> {
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

fn describe_ssh_change(ctx: &Ctx, ssh: &SshConfigPlan) {
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
fn confirm_user_change(ctx: &Ctx, changes: &ChangeSet, ssh_config: &Path) -> anyhow::Result<()> {
    if !changes.touches(ssh_config) || !ctx.interactive() {
        return Ok(());
    }
    eprint!("{}", changes.diff());
    if ctx.confirm(&format!("Change {} as shown?", ssh_config.display()))? {
        Ok(())
    } else {
        Err(failure(Code::Cancelled, "cancelled: nothing was changed"))
    }
}

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

/// `init`: key, config, template, next steps.
pub fn init(ctx: &Ctx, args: &InitArgs) -> anyhow::Result<()> {
    let dry_run = args.install.write.dry_run;
    precheck(ctx, &args.install)?;
    if let Some(key) = &args.key.key {
        crate::keys::inspect_pair(&crate::paths::absolute(key)?)?;
    }
    if !args.no_template {
        super::template::precheck(&args.template, &plan_user(&args.install, &ctx.settings()?)?)?;
    }
    let _lock = if dry_run { None } else { Some(ctx.lock()?) };
    let current = ctx.settings()?;

    // 1. The key.
    let key = super::keygen::plan_init_key(ctx, &args.key, &current, dry_run)?;
    let mut with_key = current.clone();
    with_key.identity_file = key.identity_file.clone();

    // 2. The ssh config.
    let plan = plan_install(ctx, &args.install, &with_key)?;

    // 3. The template.
    let mut template_changes = ChangeSet::default();
    let mut template_skipped = Vec::new();
    if !args.no_template {
        let files = super::template::plan_files(
            ctx,
            &args.template,
            &key.public_line,
            &plan_user(&args.install, &current)?,
        )?;
        for (path, before, contents) in files {
            if before.as_ref().is_some_and(|b| *b != contents) {
                template_skipped.push(path);
            } else {
                template_changes.write(&path, before, contents, 0o644, None);
            }
        }
    }

    if dry_run {
        if key.new_key.is_some() {
            ctx.say(format!(
                "Would create the key {} (and .pub).",
                ctx.paths.default_key.display()
            ));
        }
        let mut all = plan.changes.clone();
        all.changes.extend(template_changes.changes.clone());
        ctx.show_dry_run(&all);
        return Ok(());
    }

    confirm_user_change(ctx, &plan.changes, &plan.ssh.path)?;
    let mut changed = false;
    if let Some(new_key) = &key.new_key {
        super::keygen::write_default_key(ctx, new_key)?;
        changed = true;
    }
    plan.changes.apply().map_err(write_failure)?;
    if plan.changes.touches(&ctx.paths.kit_config) {
        ctx.say(format!("Wrote {}.", ctx.paths.kit_config.display()));
    }
    describe_ssh_change(ctx, &plan.ssh);
    changed |= !plan.changes.is_empty();
    template_changes.apply().map_err(write_failure)?;
    for change in &template_changes.changes {
        ctx.say(format!("Wrote {}.", change.path.display()));
    }
    changed |= !template_changes.is_empty();
    for path in &template_skipped {
        ctx.warn(format!(
            "{} differs from the generated template and was left as it is; \
             `novita-sshconfig template --force` replaces it",
            path.display()
        ));
    }
    if let Some(reason) = &plan.ssh.read_only {
        return Err(read_only_failure(ctx, &plan.ssh, reason)?);
    }
    if !changed {
        ctx.say(
            "Nothing to change: the key, the ssh config and the template are already in place.",
        );
        return Ok(());
    }
    print_next_steps(ctx, args);
    Ok(())
}

fn plan_user(args: &InstallArgs, current: &Settings) -> anyhow::Result<String> {
    Ok(match &args.user {
        Some(u) => novita_ssh_core::validate::user(u)?,
        None => current.user.clone(),
    })
}

fn print_next_steps(ctx: &Ctx, args: &InitArgs) {
    let dir = args.template.out.display();
    let build = match args.template.lang {
        crate::template::Lang::Ts => format!(
            "cd {dir} && npm install novita-sandbox tsx && NOVITA_API_KEY=... npx tsx build.ts"
        ),
        crate::template::Lang::Python => {
            format!("cd {dir} && pip install novita-sandbox && NOVITA_API_KEY=... python build.py")
        }
    };
    let build = if args.no_template {
        "novita-sshconfig template   (writes the template files), then build them".to_owned()
    } else {
        build
    };
    ctx.say(format!(
        "\nNext steps:\n\
         \x20 1. Build the template:       {build}\n\
         \x20 2. Create a sandbox from it: Sandbox.create('{}') prints its ID\n\
         \x20 3. Connect:                  ssh <sandbox-id>.novita\n\
         \x20    Or name it:               novita-sshconfig add myhost <sandbox-id>, then ssh myhost.novita\n\
         \x20 Check everything with:       novita-sshconfig doctor --connect <sandbox-id>",
        crate::template::TEMPLATE_NAME
    ));
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
                Code::BrokenMarkers,
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
            Code::ReadOnly,
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

//! `init`: the key, the ssh config and the template in one go, then the next steps.

use crate::changes::ChangeSet;
use crate::cli::{InitArgs, InstallArgs};
use crate::context::{write_failure, Ctx};
use crate::plan::install::{plan_install, precheck};
use crate::plan::key::{plan_init_key, write_default_key};
use crate::plan::ssh_config::{confirm_user_change, describe_ssh_change, read_only_failure};
use crate::plan::template as template_files;
use crate::settings::Settings;

/// `init`: key, config, template, next steps.
pub fn init(ctx: &Ctx, args: &InitArgs) -> anyhow::Result<()> {
    let dry_run = args.install.write.dry_run;
    precheck(ctx, &args.install)?;
    if let Some(key) = &args.key.key {
        crate::keys::inspect_pair(&crate::paths::absolute(key)?)?;
    }
    if !args.no_template {
        template_files::precheck(&args.template, &plan_user(&args.install, &ctx.settings()?)?)?;
    }
    let _lock = if dry_run { None } else { Some(ctx.lock()?) };
    let current = ctx.settings()?;

    // 1. The key.
    let key = plan_init_key(ctx, &args.key, &current, dry_run)?;
    let mut with_key = current.clone();
    with_key.identity_file = key.identity_file.clone();

    // 2. The ssh config.
    let plan = plan_install(ctx, &args.install, &with_key)?;

    // 3. The template.
    let mut template_changes = ChangeSet::default();
    let mut template_skipped = Vec::new();
    if !args.no_template {
        let files = template_files::plan_files(
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
        write_default_key(ctx, new_key)?;
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

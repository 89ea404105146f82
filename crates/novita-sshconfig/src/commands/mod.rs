//! The commands, one module each (a group of subcommands shares one: `config`, `login`
//! and `logout`, the sandbox commands). Each reads the current state, plans its changes
//! with [`crate::plan`], shows them for `--dry-run` (or asks before touching
//! `~/.ssh/config` on a terminal), then applies them under the kit's lock.
//!
//! Calls go one way: this module dispatches to the command modules, they use the planner
//! and [`Ctx`]; no command module uses another.

mod config;
mod doctor;
mod hosts;
mod init;
mod keygen;
mod list;
mod login;
mod sandboxes;
mod template;

use anyhow::Context;
use novita_ssh_docs::Generate;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::context::Ctx;
use crate::paths::{Home, KitPaths};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(kind) = cli.generate {
        return generate(kind);
    }
    let Some(command) = cli.command else {
        crate::cli::command()
            .print_help()
            .context("cannot print the help")?;
        return Ok(());
    };
    let ctx = Ctx {
        paths: KitPaths::new(Home::from_env()?),
        verbose: cli.verbose,
        yes: cli.yes,
    };
    ctx.note(format!(
        "home {} (ssh's ~ is {})",
        ctx.paths.home.dir.display(),
        if ctx.paths.home.tilde_ok {
            "the same: writing ~/ paths"
        } else {
            "elsewhere: writing absolute paths"
        }
    ));
    match command {
        Command::Init(args) => init::init(&ctx, &args),
        Command::Keygen(args) => keygen::keygen(&ctx, &args),
        Command::Config(ConfigCommand::Install(args)) => config::install(&ctx, &args),
        Command::Config(ConfigCommand::Uninstall(args)) => config::uninstall(&ctx, &args),
        Command::Config(ConfigCommand::Show(args)) => config::show(&ctx, &args),
        Command::Add(args) => hosts::add(&ctx, &args),
        Command::Remove(args) => hosts::remove(&ctx, &args),
        Command::List(args) => list::list(&ctx, &args),
        Command::Login(args) => login::login(&ctx, &args),
        Command::Logout => login::logout(&ctx),
        Command::Create(args) => sandboxes::create(&ctx, &args),
        Command::Pause(args) => sandboxes::pause(&ctx, &args),
        Command::Resume(args) => sandboxes::resume(&ctx, &args),
        Command::Delete(args) => sandboxes::delete(&ctx, &args),
        Command::Template(args) => template::template(&ctx, &args),
        Command::Doctor(args) => doctor::doctor(&ctx, &args),
    }
}

fn generate(kind: Generate) -> anyhow::Result<()> {
    crate::generate::PROGRAM
        .generate(kind)
        .context("cannot write the generated text to stdout")
}

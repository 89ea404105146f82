//! `novita-sshconfig`: keys, ssh config and the sandbox template that make plain OpenSSH
//! (`ssh <sandbox-id>.novita`, scp, rsync, VS Code Remote-SSH) reach Novita sandboxes
//! through `novita-proxy`.
//!
//! Where a line of ssh config is written: [`kit_config`] renders the kit's own file,
//! [`managed_section`] places the `Include` in `~/.ssh/config`, [`atomic_write`] writes
//! both safely. The binary is thin glue over [`commands`], one module per command, which
//! share [`context::Ctx`] and the planner (`plan`) and never call each other.

pub mod atomic_write;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod context;
pub mod doctor;
pub mod exit;
pub mod generate;
pub mod host_keys;
pub mod keys;
pub mod kit_config;
pub mod lock;
pub mod managed_section;
pub mod paths;
mod plan;
pub mod platform;
pub mod settings;
pub mod sys;
pub mod template;

//! The planner the commands share: each piece reads the current state and adds the file
//! changes it wants to a [`ChangeSet`](crate::changes::ChangeSet), which the command shows
//! for `--dry-run`, confirms, then applies under the kit's lock. Nothing here prints
//! unless it is asked to describe a change, and no command module is imported from here.

pub mod install;
pub mod key;
pub mod kit;
pub mod options;
pub mod ssh_config;
pub mod template;

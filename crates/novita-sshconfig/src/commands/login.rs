//! `login` and `logout`: the Novita API key in `~/.ssh/novita/api_key` (mode 0600).
//!
//! The key comes from a prompt without echo, or from stdin when stdin is not a terminal;
//! never from argv. It is written nowhere else, and no message or `-v` note shows it.

use std::fs;
use std::io::{self, IsTerminal, Read};

use novita_proxy::api::ApiError;
use novita_ssh_core::credentials::{ApiKey, KeySource, API_KEY_ENV};

use crate::atomic_write::{self, WriteOptions};
use crate::cli::LoginArgs;
use crate::context::{write_failure, Ctx};
use crate::exit::{failure, Exit};
use crate::platform;

/// Where to get a key, shown at the prompt and in errors.
const CONSOLE: &str = "https://novita.ai/settings/key-management";

/// The most bytes read from stdin: a key is far shorter.
const MAX_INPUT: u64 = 64 * 1024;

/// Reads the key: a prompt on the terminal, else stdin.
fn read_key() -> anyhow::Result<ApiKey> {
    let text = if io::stdin().is_terminal() {
        crate::sys::read_passphrase(&format!("Novita API key (from {CONSOLE}): "))
            .map_err(|e| anyhow::anyhow!("cannot read the key from the terminal: {e}"))?
    } else {
        let mut text = String::new();
        io::stdin()
            .take(MAX_INPUT)
            .read_to_string(&mut text)
            .map_err(|e| {
                failure(
                    Exit::Usage,
                    format!("cannot read the API key from stdin: {e}"),
                )
            })?;
        text
    };
    if text.trim().is_empty() {
        return Err(failure(
            Exit::Usage,
            format!(
                "no API key was given: pipe it in (novita-sshconfig login < file) or run login on a terminal; get one at {CONSOLE}"
            ),
        ));
    }
    ApiKey::parse(&text).map_err(|_| {
        failure(
            Exit::Usage,
            format!(
                "that is not an API key (a key is one line of visible characters without spaces): copy it again from {CONSOLE}; nothing was written"
            ),
        )
    })
}

/// Asks the API whether it accepts `key` (`GET /sandboxes/quota`).
fn verify(ctx: &Ctx, key: &ApiKey) -> anyhow::Result<()> {
    let settings = ctx.settings()?;
    let source = KeySource::File(ctx.paths.api_key.clone());
    let Some(p) = platform::connect(&ctx.paths, &settings, Some((key.clone(), source)))? else {
        return Ok(());
    };
    let base = p.api.settings().base.clone();
    ctx.note(format!("checking the key with GET {base}/sandboxes/quota"));
    match platform::block_on(p.api.quota())? {
        Ok(quota) => {
            ctx.note(format!(
                "the API accepted the key (longest sandbox: {} h)",
                quota.limit.max_length_hours
            ));
            Ok(())
        }
        Err(ApiError::Unauthorized { status, .. }) => Err(failure(
            Exit::ApiKey,
            format!(
                "the Novita API at {base} refused this API key ({status}): copy a valid key from {CONSOLE}; nothing was written"
            ),
        )),
        Err(e) => Err(failure(
            Exit::Api,
            format!(
                "{e}: nothing was written; check your network and proxy settings, or pass --no-verify to store the key without asking the API"
            ),
        )),
    }
}

/// Regenerates the kit's config when it is installed: the key file appears on the
/// ProxyCommand line when ssh's `~` is not this `$HOME`.
fn refresh_kit_config(ctx: &Ctx) -> anyhow::Result<()> {
    if !ctx.paths.settings.exists() {
        return Ok(());
    }
    let settings = ctx.settings()?;
    if crate::plan::kit::rewrite(ctx, &settings, false)? {
        ctx.note(format!("updated {}", ctx.paths.kit_config.display()));
    }
    Ok(())
}

fn stored_key(ctx: &Ctx) -> Option<String> {
    fs::read_to_string(&ctx.paths.api_key)
        .ok()
        .map(|t| t.trim().to_owned())
}

#[cfg(unix)]
fn is_private(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
}

#[cfg(not(unix))]
fn is_private(_path: &std::path::Path) -> bool {
    true
}

/// `login`.
pub fn login(ctx: &Ctx, args: &LoginArgs) -> anyhow::Result<()> {
    let LoginArgs {
        no_verify,
        refused_key,
    } = args;
    if refused_key.is_some() {
        return Err(failure(
            Exit::Usage,
            "the API key is never taken from the command line (other users can read it in the process list): pipe it in (novita-sshconfig login < file) or run login on a terminal; nothing was written",
        ));
    }
    let path = ctx.paths.api_key.clone();
    let key = read_key()?;
    let same = stored_key(ctx).is_some_and(|k| k == key.expose());
    if !same && stored_key(ctx).is_some() && !ctx.yes {
        // The prompt goes to the terminal; with the key on stdin there is no one to ask.
        let asked = io::stdin().is_terminal() && io::stderr().is_terminal();
        if !asked {
            return Err(failure(
                Exit::Exists,
                format!(
                    "another API key is stored in {}: pass --yes to replace it, or run novita-sshconfig logout first; nothing was written",
                    path.display()
                ),
            ));
        }
        if !ctx.confirm(&format!(
            "Replace the API key stored in {}?",
            path.display()
        ))? {
            return Err(failure(Exit::Cancelled, "cancelled: nothing was changed"));
        }
    }
    if !*no_verify {
        verify(ctx, &key)?;
    }
    let _lock = ctx.lock()?;
    if same && is_private(&path) {
        ctx.say(format!(
            "Nothing to change: this API key is already stored in {}.",
            path.display()
        ));
    } else {
        let mut contents = key.expose().to_owned();
        contents.push('\n');
        atomic_write::write_atomic(
            &path,
            contents.as_bytes(),
            &WriteOptions {
                new_mode: 0o600,
                backup: None,
                force_mode: true,
            },
        )
        .map_err(write_failure)?;
        ctx.say(format!(
            "Logged in: the API key is stored in {} (mode 0600){}.",
            path.display(),
            if *no_verify {
                ", not checked with the API"
            } else {
                "; the Novita API accepted it"
            }
        ));
    }
    refresh_kit_config(ctx)?;
    if std::env::var_os(API_KEY_ENV).is_some_and(|v| !v.is_empty()) {
        ctx.warn(format!(
            "{API_KEY_ENV} is set in this environment and is used instead of the stored key"
        ));
    }
    Ok(())
}

/// `logout`.
pub fn logout(ctx: &Ctx) -> anyhow::Result<()> {
    let path = &ctx.paths.api_key;
    if fs::symlink_metadata(path).is_err() {
        ctx.say(format!(
            "Not logged in: there is no API key file {}.",
            path.display()
        ));
    } else {
        let _lock = ctx.lock()?;
        atomic_write::remove_file(path, None).map_err(write_failure)?;
        ctx.say(format!("Removed the API key {}.", path.display()));
        refresh_kit_config(ctx)?;
    }
    if std::env::var_os(API_KEY_ENV).is_some_and(|v| !v.is_empty()) {
        ctx.warn(format!(
            "{API_KEY_ENV} is still set in this environment, and novita-proxy uses it"
        ));
    }
    Ok(())
}

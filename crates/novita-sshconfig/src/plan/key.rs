//! The key `init` and `keygen` make or use: the kit's own key pair at
//! `~/.ssh/novita/id_ed25519`, or one passed with `--key`.

use std::fs;
use std::path::PathBuf;

use crate::cli::KeyArgs;
use crate::context::Ctx;
use crate::exit::{failure, Exit};
use crate::keys::{self, NewKey};
use crate::settings::Settings;

/// The key `init` uses.
pub struct KeyPlan {
    /// A key to write at the default path (none when one is there or `--key` is used).
    pub new_key: Option<NewKey>,
    /// The identity file to store (`None`: the default key).
    pub identity_file: Option<PathBuf>,
    /// Its public line (for the template).
    pub public_line: String,
}

/// Reads the passphrase for a new key: from `--passphrase-file`, else from a terminal
/// prompt (twice) unless `--yes`; `None` for no passphrase.
fn passphrase(ctx: &Ctx, args: &KeyArgs) -> anyhow::Result<Option<String>> {
    if let Some(file) = &args.passphrase_file {
        let text = fs::read_to_string(file).map_err(|e| {
            failure(
                Exit::Usage,
                format!("cannot read --passphrase-file {}: {e}", file.display()),
            )
        })?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        return Ok((!line.is_empty()).then(|| line.to_owned()));
    }
    if !ctx.interactive() {
        return Ok(None);
    }
    let first = crate::sys::read_passphrase("Passphrase for the new key (empty for none): ")?;
    if first.is_empty() {
        return Ok(None);
    }
    let second = crate::sys::read_passphrase("Same passphrase again: ")?;
    if first != second {
        return Err(failure(
            Exit::Usage,
            "the passphrases differ: run the command again",
        ));
    }
    Ok(Some(first))
}

/// A new key pair in memory, with the passphrase `args` ask for.
pub fn generate(ctx: &Ctx, args: &KeyArgs) -> anyhow::Result<NewKey> {
    let pass = passphrase(ctx, args)?;
    keys::generate(&keys::default_comment(), pass.as_deref().map(str::as_bytes))
}

/// Writes the new default key pair.
pub fn write_default_key(ctx: &Ctx, key: &NewKey) -> anyhow::Result<()> {
    keys::write_pair(&ctx.paths.default_key, key)?;
    ctx.say(format!(
        "Created the key {} ({}).",
        ctx.paths.default_key.display(),
        if key.private.is_encrypted() {
            "with a passphrase"
        } else {
            "no passphrase"
        }
    ));
    Ok(())
}

/// Decides the key for `init`: `--key`, the stored key, the existing default key, or a
/// new one (generated in memory; written only when the rest is confirmed).
pub fn plan_init_key(
    ctx: &Ctx,
    args: &KeyArgs,
    current: &Settings,
    dry_run: bool,
) -> anyhow::Result<KeyPlan> {
    if let Some(path) = &args.key {
        let abs = crate::paths::absolute(path)?;
        let info = keys::inspect_pair(&abs)?;
        return Ok(KeyPlan {
            new_key: None,
            identity_file: Some(abs),
            public_line: info.public_line,
        });
    }
    if let Some(stored) = current.identity_file.as_ref().filter(|p| p.exists()) {
        let info = keys::inspect_pair(stored)?;
        return Ok(KeyPlan {
            new_key: None,
            identity_file: Some(stored.clone()),
            public_line: info.public_line,
        });
    }
    let default = &ctx.paths.default_key;
    if keys::pair_exists(default) {
        let info = keys::inspect_pair(default)?;
        ctx.note(format!("using the existing key {}", default.display()));
        return Ok(KeyPlan {
            new_key: None,
            identity_file: None,
            public_line: info.public_line,
        });
    }
    let key = if dry_run {
        keys::generate(&keys::default_comment(), None)?
    } else {
        generate(ctx, args)?
    };
    Ok(KeyPlan {
        public_line: key.public_line.clone(),
        new_key: Some(key),
        identity_file: None,
    })
}

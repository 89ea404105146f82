//! The kit's settings and named hosts, kept in `~/.ssh/novita/settings.json`: the source
//! from which `~/.ssh/novita/config` is generated.
//!
//! Every value is validated when it is set and again when the file is read, so a hand
//! edit can never put an unchecked value into the ssh config.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use novita_ssh_core::{validate, ValidationError};
use serde::{Deserialize, Serialize};

use crate::exit::{failure, Exit};

/// The login user when none is set: the sandbox's default user.
pub const DEFAULT_USER: &str = "user";

/// The format version written into the file.
pub const VERSION: u32 = 1;

/// How `novita-proxy` reaches a sandbox: everything goes on its command line, because
/// VS Code starts the ProxyCommand without the shell's environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyOptions {
    /// The sandbox domain (`--domain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The whole WebSocket URL (`--url`), with optional `{id}` and `{port}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An HTTP(S) proxy to go through (`--proxy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The traffic access token of a private sandbox (`--traffic-token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_token: Option<String>,
    /// Extra CA certificates (`--cacert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cacert: Option<PathBuf>,
    /// Connect to this address instead of the URL's host (`--connect-to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_to: Option<String>,
    /// The API's base URL (`--api-url`), instead of `https://api.<domain>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Whether novita-proxy may call the API (`false` writes `--no-api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<bool>,
    /// The metadata key holding sandbox names (`--name-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_key: Option<String>,
    /// The time to live, in seconds, asked for at connect and each keepalive (`--ttl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Seconds between keepalives while connected, 0 for none (`--keepalive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<u64>,
    /// Whether novita-proxy warns before the account's maximum sandbox length ends a
    /// session (`false` writes `--no-quota-warning`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_warning: Option<bool>,
}

/// The time to live novita-proxy asks for when none is set.
pub const DEFAULT_TTL: u64 = 600;

/// The longest time to live accepted (30 days), as novita-proxy accepts it.
pub const MAX_TTL: u64 = 86_400 * 30;

/// Validates a time to live in seconds: 1 to [`MAX_TTL`].
pub fn validate_ttl(secs: u64) -> Result<u64, ValidationError> {
    if (1..=MAX_TTL).contains(&secs) {
        Ok(secs)
    } else {
        Err(ValidationError::Invalid {
            what: "time to live",
            shown: secs.to_string(),
            reason: "it must be 1 to 2592000 seconds (30 days)".to_owned(),
            hint: "pass the seconds a sandbox should live after the last keepalive, e.g. --ttl 600",
        })
    }
}

/// Validates a keepalive interval against the time to live it keeps extending: 0 (off) or
/// shorter than `ttl`, so the sandbox never ends between two keepalives.
pub fn validate_keepalive(secs: u64, ttl: u64) -> Result<u64, ValidationError> {
    if secs == 0 || secs < ttl {
        Ok(secs)
    } else {
        Err(ValidationError::Invalid {
            what: "keepalive interval",
            shown: secs.to_string(),
            reason: format!(
                "it must be shorter than the time to live ({ttl} s), or the sandbox ends between two keepalives"
            ),
            hint: "pass fewer seconds than --ttl (a third of it is a good value), or 0 for no keepalive",
        })
    }
}

impl ProxyOptions {
    /// Validates every value, returning them in canonical form.
    pub fn validated(&self) -> Result<ProxyOptions, ValidationError> {
        Ok(ProxyOptions {
            domain: self.domain.as_deref().map(validate::domain).transpose()?,
            url: self
                .url
                .as_deref()
                .map(|u| {
                    // `{id}` and `{port}` are filled in by novita-proxy; check the rest.
                    let probe = novita_ssh_core::SandboxId::parse("checkid")?;
                    novita_ssh_core::url_from_template(u, Some(&probe), 1)?;
                    Ok::<_, ValidationError>(u.to_owned())
                })
                .transpose()?,
            proxy: self
                .proxy
                .as_deref()
                .map(|p| validate::http_url(p, true))
                .transpose()?,
            traffic_token: self
                .traffic_token
                .as_deref()
                .map(validate::traffic_token)
                .transpose()?,
            cacert: self.cacert.clone(),
            connect_to: self
                .connect_to
                .as_deref()
                .map(validate::connect_to)
                .transpose()?,
            api_url: self
                .api_url
                .as_deref()
                .map(novita_ssh_core::api_url)
                .transpose()?,
            api: self.api,
            name_key: self
                .name_key
                .as_deref()
                .map(novita_ssh_core::name_key)
                .transpose()?,
            ttl: self.ttl.map(validate_ttl).transpose()?,
            keepalive: self.keepalive,
            quota_warning: self.quota_warning,
        })
    }

    /// Checks that the keepalive interval is shorter than the time to live it extends (the
    /// proxy's defaults standing in for unset values). Call it on merged options.
    pub fn check_keepalive(&self) -> Result<(), ValidationError> {
        match self.keepalive {
            Some(k) => validate_keepalive(k, self.ttl.unwrap_or(DEFAULT_TTL)).map(drop),
            None => Ok(()),
        }
    }

    /// Whether novita-proxy may call the API (the default).
    pub fn api_enabled(&self) -> bool {
        self.api.unwrap_or(true)
    }

    /// These options with each unset value taken from `defaults`.
    pub fn or(&self, defaults: &ProxyOptions) -> ProxyOptions {
        ProxyOptions {
            domain: self.domain.clone().or_else(|| defaults.domain.clone()),
            url: self.url.clone().or_else(|| defaults.url.clone()),
            proxy: self.proxy.clone().or_else(|| defaults.proxy.clone()),
            traffic_token: self
                .traffic_token
                .clone()
                .or_else(|| defaults.traffic_token.clone()),
            cacert: self.cacert.clone().or_else(|| defaults.cacert.clone()),
            connect_to: self
                .connect_to
                .clone()
                .or_else(|| defaults.connect_to.clone()),
            api_url: self.api_url.clone().or_else(|| defaults.api_url.clone()),
            api: self.api.or(defaults.api),
            name_key: self.name_key.clone().or_else(|| defaults.name_key.clone()),
            ttl: self.ttl.or(defaults.ttl),
            keepalive: self.keepalive.or(defaults.keepalive),
            quota_warning: self.quota_warning.or(defaults.quota_warning),
        }
    }
}

/// One named host: `ssh <alias>.novita` reaches sandbox `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// The alias (`myhost` of `myhost.novita`).
    pub alias: String,
    /// The sandbox ID.
    pub id: String,
    /// The login user, when it differs from the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Proxy options that differ from the defaults.
    #[serde(default, skip_serializing_if = "is_default")]
    pub proxy: ProxyOptions,
}

fn is_default(p: &ProxyOptions) -> bool {
    *p == ProxyOptions::default()
}

impl HostEntry {
    /// Validates every value, returning them in canonical form.
    pub fn validated(&self) -> Result<HostEntry, ValidationError> {
        Ok(HostEntry {
            alias: validate::alias(&self.alias)?,
            id: validate::sandbox_id(&self.id)?,
            user: self.user.as_deref().map(validate::user).transpose()?,
            proxy: self.proxy.validated()?,
        })
    }
}

/// Everything the kit's ssh config is generated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The file format version.
    pub version: u32,
    /// The default login user.
    pub user: String,
    /// The private key ssh uses (`None`: `~/.ssh/novita/id_ed25519`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
    /// The novita-proxy executable the ProxyCommand runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_command_path: Option<PathBuf>,
    /// Proxy options for every `*.novita` host.
    #[serde(skip_serializing_if = "is_default")]
    pub defaults: ProxyOptions,
    /// The ssh config the Include was installed into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
    /// True when the kit created that ssh config (uninstall then deletes it if empty).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub created_ssh_config: bool,
    /// Named hosts, sorted by alias.
    pub hosts: Vec<HostEntry>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: VERSION,
            user: DEFAULT_USER.to_owned(),
            identity_file: None,
            proxy_command_path: None,
            defaults: ProxyOptions::default(),
            ssh_config: None,
            created_ssh_config: false,
            hosts: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads the settings; a missing file gives the defaults.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let settings: Settings = serde_json::from_str(&text).map_err(|e| {
            failure(
                Exit::Usage,
                format!(
                    "{} is not valid: {e}; fix it, or delete it and run `novita-sshconfig init` again",
                    path.display()
                ),
            )
        })?;
        settings.validated().map_err(|e| {
            failure(
                Exit::Usage,
                format!(
                    "{} holds an invalid value: {e}; fix it, or delete it and run `novita-sshconfig init` again",
                    path.display()
                ),
            )
        })
    }

    /// Validates every value, returning them in canonical form.
    pub fn validated(&self) -> Result<Settings, ValidationError> {
        let mut hosts = self
            .hosts
            .iter()
            .map(HostEntry::validated)
            .collect::<Result<Vec<_>, _>>()?;
        hosts.sort_by(|a, b| a.alias.cmp(&b.alias));
        hosts.dedup_by(|a, b| a.alias == b.alias);
        let defaults = self.defaults.validated()?;
        defaults.check_keepalive()?;
        for host in &hosts {
            // A host's own keepalive against the global time to live, and the reverse.
            host.proxy.or(&defaults).check_keepalive()?;
        }
        Ok(Settings {
            version: VERSION,
            user: validate::user(&self.user)?,
            defaults,
            hosts,
            ..self.clone()
        })
    }

    /// The file's text: pretty JSON with a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    }

    /// The host with this alias.
    pub fn host(&self, alias: &str) -> Option<&HostEntry> {
        self.hosts.iter().find(|h| h.alias == alias)
    }

    /// Adds or replaces a host, keeping the list sorted. Returns the previous entry.
    pub fn upsert(&mut self, entry: HostEntry) -> Option<HostEntry> {
        let previous = self
            .hosts
            .iter()
            .position(|h| h.alias == entry.alias)
            .map(|i| self.hosts.remove(i));
        self.hosts.push(entry);
        self.hosts.sort_by(|a, b| a.alias.cmp(&b.alias));
        previous
    }

    /// Removes a host. Returns it if it was there.
    pub fn remove(&mut self, alias: &str) -> Option<HostEntry> {
        self.hosts
            .iter()
            .position(|h| h.alias == alias)
            .map(|i| self.hosts.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(alias: &str, id: &str) -> HostEntry {
        HostEntry {
            alias: alias.into(),
            id: id.into(),
            user: None,
            proxy: ProxyOptions::default(),
        }
    }

    #[test]
    fn round_trips_and_stays_sorted() {
        let mut s = Settings::default();
        s.upsert(host("zeta", "iabc"));
        s.upsert(host("alpha", "idef"));
        assert!(s.upsert(host("zeta", "ighi")).is_some());
        assert_eq!(
            s.hosts.iter().map(|h| h.alias.as_str()).collect::<Vec<_>>(),
            ["alpha", "zeta"]
        );
        let back: Settings = serde_json::from_str(&s.to_text()).expect("parse");
        assert_eq!(back, s);
        assert!(s.remove("alpha").is_some());
        assert!(s.remove("alpha").is_none());
    }

    #[test]
    fn hand_edits_are_validated_on_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.json");
        assert_eq!(Settings::load(&path).expect("missing"), Settings::default());
        fs::write(&path, r#"{"hosts":[{"alias":"x; rm -rf ~","id":"iabc"}]}"#).expect("write");
        let err = Settings::load(&path).expect_err("hostile alias");
        assert_eq!(crate::exit::exit_of(&err), Exit::Usage);
        fs::write(&path, r#"{"defaults":{"url":"ws://h/ x"}}"#).expect("write");
        assert!(Settings::load(&path).is_err());
        fs::write(&path, "{").expect("write");
        assert!(Settings::load(&path).is_err());
    }

    #[test]
    fn options_fall_back_per_value() {
        let defaults = ProxyOptions {
            domain: Some("a.b".into()),
            proxy: Some("http://p:1".into()),
            ..ProxyOptions::default()
        };
        let own = ProxyOptions {
            url: Some("ws://127.0.0.1:9/".into()),
            ..ProxyOptions::default()
        };
        let merged = own.or(&defaults);
        assert_eq!(merged.url.as_deref(), Some("ws://127.0.0.1:9/"));
        assert_eq!(merged.proxy.as_deref(), Some("http://p:1"));
    }
}

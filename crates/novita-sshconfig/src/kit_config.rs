//! Renders `~/.ssh/novita/config`, the one ssh config file the kit owns: a block per named
//! host, then `Host *.novita` with the settings every sandbox needs. The README explains
//! each option.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use novita_ssh_core::{DEFAULT_DOMAIN, HOST_SUFFIX};

use crate::paths::{proxy_command_word, ssh_config_arg, Expansion, KitPaths, QuoteError};
use crate::settings::{ProxyOptions, Settings};

/// Seconds ssh waits for the connection and, through a ProxyCommand, for the SSH banner:
/// long enough for a sandbox that is resuming, short enough not to hang forever.
pub const CONNECT_TIMEOUT: u32 = 60;
/// Seconds between SSH-level keepalives: below the idle timeouts of edges and proxies.
pub const SERVER_ALIVE_INTERVAL: u32 = 30;
/// Unanswered keepalives before ssh gives up (two minutes with the interval above).
pub const SERVER_ALIVE_COUNT_MAX: u32 = 4;

/// What the kit's config is made from.
#[derive(Debug, Clone)]
pub struct KitConfig<'a> {
    /// Settings and named hosts.
    pub settings: &'a Settings,
    /// Where the kit's files are.
    pub paths: &'a KitPaths,
    /// The novita-proxy the ProxyCommand runs.
    pub proxy_path: &'a Path,
}

impl KitConfig<'_> {
    /// The private key ssh uses.
    pub fn identity_file(&self) -> PathBuf {
        self.settings
            .identity_file
            .clone()
            .unwrap_or_else(|| self.paths.default_key.clone())
    }

    /// The key file to name on the ProxyCommand line: only when ssh's `~` is not this
    /// `$HOME` (novita-proxy looks under `$HOME`, which a GUI-started ssh may not share) and
    /// `login` has written one. Elsewhere novita-proxy finds it by itself.
    pub fn api_key_file(&self) -> Option<PathBuf> {
        (!self.paths.home.tilde_ok && self.paths.api_key.exists())
            .then(|| self.paths.api_key.clone())
    }

    /// The ProxyCommand line's value for these options (with `%h` last).
    pub fn proxy_command(&self, opts: &ProxyOptions) -> Result<String, QuoteError> {
        let mut words = vec![proxy_command_word(
            "novita-proxy path",
            &self.proxy_path.to_string_lossy(),
        )?];
        for (what, value) in self.proxy_words(opts) {
            words.push(proxy_command_word(what, &value)?);
        }
        words.push("%h".to_owned());
        Ok(words.join(" "))
    }

    /// novita-proxy's arguments for these options, before the host, unquoted: what the
    /// ProxyCommand passes, and what the kit's own API calls are configured from.
    pub fn proxy_args(&self, opts: &ProxyOptions) -> Vec<String> {
        self.proxy_words(opts).into_iter().map(|(_, v)| v).collect()
    }

    /// The arguments with what each value is (for messages about values that cannot be
    /// quoted).
    fn proxy_words(&self, opts: &ProxyOptions) -> Vec<(&'static str, String)> {
        let mut words: Vec<(&'static str, String)> = Vec::new();
        let mut flag = |name: &'static str, what: &'static str, value: String| {
            words.push(("flag", name.to_owned()));
            words.push((what, value));
        };
        match &opts.url {
            Some(url) => flag("--url", "URL", url.clone()),
            None => flag(
                "--domain",
                "domain",
                opts.domain.as_deref().unwrap_or(DEFAULT_DOMAIN).to_owned(),
            ),
        }
        if let Some(proxy) = &opts.proxy {
            flag("--proxy", "proxy URL", proxy.clone());
        }
        if let Some(to) = &opts.connect_to {
            flag("--connect-to", "connect-to address", to.clone());
        }
        if let Some(ca) = &opts.cacert {
            flag("--cacert", "CA file", ca.to_string_lossy().into_owned());
        }
        if let Some(token) = &opts.traffic_token {
            flag("--traffic-token", "traffic token", token.clone());
        }
        if opts.api_enabled() {
            if let Some(url) = &opts.api_url {
                flag("--api-url", "API URL", url.clone());
            }
            if let Some(file) = self.api_key_file() {
                flag(
                    "--api-key-file",
                    "API key file",
                    file.to_string_lossy().into_owned(),
                );
            }
            if let Some(key) = &opts.name_key {
                flag("--name-key", "name key", key.clone());
            }
            if let Some(ttl) = opts.ttl {
                flag("--ttl", "time to live", ttl.to_string());
            }
            if let Some(keepalive) = opts.keepalive {
                flag("--keepalive", "keepalive", keepalive.to_string());
            }
            if opts.quota_warning == Some(false) {
                words.push(("flag", "--no-quota-warning".to_owned()));
            }
        } else {
            words.push(("flag", "--no-api".to_owned()));
        }
        words
    }

    /// The whole file.
    pub fn render(&self) -> Result<String, QuoteError> {
        let s = self.settings;
        let identity = ssh_config_arg(
            "identity file",
            &self.paths.display_for_ssh(&self.identity_file()),
            Expansion::Tokens,
        )?;
        let known_hosts = ssh_config_arg(
            "known_hosts file",
            &self.paths.display_for_ssh(&self.paths.known_hosts),
            Expansion::Tokens,
        )?;
        let mut out = String::new();
        let _ = write!(
            out,
            "# Written by novita-sshconfig from {}: edits here\n\
             # are replaced. Change it with `novita-sshconfig add|remove|config install`.\n",
            self.paths.display_for_ssh(&self.paths.settings)
        );
        for host in &s.hosts {
            let _ = write!(
                out,
                "\nHost {}{HOST_SUFFIX}\n  HostName {}\n",
                host.alias, host.id
            );
            if let Some(user) = host.user.as_deref().filter(|u| *u != s.user) {
                let _ = writeln!(out, "  User {user}");
            }
            if host.proxy != ProxyOptions::default() {
                let opts = host.proxy.or(&s.defaults);
                let _ = writeln!(out, "  ProxyCommand {}", self.proxy_command(&opts)?);
            }
        }
        let _ = write!(
            out,
            "\nHost *{HOST_SUFFIX}\n\
             \x20 ProxyCommand {}\n\
             \x20 User {}\n\
             \x20 IdentityFile {identity}\n\
             \x20 IdentitiesOnly yes\n\
             \x20 UserKnownHostsFile {known_hosts}\n\
             \x20 StrictHostKeyChecking accept-new\n\
             \x20 ServerAliveInterval {SERVER_ALIVE_INTERVAL}\n\
             \x20 ServerAliveCountMax {SERVER_ALIVE_COUNT_MAX}\n\
             \x20 ConnectTimeout {CONNECT_TIMEOUT}\n",
            self.proxy_command(&s.defaults)?,
            s.user,
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;
    use crate::settings::HostEntry;

    fn paths() -> KitPaths {
        KitPaths::new(Home {
            dir: PathBuf::from("/home/ann"),
            tilde_ok: true,
        })
    }

    #[test]
    fn wildcard_block_has_every_option() {
        let settings = Settings::default();
        let paths = paths();
        let cfg = KitConfig {
            settings: &settings,
            paths: &paths,
            proxy_path: Path::new("/usr/bin/novita-proxy"),
        };
        let text = cfg.render().expect("render");
        for line in [
            "Host *.novita",
            "  ProxyCommand /usr/bin/novita-proxy --domain us-phx-1.sandbox.novita.ai %h",
            "  User user",
            "  IdentityFile ~/.ssh/novita/id_ed25519",
            "  IdentitiesOnly yes",
            "  UserKnownHostsFile ~/.ssh/novita/known_hosts",
            "  StrictHostKeyChecking accept-new",
            "  ServerAliveInterval 30",
            "  ServerAliveCountMax 4",
            "  ConnectTimeout 60",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn alias_blocks_come_first_with_only_what_differs() {
        let mut settings = Settings::default();
        settings.upsert(HostEntry {
            alias: "plain".into(),
            id: "iabc".into(),
            user: None,
            proxy: ProxyOptions::default(),
        });
        settings.upsert(HostEntry {
            alias: "web".into(),
            id: "idef".into(),
            user: Some("ubuntu".into()),
            proxy: ProxyOptions {
                url: Some("ws://127.0.0.1:9000/{id}".into()),
                ..ProxyOptions::default()
            },
        });
        let paths = paths();
        let cfg = KitConfig {
            settings: &settings,
            paths: &paths,
            proxy_path: Path::new("/opt/my tools/novita-proxy"),
        };
        let text = cfg.render().expect("render");
        let plain = text.find("Host plain.novita\n  HostName iabc\n\nHost web.novita");
        assert!(plain.is_some(), "{text}");
        assert!(text.contains(
            "Host web.novita\n  HostName idef\n  User ubuntu\n  ProxyCommand '/opt/my tools/novita-proxy' --url 'ws://127.0.0.1:9000/{id}' %h\n"
        ), "{text}");
        assert!(text.find("Host web.novita") < text.find("Host *.novita"));
    }
}

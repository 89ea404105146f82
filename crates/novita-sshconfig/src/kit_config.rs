//! Renders `~/.ssh/novita/config`, the one ssh config file the kit owns: a block per named
//! host, then `Host *.novita` with the settings every sandbox needs. docs/novita-sshconfig.md
//! explains each option.

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

    /// The whole file, with the host key mode detected on this machine (see
    /// [`crate::host_keys::detect`]).
    pub fn render(&self) -> Result<String, QuoteError> {
        self.render_with(&|opts| crate::host_keys::detect(self.paths, opts))
    }

    /// The whole file, with the host key mode `host_keys` decides for each set of options.
    pub fn render_with(
        &self,
        host_keys: &dyn Fn(&ProxyOptions) -> crate::host_keys::Decision,
    ) -> Result<String, QuoteError> {
        let s = self.settings;
        let wildcard = host_keys(&s.defaults);
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
                let own = host_keys(&opts);
                if own.mode == crate::host_keys::Mode::Platform || own.mode != wildcard.mode {
                    let off = wildcard.mode == crate::host_keys::Mode::Platform;
                    out.push_str(&crate::host_keys::lines(
                        self.proxy_path,
                        &self.proxy_args(&opts),
                        &own,
                        off,
                    )?);
                }
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
             {}\
             \x20 ServerAliveInterval {SERVER_ALIVE_INTERVAL}\n\
             \x20 ServerAliveCountMax {SERVER_ALIVE_COUNT_MAX}\n\
             \x20 ConnectTimeout {CONNECT_TIMEOUT}\n",
            self.proxy_command(&s.defaults)?,
            s.user,
            crate::host_keys::lines(
                self.proxy_path,
                &self.proxy_args(&s.defaults),
                &wildcard,
                false,
            )?,
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Home;
    use crate::settings::HostEntry;

    fn trust_on_first_use(opts: &ProxyOptions) -> crate::host_keys::Decision {
        crate::host_keys::decide(&crate::host_keys::KeyState::None, Some((9, 2)), opts)
    }

    fn from_the_platform(opts: &ProxyOptions) -> crate::host_keys::Decision {
        let key = crate::host_keys::KeyState::File(PathBuf::from("/home/ann/.ssh/novita/api_key"));
        crate::host_keys::decide(&key, Some((9, 2)), opts)
    }

    #[test]
    fn with_an_api_key_host_keys_come_from_the_platform() {
        let mut settings = Settings::default();
        settings.upsert(HostEntry {
            alias: "web".into(),
            id: "idef".into(),
            user: None,
            proxy: ProxyOptions::default(),
        });
        settings.upsert(HostEntry {
            alias: "legacy".into(),
            id: "ighi".into(),
            user: None,
            proxy: ProxyOptions {
                domain: Some("sandbox.novita.ai".into()),
                ..ProxyOptions::default()
            },
        });
        settings.upsert(HostEntry {
            alias: "local".into(),
            id: "ijkl".into(),
            user: None,
            proxy: ProxyOptions {
                url: Some("ws://127.0.0.1:9000/".into()),
                ..ProxyOptions::default()
            },
        });
        let paths = paths();
        let cfg = KitConfig {
            settings: &settings,
            paths: &paths,
            proxy_path: Path::new("/opt/my tools/novita-proxy"),
        };
        let text = cfg.render_with(&from_the_platform).expect("render");
        let wildcard = &text[text.find("Host *.novita").expect("wildcard")..];
        assert!(wildcard.contains(
            "\n  KnownHostsCommand \"/opt/my tools/novita-proxy\" known-hosts --domain us-phx-1.sandbox.novita.ai --invocation %I --offered %K %H\n  StrictHostKeyChecking yes\n"
        ), "{text}");
        assert!(!wildcard.contains("accept-new"), "{text}");
        // An alias on the defaults inherits them; its HostName (the ID) is what ssh looks up.
        assert!(
            text.contains("Host web.novita\n  HostName idef\n\n"),
            "{text}"
        );
        // An alias with its own domain asks with that domain.
        assert!(text.contains("--domain sandbox.novita.ai --invocation %I --offered %K %H\n  StrictHostKeyChecking yes\n\nHost local.novita"), "{text}");
        // One with a custom URL trusts on first use, and turns the wildcard's command off.
        let local = &text[text.find("Host local.novita").expect("local")
            ..text.find("Host web.novita").expect("web")];
        assert!(
            local.ends_with("  KnownHostsCommand none\n  StrictHostKeyChecking accept-new\n\n"),
            "{local}"
        );
    }

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
        let text = cfg.render_with(&trust_on_first_use).expect("render");
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
        let text = cfg.render_with(&trust_on_first_use).expect("render");
        let plain = text.find("Host plain.novita\n  HostName iabc\n\nHost web.novita");
        assert!(plain.is_some(), "{text}");
        assert!(text.contains(
            "Host web.novita\n  HostName idef\n  User ubuntu\n  ProxyCommand '/opt/my tools/novita-proxy' --url 'ws://127.0.0.1:9000/{id}' %h\n"
        ), "{text}");
        assert!(text.find("Host web.novita") < text.find("Host *.novita"));
    }
}

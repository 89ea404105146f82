//! The sandbox template: the shell steps that make a Novita sandbox reachable with the
//! kit, rendered with handlebars into TypeScript (`template.ts` + `build.ts`, importing
//! from `novita-sandbox/code-interpreter`) or Python (`template.py` + `build.py`, from
//! `novita_sandbox`).
//!
//! The steps are plain POSIX sh that also works without systemd, and do not depend on
//! which user a builder runs a step as: every step names `root`, and the user is created
//! before anything is chowned to it. They:
//! - write an sshd drop-in that turns every login but public keys off, check it with
//!   `sshd -t` and `sshd -T` (the platform's base image allows empty-password root logins);
//! - create the login user if missing and add the public key to its `authorized_keys`;
//! - download the bridge (websocat, or novita-proxy for `serve`);
//! - install a start script that reloads or starts sshd, then runs the bridge on 8081.
//!
//! Only the public key goes into the template; every value in a command is validated and
//! single-quoted for the shell, then written as a JSON string literal, which is a valid
//! string literal in both TypeScript and Python.

use handlebars::Handlebars;
use novita_ssh_core::{validate, DEFAULT_PORT};
use serde::Serialize;

use crate::exit::{failure, Exit};
use crate::keys::canonical_public_line;

/// The sshd drop-in the template writes.
pub const DROP_IN: &str = "/etc/ssh/sshd_config.d/00-novita-ssh.conf";
/// The settings of the drop-in, as `sshd -T` prints them.
pub const SSHD_SETTINGS: [(&str, &str); 5] = [
    ("PasswordAuthentication", "no"),
    ("PermitEmptyPasswords", "no"),
    ("KbdInteractiveAuthentication", "no"),
    ("PermitRootLogin", "no"),
    ("AuthenticationMethods", "publickey"),
];
/// The start script the template installs.
pub const START_SCRIPT: &str = "/usr/local/bin/novita-ssh-start";
/// websocat 1.14.1 (the version the kit is tested with) for x86_64 Linux.
pub const WEBSOCAT_URL: &str =
    "https://github.com/vi/websocat/releases/download/v1.14.1/websocat.x86_64-unknown-linux-musl";
/// The Ubuntu image the template starts from.
pub const UBUNTU_IMAGE: &str = "24.04";
/// The template name `build` registers.
pub const TEMPLATE_NAME: &str = "novita-ssh";

/// The language of the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// `template.ts` and `build.ts`.
    Ts,
    /// `template.py` and `build.py`.
    Python,
}

/// What runs in the sandbox on port 8081 and forwards to sshd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bridge {
    /// `websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22`, as Novita documents.
    Websocat,
    /// `novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22`.
    NovitaProxy,
}

/// Everything a template is made from.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The login user in the sandbox.
    pub user: String,
    /// The public key line to authorize.
    pub public_key: String,
    /// The bridge.
    pub bridge: Bridge,
    /// Where the bridge binary is downloaded from (default: websocat's release).
    pub bridge_url: Option<String>,
}

/// One `runCmd` step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Comment lines shown above the step.
    pub comment: Vec<String>,
    /// The shell commands, joined with `&&` by the SDK.
    pub commands: Vec<String>,
}

/// The validated steps of a template, independent of the language.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The login user.
    pub user: String,
    /// apt packages.
    pub apt: Vec<&'static str>,
    /// The root steps, in order.
    pub steps: Vec<Step>,
    /// Comment lines above the start command.
    pub start_comment: Vec<String>,
    /// The start command.
    pub start_cmd: String,
}

/// Single-quotes a word for POSIX sh.
pub fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl Spec {
    /// Validates the spec and builds the steps.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let user = validate::user(&self.user)?;
        if user == "root" {
            return Err(failure(
                Exit::Usage,
                "the template turns root logins off (PermitRootLogin no): pass a normal \
                 user with --user, e.g. --user user",
            ));
        }
        let key = canonical_public_line(&self.public_key)?;
        let (bridge_name, default_url, bridge_cmd) = match self.bridge {
            Bridge::Websocat => (
                "websocat",
                Some(WEBSOCAT_URL),
                format!("/usr/local/bin/websocat -b --exit-on-eof ws-l:0.0.0.0:{DEFAULT_PORT} tcp:127.0.0.1:22"),
            ),
            Bridge::NovitaProxy => (
                "novita-proxy",
                None,
                format!("/usr/local/bin/novita-proxy serve --listen 0.0.0.0:{DEFAULT_PORT} --to 127.0.0.1:22"),
            ),
        };
        let url =
            match (&self.bridge_url, default_url) {
                (Some(url), _) => validate::http_url(url, false)?,
                (None, Some(url)) => url.to_owned(),
                (None, None) => return Err(failure(
                    Exit::Usage,
                    "--bridge novita-proxy needs --bridge-url: the http(s) URL of a Linux x86_64 \
                     novita-proxy binary the sandbox can download",
                )),
            };
        let q_user = sh_quote(&user);
        let q_key = sh_quote(&key);
        let bin = format!("/usr/local/bin/{bridge_name}");

        let mut drop_in = vec![
            "# Written by the novita-ssh template: public-key logins only. sshd keeps the first value it reads, and this file is read first."
                .to_owned(),
        ];
        drop_in.extend(SSHD_SETTINGS.iter().map(|(k, v)| format!("{k} {v}")));
        let expected: Vec<String> = SSHD_SETTINGS
            .iter()
            .map(|(k, v)| sh_quote(&format!("{} {v}", k.to_ascii_lowercase())))
            .collect();
        let sshd_step = Step {
            comment: vec![
                "Key-only sshd: the base image allows empty-password logins for root and user."
                    .into(),
                "A drop-in read first wins; sshd -T proves the settings are in effect.".into(),
            ],
            commands: vec![
                "mkdir -p /etc/ssh/sshd_config.d".into(),
                format!(
                    "printf '%s\\n' {} > {DROP_IN}",
                    drop_in.iter().map(|l| sh_quote(l)).collect::<Vec<_>>().join(" ")
                ),
                format!("chmod 0644 {DROP_IN}"),
                "if ! grep -Eqi '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\\.d/' /etc/ssh/sshd_config; then \
                 { printf '%s\\n' 'Include /etc/ssh/sshd_config.d/*.conf'; cat /etc/ssh/sshd_config; } > /etc/ssh/sshd_config.novita-ssh && \
                 mv /etc/ssh/sshd_config.novita-ssh /etc/ssh/sshd_config; fi"
                    .into(),
                "mkdir -p /run/sshd".into(),
                "chmod 0755 /run/sshd".into(),
                "ssh-keygen -A".into(),
                "/usr/sbin/sshd -t".into(),
                "effective=\"$(/usr/sbin/sshd -T)\"".into(),
                format!(
                    "for setting in {}; do printf '%s\\n' \"$effective\" | grep -qix \"$setting\" || \
                     {{ echo \"novita-ssh: sshd does not apply: $setting\" >&2; exit 1; }}; done",
                    expected.join(" ")
                ),
            ],
        };
        let user_step = Step {
            comment: vec![
                format!("The login user `{user}` (older builders create it only at the end) and its authorized key."),
                "Only the public key is here; it is appended once, owned by the user, 0700/0600."
                    .into(),
            ],
            commands: vec![
                format!("if ! id -u {q_user} >/dev/null 2>&1; then useradd --create-home --shell /bin/bash {q_user}; fi"),
                format!("home=\"$(getent passwd {q_user} | cut -d: -f6)\""),
                format!("case \"$home\" in /?*) ;; *) echo \"novita-ssh: \"{q_user}\" has no home directory\" >&2; exit 1 ;; esac"),
                format!("group=\"$(id -g {q_user})\""),
                format!("if [ ! -d \"$home\" ]; then mkdir -p \"$home\" && chown {q_user}:\"$group\" \"$home\"; fi"),
                "chmod go-w \"$home\"".into(),
                format!("install -d -m 0700 -o {q_user} -g \"$group\" \"$home/.ssh\""),
                "touch \"$home/.ssh/authorized_keys\"".into(),
                format!("if ! grep -qxF {q_key} \"$home/.ssh/authorized_keys\"; then printf '\\n%s\\n' {q_key} >> \"$home/.ssh/authorized_keys\"; fi"),
                format!("chown {q_user}:\"$group\" \"$home/.ssh/authorized_keys\""),
                "chmod 0600 \"$home/.ssh/authorized_keys\"".into(),
            ],
        };
        let bridge_step = Step {
            comment: vec![format!(
                "The bridge: {bridge_name} on port {DEFAULT_PORT}, forwarding to sshd on 22."
            )],
            commands: vec![
                format!("curl -fsSL -o {bin} {}", sh_quote(&url)),
                format!("chmod 0755 {bin}"),
                format!("{bin} --version"),
            ],
        };
        let script = start_script(&bridge_cmd);
        let start_step = Step {
            comment: vec![format!(
                "{START_SCRIPT}: reload or start sshd with the drop-in, then run the bridge."
            )],
            commands: vec![
                format!(
                    "printf '%s\\n' {} > {START_SCRIPT}",
                    script
                        .iter()
                        .map(|l| sh_quote(l))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                format!("chmod 0755 {START_SCRIPT}"),
            ],
        };
        Ok(Plan {
            user,
            apt: vec!["openssh-server", "rsync", "curl", "ca-certificates"],
            steps: vec![sshd_step, user_step, bridge_step, start_step],
            start_comment: vec![
                "Runs as root directly, or through sudo when the builder's last user is not root."
                    .into(),
            ],
            start_cmd: format!(
                "if [ \"$(id -u)\" -eq 0 ]; then exec {START_SCRIPT}; else exec sudo -n {START_SCRIPT}; fi"
            ),
        })
    }
}

/// The lines of the start script: sshd with the drop-in, then the bridge in the foreground
/// (as `nobody` when setpriv is there: the bridge needs no privileges).
fn start_script(bridge_cmd: &str) -> Vec<String> {
    [
        "#!/bin/sh",
        "# Written by the novita-ssh template. Makes sure sshd runs with the key-only drop-in,",
        "# then bridges the WebSocket port to sshd. Runs as root.",
        "set -u",
        "listening_on_22() {",
        "  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == \"0A\" && $2 ~ /:0016$/ { found = 1 } END { exit !found }'",
        "}",
        "mkdir -p /run/sshd && chmod 0755 /run/sshd",
        "if ! /usr/sbin/sshd -t; then echo 'novita-ssh: the sshd configuration is invalid (see sshd -t)' >&2; exit 1; fi",
        "if listening_on_22; then",
        "  # Running: make it read the configuration again (systemd, init script, or a signal).",
        "  if [ -s /run/sshd.pid ] && kill -HUP \"$(cat /run/sshd.pid)\" 2>/dev/null; then :",
        "  elif service ssh reload >/dev/null 2>&1; then :",
        "  else pkill -HUP -x sshd || true",
        "  fi",
        "else",
        "  /usr/sbin/sshd",
        "fi",
        "tries=0",
        "until listening_on_22; do",
        "  tries=$((tries + 1))",
        "  if [ \"$tries\" -gt 30 ]; then echo 'novita-ssh: sshd does not listen on port 22' >&2; exit 1; fi",
        "  sleep 1",
        "done",
        "if command -v setpriv >/dev/null 2>&1 && id -u nobody >/dev/null 2>&1; then",
        "  exec setpriv --reuid=\"$(id -u nobody)\" --regid=\"$(id -g nobody)\" --clear-groups --no-new-privs -- BRIDGE",
        "fi",
        "exec BRIDGE",
    ]
    .iter()
    .map(|l| l.replace("BRIDGE", bridge_cmd))
    .collect()
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The file name (`template.ts`, ...).
    pub name: &'static str,
    /// Its contents.
    pub contents: String,
}

#[derive(Serialize)]
struct RenderData<'a> {
    version: &'static str,
    user: &'a str,
    image: String,
    apt: String,
    steps: Vec<Step>,
    start_comment: &'a [String],
    start_cmd: String,
    port: u16,
    name: String,
}

fn literal(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Renders the files of a plan in a language.
pub fn render(plan: &Plan, lang: Lang) -> anyhow::Result<Vec<File>> {
    let mut hb = Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    hb.set_strict_mode(true);
    let (names, sources): ([&'static str; 2], [&str; 2]) = match lang {
        Lang::Ts => (
            ["template.ts", "build.ts"],
            [
                include_str!("../templates/template.ts.hbs"),
                include_str!("../templates/build.ts.hbs"),
            ],
        ),
        Lang::Python => (
            ["template.py", "build.py"],
            [
                include_str!("../templates/template.py.hbs"),
                include_str!("../templates/build.py.hbs"),
            ],
        ),
    };
    let data = RenderData {
        version: env!("CARGO_PKG_VERSION"),
        user: &plan.user,
        image: literal(UBUNTU_IMAGE),
        apt: format!(
            "[{}]",
            plan.apt
                .iter()
                .map(|p| literal(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        steps: plan
            .steps
            .iter()
            .map(|s| Step {
                comment: s.comment.clone(),
                commands: s.commands.iter().map(|c| literal(c)).collect(),
            })
            .collect(),
        start_comment: &plan.start_comment,
        start_cmd: literal(&plan.start_cmd),
        port: DEFAULT_PORT,
        name: literal(TEMPLATE_NAME),
    };
    names
        .iter()
        .zip(sources)
        .map(|(name, source)| {
            let contents = hb
                .render_template(source, &data)
                .map_err(|e| anyhow::anyhow!("cannot render {name}: {e}"))?;
            Ok(File { name, contents })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSDQhBdGl8U0mEdaDxGfS2uj3rR5LZB7p3Cn9xKNvwQ it's me@host";

    fn spec() -> Spec {
        Spec {
            user: "user".into(),
            public_key: KEY.into(),
            bridge: Bridge::Websocat,
            bridge_url: None,
        }
    }

    #[test]
    fn the_key_line_is_quoted_for_the_shell() {
        let plan = spec().plan().expect("plan");
        let all = plan
            .steps
            .iter()
            .flat_map(|s| s.commands.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains(r"'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSDQhBdGl8U0mEdaDxGfS2uj3rR5LZB7p3Cn9xKNvwQ it'\''s me@host'"));
        assert!(all.contains("PermitRootLogin no"));
        assert!(all.contains("'authenticationmethods publickey'"));
        assert!(!all.contains("PRIVATE"));
    }

    #[test]
    fn hostile_values_are_refused() {
        for user in ["root", "a b", "-x", "x;y"] {
            let s = Spec {
                user: user.into(),
                ..spec()
            };
            assert!(s.plan().is_err(), "{user}");
        }
        let s = Spec {
            public_key: "ssh-ed25519 AAAA\n; rm -rf /".into(),
            ..spec()
        };
        assert!(s.plan().is_err());
        let s = Spec {
            bridge: Bridge::NovitaProxy,
            ..spec()
        };
        assert!(s.plan().is_err(), "novita-proxy without a URL");
        let s = Spec {
            bridge: Bridge::NovitaProxy,
            bridge_url: Some("https://u:p@h/x".into()),
            ..spec()
        };
        assert!(s.plan().is_err(), "credentials in a template");
    }

    #[test]
    fn both_languages_render() {
        let plan = Spec {
            bridge: Bridge::NovitaProxy,
            bridge_url: Some("http://127.0.0.1:8000/novita-proxy".into()),
            ..spec()
        }
        .plan()
        .expect("plan");
        let ts = render(&plan, Lang::Ts).expect("ts");
        assert_eq!(ts[0].name, "template.ts");
        assert!(ts[0]
            .contents
            .contains("from 'novita-sandbox/code-interpreter'"));
        assert!(ts[0].contents.contains("waitForPort(8081)"));
        assert!(ts[0]
            .contents
            .contains("serve --listen 0.0.0.0:8081 --to 127.0.0.1:22"));
        assert!(!ts[0].contents.contains("\n\n\n"), "{}", ts[0].contents);
        let py = render(&plan, Lang::Python).expect("py");
        assert_eq!(py[1].name, "build.py");
        assert!(py[0].contents.contains("wait_for_port(8081)"));
        assert!(py[0].contents.contains("user=\"root\""));
    }
}

//! The command line: every command and flag with the help text users read (also the
//! source of the man page and shell completions, see [`command`]).

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use novita_ssh_docs::Generate;

use crate::template::{Bridge, Lang};

/// The version line: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NOVITA_SSH_COMMIT"),
    ")"
);

const AFTER_HELP: &str = "\
Files:
  ~/.ssh/novita/config         the kit's ssh config (generated; included from ~/.ssh/config)
  ~/.ssh/novita/settings.json  defaults and named hosts the config is generated from
  ~/.ssh/novita/id_ed25519     the key (and .pub)
  ~/.ssh/novita/known_hosts    host keys of sandboxes
  ~/.ssh/novita/api_key        the Novita API key (mode 0600), written by login
  ~/.ssh/config                gets a marked section with one Include line
  ~/.ssh/config.novita-ssh.bak the previous version of ~/.ssh/config

Examples:
  novita-sshconfig init                       key, ssh config and template in ./novita-ssh-template
  novita-sshconfig login                      store the API key (prompted, or from stdin)
  novita-sshconfig create myproj              a sandbox from the template, named myproj
  ssh myproj.novita                           connect by name (a paused sandbox is resumed)
  ssh <sandbox-id>.novita                     or by ID, with or without an API key
  novita-sshconfig list                       sandboxes: ID, name, state, template, end time
  novita-sshconfig add web <sandbox-id>       ssh web.novita (also listed in VS Code Remote-SSH)
  novita-sshconfig doctor --connect web       check the setup and the sandbox's sshd
  novita-sshconfig config uninstall           undo: ~/.ssh/config is back to its bytes before init
";

/// Keys, ssh config and sandbox template for reaching Novita sandboxes with plain OpenSSH.
///
/// After `novita-sshconfig init`, `ssh <name>.novita` (or `<sandbox-id>.novita`), scp, rsync,
/// sftp and VS Code Remote-SSH reach a sandbox built from the generated template, through
/// `novita-proxy`. `login` stores the API key; `create`, `list`, `pause`, `resume` and
/// `delete` manage sandboxes.
#[derive(Debug, Parser)]
#[command(
    name = "novita-sshconfig",
    version = VERSION,
    after_help = format!("{AFTER_HELP}\n{}", crate::exit::help()),
    max_term_width = 100
)]
pub struct Cli {
    /// Print what is read, written and run, on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Answer yes to every question and never prompt (for scripts): no confirmation before
    /// ~/.ssh/config changes, no passphrase prompt (the key is made without one unless
    /// --passphrase-file is given).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Print a man page or a shell completion script on stdout, for packaging.
    #[arg(long, value_enum, hide = true, exclusive = true)]
    pub generate: Option<Generate>,

    /// The command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set everything up: create the key if absent, install the ssh config, write the
    /// template files, and print the next steps. A second run changes nothing and says so.
    Init(InitArgs),
    /// Create the kit's ed25519 key at ~/.ssh/novita/id_ed25519 (and .pub), or use an
    /// existing pair with --key. An existing key is never overwritten.
    Keygen(KeygenArgs),
    /// Install, remove or show the ssh config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Store your Novita API key in ~/.ssh/novita/api_key (mode 0600), where novita-proxy
    /// finds it even when VS Code starts it without your environment. The key is read from
    /// a prompt that does not echo it, or from stdin when stdin is not a terminal
    /// (`novita-sshconfig login < keyfile`); never from the command line. The API is asked
    /// first whether it accepts the key. A different stored key is replaced only after you
    /// confirm, or with --yes.
    Login(LoginArgs),
    /// Delete the stored API key (~/.ssh/novita/api_key). NOVITA_API_KEY, when set, still
    /// applies.
    Logout,
    /// Create a sandbox from the kit's template, named NAME: then `ssh NAME.novita` reaches
    /// it. Refused when a running or paused sandbox already has that name.
    Create(CreateArgs),
    /// Name a sandbox: `ssh ALIAS.novita` then reaches SANDBOX_ID. Adding an existing alias
    /// replaces it.
    Add(AddArgs),
    /// Remove a named host.
    Remove(RemoveArgs),
    /// List your running and paused sandboxes (ID, name, state, template, end time) and the
    /// named hosts. Without an API key, only the named hosts.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Pause a sandbox: its memory and files are kept, open sessions end. `ssh NAME.novita`
    /// (or `resume`) resumes it.
    Pause(TargetArgs),
    /// Resume a paused sandbox (a running one gets its time to live extended).
    #[command(visible_alias = "start")]
    Resume(TargetArgs),
    /// Kill a sandbox: it and its files are gone for good. Asks first on a terminal.
    #[command(visible_alias = "kill")]
    Delete(TargetArgs),
    /// Write the sandbox template (template.ts + build.ts, or template.py + build.py) that
    /// makes sshd key-only, authorizes your public key and runs the WebSocket bridge.
    Template(TemplateArgs),
    /// Check the setup, one line per check with the fix: novita-proxy, the key, the Include,
    /// what `ssh -G HOST` really uses, the OpenSSH version; with --connect, the sandbox.
    Doctor(DoctorArgs),
}

/// `config` subcommands.
// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write ~/.ssh/novita/config and the marked Include section at the top of
    /// ~/.ssh/config. Every other byte of ~/.ssh/config stays as it was; a previous version
    /// is kept as config.novita-ssh.bak beside it.
    Install(InstallArgs),
    /// Remove the marked section from ~/.ssh/config (which is then byte for byte what it
    /// was before), ~/.ssh/novita/config and settings.json. Keys (the API key too) stay
    /// unless --purge-keys.
    Uninstall(UninstallArgs),
    /// Show the kit's config and whether ~/.ssh/config includes it. Never writes.
    Show(ShowArgs),
}

/// Options shared by the commands that change files.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Show a unified diff of every file that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The ssh config to put the Include into (default: ~/.ssh/config, or the one used
    /// at install time).
    #[arg(long, value_name = "PATH")]
    pub ssh_config: Option<PathBuf>,
}

/// How novita-proxy reaches sandboxes; written into the ProxyCommand, since VS Code starts
/// it without the shell's environment.
#[derive(Debug, Clone, Default, Args)]
pub struct ProxyArgs {
    /// The sandbox domain: sandboxes are reached at wss://8081-<id>.<DOMAIN>/
    /// [default: us-phx-1.sandbox.novita.ai; the older docs use sandbox.novita.ai]
    #[arg(long, value_name = "DOMAIN", env = "NOVITA_DOMAIN")]
    pub domain: Option<String>,

    /// A whole ws:// or wss:// URL instead of the domain, with optional {id} and {port}
    /// placeholders (a self-hosted bridge, another port).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// An HTTP(S) proxy novita-proxy connects through, e.g. http://proxy.corp:3128
    /// (user:password@ allowed; it is then stored in ~/.ssh/novita/config, mode 0600).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Extra CA certificates (PEM) novita-proxy trusts; for private edges and tests.
    #[arg(long, value_name = "FILE", hide = true)]
    pub cacert: Option<PathBuf>,

    /// Connect to HOST:PORT instead of the URL's host, keeping the name for TLS and the
    /// Host header (like curl's --connect-to); for tests.
    #[arg(long, value_name = "HOST:PORT", hide = true)]
    pub connect_to: Option<String>,

    /// Whether novita-proxy calls the Novita API. On (the default) it finds sandboxes by
    /// name, resumes paused ones, fetches a private sandbox's traffic token and keeps the
    /// sandbox alive while connected (with the API key from `novita-sshconfig login`);
    /// off, it never calls the API (sandbox IDs only, no key needed).
    #[arg(long, value_enum, value_name = "on|off")]
    pub api: Option<Switch>,

    /// The API's base URL [default: https://api.<DOMAIN>]; http:// is accepted, for a
    /// self-hosted or test API.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// The metadata key whose value is a sandbox's name: `ssh NAME.novita` reaches the
    /// sandbox whose metadata has KEY=NAME [default: name].
    #[arg(long, value_name = "KEY")]
    pub name_key: Option<String>,

    /// The time to live novita-proxy asks the API for when it connects and at each
    /// keepalive: the sandbox ends (or pauses) that many seconds after the session ends
    /// [default: 600; at most 2592000, 30 days].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub ttl: Option<u64>,

    /// Seconds between the keepalives that extend the sandbox's time to live while a session
    /// is open; 0 turns them off [default: a third of the time to live].
    #[arg(long, value_name = "SECS")]
    pub keepalive: Option<u64>,

    /// Whether novita-proxy warns (one line on stderr, which ssh shows) before the
    /// account's maximum sandbox length ends a session [default: on].
    #[arg(long, value_enum, value_name = "on|off")]
    pub quota_warning: Option<Switch>,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

impl Switch {
    /// True for on.
    pub fn is_on(self) -> bool {
        self == Switch::On
    }
}

/// Options of `config install` (and `init`).
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Where files go and how.
    #[command(flatten)]
    pub write: WriteArgs,

    /// How sandboxes are reached.
    #[command(flatten)]
    pub proxy: ProxyArgs,

    /// The default login user in sandboxes.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// The novita-proxy the ProxyCommand runs [default: the first on PATH (not resolved
    /// through symlinks, so upgrades keep working), else the one next to this program].
    #[arg(long, value_name = "PATH")]
    pub proxy_command_path: Option<PathBuf>,
}

/// Options of `config uninstall`.
#[derive(Debug, Clone, Args)]
pub struct UninstallArgs {
    /// Where files go and how.
    #[command(flatten)]
    pub write: WriteArgs,

    /// Also delete the kit's key pair, known_hosts and the API key (and ~/.ssh/novita when
    /// empty).
    #[arg(long)]
    pub purge_keys: bool,
}

/// Options of `config show`.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Accepted for symmetry with install and uninstall; show never writes.
    #[arg(long)]
    pub dry_run: bool,

    /// The ssh config to inspect (default: ~/.ssh/config, or the one used at install time).
    #[arg(long, value_name = "PATH")]
    pub ssh_config: Option<PathBuf>,
}

/// Options of `keygen` (and `init`).
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Read the passphrase for the new key from the first line of FILE. Without it, a
    /// terminal prompts (empty for none) unless --yes is given.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Use this existing private key (its .pub beside it) instead of ~/.ssh/novita/id_ed25519.
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
}

/// Options of `keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// The key to make or use.
    #[command(flatten)]
    pub key: KeyArgs,

    /// Move an existing ~/.ssh/novita/id_ed25519 pair aside (renamed with a UTC timestamp)
    /// and make a new one.
    #[arg(long)]
    pub force: bool,
}

/// Options of `template` (and `init`).
#[derive(Debug, Clone, Args)]
pub struct TemplateOptions {
    /// The language of the template files.
    #[arg(long, value_enum, default_value_t = Lang::Ts)]
    pub lang: Lang,

    /// The folder the template files go into.
    #[arg(long, value_name = "DIR", default_value = "novita-ssh-template")]
    pub out: PathBuf,

    /// What forwards the sandbox's port 8081 to sshd.
    #[arg(long, value_enum, default_value_t = Bridge::Websocat)]
    pub bridge: Bridge,

    /// Where the sandbox downloads the bridge binary (http or https). Required with
    /// --bridge novita-proxy; websocat defaults to its 1.14.1 release for x86_64 Linux.
    #[arg(long, value_name = "URL")]
    pub bridge_url: Option<String>,
}

/// Options of `template`.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// Language, folder and bridge.
    #[command(flatten)]
    pub template: TemplateOptions,

    /// The login user the key is authorized for [default: the configured user, `user`].
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Authorize this public key file instead of the kit's key's .pub.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,

    /// Replace template files that differ from what would be written.
    #[arg(long)]
    pub force: bool,

    /// Show a unified diff of the files that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// ssh config options.
    #[command(flatten)]
    pub install: InstallArgs,

    /// Key options.
    #[command(flatten)]
    pub key: KeyArgs,

    /// Template options.
    #[command(flatten)]
    pub template: TemplateOptions,

    /// Do not write the template files.
    #[arg(long)]
    pub no_template: bool,
}

/// Options of `add`.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// The name: `ssh ALIAS.novita` (letters, digits, '_' and '-').
    pub alias: String,

    /// The sandbox ID, as printed by Sandbox.create() (a trailing .novita is accepted).
    pub sandbox_id: String,

    /// How this sandbox is reached, when it differs from the defaults.
    #[command(flatten)]
    pub proxy: ProxyArgs,

    /// The login user for this host, when it differs from the default.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// The traffic access token of a private sandbox (stored in ~/.ssh/novita/config, mode
    /// 0600, and visible to local users in the process list while connected).
    #[arg(long, value_name = "TOKEN")]
    pub traffic_token: Option<String>,

    /// Show a unified diff of every file that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `login`.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Store the key without asking the API whether it accepts it (offline).
    #[arg(long)]
    pub no_verify: bool,

    /// A key on the command line, which is refused without being shown (other users can
    /// read command lines): it is here only to say so.
    #[arg(hide = true, value_name = "KEY")]
    pub refused_key: Option<String>,
}

/// Options of `create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The sandbox's name (lower-case letters, digits, '_' and '-'): stored in its metadata
    /// under the name key (default `name`), so that `ssh NAME.novita` finds it.
    pub name: String,

    /// The template to create it from: the one `novita-sshconfig template` writes is
    /// registered as novita-ssh.
    #[arg(long, value_name = "TEMPLATE", default_value = crate::template::TEMPLATE_NAME)]
    pub template: String,

    /// Seconds the sandbox lives before it ends (or pauses, with --auto-pause); connecting
    /// with ssh extends it [default: the configured --ttl, else 600].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub ttl: Option<u64>,

    /// Pause instead of ending when the time to live runs out; `ssh NAME.novita` resumes it.
    #[arg(long)]
    pub auto_pause: bool,

    /// Resume a paused sandbox when traffic reaches it (region domains only).
    #[arg(long)]
    pub auto_resume: bool,

    /// Accept traffic only with the sandbox's traffic access token (novita-proxy fetches it
    /// through the API when it connects).
    #[arg(long)]
    pub private: bool,

    /// More metadata, KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
}

/// Options of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print the sandboxes as a JSON array, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// The sandbox a command acts on.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A sandbox name, a sandbox ID, or an alias from `add` (each with or without .novita).
    #[arg(value_name = "NAME|ID")]
    pub sandbox: String,
}

/// Options of `remove`.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The alias to remove.
    pub alias: String,

    /// Show a unified diff of every file that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// The host to check: ALIAS, ALIAS.novita, SANDBOX_ID or SANDBOX_ID.novita
    /// [default: a placeholder sandbox, which checks the `*.novita` settings].
    pub host: Option<String>,

    /// Also connect: ask the sandbox's sshd which logins it offers (password or
    /// keyboard-interactive is a failure) and run a command through it.
    #[arg(long)]
    pub connect: bool,

    /// The ssh config to check (default: ~/.ssh/config, or the one used at install time).
    #[arg(long, value_name = "PATH")]
    pub ssh_config: Option<PathBuf>,
}

/// The clap command, for man pages and completions (`--generate`, packaging).
pub fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn help_lists_exit_codes() {
        let help = command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"));
        assert!(help.contains("4  the ssh config is read-only"));
    }
}

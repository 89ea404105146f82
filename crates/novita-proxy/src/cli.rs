//! Command-line interface.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use novita_ssh_core::quote_for_message;
use novita_ssh_core::validate::{self, HostPort, HostPortFault};
use novita_ssh_docs::Generate;

use crate::exit::{Exit, Failure};

/// The version shown by `--version`: the crate version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NOVITA_SSH_COMMIT"),
    ")"
);

/// SSH ProxyCommand over WebSocket for Novita sandboxes.
///
/// Connects stdin/stdout to wss://<port>-<id>.<domain>/, where a WebSocket bridge in the
/// sandbox (websocat or `novita-proxy serve`) forwards the bytes to sshd. Use it as
///
///     ssh -o 'ProxyCommand=novita-proxy %h' user@<sandbox-id>
///
/// Only tunnel bytes are ever written to stdout. Failures print one line on stderr,
/// "novita-proxy: <problem>: <fix>", and exit with a code from the table below.
#[derive(Debug, Parser)]
#[command(
    name = "novita-proxy",
    version = VERSION,
    after_help = crate::exit::help(),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
)]
pub struct Cli {
    /// Run the WebSocket-to-TCP bridge (inside the sandbox).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The client options.
    #[command(flatten)]
    pub client: ClientArgs,

    /// Print a man page or a shell completion script to stdout (for packaging).
    #[arg(long, value_enum, value_name = "WHAT", hide = true)]
    pub generate: Option<Generate>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept WebSocket connections and bridge each one to a TCP address (run this in the sandbox).
    ///
    /// Does what `websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22` does in the
    /// documented template, for many connections at once:
    ///
    ///     novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22
    ///
    /// Every WebSocket upgrade (on any path) gets its own TCP connection to --to; bytes
    /// flow both ways as binary messages; when either side ends, the other is closed
    /// cleanly. Plain HTTP requests get 426, broken handshakes 400, and a target that
    /// cannot be reached 502. Exits 0 on SIGTERM or SIGINT, 1 if it cannot listen,
    /// 2 on bad arguments.
    Serve(ServeArgs),

    /// Print a sandbox's host keys as the Novita platform reports them, as known_hosts
    /// lines (for ssh's KnownHostsCommand).
    ///
    /// With `StrictHostKeyChecking yes` and this line in the ssh config (novita-sshconfig
    /// writes both when an API key is configured and OpenSSH is 8.5 or newer):
    ///
    ///     KnownHostsCommand novita-proxy known-hosts --invocation %I --offered %K %H
    ///
    /// ssh knows a sandbox's host key before the first connection, and refuses any other:
    /// no trust on first use. HOST is a sandbox ID or name as ssh looks it up (%H: myproj.novita,
    /// <id>, [<id>]:2222), resolved to a sandbox ID as the client does. The API (with your
    /// key) gives envd's access token, and envd serves the sandbox's
    /// /etc/ssh/ssh_host_{ed25519,ecdsa,rsa}_key.pub over the TLS-verified edge; each must
    /// be a public host key of its type, or nothing is printed. Keys are recorded per
    /// sandbox ID (<cache dir>/novita-ssh/host-keys/<id>); a different key for a recorded
    /// ID is refused, never replaced. Takes the client's options (--domain, --api-url,
    /// --connect-to, --cacert, --proxy, ...); only those that reach the API and envd matter.
    /// Failures print one line on stderr and exit non-zero (codes 17-20 for envd and
    /// the keys), so that ssh stops.
    KnownHosts(Box<KnownHostsArgs>),
}

/// Options of `novita-proxy known-hosts`.
#[derive(Debug, Args)]
pub struct KnownHostsArgs {
    /// The client's options; its HOST is the first host asked about.
    #[command(flatten)]
    pub client: ClientArgs,

    /// More hosts to print keys for.
    #[arg(value_name = "MORE_HOSTS")]
    pub more_hosts: Vec<String>,

    /// Which lookup ssh makes (%I): ORDER (before the key exchange: recorded keys only, no
    /// network), HOSTNAME (the keys, fetched when not recorded; the default) or ADDRESS
    /// (nothing: sandboxes have no address of their own).
    #[arg(long, value_name = "WHEN", value_parser = ["ORDER", "HOSTNAME", "ADDRESS"], ignore_case = true)]
    pub invocation: Option<String>,

    /// The host key the sandbox offered, in base64 (%K; NONE when there is none yet). A key
    /// the platform does not report for the sandbox is refused with one line saying so
    /// (exit 20), instead of ssh's REMOTE HOST IDENTIFICATION HAS CHANGED.
    #[arg(long, value_name = "BASE64")]
    pub offered: Option<String>,
}

/// Options of the client (`novita-proxy HOST`).
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The sandbox to connect to, as ssh passes it with %h: a sandbox ID
    /// (iz3m5v8axsybc877b539s), <id>.novita, <id>-<8 hex digits>, or a sandbox name
    /// (myproj, myproj.novita: found through the Novita API, which needs an API key).
    /// A label of 20 or more lower-case letters and digits is an ID; anything else is a
    /// name of lower-case letters, digits, '_' and '-'. Anything else is refused with exit
    /// code 2 before any network I/O. Optional only with a --url that has no {id}.
    #[arg(value_name = "HOST")]
    pub host: Option<String>,

    /// The sandbox domain: the URL is wss://<port>-<id>.<domain>/. The legacy domain of
    /// the older documentation is sandbox.novita.ai.
    #[arg(long, env = "NOVITA_DOMAIN", value_name = "DOMAIN", default_value = novita_ssh_core::DEFAULT_DOMAIN)]
    pub domain: String,

    /// The sandbox port the WebSocket bridge listens on.
    #[arg(long, value_name = "PORT", default_value_t = novita_ssh_core::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// The whole WebSocket URL instead of the one built from HOST, --port and --domain
    /// (ws:// or wss://). "{id}" is replaced by the sandbox ID from HOST and "{port}" by
    /// --port, e.g. wss://{port}-{id}.example.com/ or ws://127.0.0.1:8081/. With --url,
    /// HOST is always read as a sandbox ID, never as a name.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Open the TCP connection to HOST:PORT instead of the URL's host, while keeping the
    /// URL's host for TLS (SNI and certificate check) and the Host header, like curl's
    /// --connect-to. Through a proxy, this is the CONNECT destination.
    #[arg(long, value_name = "HOST:PORT")]
    pub connect_to: Option<String>,

    /// An extra HTTP header for the WebSocket upgrade request, as 'Name: value'.
    /// Repeatable. Headers of the upgrade itself (Host, Upgrade, Sec-WebSocket-*) cannot
    /// be set.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// The traffic access token of a private sandbox, sent as the
    /// e2b-traffic-access-token header. Without it, a private sandbox answers 403.
    #[arg(
        long,
        env = "NOVITA_TRAFFIC_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub traffic_token: Option<String>,

    /// A PEM file with extra CA certificates to trust (a corporate TLS proxy, a test CA),
    /// for the sandbox edge and an https:// proxy alike; repeat it for several files.
    /// The bundled Mozilla roots and the OS trust store are always trusted (SSL_CERT_FILE
    /// and SSL_CERT_DIR replace the OS store, as in OpenSSL); verification can not be
    /// turned off.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,

    /// Give up opening the connection (DNS, TCP, proxy, TLS and the WebSocket upgrade)
    /// after this many seconds.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_secs)]
    pub connect_timeout: Duration,

    /// Send a WebSocket ping after this many seconds; 0 turns pings off. Pings keep idle
    /// connections open through edges and proxies and detect a dead connection.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub ping_interval: Duration,

    /// Exit with code 9 ("connection to the sandbox was lost") when nothing, not even a
    /// pong, arrived for this many seconds. Default: three ping intervals.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub ping_timeout: Option<Duration>,

    /// Keep retrying for up to this many seconds, with backoff, while the connection
    /// fails before the WebSocket opens in a way that can pass: DNS failure, refused
    /// connection, 502/503/504 while a sandbox starts. Never retries once bytes flowed.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
    pub wait: Duration,

    /// Connect through this HTTP proxy with CONNECT: http://[user:password@]host:port or
    /// https://... . Replaces HTTPS_PROXY/https_proxy/ALL_PROXY/all_proxy (used when this
    /// flag is absent); NO_PROXY/no_proxy still apply, with curl's rules.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,

    /// Connect directly, ignoring --proxy and the proxy environment variables.
    #[arg(long)]
    pub no_proxy: bool,

    /// The Novita API's base URL. Default: https://api.<domain>. With an API key
    /// (NOVITA_API_KEY, or the key file `novita-sshconfig login` writes), HOST may be a
    /// sandbox name, and the sandbox is resumed, its traffic token fetched and its timeout
    /// extended while connected.
    #[arg(long, env = "NOVITA_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// The API key file (one line, mode 0600; a file others can read is refused).
    /// Default: ~/.ssh/novita/api_key. NOVITA_API_KEY, when set, is used instead. The
    /// key itself is never accepted on the command line.
    #[arg(long, env = "NOVITA_API_KEY_FILE", value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// Never call the Novita API, even with a key: HOST must be a sandbox ID, and the
    /// sandbox is neither resumed nor kept alive.
    #[arg(long)]
    pub no_api: bool,

    /// The metadata key that holds sandbox names: `ssh NAME.novita` reaches the one
    /// running or paused sandbox whose metadata has KEY=NAME.
    #[arg(long, value_name = "KEY", default_value = novita_ssh_core::DEFAULT_NAME_KEY)]
    pub name_key: String,

    /// The time to live to ask for: on connecting, and at every keep-alive, the sandbox
    /// is made to live at least this many seconds from then (never shortened).
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400 * 30))]
    pub ttl: u64,

    /// Extend the sandbox's time to live every SECS seconds while connected (default: a
    /// third of --ttl); 0 turns the keep-alive off, so the sandbox ends or pauses on its
    /// own schedule even during a session.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86_400 * 30))]
    pub keepalive: Option<u64>,

    /// Do not warn when the account's maximum sandbox length is about to end the session.
    #[arg(long)]
    pub no_quota_warning: bool,

    /// Log what happens to stderr (-v: connection steps; -vv: details, with the TLS
    /// library's own).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Append the log to this file instead of stderr (at least -v level). The final
    /// error line still goes to stderr too.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// Options of `novita-proxy serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to accept WebSocket connections on, e.g. 0.0.0.0:8081.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: String,

    /// The TCP address each WebSocket is bridged to, e.g. 127.0.0.1:22.
    #[arg(long, value_name = "ADDR:PORT")]
    pub to: String,

    /// Close connections that have not completed the WebSocket handshake after this many
    /// seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub handshake_timeout: Duration,

    /// Give up connecting to --to after this many seconds (the client then gets 502).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,

    /// At most this many connections at once (handshaking or bridging), which bounds
    /// memory under a flood. When full, the oldest unfinished handshake is dropped to make
    /// room for a new connection; when all are bridged, new ones are closed at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Close a WebSocket (code 1009) that sends a message longer than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_message_size: u64,

    /// Send a ping to each client after this many seconds of the interval; 0 (the
    /// default) sends none: clients such as novita-proxy ping on their own.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
    pub ping_interval: Duration,

    /// With --ping-interval, close a connection from which nothing arrived for this many
    /// seconds. Default: three ping intervals.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub ping_timeout: Option<Duration>,

    /// Log one line per connection (-v) and details (-vv) to stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Append the log to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// Parses a number of seconds (`15`, `0.5`).
pub fn parse_secs(value: &str) -> Result<Duration, String> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!(
            "{value:?} is not a number of seconds between 0 and 1e9"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `--connect-to HOST:PORT` (IPv6 as `[::1]:PORT`) into the host (an IPv6 address
/// without brackets) and the port.
pub fn parse_connect_to(value: &str) -> Result<(String, u16), Failure> {
    host_port_flag("--connect-to", value).map(|pair| (pair.host, pair.port))
}

/// Parses `serve --to HOST:PORT` into `host:port` (IPv6 in brackets), ready to connect to.
pub fn parse_to(value: &str) -> Result<String, Failure> {
    host_port_flag("--to", value).map(|pair| pair.to_string())
}

/// Checks `serve --listen ADDR:PORT`; port 0 (any free port) is fine for listening.
pub fn check_listen(value: &str) -> Result<(), Failure> {
    match validate::host_port(value, true) {
        Ok(_) => Ok(()),
        Err(_) => Err(Failure::new(
            Exit::Usage,
            format!(
                "invalid --listen {}: pass ADDR:PORT, e.g. 0.0.0.0:8081",
                quote_for_message(value)
            ),
        )),
    }
}

/// A `HOST:PORT` flag other than `--listen`, with the reason it was refused.
fn host_port_flag(flag: &str, value: &str) -> Result<HostPort, Failure> {
    validate::host_port(value, false).map_err(|fault| {
        let why = match fault {
            HostPortFault::NoPort => "there is no :PORT",
            HostPortFault::PortNotNumber | HostPortFault::PortOutOfRange(_) => {
                "the port must be 1-65535"
            }
            HostPortFault::NotIpv6 => "not an IPv6 address in brackets",
            HostPortFault::BadHost => "the host is not a valid name or address",
        };
        Failure::new(
            Exit::Usage,
            format!(
                "invalid {flag} {}: {why}: pass HOST:PORT, e.g. 127.0.0.1:8443",
                quote_for_message(value)
            ),
        )
    })
}

/// The clap command, for man pages and completions.
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
    fn seconds() {
        assert_eq!(parse_secs("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_secs("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["-1", "x", "inf", "NaN", ""] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_and_port_flags() {
        assert_eq!(
            parse_connect_to("127.0.0.1:8443").ok(),
            Some(("127.0.0.1".into(), 8443))
        );
        assert_eq!(parse_connect_to("[::1]:9").ok(), Some(("::1".into(), 9)));
        assert_eq!(
            parse_connect_to("Edge.Test:1").ok(),
            Some(("edge.test".into(), 1))
        );
        for bad in ["x", "h:0", "h:99999", "a b:1", "[zz]:1", ":1", "h;rm:1"] {
            assert_eq!(
                parse_connect_to(bad).map_err(|f| f.exit),
                Err(Exit::Usage),
                "{bad}"
            );
        }
        assert_eq!(parse_to("[::1]:22").ok().as_deref(), Some("[::1]:22"));
        assert_eq!(
            parse_to("LocalHost:22").ok().as_deref(),
            Some("localhost:22")
        );
        // Each flag names itself and says what is wrong.
        for (result, message) in [
            (
                parse_connect_to("h"),
                "invalid --connect-to 'h': there is no :PORT: pass HOST:PORT, e.g. 127.0.0.1:8443",
            ),
            (
                parse_to("h:0").map(|_| (String::new(), 0)),
                "invalid --to 'h:0': the port must be 1-65535: pass HOST:PORT, e.g. 127.0.0.1:8443",
            ),
            (
                parse_to("[zz]:1").map(|_| (String::new(), 0)),
                "invalid --to '[zz]:1': not an IPv6 address in brackets: pass HOST:PORT, e.g. 127.0.0.1:8443",
            ),
            (
                check_listen("a b:1").map(|()| (String::new(), 0)),
                "invalid --listen 'a b:1': pass ADDR:PORT, e.g. 0.0.0.0:8081",
            ),
        ] {
            assert_eq!(result.map_err(|f| f.message), Err(message.to_owned()));
        }
        assert!(check_listen("0.0.0.0:0").is_ok());
        assert!(check_listen("[::]:8081").is_ok());
        assert!(check_listen("0.0.0.0").is_err());
    }

    #[test]
    fn help_lists_exit_codes() {
        let help = command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"));
        assert!(help.contains("--traffic-token"));
    }
}

//! Host keys verified through the platform: ssh's `KnownHostsCommand` runs
//! `novita-proxy known-hosts`, which reads the sandbox's `/etc/ssh/ssh_host_*_key.pub`
//! through the stand-in envd (with the API's access token, behind the nginx edge) and
//! prints them, with `StrictHostKeyChecking yes`: no trust on first use. Real ssh and sshd
//! throughout; a second sshd behind the bridge plays the man in the middle.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use novita_ssh_e2e::platform::SandboxSpec;
use novita_ssh_e2e::{
    bin_path, run, shell_quote, Bridge, BridgeKind, Edge, Outcome, Site, Sshd, SshdOptions,
};

const LIMIT: Duration = Duration::from_secs(60);

/// The host-key side of a [`Site`]: envd's folders, ssh with `KnownHostsCommand`, and
/// what the kit recorded.
trait HostKeys {
    fn envd_root(&self, content: &str) -> PathBuf;
    fn add(&self, name: &str, bridge_port: u16, envd_root: &Path) -> String;
    fn command_line(&self, words: &[String]) -> String;
    fn ssh(&self, known_hosts_extra: &[&str]) -> Command;
    fn known_hosts(&self, args: &[&str]) -> Command;
    fn key_env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command;
    fn recorded(&self, id: &str) -> Option<String>;
    fn known_hosts_file(&self) -> PathBuf;
    fn envd_requests(&self, id: &str) -> usize;
}

impl HostKeys for Site {
    /// A folder for envd with `/etc/ssh/ssh_host_ed25519_key.pub` holding `content`.
    fn envd_root(&self, content: &str) -> PathBuf {
        let root = tempfile::Builder::new()
            .prefix("envd-root-")
            .tempdir_in(self.home.path())
            .unwrap()
            .keep();
        write_host_key(&root, content);
        root
    }

    /// A running sandbox named `name` whose port 8081 is `bridge_port` and whose envd
    /// serves `envd_root`.
    fn add(&self, name: &str, bridge_port: u16, envd_root: &Path) -> String {
        self.platform.add(
            SandboxSpec::new()
                .name(name)
                .port(8081, bridge_port)
                .envd_root(envd_root),
        )
    }

    fn command_line(&self, words: &[String]) -> String {
        words
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `ssh` through the ProxyCommand, asking `novita-proxy known-hosts` for host keys,
    /// with strict checking and a known_hosts file of its own (which must stay unwritten).
    fn ssh(&self, known_hosts_extra: &[&str]) -> Command {
        let proxy = bin_path("novita-proxy").display().to_string();
        let mut proxy_command: Vec<String> = vec![proxy.clone()];
        proxy_command.extend(self.edge.proxy_args());
        let proxy_command = format!("{} %h", self.command_line(&proxy_command));
        // KnownHostsCommand words are split by ssh itself, not by a shell: the paths here
        // have no spaces or quotes.
        let mut known_hosts: Vec<String> = vec![proxy, "known-hosts".into()];
        known_hosts.extend(self.edge.proxy_args());
        known_hosts.extend(known_hosts_extra.iter().map(|s| (*s).to_owned()));
        let known_hosts_command =
            format!("{} --invocation %I --offered %K %H", known_hosts.join(" "));
        let file = self.known_hosts_file();
        let args: Vec<String> = self
            .sshd
            .ssh_base_args(&proxy_command)
            .into_iter()
            .map(|a| {
                if a.starts_with("UserKnownHostsFile=") {
                    format!("UserKnownHostsFile={}", file.display())
                } else {
                    a
                }
            })
            .collect();
        let mut cmd = Command::new(novita_ssh_e2e::require_tool("ssh"));
        novita_ssh_e2e::clean_env(&mut cmd)
            .args(args)
            .arg("-o")
            .arg(format!("KnownHostsCommand={known_hosts_command}"));
        self.key_env(&mut cmd);
        cmd
    }

    /// `novita-proxy known-hosts <edge options> <args>`.
    fn known_hosts(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_path("novita-proxy"));
        novita_ssh_e2e::clean_env(&mut cmd)
            .arg("known-hosts")
            .args(self.edge.proxy_args())
            .args(args);
        self.key_env(&mut cmd);
        cmd
    }

    fn key_env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        self.client_env(cmd, Some(&self.platform.api_key()))
    }

    /// The recorded keys of sandbox `id`.
    fn recorded(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.cache_dir().join("novita-ssh/host-keys").join(id)).ok()
    }

    fn known_hosts_file(&self) -> PathBuf {
        self.home.path().join(".ssh").join("known_hosts")
    }

    /// Requests the edge passed to envd of sandbox `id`.
    fn envd_requests(&self, id: &str) -> usize {
        let host = Edge::host_for(id, 49983);
        self.edge
            .access_log()
            .lines()
            .filter(|l| l.contains(&host))
            .count()
    }
}

fn write_host_key(root: &Path, content: &str) {
    let dir = root.join("etc").join("ssh");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ssh_host_ed25519_key.pub"), content).unwrap();
}

/// `<type> <base64>` of a one-line public key.
fn key_line(public: &str) -> String {
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn echo(ssh: &mut Command, host: &str) -> Outcome {
    run(ssh.arg(host).arg("echo verified"), None, LIMIT)
}

fn assert_connected(out: &Outcome) {
    assert_eq!(out.code(), 0, "ssh failed: {}", out.stderr);
    assert_eq!(out.stdout_text().trim(), "verified");
    assert!(
        !out.stderr.contains("Warning") && !out.stderr.contains("added"),
        "{}",
        out.stderr
    );
}

/// ssh refused: exit 255, nothing ran, and the kit's one line explains why (`needle`).
fn assert_refused(out: &Outcome, needle: &str) -> String {
    assert_eq!(out.code(), 255, "stdout: {}", out.stdout_text());
    assert!(out.stdout.is_empty(), "ran anyway: {}", out.stdout_text());
    let ours: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("novita-proxy: "))
        .collect();
    assert_eq!(ours.len(), 1, "not one line of the kit's: {}", out.stderr);
    assert!(ours[0].contains(needle), "{needle:?} not in {}", ours[0]);
    assert!(
        !out.stderr
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        out.stderr
    );
    ours[0].to_owned()
}

/// A loopback "envd" that answers every request with `response` (or, with `None`, accepts
/// connections and never answers). Lives as long as the returned listener's thread.
fn canned_envd(response: Option<&'static str>) -> (u16, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let keep = listener.try_clone().unwrap();
    if let Some(response) = response {
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = conn.write_all(response.as_bytes());
            }
        });
    }
    (port, keep)
}

#[test]
fn the_platforms_key_is_trusted_with_no_prompt_and_nothing_written() {
    let site = Site::start();
    let root = site.envd_root(&site.sshd.host_public_key);
    let id = site.add("keyed", site.bridge.port, &root);

    // By name, the very first time: no prompt, no known_hosts entry, the key recorded.
    assert_connected(&echo(&mut site.ssh(&[]), "keyed.novita"));
    assert!(
        !site.known_hosts_file().exists(),
        "known_hosts was written: {:?}",
        std::fs::read_to_string(site.known_hosts_file())
    );
    let recorded = site.recorded(&id).expect("the keys recorded for the ID");
    assert_eq!(recorded.trim(), key_line(&site.sshd.host_public_key));
    let first = site.envd_requests(&id);
    // ed25519 found; ecdsa and rsa missing (404): three reads, all with the API's token.
    assert_eq!(first, 3, "{}", site.edge.access_log());

    // Again, by ID, and as an alias whose HostName is the ID (as `novita-sshconfig add`
    // writes it): the recorded keys serve, envd is not asked again.
    assert_connected(&echo(&mut site.ssh(&[]), "keyed.novita"));
    assert_connected(&echo(&mut site.ssh(&[]), &format!("{id}.novita")));
    assert_connected(&echo(
        site.ssh(&[]).args(["-o", &format!("HostName={id}")]),
        "web.novita",
    ));
    assert_eq!(site.envd_requests(&id), first);
    assert!(!site.known_hosts_file().exists());

    // A second sandbox, now that the cache is in use: the ProxyCommand fetches its keys in
    // the background and known-hosts waits for that fetch instead of making its own.
    let root2 = site.envd_root(&site.sshd.host_public_key);
    let id2 = site.add("second", site.bridge.port, &root2);
    assert_connected(&echo(&mut site.ssh(&[]), "second.novita"));
    assert!(site.recorded(&id2).is_some());
    assert_eq!(site.envd_requests(&id2), 3, "{}", site.edge.access_log());

    // known-hosts by hand: the lines ssh reads, for the names asked, port form included.
    let out = run(
        &mut site.known_hosts(&["keyed.novita", &format!("[{id}]:2222")]),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let key = key_line(&site.sshd.host_public_key);
    assert_eq!(
        out.stdout_text(),
        format!("keyed.novita {key}\n[{id}]:2222 {key}\n")
    );
    // Before the key exchange (ORDER) only recorded keys are printed; ADDRESS: nothing.
    let unknown = novita_ssh_e2e::sandbox_id();
    let out = run(
        &mut site.known_hosts(&["--invocation", "ORDER", &unknown]),
        None,
        LIMIT,
    );
    assert_eq!((out.code(), out.stdout.len()), (0, 0), "{}", out.stderr);
    let out = run(
        &mut site.known_hosts(&["--invocation", "ADDRESS", "127.0.0.1"]),
        None,
        LIMIT,
    );
    assert_eq!((out.code(), out.stdout.len()), (0, 0), "{}", out.stderr);
}

#[test]
fn a_man_in_the_middle_is_refused_on_the_very_first_connection() {
    let site = Site::start();
    // The platform says the sandbox's key is the real sshd's; the bridge leads elsewhere.
    let mitm = Sshd::start();
    let mitm_bridge = Bridge::start(BridgeKind::Serve, mitm.port);
    let root = site.envd_root(&site.sshd.host_public_key);
    let id = site.add("target", mitm_bridge.port, &root);

    let out = echo(&mut site.ssh(&[]), "target.novita");
    let line = assert_refused(&out, "not one the Novita platform reports");
    assert!(line.contains(&id) && line.contains("intercepted"), "{line}");
    assert!(!site.known_hosts_file().exists());
    // Nothing of the intercepting server was recorded: only the platform's key.
    let recorded = site.recorded(&id).unwrap_or_default();
    assert_eq!(recorded.trim(), key_line(&site.sshd.host_public_key));
    assert!(!recorded.contains(&key_line(&mitm.host_public_key)));
    // No session ever reached the intercepting server's shell.
    assert!(!mitm.log().contains("Accepted publickey"), "{}", mitm.log());
}

#[test]
fn envd_failures_trust_nothing() {
    let site = Site::start();
    let cases: Vec<(&str, SandboxSpec, &str, i32)> = {
        let garbage = site.envd_root("<html><body>502 Bad Gateway</body></html>\n");
        let private_key = site.envd_root(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
        );
        let no_keys = tempfile::tempdir_in(site.home.path()).unwrap().keep();
        vec![
            (
                "garbage",
                SandboxSpec::new().envd_root(&garbage),
                "not an ssh-ed25519 public host key",
                19,
            ),
            (
                "private",
                SandboxSpec::new().envd_root(&private_key),
                "not an ssh-ed25519 public host key",
                19,
            ),
            (
                "nokeys",
                SandboxSpec::new().envd_root(&no_keys),
                "has none of /etc/ssh/ssh_host_",
                19,
            ),
        ]
    };
    let (refusing, _r) = canned_envd(Some(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 45\r\nConnection: close\r\n\r\n{\"code\":401,\"message\":\"invalid access token\"}",
    ));
    let (silent, _s) = canned_envd(None);
    let closed = novita_ssh_e2e::free_port();
    let mut cases = cases;
    cases.extend([
        (
            "refused",
            SandboxSpec::new().port(49983, refusing),
            "refused the access token",
            17,
        ),
        (
            "silent",
            SandboxSpec::new().port(49983, silent),
            "no answer within 2 s",
            18,
        ),
        (
            "down",
            SandboxSpec::new().port(49983, closed),
            "answered 502",
            18,
        ),
    ]);
    for (name, spec, needle, code) in cases {
        let id = site
            .platform
            .add(spec.name(name).port(8081, site.bridge.port));
        let out = echo(
            &mut site.ssh(&["--connect-timeout", "2"]),
            &format!("{name}.novita"),
        );
        let line = assert_refused(&out, needle);
        assert!(line.contains(&id), "{name}: {line}");
        assert!(out.stderr.contains("KnownHostsCommand failed"), "{name}");
        assert!(site.recorded(&id).is_none(), "{name}: a key was recorded");
        assert!(!site.known_hosts_file().exists(), "{name}");
        // The same by hand: the exit code, one line, nothing on stdout.
        let out = run(
            &mut site.known_hosts(&["--connect-timeout", "2", &format!("{name}.novita")]),
            None,
            LIMIT,
        );
        assert_eq!(out.code(), code, "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout_text());
        assert!(out.stderr_line().contains(needle), "{name}: {}", out.stderr);
    }
    // Without an API key nothing can be verified: exit 13, with the way out.
    let mut cmd = site.known_hosts(&["nokeys.novita"]);
    cmd.env_remove("NOVITA_API_KEY");
    let out = run(&mut cmd, None, LIMIT);
    assert_eq!(out.code(), 13, "{}", out.stderr);
    assert!(out.stderr_line().contains("novita-sshconfig login"));
}

#[test]
fn a_changed_key_for_a_recorded_sandbox_is_refused_and_the_record_kept() {
    let site = Site::start();
    let root = site.envd_root(&site.sshd.host_public_key);
    let id = site.add("stable", site.bridge.port, &root);
    assert_connected(&echo(&mut site.ssh(&[]), "stable.novita"));
    let before = site.recorded(&id).expect("recorded");

    // The sandbox now answers with another sshd, and envd serves that one's key too.
    let client_key = std::fs::read_to_string(site.sshd.client_key.with_extension("pub")).unwrap();
    let other = Sshd::start_with(SshdOptions {
        authorized_keys: vec![client_key.trim().to_owned()],
        ..SshdOptions::default()
    });
    let other_bridge = Bridge::start(BridgeKind::Serve, other.port);
    site.platform.update(&id, |s| {
        s.ports
            .insert(8081, ([127, 0, 0, 1], other_bridge.port).into());
    });
    write_host_key(&root, &other.host_public_key);

    let out = echo(&mut site.ssh(&[]), "stable.novita");
    let line = assert_refused(&out, "but the key recorded for it");
    assert!(line.contains("delete"), "{line}");
    assert_eq!(
        site.recorded(&id),
        Some(before.clone()),
        "the record changed"
    );
    assert!(!site.known_hosts_file().exists());

    // Once the record is deleted (the fix the line names), the platform's new key is
    // fetched and trusted.
    std::fs::remove_file(site.cache_dir().join("novita-ssh/host-keys").join(&id)).unwrap();
    assert_connected(&echo(&mut site.ssh(&[]), "stable.novita"));
    assert_eq!(
        site.recorded(&id).unwrap().trim(),
        key_line(&other.host_public_key)
    );
}

//! novita-sshconfig end to end: a user runs `init` (and `add`) with HOME in a temporary
//! folder, then plain `ssh`, `scp` and `rsync` reach the sshd fixture through the generated
//! config, with nothing on their command lines but `-F ~/.ssh/config`. The fixture's sshd
//! authorizes the key `init` generated; novita-proxy in the ProxyCommand reaches it through
//! the nginx edge (`<id>.novita`) or straight at a bridge (`--url`, a named host).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use novita_ssh_e2e::platform::{Platform, State};
use novita_ssh_e2e::{
    bin_path, clean_env, current_user, random_tree, require_tool, run, run_ok, sandbox_id,
    sha256_file, shell_quote, tree_digest, write_random_file, Bridge, BridgeKind, Edge, Sshd,
    SshdOptions,
};
use tempfile::TempDir;

/// A bound for commands that should take seconds: exceeding it means a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// A user's machine: HOME in a temporary folder, with the kit's key generated.
struct Machine {
    dir: TempDir,
    home: PathBuf,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::Builder::new()
            .prefix("novita-e2e-sshconfig-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let machine = Machine { dir, home };
        run_ok(&mut machine.sshconfig(&["keygen"]), LIMIT);
        machine
    }

    /// `novita-sshconfig ARGS` as this user.
    fn sshconfig(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_path("novita-sshconfig"));
        clean_env(&mut cmd)
            .args(args)
            .env("HOME", &self.home)
            .current_dir(self.dir.path());
        cmd
    }

    /// `init` logging in as the user running sshd, with extra proxy options.
    fn init(&self, extra: &[String]) {
        let proxy = bin_path("novita-proxy").display().to_string();
        let user = current_user();
        let mut args = vec![
            "init",
            "--no-template",
            "--yes",
            "--proxy-command-path",
            &proxy,
            "--user",
            &user,
        ];
        args.extend(extra.iter().map(String::as_str));
        run_ok(&mut self.sshconfig(&args), LIMIT);
    }

    /// `init` for sandboxes behind `edge` (`--domain sandbox.test` and how to reach it).
    fn init_for_edge(&self, edge: &Edge) {
        self.init(&edge.proxy_args());
    }

    /// The generated public key line, to authorize in the sshd fixture.
    fn public_key(&self) -> String {
        fs::read_to_string(self.home.join(".ssh/novita/id_ed25519.pub"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn ssh_config(&self) -> PathBuf {
        self.home.join(".ssh/config")
    }

    /// `ssh -F ~/.ssh/config ARGS`, and nothing else.
    fn ssh(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(require_tool("ssh"));
        clean_env(&mut cmd)
            .arg("-F")
            .arg(self.ssh_config())
            .args(args)
            .env("HOME", &self.home);
        cmd
    }

    /// `ssh -F ~/.ssh/config` as one shell-quoted string, for `rsync -e`.
    fn ssh_line(&self) -> String {
        format!(
            "{} -F {}",
            shell_quote(&require_tool("ssh").display().to_string()),
            shell_quote(&self.ssh_config().display().to_string())
        )
    }
}

/// sshd that authorizes the machine's key, with `config` lines first (they win).
fn sshd_for(machine: &Machine, config: &[&str]) -> Sshd {
    Sshd::start_with(SshdOptions {
        authorized_keys: vec![machine.public_key()],
        config: config.iter().map(|s| (*s).to_owned()).collect(),
    })
}

fn remote(host: &str, path: &Path) -> String {
    format!("{host}:{}", path.display())
}

#[test]
fn ssh_sandbox_id_dot_novita_works_with_nothing_but_the_generated_config() {
    let machine = Machine::new();
    let sshd = sshd_for(&machine, &[]);
    let bridge = Bridge::start(BridgeKind::Websocat, sshd.port);
    let id = sandbox_id();
    let edge = Edge::builder().route(&id, bridge.port).start();
    machine.init_for_edge(&edge);

    let host = format!("{id}.novita");
    let out = run(
        &mut machine.ssh(&[&host, "echo logged in as $(id -un); exit 7"]),
        None,
        LIMIT,
    );
    assert_eq!(
        out.code(),
        7,
        "stderr: {}\nsshd: {}",
        out.stderr,
        sshd.log()
    );
    assert_eq!(
        out.stdout_text().trim(),
        format!("logged in as {}", current_user())
    );
    // accept-new recorded the host key in the kit's own known_hosts.
    let known = fs::read_to_string(machine.home.join(".ssh/novita/known_hosts")).unwrap();
    assert!(
        known.contains(sshd.host_public_key.split(' ').nth(1).unwrap()),
        "{known}"
    );
    assert!(edge
        .access_log()
        .contains(&format!("8081-{id}.sandbox.test")));
}

#[test]
fn a_named_host_carries_scp_and_rsync_through_a_serve_bridge() {
    let machine = Machine::new();
    let sshd = sshd_for(&machine, &[]);
    let bridge = Bridge::start(BridgeKind::Serve, sshd.port);
    machine.init(&[]);
    let id = sandbox_id();
    let user = current_user();
    run_ok(
        &mut machine.sshconfig(&[
            "add",
            "myhost",
            &id,
            "--url",
            &bridge.url(),
            "--user",
            &user,
        ]),
        LIMIT,
    );

    let out = run_ok(&mut machine.ssh(&["myhost.novita", "echo", "hello"]), LIMIT);
    assert_eq!(out.stdout_text().trim(), "hello");

    let work = machine.dir.path().join("files");
    fs::create_dir_all(&work).unwrap();
    let original = work.join("payload.bin");
    let digest = write_random_file(&original, 8 << 20);
    let far = machine.dir.path().join("far");
    fs::create_dir_all(&far).unwrap();
    let uploaded = far.join("payload.bin");
    let scp = require_tool("scp");
    let scp_cmd = || {
        let mut cmd = Command::new(&scp);
        clean_env(&mut cmd)
            .arg("-F")
            .arg(machine.ssh_config())
            .env("HOME", &machine.home);
        cmd
    };
    run_ok(
        scp_cmd()
            .arg(&original)
            .arg(remote("myhost.novita", &uploaded)),
        LIMIT,
    );
    assert_eq!(sha256_file(&uploaded), digest);
    let fetched = work.join("fetched.bin");
    run_ok(
        scp_cmd()
            .arg(remote("myhost.novita", &uploaded))
            .arg(&fetched),
        LIMIT,
    );
    assert_eq!(sha256_file(&fetched), digest);

    let tree = work.join("tree");
    let tree_digest_before = random_tree(&tree);
    let up = far.join("tree");
    let rsync = require_tool("rsync");
    let rsync_cmd = || {
        let mut cmd = Command::new(&rsync);
        clean_env(&mut cmd)
            .args(["-a", "-e"])
            .arg(machine.ssh_line())
            .env("HOME", &machine.home);
        cmd
    };
    run_ok(
        rsync_cmd()
            .arg(format!("{}/", tree.display()))
            .arg(format!("{}/", remote("myhost.novita", &up))),
        LIMIT,
    );
    assert_eq!(tree_digest(&up), tree_digest_before);
    let back = work.join("back");
    run_ok(
        rsync_cmd()
            .arg(format!("{}/", remote("myhost.novita", &up)))
            .arg(format!("{}/", back.display())),
        LIMIT,
    );
    assert_eq!(tree_digest(&back), tree_digest_before);
}

#[test]
fn doctor_connect_passes_against_a_key_only_sshd() {
    let machine = Machine::new();
    let sshd = sshd_for(&machine, &[]);
    let bridge = Bridge::start(BridgeKind::Websocat, sshd.port);
    let id = sandbox_id();
    let edge = Edge::builder().route(&id, bridge.port).start();
    machine.init_for_edge(&edge);
    let out = run(
        &mut machine.sshconfig(&["doctor", "--connect", &id]),
        None,
        LIMIT,
    );
    let text = out.stdout_text();
    assert_eq!(out.code(), 0, "{text}\n{}", out.stderr);
    assert!(
        text.contains("ok    sandbox sshd logins") && text.contains("offers only publickey"),
        "{text}"
    );
    assert!(text.contains("ok    connect"), "{text}");
}

#[test]
fn doctor_connect_warns_when_the_sandbox_offers_password_logins() {
    let machine = Machine::new();
    // What the platform's base image does to sshd_config, minus the empty root password.
    let sshd = sshd_for(
        &machine,
        &[
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication yes",
        ],
    );
    let bridge = Bridge::start(BridgeKind::Serve, sshd.port);
    machine.init(&[]);
    let user = current_user();
    run_ok(
        &mut machine.sshconfig(&[
            "add",
            "open",
            &sandbox_id(),
            "--url",
            &bridge.url(),
            "--user",
            &user,
        ]),
        LIMIT,
    );
    let out = run(
        &mut machine.sshconfig(&["doctor", "--connect", "open"]),
        None,
        LIMIT,
    );
    let text = out.stdout_text();
    assert_eq!(out.code(), 5, "{text}\n{}", out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("sandbox sshd logins"))
        .unwrap_or_else(|| panic!("no login check in\n{text}"));
    assert!(
        line.starts_with("FAIL") && line.contains("WARNING"),
        "{line}"
    );
    assert!(line.contains("password"), "{line}");
    assert!(
        line.contains("fix: ") && line.contains("00-novita-ssh.conf"),
        "{line}"
    );
    // The key login itself still works; only the offer is the problem.
    assert!(text.contains("ok    connect"), "{text}");
}

/// `novita-sshconfig ARGS` with `input` on stdin: its outcome.
fn sshconfig_with(machine: &Machine, args: &[&str], input: &str) -> novita_ssh_e2e::Outcome {
    run(&mut machine.sshconfig(args), Some(input.as_bytes()), LIMIT)
}

/// The README's quick start, by name: `init`, `login`, `create myproj`, `ssh myproj.novita`;
/// then `list`, `pause` (ssh resumes it), `delete`, against the stand-in platform behind
/// the nginx edge, with every API call through the edge as the ProxyCommand makes them.
#[test]
fn the_quick_start_by_name_login_create_ssh_list_pause_delete() {
    let machine = Machine::new();
    let sshd = sshd_for(&machine, &[]);
    let bridge = Bridge::start(BridgeKind::Serve, sshd.port);
    let platform = Platform::start();
    let edge = Edge::builder().platform(&platform).start();
    machine.init(&edge.platform_proxy_args());

    // The key from stdin, checked with the API, never shown.
    let key = platform.api_key();
    let out = sshconfig_with(&machine, &["-v", "login"], &format!("{key}\n"));
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(!out.stderr.contains(&key) && !out.stdout_text().contains(&key));

    let out = run_ok(
        &mut machine.sshconfig(&["create", "myproj", "--ttl", "900", "--auto-pause"]),
        LIMIT,
    );
    let text = out.stdout_text();
    assert!(text.contains("ssh myproj.novita"), "{text}");
    let id = text
        .split_whitespace()
        .find(|w| w.starts_with('i') && w.len() >= 20)
        .unwrap_or_else(|| panic!("no sandbox ID in {text}"))
        .to_owned();
    let record = platform.sandbox(&id).expect("the platform has it");
    assert_eq!(
        record.metadata.get("name").map(String::as_str),
        Some("myproj")
    );
    assert!(record.auto_pause);
    assert_eq!(record.template_id, "novita-ssh");
    // The template's bridge, as a sandbox built from it would run it, and its sshd's host
    // key where envd serves it: with the key logged in and OpenSSH 8.5 or newer, ssh asks
    // the platform for it (no trust on first use).
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", bridge.port).parse().unwrap();
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/ssh")).unwrap();
    fs::write(
        root.path().join("etc/ssh/ssh_host_ed25519_key.pub"),
        &sshd.host_public_key,
    )
    .unwrap();
    platform.update(&id, |r| {
        r.ports.insert(8081, addr);
        r.envd_root = Some(root.path().to_owned());
    });
    // A second sandbox with that name is refused.
    let out = run(&mut machine.sshconfig(&["create", "myproj"]), None, LIMIT);
    assert_eq!(out.code(), 6, "{}", out.stderr);

    let out = run_ok(
        &mut machine.ssh(&["myproj.novita", "echo", "by-name"]),
        LIMIT,
    );
    assert_eq!(out.stdout_text().trim(), "by-name");

    // doctor: the key file, the API, the sandbox's state and end time, then a login.
    let out = run_ok(
        &mut machine.sshconfig(&["doctor", "--connect", "myproj"]),
        LIMIT,
    );
    let report = out.stdout_text();
    assert!(report.contains("ok    API key: "), "{report}");
    assert!(
        report.contains("host keys come from the Novita platform"),
        "{report}"
    );
    assert!(report.contains("ok    Novita API: "), "{report}");
    assert!(
        report.contains(&format!(
            "ok    sandbox: myproj.novita is myproj ({id}): running, ends "
        )),
        "{report}"
    );
    assert!(report.contains("ok    connect: "), "{report}");

    let out = run_ok(&mut machine.sshconfig(&["list", "--json"]), LIMIT);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout_text()).unwrap();
    let mine: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(mine[0]["name"], "myproj");
    assert_eq!(mine[0]["state"], "running");
    let table = run_ok(&mut machine.sshconfig(&["list"]), LIMIT).stdout_text();
    assert!(
        table.starts_with("ID") && table.contains("myproj"),
        "{table}"
    );

    run_ok(&mut machine.sshconfig(&["pause", "myproj"]), LIMIT);
    platform.wait_for_state(&id, State::Paused, LIMIT);
    let out = run_ok(&mut machine.sshconfig(&["pause", "myproj"]), LIMIT);
    assert!(
        out.stdout_text().contains("already paused"),
        "{}",
        out.stdout_text()
    );
    // ssh resumes it.
    let out = run_ok(
        &mut machine.ssh(&["myproj.novita", "echo", "resumed"]),
        LIMIT,
    );
    assert_eq!(out.stdout_text().trim(), "resumed");
    assert_eq!(platform.state(&id), State::Running);

    run_ok(
        &mut machine.sshconfig(&["--yes", "delete", "myproj"]),
        LIMIT,
    );
    assert!(
        matches!(platform.state(&id), State::Killed),
        "{:?}",
        platform.state(&id)
    );
    let out = run(&mut machine.sshconfig(&["resume", "myproj"]), None, LIMIT);
    assert_eq!(out.code(), 10, "{}", out.stderr);
    assert!(
        out.stderr.contains("novita-sshconfig create myproj"),
        "{}",
        out.stderr
    );
    let out = run(&mut machine.sshconfig(&["kill", &id]), None, LIMIT);
    assert_eq!(out.code(), 12, "{}", out.stderr);

    // Without the key, the API commands say how to log in.
    run_ok(&mut machine.sshconfig(&["logout"]), LIMIT);
    let out = run(&mut machine.sshconfig(&["list", "--json"]), None, LIMIT);
    assert_eq!(out.code(), 13, "{}", out.stderr);
}

//! novita-sshconfig end to end: a user runs `init` (and `add`) with HOME in a temporary
//! folder, then plain `ssh`, `scp` and `rsync` reach the sshd fixture through the generated
//! config, with nothing on their command lines but `-F ~/.ssh/config`. The fixture's sshd
//! authorizes the key `init` generated; novita-proxy in the ProxyCommand reaches it through
//! the nginx edge (`<id>.novita`) or straight at a bridge (`--url`, a named host).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

//! sandbox scenarios: templates built and booted in an emulated Novita sandbox (a Debian
//! rootfs provisioned like the platform's images, in its own namespaces, see
//! `novita_ssh_e2e::sandbox`), reached through the kit's own generated ssh config and the
//! template's WebSocket bridge on the sandbox's loopback.
//!
//! The kit's template must leave the sandbox key-only; the documented template is the control
//! case that shows the attack really logs in where the hole is open.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use novita_ssh_e2e::sandbox::{documented_template, Builder, Sandbox, SandboxOptions};
use novita_ssh_e2e::{
    bin_path, random_tree, require_tool, run, run_ok, sandbox_id, sha256_file, shell_quote,
    tree_digest, write_random_file, Outcome,
};
use tempfile::TempDir;

const LIMIT: Duration = Duration::from_secs(120);

/// Where the novita-proxy template downloads its bridge (served from the binary under test).
const PROXY_DOWNLOAD: &str =
    "https://downloads.novita-ssh.test/v0.1.0/novita-proxy-x86_64-unknown-linux-gnu";

/// A user's machine after `novita-sshconfig init`: HOME in a temp dir, the kit's key and ssh
/// config in it.
struct Kit {
    home: TempDir,
}

impl Kit {
    fn init() -> Kit {
        let home = tempfile::Builder::new()
            .prefix("novita-e2e-kit-")
            .tempdir()
            .expect("temp dir");
        let kit = Kit { home };
        kit.sshconfig(&["init"]);
        kit
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs `novita-sshconfig --yes ARGS` with this HOME, asserting success.
    fn sshconfig(&self, args: &[&str]) -> Outcome {
        let mut cmd = Command::new(bin_path("novita-sshconfig"));
        cmd.env("HOME", self.home())
            .current_dir(self.home())
            .arg("--yes")
            .args(args);
        run_ok(&mut cmd, LIMIT)
    }

    /// `novita-sshconfig template --lang python` for `bridge`: the path of `template.py`.
    fn template(&self, bridge: &str) -> PathBuf {
        let out = self.home().join(format!("template-{bridge}"));
        let out_arg = out.display().to_string();
        let mut args = vec![
            "template", "--lang", "python", "--out", &out_arg, "--bridge", bridge,
        ];
        if bridge == "novita-proxy" {
            args.extend(["--bridge-url", PROXY_DOWNLOAD]);
        }
        self.sshconfig(&args);
        out.join("template.py")
    }

    /// `novita-sshconfig add ALIAS <new id> --url ws://127.0.0.1:8081/`: the host to give ssh.
    fn add(&self, alias: &str) -> String {
        self.sshconfig(&["add", alias, &sandbox_id(), "--url", "ws://127.0.0.1:8081/"]);
        format!("{alias}.novita")
    }

    /// The kit's ssh config file, as every client here uses it (`-F`).
    fn config(&self) -> String {
        self.home().join(".ssh/config").display().to_string()
    }

    /// `ssh -F <the kit's config>` on the sandbox's loopback; add the host and command.
    fn ssh(&self, sandbox: &Sandbox) -> Command {
        let mut cmd = sandbox.client("ssh");
        cmd.env("HOME", self.home()).args(["-F", &self.config()]);
        cmd
    }

    /// The same for scp, and rsync with `-e 'ssh -F <config>'`.
    fn client(&self, sandbox: &Sandbox, program: &str) -> Command {
        let mut cmd = sandbox.client(program);
        cmd.env("HOME", self.home());
        if program == "rsync" {
            let ssh = format!(
                "{} -F {}",
                shell_quote(&require_tool("ssh").display().to_string()),
                shell_quote(&self.config())
            );
            cmd.args(["-e", &ssh]);
        } else {
            cmd.args(["-F", &self.config()]);
        }
        cmd
    }
}

/// The attack, through the same kit config: `sshpass -p '' ssh` as `user`, public keys off,
/// only `method` (password or keyboard-interactive), running `id -un`.
fn empty_password_login(
    kit: &Kit,
    sandbox: &Sandbox,
    host: &str,
    user: &str,
    method: &str,
) -> Outcome {
    let mut cmd = sandbox.client("sshpass");
    cmd.env("HOME", kit.home())
        .args(["-p", ""])
        .arg(require_tool("ssh"))
        .args(["-F", &kit.config()])
        .args(["-o", "PubkeyAuthentication=no"])
        .args(["-o", &format!("PreferredAuthentications={method}")])
        .args(["-o", "NumberOfPasswordPrompts=1"])
        .args(["-l", user, host, "id -un"]);
    run(&mut cmd, None, LIMIT)
}

/// Every empty-password login (root and user, password and keyboard-interactive) is refused.
fn assert_key_only(kit: &Kit, sandbox: &Sandbox, host: &str) {
    for user in ["root", "user"] {
        for method in ["password", "keyboard-interactive"] {
            let out = empty_password_login(kit, sandbox, host, user, method);
            assert!(
                !out.status.success() && out.stdout.is_empty(),
                "an empty-password {method} login as {user} got in through the kit's template \
                 (stdout {:?})",
                out.stdout_text()
            );
            assert!(
                out.stderr.contains("Permission denied (publickey)"),
                "the sandbox's sshd should offer public keys only; {method} as {user}: {}\n\
                 sandbox sshd log:\n{}",
                out.stderr,
                sandbox.sshd_log()
            );
        }
    }
}

/// `ssh` as `user` (with passwordless sudo, as the platform gives it), scp both ways and
/// rsync both ways, all through the kit's config.
fn assert_ssh_scp_rsync(kit: &Kit, sandbox: &Sandbox, host: &str) {
    let out = run_ok(
        kit.ssh(sandbox).args([host, "id -un; sudo -n id -un"]),
        LIMIT,
    );
    assert_eq!(out.stdout_text(), "user\nroot\n", "ssh {host} ran as");

    let work = tempfile::Builder::new()
        .prefix("novita-e2e-sandbox-files-")
        .tempdir()
        .expect("temp dir");
    let up = work.path().join("up.bin");
    write_random_file(&up, 3 << 20);
    let down = work.path().join("down.bin");
    let remote = format!("{host}:/home/user/up.bin");
    run_ok(kit.client(sandbox, "scp").arg(&up).arg(&remote), LIMIT);
    run_ok(kit.client(sandbox, "scp").arg(&remote).arg(&down), LIMIT);
    assert_eq!(sha256_file(&down), sha256_file(&up), "scp round trip");

    // The template installs rsync: the platform's images have none.
    let tree = work.path().join("tree");
    let expected = random_tree(&tree);
    let back = work.path().join("back");
    run_ok(
        kit.client(sandbox, "rsync")
            .arg("-a")
            .arg(format!("{}/", tree.display()))
            .arg(format!("{host}:tree/")),
        LIMIT,
    );
    run_ok(
        kit.client(sandbox, "rsync")
            .arg("-a")
            .arg(format!("{host}:tree/"))
            .arg(format!("{}/", back.display())),
        LIMIT,
    );
    assert_eq!(tree_digest(&back), expected, "rsync round trip");
}

#[test]
fn kit_template_with_websocat_is_key_only_and_serves_ssh_scp_rsync() {
    let kit = Kit::init();
    let sandbox = Sandbox::build(&kit.template("websocat"));
    let host = kit.add("box");
    assert_ssh_scp_rsync(&kit, &sandbox, &host);
    assert_key_only(&kit, &sandbox, &host);
}

#[test]
fn kit_template_with_novita_proxy_serve_is_key_only_and_serves_ssh_scp_rsync() {
    let kit = Kit::init();
    let sandbox = Sandbox::build(&kit.template("novita-proxy"));
    assert!(
        sandbox.download_log().contains("novita-proxy"),
        "the template should have downloaded novita-proxy from its --bridge-url; served:\n{}",
        sandbox.download_log()
    );
    let host = kit.add("box");
    assert_ssh_scp_rsync(&kit, &sandbox, &host);
    assert_key_only(&kit, &sandbox, &host);
}

#[test]
fn kit_template_is_key_only_on_older_builders_and_when_nothing_listens_on_22() {
    let kit = Kit::init();
    let template = kit.template("websocat");
    let host = kit.add("box");
    for options in [
        // Steps as root, `user` created only after the steps.
        SandboxOptions::default().builder(Builder::Older),
        // An image whose init does not start sshd: the template must start it.
        SandboxOptions::default().without_sshd_at_boot(),
    ] {
        let sandbox = Sandbox::build_with(&template, &options);
        let out = run_ok(kit.ssh(&sandbox).args([host.as_str(), "id -un"]), LIMIT);
        assert_eq!(out.stdout_text(), "user\n", "ssh {host} with {options:?}");
        assert_key_only(&kit, &sandbox, &host);
    }
}

#[test]
fn documented_template_lets_anyone_in_with_an_empty_password() {
    // The control case: the same attack through the same kit config logs in as root and as
    // user when the sandbox comes from the template in Novita's SSH guide.
    let kit = Kit::init();
    let sandbox = Sandbox::build(&documented_template());
    let host = kit.add("seed");
    for user in ["root", "user"] {
        for method in ["password", "keyboard-interactive"] {
            let out = empty_password_login(&kit, &sandbox, &host, user, method);
            assert!(
                out.status.success() && out.stdout_text().trim() == user,
                "an empty-password {method} login as {user} should succeed against the \
                 documented template (the hole the kit's template closes), but: {}\n{}\n\
                 sandbox sshd log:\n{}",
                out.status,
                out.stderr,
                sandbox.sshd_log()
            );
        }
    }
}

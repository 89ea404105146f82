//! sandbox scenarios: templates built and booted in an emulated Novita sandbox (a Debian
//! rootfs provisioned like the platform's images, in its own namespaces), reached through a
//! WebSocket bridge on the sandbox's loopback.

use std::time::Duration;

use novita_ssh_e2e::sandbox::{documented_template, Sandbox};
use novita_ssh_e2e::{bin_path, require_tool, run, sandbox_id, shell_quote, Outcome};

const LIMIT: Duration = Duration::from_secs(60);

/// The attack: `sshpass -p '' ssh` as `user`, public keys off, only `method` (password or
/// keyboard-interactive) allowed, running `id -un`.
fn empty_password_login(sandbox: &Sandbox, user: &str, method: &str) -> Outcome {
    let proxy = format!(
        "{} --url ws://127.0.0.1:8081/ %h",
        shell_quote(&bin_path("novita-proxy").display().to_string())
    );
    let mut cmd = sandbox.client("sshpass");
    cmd.args(["-p", ""])
        .arg(require_tool("ssh"))
        .args(["-F", "/dev/null"])
        .args(["-o", &format!("ProxyCommand={proxy}")])
        .args(["-o", "PubkeyAuthentication=no"])
        .args(["-o", &format!("PreferredAuthentications={method}")])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "LogLevel=ERROR"])
        .args(["-l", user])
        .arg(sandbox_id())
        .arg("id -un");
    run(&mut cmd, None, LIMIT)
}

#[test]
fn documented_template_lets_anyone_in_with_an_empty_password() {
    let sandbox = Sandbox::build(&documented_template());
    for user in ["root", "user"] {
        for method in ["password", "keyboard-interactive"] {
            let out = empty_password_login(&sandbox, user, method);
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

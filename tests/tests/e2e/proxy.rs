//! novita-proxy (client and `serve`) with real OpenSSH and websocat: the scenarios of the
//! README's promises, each through the websocat bridge and through `novita-proxy serve`,
//! over plain ws and over wss through the TLS edge.

use std::time::Duration;

use novita_ssh_e2e::{run, BridgeKind, Link, Rig};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn documented_websocat_client_through_websocat_bridge_propagates_exit_status() {
    let rig = Rig::start(BridgeKind::Websocat, Link::Ws);
    let mut ssh = rig.sshd.ssh(&rig.websocat_proxy_command());
    ssh.args([rig.host(), "echo hello; exit 7"]);
    let out = run(&mut ssh, None, LIMIT);
    assert_eq!(out.stdout_text(), "hello\n", "stderr: {}", out.stderr);
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
}

//! novita-proxy on real networks: the TLS edge, private sandboxes, HTTP proxies, dead peers,
//! cut connections, half-close and hostile clients of `serve`.

use std::time::Duration;

use novita_ssh_e2e::{run, BridgeKind, Edge, Link, Rig};

const LIMIT: Duration = Duration::from_secs(60);

/// The edge fixture itself: the documented websocat client (told to use the edge's address
/// and the sandbox's name) gets through nginx to sshd, and the edge logged the upgrade.
#[test]
fn edge_routes_the_sandbox_host_to_its_bridge() {
    let rig = Rig::start(BridgeKind::Websocat, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let host = Edge::host_for(rig.host(), 8081);
    let proxy = format!(
        "websocat --binary -B 65536 -k --tls-domain {host} --ws-c-uri wss://{host}/ - \
         ws-c:ssl-connect:tcp:127.0.0.1:{}",
        edge.port
    );
    let mut ssh = rig.sshd.ssh(&proxy);
    ssh.args([rig.host(), "echo hello; exit 7"]);
    let out = run(&mut ssh, None, LIMIT);
    assert_eq!(out.stdout_text(), "hello\n", "stderr: {}", out.stderr);
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
    assert!(
        edge.access_log()
            .contains(&format!("\"{host}\" \"GET / HTTP/1.1\" 101")),
        "edge log: {}",
        edge.access_log()
    );
}

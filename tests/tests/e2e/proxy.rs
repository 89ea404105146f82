//! novita-proxy (client and `serve`) with real OpenSSH and websocat: the README's promises,
//! each through the websocat bridge of the documented template and through
//! `novita-proxy serve`, over plain ws and over wss through the TLS edge.
//!
//! A matrix scenario `foo` runs as `proxy::foo::through_{websocat,serve}_over_{ws,wss}`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use novita_ssh_e2e::{
    assert_no_process_left, bin_path, clean_env, free_port, random_bytes, random_tree,
    require_tool, run, run_ok, sha256_file, sha256_hex, tree_digest, wait_for_port,
    write_random_file, BridgeKind, CountingListener, Edge, HttpServer, Link, Proc, Rig, Session,
    EDGE_DOMAIN,
};

/// A bound for commands that should take seconds: exceeding it means a hang.
const LIMIT: Duration = Duration::from_secs(60);
/// A bound for the 200 MiB transfers on a loaded 2-core CI machine.
const BULK_LIMIT: Duration = Duration::from_secs(300);

/// Runs a scenario through both bridges, over ws and over wss.
macro_rules! matrix {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use novita_ssh_e2e::{BridgeKind, Link};

            #[test]
            fn through_websocat_over_ws() {
                super::$scenario(BridgeKind::Websocat, Link::Ws);
            }

            #[test]
            fn through_websocat_over_wss() {
                super::$scenario(BridgeKind::Websocat, Link::Wss);
            }

            #[test]
            fn through_serve_over_ws() {
                super::$scenario(BridgeKind::Serve, Link::Ws);
            }

            #[test]
            fn through_serve_over_wss() {
                super::$scenario(BridgeKind::Serve, Link::Wss);
            }
        }
    )*};
}

matrix!(
    ssh_command_propagates_exit_status,
    scp_200mib_roundtrip,
    rsync_tree_both_ways_then_nothing_to_transfer,
    sftp_batch_put_get,
    local_forward_fetches_from_http_server,
    dynamic_forward_serves_curl_through_socks,
    vscode_remote_ssh_pattern_with_socks_during_session,
    twenty_concurrent_sessions_all_complete,
    interactive_pty_session_exits_promptly,
);

fn scratch(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("novita-e2e-{prefix}-"))
        .tempdir()
        .expect("temp dir")
}

fn remote(rig: &Rig, path: &Path) -> String {
    format!("{}:{}", rig.host(), path.display())
}

fn ssh_command_propagates_exit_status(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let out = run(
        rig.ssh()
            .args([rig.host(), "echo hello from $(hostname); exit 7"]),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
    assert!(
        out.stdout_text().starts_with("hello from "),
        "stdout: {:?}, stderr: {}",
        out.stdout_text(),
        out.stderr
    );
    // `ssh host true` ends as soon as the remote command does: no hang, status 0.
    let out = run(rig.ssh().args([rig.host(), "true"]), None, LIMIT);
    assert_eq!(out.code(), 0, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty());
    // ssh hangs up on its ProxyCommand without waiting: the proxy must not linger.
    assert_no_process_left(rig.host(), Duration::from_secs(5));
}

fn scp_200mib_roundtrip(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let local = scratch("scp-local");
    let far = scratch("scp-remote");
    let original = local.path().join("original.bin");
    let digest = write_random_file(&original, 200 << 20);
    let uploaded = far.path().join("uploaded.bin");

    let scp = require_tool("scp");
    run_ok(
        clean_env(&mut Command::new(&scp))
            .arg("-q")
            .args(rig.ssh_args())
            .arg(&original)
            .arg(remote(&rig, &uploaded)),
        BULK_LIMIT,
    );
    assert_eq!(sha256_file(&uploaded), digest, "upload corrupted the file");
    fs::remove_file(&original).unwrap();

    let downloaded = local.path().join("downloaded.bin");
    run_ok(
        clean_env(&mut Command::new(&scp))
            .arg("-q")
            .args(rig.ssh_args())
            .arg(remote(&rig, &uploaded))
            .arg(&downloaded),
        BULK_LIMIT,
    );
    assert_eq!(
        sha256_file(&downloaded),
        digest,
        "download corrupted the file"
    );
}

/// Asserts that an rsync `--stats` run transferred no file.
fn assert_nothing_transferred(out: &novita_ssh_e2e::Outcome) {
    let text = out.stdout_text();
    let transferred = text
        .lines()
        .find_map(|l| l.strip_prefix("Number of regular files transferred: "))
        .unwrap_or_else(|| panic!("no transfer count in rsync's stats:\n{text}"));
    assert_eq!(
        transferred.trim(),
        "0",
        "the second run transferred files:\n{text}"
    );
    let changes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['<', '>', 'c']) && !l.starts_with("created"))
        .collect();
    assert!(
        changes.is_empty(),
        "itemized changes on the second run: {changes:?}"
    );
}

fn rsync_tree_both_ways_then_nothing_to_transfer(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let local = scratch("rsync-local");
    let far = scratch("rsync-remote");
    let source = local.path().join("source");
    let digest = random_tree(&source);
    let up = far.path().join("up");
    let rsync = require_tool("rsync");
    let rsync_cmd = || {
        let mut cmd = Command::new(&rsync);
        clean_env(&mut cmd)
            .args(["-a", "--itemize-changes", "--stats", "-e"])
            .arg(rig.rsync_ssh());
        cmd
    };

    let src = format!("{}/", source.display());
    let dst = format!("{}/", remote(&rig, &up));
    run_ok(rsync_cmd().arg(&src).arg(&dst), LIMIT);
    assert_eq!(tree_digest(&up), digest, "upload differs");
    assert_nothing_transferred(&run_ok(rsync_cmd().arg(&src).arg(&dst), LIMIT));

    let back = local.path().join("back");
    let back_dst = format!("{}/", back.display());
    run_ok(rsync_cmd().arg(&dst).arg(&back_dst), LIMIT);
    assert_eq!(tree_digest(&back), digest, "download differs");
    assert_nothing_transferred(&run_ok(rsync_cmd().arg(&dst).arg(&back_dst), LIMIT));
}

fn sftp_batch_put_get(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let local = scratch("sftp-local");
    let far = scratch("sftp-remote");
    let original = local.path().join("put me.bin");
    let digest = write_random_file(&original, 5 << 20);
    let uploaded = far.path().join("uploaded.bin");
    let fetched = local.path().join("fetched.bin");
    let batch = local.path().join("batch");
    fs::write(
        &batch,
        format!(
            "put \"{}\" \"{}\"\nls -l \"{}\"\nget \"{}\" \"{}\"\n",
            original.display(),
            uploaded.display(),
            uploaded.display(),
            uploaded.display(),
            fetched.display()
        ),
    )
    .unwrap();
    let out = run_ok(
        clean_env(&mut Command::new(require_tool("sftp")))
            .args(rig.ssh_args())
            .arg("-b")
            .arg(&batch)
            .arg(rig.host()),
        LIMIT,
    );
    assert!(
        out.stdout_text().contains("uploaded.bin"),
        "ls did not list the upload: {}",
        out.stdout_text()
    );
    assert_eq!(sha256_file(&uploaded), digest, "put corrupted the file");
    assert_eq!(sha256_file(&fetched), digest, "get corrupted the file");
}

/// Starts `ssh -N <forward>` in the background and waits for its local port.
fn background_forward(rig: &Rig, forward: &[String], port: u16, dir: &Path) -> Proc {
    let mut ssh = rig.ssh();
    ssh.args(["-N", "-o", "ExitOnForwardFailure=yes"])
        .args(forward)
        .arg(rig.host());
    let mut proc = Proc::spawn("ssh forward", ssh, &dir.join("ssh.log"));
    wait_for_port(port, LIMIT, &mut proc);
    proc
}

fn local_forward_fetches_from_http_server(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let http = HttpServer::start(random_bytes(3 << 20));
    let dir = scratch("forward");
    let port = free_port();
    let _ssh = background_forward(
        &rig,
        &[
            "-L".into(),
            format!("127.0.0.1:{port}:127.0.0.1:{}", http.port),
        ],
        port,
        dir.path(),
    );
    for _ in 0..3 {
        let body = novita_ssh_e2e::http_get(port);
        assert_eq!(
            sha256_hex(&body),
            sha256_hex(&http.body),
            "forwarded body differs"
        );
    }
    assert_eq!(http.requests(), 3);
}

fn curl_through_socks(socks_port: u16, http: &HttpServer) {
    let out = run_ok(
        clean_env(&mut Command::new(require_tool("curl")))
            .args(["-sS", "--fail", "--max-time", "30", "--socks5-hostname"])
            .arg(format!("127.0.0.1:{socks_port}"))
            .arg(format!("http://localhost:{}/", http.port)),
        LIMIT,
    );
    assert_eq!(
        sha256_hex(&out.stdout),
        sha256_hex(&http.body),
        "SOCKS body differs"
    );
}

fn dynamic_forward_serves_curl_through_socks(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let http = HttpServer::start(random_bytes(1 << 20));
    let dir = scratch("socks");
    let port = free_port();
    let _ssh = background_forward(
        &rig,
        &["-D".into(), format!("127.0.0.1:{port}")],
        port,
        dir.path(),
    );
    curl_through_socks(port, &http);
    curl_through_socks(port, &http);
    assert_eq!(http.requests(), 2);
}

/// What VS Code Remote-SSH does: `ssh -T -D <port> -o ConnectTimeout=15 <host> bash`, a
/// script on stdin, and its own traffic through the SOCKS port while the session lives.
fn vscode_remote_ssh_pattern_with_socks_during_session(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let http = HttpServer::start(random_bytes(256 << 10));
    let port = free_port();
    let mut ssh = rig.ssh();
    ssh.args([
        "-T",
        "-D",
        &format!("127.0.0.1:{port}"),
        "-o",
        "ConnectTimeout=15",
    ])
    .args([rig.host(), "bash"]);
    let mut session = Session::spawn(&mut ssh);
    session.send("echo \"vscode-marker-start: $((40 + 2))\"\nuname -s\n");
    session.expect("vscode-marker-start: 42", LIMIT);
    // The -D listener is up once the session is; VS Code connects through it now.
    let deadline = Instant::now() + LIMIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the -D port never opened");
        thread::sleep(Duration::from_millis(50));
    }
    curl_through_socks(port, &http);
    session.send("echo vscode-marker-end\nexit 0\n");
    session.expect("vscode-marker-end", LIMIT);
    session.close_stdin();
    let status = session.wait(LIMIT);
    assert!(status.success(), "ssh failed: {}", session.output_text());
}

fn twenty_concurrent_sessions_all_complete(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let rig = &rig;
                scope.spawn(move || {
                    let script = format!("sleep 1; echo session-{i}; head -c 1000000 /dev/zero");
                    run(rig.ssh().args([rig.host(), &script]), None, LIMIT)
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let out = handle.join().expect("session thread");
            assert_eq!(out.code(), 0, "session {i} failed: {}", out.stderr);
            let marker = format!("session-{i}\n");
            assert!(
                out.stdout.starts_with(marker.as_bytes()),
                "session {i} output is wrong"
            );
            assert_eq!(
                out.stdout.len(),
                marker.len() + 1_000_000,
                "session {i} lost bytes"
            );
        }
    });
}

fn interactive_pty_session_exits_promptly(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let mut argv = vec![require_tool("ssh").display().to_string()];
    argv.extend(rig.ssh_args());
    argv.push(rig.host().to_owned());
    let mut session = Session::pty(&argv);
    session.send("export PS1='prompt> '; echo ready-$((6 * 7))\n");
    session.expect("ready-42", LIMIT);
    session.send("echo typed-$((100 + 23))\n");
    session.expect("typed-123", LIMIT);
    session.send("exit\n");
    // 20 s is a hang detector, not a speed requirement.
    let status = session.wait(Duration::from_secs(20));
    assert!(
        status.success(),
        "ssh on a pty ended with {status}: {}",
        session.output_text()
    );
}

/// The documented websocat client works against `novita-proxy serve` (users can keep their
/// old ProxyCommand while templates move to serve).
#[test]
fn websocat_client_through_serve_runs_commands_and_copies_files() {
    let rig = Rig::start(BridgeKind::Serve, Link::Ws);
    let proxy = rig.websocat_proxy_command();
    let out = run(
        rig.sshd.ssh(&proxy).args([rig.host(), "echo hi; exit 7"]),
        None,
        LIMIT,
    );
    assert_eq!(
        (out.code(), out.stdout_text().as_str()),
        (7, "hi\n"),
        "stderr: {}",
        out.stderr
    );

    let dir = scratch("websocat-serve");
    let original = dir.path().join("original.bin");
    let digest = write_random_file(&original, 20 << 20);
    let copy = dir.path().join("copy.bin");
    run_ok(
        clean_env(&mut Command::new(require_tool("scp")))
            .arg("-q")
            .args(rig.sshd.ssh_base_args(&proxy))
            .arg(&original)
            .arg(remote(&rig, &copy)),
        LIMIT,
    );
    assert_eq!(sha256_file(&copy), digest);
}

/// The baseline the kit replaces: the documented websocat client and server together.
#[test]
fn documented_websocat_pair_propagates_exit_status() {
    let rig = Rig::start(BridgeKind::Websocat, Link::Ws);
    let out = run(
        rig.sshd
            .ssh(&rig.websocat_proxy_command())
            .args([rig.host(), "echo hello; exit 7"]),
        None,
        LIMIT,
    );
    assert_eq!(out.stdout_text(), "hello\n", "stderr: {}", out.stderr);
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
}

/// Without the test CA the edge's certificate is untrusted: the proxy refuses it (exit 5),
/// names the certificate problem, and forwards nothing in either direction.
#[test]
fn untrusted_certificate_is_refused_with_exit_5_and_no_bytes() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let mut proxy = Command::new(bin_path("novita-proxy"));
    clean_env(&mut proxy)
        .args(["--domain", EDGE_DOMAIN, "--connect-to"])
        .arg(format!("127.0.0.1:{}", edge.port))
        .arg(rig.host());
    let out = run(&mut proxy, Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"), LIMIT);
    assert_eq!(out.code(), 5, "stderr: {}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "bytes were forwarded: {:?}",
        out.stdout_text()
    );
    let message = out.stderr.to_lowercase();
    assert!(
        message.contains("certificate"),
        "no word about the certificate: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&Edge::host_for(rig.host(), 8081)),
        "the message does not name the host: {}",
        out.stderr
    );
    out.stderr_line();
    assert!(
        !edge.access_log().contains(rig.host()),
        "a request reached the edge"
    );

    // The same through ssh: it fails, and the user sees the proxy's message.
    let command = format!(
        "{} --domain {EDGE_DOMAIN} --connect-to 127.0.0.1:{} %h",
        bin_path("novita-proxy").display(),
        edge.port
    );
    let out = run(
        rig.sshd.ssh(&command).args([rig.host(), "true"]),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 255, "ssh did not fail: {}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "stderr: {}",
        out.stderr
    );
}

/// Values ssh may pass as `%h` that are not sandbox hosts.
fn bad_hosts() -> Vec<String> {
    vec![
        "a b".into(),
        "x;rm -rf ~".into(),
        "../x".into(),
        String::new(),
        "a".repeat(300),
        "%h".into(),
        "sandbox-ü".into(),
        "abc\ndef".into(),
        "$(touch /tmp/pwned)".into(),
        "-v".into(),
    ]
}

/// Each bad HOST is refused before any network I/O: exit 2, one line naming the problem,
/// nothing on stdout, no connection to the edge or the bridge.
#[test]
fn bad_hosts_exit_2_without_touching_the_network() {
    let target = CountingListener::start();
    for host in bad_hosts() {
        for route in [
            vec![
                "--domain".to_owned(),
                EDGE_DOMAIN.to_owned(),
                "--connect-to".to_owned(),
                format!("127.0.0.1:{}", target.port),
            ],
            vec![
                "--url".to_owned(),
                format!("ws://127.0.0.1:{}/{{id}}", target.port),
            ],
        ] {
            let mut proxy = Command::new(bin_path("novita-proxy"));
            clean_env(&mut proxy).args(&route).arg("--").arg(&host);
            let out = run(&mut proxy, Some(b"SSH-2.0-probe\r\n"), LIMIT);
            assert_eq!(out.code(), 2, "host {host:?}: stderr: {}", out.stderr);
            assert!(out.stdout.is_empty(), "host {host:?}: stdout not empty");
            let lines: Vec<&str> = out.stderr.trim().lines().collect();
            assert_eq!(
                lines.len(),
                1,
                "host {host:?}: not one line: {:?}",
                out.stderr
            );
            assert!(
                lines[0].len() > 20,
                "host {host:?}: no real message: {:?}",
                lines[0]
            );
        }
    }
    assert_eq!(target.connections(), 0, "a bad host reached the network");
}

/// The same values through ssh's ProxyCommand path (`%h` unquoted in a shell command, as ssh
/// does it): ssh either refuses the name itself or the proxy exits 2; either way nothing
/// reaches the network and no shell injection happens.
#[test]
fn bad_hosts_through_ssh_proxycommand_never_reach_the_network() {
    let sshd = novita_ssh_e2e::Sshd::start();
    let target = CountingListener::start();
    let canary = scratch("canary");
    let pwned = canary.path().join("pwned");
    let command = format!(
        "{} --domain {EDGE_DOMAIN} --connect-to 127.0.0.1:{} %h",
        bin_path("novita-proxy").display(),
        target.port
    );
    let mut hosts = bad_hosts();
    hosts.push(format!("x$(touch {})", pwned.display()));
    hosts.push(format!("x;touch {}", pwned.display()));
    for host in hosts {
        if host.is_empty() || host.starts_with('-') || host.contains('\n') {
            continue; // not a host ssh would pass on
        }
        let out = run(
            sshd.ssh(&command).arg("--").args([&host, "true"]),
            None,
            LIMIT,
        );
        assert_ne!(out.code(), 0, "host {host:?} connected");
        // Either ssh refused the name itself, or the proxy did, with its one-line message.
        assert!(
            out.stderr.contains("hostname contains invalid characters")
                || out.stderr.contains("novita-proxy: "),
            "host {host:?}: neither ssh nor the proxy refused it: {}",
            out.stderr
        );
    }
    assert!(!pwned.exists(), "a host name was executed by the shell");
    assert_eq!(target.connections(), 0, "a bad host reached the network");
}

/// An unknown sandbox ID: the edge answers 502; the proxy says the sandbox is not found or
/// not running (exit 6) and sends nothing to stdout.
#[test]
fn unknown_sandbox_exits_6_with_a_message() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let out = run(rig.proxy().arg("iunknownsandbox00000"), Some(b""), LIMIT);
    assert_eq!(out.code(), 6, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("502"),
        "the status is not named: {}",
        out.stderr
    );
    out.stderr_line();
}

/// Nothing listens on the port: exit 4 with a message, quickly (no retry by default).
#[test]
fn refused_connection_exits_4_with_a_message() {
    let port = free_port();
    let mut proxy = Command::new(bin_path("novita-proxy"));
    clean_env(&mut proxy)
        .args(["--url", &format!("ws://127.0.0.1:{port}/")])
        .arg("iz3m5v8axsybc877b539s");
    let out = run(&mut proxy, Some(b""), LIMIT);
    assert_eq!(out.code(), 4, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty());
    out.stderr_line();
}

/// ssh sends SIGHUP to its ProxyCommand when it is done; a user may send SIGTERM. Either
/// ends the proxy promptly, with the tunnel open and stdin still open.
#[cfg(unix)]
#[test]
fn proxy_exits_promptly_on_sighup_and_sigterm() {
    let rig = Rig::start(BridgeKind::Serve, Link::Ws);
    for signal in [libc::SIGHUP, libc::SIGTERM] {
        let mut proxy = rig.proxy();
        proxy.arg(rig.host());
        let mut session = Session::spawn(&mut proxy);
        session.expect("SSH-2.0-", LIMIT);
        novita_ssh_e2e::send_signal(session.pid(), signal);
        // Panics after 10 s: a hang detector, not a speed requirement.
        session.wait(Duration::from_secs(10));
    }
    assert_no_process_left(rig.host(), Duration::from_secs(5));
}

//! novita-proxy on real networks: the TLS edge, private sandboxes, corporate HTTP proxies,
//! dead peers, cut connections, slow links, half-close, and hostile clients of `serve`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use novita_ssh_e2e::{
    assert_no_process_left, bin_path, clean_env, free_port, random_bytes, require_tool, run,
    shell_quote, Bridge, BridgeKind, CountingListener, Edge, Fault, FaultRelay, Link, Rig, Session,
    Sshd, Tinyproxy, TlsFront, EDGE_DOMAIN,
};

/// A bound for commands that should take seconds: exceeding it means a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// The edge fixture itself: the documented websocat client (told to use the edge's address
/// and the sandbox's name) gets through nginx to sshd, and the edge logged the upgrade.
#[test]
fn edge_routes_the_sandbox_host_to_its_bridge() {
    let rig = Rig::start(BridgeKind::Websocat, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let host = Edge::host_for(rig.host(), 8081);
    let proxy = format!(
        "{} --binary -B 65536 -k --tls-domain {host} --ws-c-uri wss://{host}/ - \
         ws-c:ssl-connect:tcp:127.0.0.1:{}",
        shell_quote(&require_tool("websocat").display().to_string()),
        edge.port
    );
    let out = run(
        rig.sshd
            .ssh(&proxy)
            .args([rig.host(), "echo hello; exit 7"]),
        None,
        LIMIT,
    );
    assert_eq!(out.stdout_text(), "hello\n", "stderr: {}", out.stderr);
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
    let upgraded = format!("\"{host}\" \"GET / HTTP/1.1\" 101");
    let log = settled_log(|| edge.access_log(), |l| l.contains(&upgraded));
    assert!(log.contains(&upgraded), "edge log: {log}");
}

fn ssh_echo(ssh: &mut Command, host: &str) -> novita_ssh_e2e::Outcome {
    run(ssh.args([host, "echo through-$((1 + 1))"]), None, LIMIT)
}

fn assert_echo(out: &novita_ssh_e2e::Outcome) {
    assert_eq!(out.code(), 0, "ssh failed: {}", out.stderr);
    assert_eq!(out.stdout_text(), "through-2\n", "stderr: {}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// Corporate HTTP proxies (tinyproxy)
// ---------------------------------------------------------------------------------------

/// `HTTPS_PROXY` in the environment: the tunnel goes through the proxy's CONNECT.
#[test]
fn https_proxy_env_sends_the_tunnel_through_tinyproxy() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge_port = rig.edge.as_ref().unwrap().port;
    let proxy = Tinyproxy::start();
    let mut ssh = rig.ssh();
    ssh.env("HTTPS_PROXY", proxy.url());
    assert_echo(&ssh_echo(&mut ssh, rig.host()));
    assert!(
        proxy.saw_connect_to(&format!("127.0.0.1:{edge_port}")),
        "no CONNECT in tinyproxy's log:\n{}",
        proxy.log()
    );
}

/// `--proxy` with Basic auth in the URL (VS Code does not pass the environment, so the
/// proxy can be on the ProxyCommand line).
#[test]
fn proxy_flag_with_basic_auth_goes_through_tinyproxy() {
    let rig = Rig::start(BridgeKind::Websocat, Link::Wss);
    let edge_port = rig.edge.as_ref().unwrap().port;
    let proxy = Tinyproxy::start_with_auth("alice", "s3cret-pw");
    let url = proxy.url();
    assert_echo(&ssh_echo(
        &mut rig.ssh_with_proxy_args(&["--proxy", &url]),
        rig.host(),
    ));
    assert!(
        proxy.saw_connect_to(&format!("127.0.0.1:{edge_port}")),
        "no CONNECT in tinyproxy's log:\n{}",
        proxy.log()
    );
}

/// A wrong proxy password: exit 8, one line naming the proxy and its refusal.
#[test]
fn wrong_proxy_password_exits_8_naming_the_proxy_and_status() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let proxy = Tinyproxy::start_with_auth("alice", "s3cret-pw");
    let wrong = format!("http://alice:wrong@127.0.0.1:{}", proxy.port);
    let out = run(
        rig.proxy().args(["--proxy", &wrong]).arg(rig.host()),
        Some(b""),
        LIMIT,
    );
    assert_eq!(out.code(), 8, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty());
    // tinyproxy answers a bad BasicAuth with 401 (a strict proxy says 407): name either.
    assert!(
        out.stderr.contains("401") || out.stderr.contains("407"),
        "the status is not named: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{}", proxy.port)),
        "the proxy is not named: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("wrong"),
        "the password was printed: {}",
        out.stderr
    );
    out.stderr_line();
}

/// `NO_PROXY` matching the sandbox domain bypasses `HTTPS_PROXY` (curl's rules).
#[test]
fn no_proxy_bypasses_https_proxy_for_the_sandbox_domain() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let proxy = Tinyproxy::start();
    let mut ssh = rig.ssh();
    ssh.env("HTTPS_PROXY", proxy.url())
        .env("NO_PROXY", format!("localhost,.{EDGE_DOMAIN}"));
    assert_echo(&ssh_echo(&mut ssh, rig.host()));
    assert!(
        proxy.connects().is_empty(),
        "the tunnel went through the proxy despite NO_PROXY:\n{}",
        proxy.log()
    );
}

/// `--no-proxy` ignores the environment's proxy.
#[test]
fn no_proxy_flag_ignores_https_proxy() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let proxy = Tinyproxy::start();
    let mut ssh = rig.ssh_with_proxy_args(&["--no-proxy"]);
    ssh.env("HTTPS_PROXY", proxy.url());
    assert_echo(&ssh_echo(&mut ssh, rig.host()));
    assert!(proxy.connects().is_empty(), "log:\n{}", proxy.log());
}

// ---------------------------------------------------------------------------------------
// Private sandboxes (traffic token)
// ---------------------------------------------------------------------------------------

/// Without the token the edge answers 403: exit 7 and a message that says to pass the token.
/// With it (flag or environment), ssh works.
#[test]
fn private_sandbox_needs_the_traffic_token() {
    let token = "tok-5f1d2a9c7e";
    let rig = Rig::private(BridgeKind::Serve, token);

    let out = run(rig.proxy().arg(rig.host()), Some(b""), LIMIT);
    assert_eq!(out.code(), 7, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("--traffic-token"),
        "the message does not say to pass the token: {}",
        out.stderr
    );
    out.stderr_line();

    let out = run(
        rig.proxy()
            .args(["--traffic-token", "not-the-token"])
            .arg(rig.host()),
        Some(b""),
        LIMIT,
    );
    assert_eq!(out.code(), 7, "a wrong token: {}", out.stderr);
    assert!(
        !out.stderr.contains("not-the-token"),
        "the token was printed: {}",
        out.stderr
    );

    assert_echo(&ssh_echo(
        &mut rig.ssh_with_proxy_args(&["--traffic-token", token]),
        rig.host(),
    ));
    let mut ssh = rig.ssh();
    ssh.env("NOVITA_TRAFFIC_TOKEN", token);
    assert_echo(&ssh_echo(&mut ssh, rig.host()));
}

/// A sandbox that is still starting (the edge answers 502 until its bridge listens): with
/// `--wait` the proxy retries and connects; without it, it fails at once with exit 6.
#[test]
fn wait_retries_until_a_starting_sandbox_answers() {
    let sshd = Sshd::start();
    let bridge_port = free_port();
    let id = novita_ssh_e2e::sandbox_id();
    let edge = Edge::builder().route(&id, bridge_port).start();
    let proxy_cmd = |extra: &[&str]| {
        let mut cmd = Command::new(bin_path("novita-proxy"));
        clean_env(&mut cmd)
            .args(edge.proxy_args())
            .args(extra)
            .arg(&id);
        cmd
    };

    let out = run(&mut proxy_cmd(&[]), Some(b""), LIMIT);
    assert_eq!(out.code(), 6, "no bridge yet: {}", out.stderr);

    let command = proxy_cmd(&["--wait", "30"]);
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut ssh = sshd.ssh(&line);
    ssh.args([id.as_str(), "echo through-$((1 + 1))"]);
    let client = thread::spawn(move || run(&mut ssh, None, LIMIT));
    thread::sleep(Duration::from_secs(3));
    let _bridge = Bridge::start_on(BridgeKind::Serve, bridge_port, sshd.port, &[]);
    assert_echo(&client.join().unwrap());
    assert!(
        edge.access_log().contains("\" 502"),
        "the proxy never saw the starting sandbox's 502:\n{}",
        edge.access_log()
    );
}

// ---------------------------------------------------------------------------------------
// Dead peers, cut connections, slow links (FaultRelay between client and bridge)
// ---------------------------------------------------------------------------------------

/// sshd behind `serve`, and a fault relay in front of the bridge.
struct Faulty {
    relay: FaultRelay,
    _bridge: Bridge,
    sshd: Sshd,
}

impl Faulty {
    fn start() -> Faulty {
        let sshd = Sshd::start();
        let bridge = Bridge::serve(sshd.port);
        let relay = FaultRelay::start(bridge.port);
        Faulty {
            relay,
            _bridge: bridge,
            sshd,
        }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.relay.port)
    }

    fn proxy_command(&self, extra: &[&str]) -> String {
        std::iter::once(bin_path("novita-proxy").display().to_string())
            .chain(["--url".to_owned(), self.url()])
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .map(|a| shell_quote(&a))
            .chain(std::iter::once("%h".to_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The one line "novita-proxy: connection to the sandbox was lost (<id>): ...".
fn assert_lost_message(stderr: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("connection to the sandbox was lost"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one lost-connection line expected: {stderr}"
    );
    assert!(lines[0].starts_with("novita-proxy: "), "stderr: {stderr}");
}

/// The peer stops answering but the socket stays open: pings go unanswered and the proxy
/// exits 9 with "connection to the sandbox was lost" within the ping timeout.
#[test]
fn blackholed_connection_is_detected_by_pings() {
    let f = Faulty::start();
    let mut proxy = Command::new(bin_path("novita-proxy"));
    clean_env(&mut proxy)
        .args([
            "--url",
            &f.url(),
            "--ping-interval",
            "1",
            "--ping-timeout",
            "3",
        ])
        .arg("iz3m5v8axsybc877b539s");
    let mut session = Session::spawn(&mut proxy);
    // sshd's banner arrives through the tunnel: it is open.
    session.expect("SSH-2.0-", LIMIT);
    f.relay.set(Fault::Blackhole);
    let cut = Instant::now();
    // 3 s of ping timeout plus one interval; 20 s is a hang detector.
    let status = session.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(9), "stderr: {}", session.stderr_text());
    assert_lost_message(&session.stderr_text());
    assert!(
        cut.elapsed() >= Duration::from_secs(2),
        "exited before any ping could time out"
    );

    // The same under ssh: the session ends instead of hanging.
    f.relay.set(Fault::Pass);
    let mut ssh = f
        .sshd
        .ssh(&f.proxy_command(&["--ping-interval", "1", "--ping-timeout", "3"]));
    ssh.args(["sandbox", "echo up; sleep 120"]);
    let mut session = Session::spawn(&mut ssh);
    session.expect("up", LIMIT);
    f.relay.set(Fault::Blackhole);
    let status = session.wait(Duration::from_secs(20));
    assert!(!status.success());
    assert_lost_message(&session.stderr_text());
}

/// A reset in the middle of a download: ssh fails promptly and no proxy process is left.
#[test]
fn reset_mid_transfer_fails_ssh_promptly_without_orphans() {
    let f = Faulty::start();
    let command = f.proxy_command(&[]);
    let mut ssh = f.sshd.ssh(&command);
    ssh.args(["sandbox", "cat /dev/zero"]);
    let mut session = Session::spawn_discarding_stdout(&mut ssh);
    f.relay.wait_for_bytes(8 << 20, LIMIT);
    assert!(session.try_wait().is_none(), "ssh ended before the reset");
    f.relay.reset_all();
    let status = session.wait(Duration::from_secs(20));
    assert!(!status.success(), "ssh succeeded after a reset");
    assert_no_process_left(
        &format!("127.0.0.1:{}/", f.relay.port),
        Duration::from_secs(5),
    );
}

/// 200 ms of delay each way (a far-away sandbox): an interactive session still works.
#[test]
fn interactive_session_works_with_200ms_delay_each_way() {
    let f = Faulty::start();
    f.relay.set(Fault::Delay(Duration::from_millis(200)));
    let mut argv = vec![require_tool("ssh").display().to_string()];
    argv.extend(f.sshd.ssh_base_args(&f.proxy_command(&[])));
    argv.push("sandbox".to_owned());
    let mut session = Session::pty(&argv);
    session.send("echo ready-$((6 * 7))\n");
    session.expect("ready-42", LIMIT);
    for i in 0..3 {
        session.send(&format!("echo line-$(({i} + 1000))\n"));
        session.expect(&format!("line-{}", i + 1000), LIMIT);
    }
    session.send("exit\n");
    let status = session.wait(LIMIT);
    assert!(status.success(), "{status}: {}", session.output_text());
}

// ---------------------------------------------------------------------------------------
// Half-close
// ---------------------------------------------------------------------------------------

/// stdin ends at once, the sandbox keeps sending for a while: every byte arrives.
fn half_close_delivers_everything(kind: BridgeKind, link: Link) {
    let rig = Rig::start(kind, link);
    let out = run(
        rig.ssh()
            .args([rig.host(), "sleep 1; head -c 10M /dev/zero"]),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 0, "stderr: {}", out.stderr);
    assert_eq!(out.stdout.len(), 10 << 20, "bytes lost after stdin EOF");
    assert!(out.stdout.iter().all(|&b| b == 0), "bytes corrupted");
}

#[test]
fn half_close_delivers_10mib_through_websocat_over_ws() {
    half_close_delivers_everything(BridgeKind::Websocat, Link::Ws);
}

#[test]
fn half_close_delivers_10mib_through_serve_over_ws() {
    half_close_delivers_everything(BridgeKind::Serve, Link::Ws);
}

#[test]
fn half_close_delivers_10mib_through_serve_over_wss() {
    half_close_delivers_everything(BridgeKind::Serve, Link::Wss);
}

// ---------------------------------------------------------------------------------------
// serve under hostile clients
// ---------------------------------------------------------------------------------------

fn connect(port: u16) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to serve");
    conn.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    conn
}

/// Opens a WebSocket to `port` by hand and returns the socket after the 101.
fn handshake(port: u16) -> TcpStream {
    let mut conn = connect(port);
    conn.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).unwrap(),
            1,
            "serve closed during the handshake"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "no upgrade: {head}");
    conn
}

/// Reads until serve closes the connection (or errors); panics if it keeps it open.
fn assert_closed_by_serve(mut conn: TcpStream, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("serve kept the connection open after {what}")
            }
            Err(_) => return got,
        }
    }
}

/// Plain HTTP, garbage, unmasked frames, oversized frames, a client that stops reading, and
/// a few hundred idle half-handshakes: serve keeps running, a session that was open
/// throughout completes, and new ssh sessions work.
#[test]
fn serve_survives_junk_and_idle_handshake_flood() {
    let rig = Rig::start(BridgeKind::Serve, Link::Ws);
    let port = rig.bridge.port;

    // A session open throughout.
    let mut during = rig.ssh();
    during.args([rig.host(), "sleep 8; echo still-alive"]);
    let mut during = Session::spawn(&mut during);

    // Plain HTTP: no upgrade.
    let mut plain = connect(port);
    plain
        .write_all(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = assert_closed_by_serve(plain, "a plain HTTP request");
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 101"),
        "upgraded a plain request"
    );

    // Garbage bytes.
    let mut garbage = connect(port);
    garbage.write_all(&random_bytes(8192)).unwrap();
    assert_closed_by_serve(garbage, "garbage bytes");

    // An unmasked binary frame (clients must mask).
    let mut unmasked = handshake(port);
    unmasked
        .write_all(&[0x82, 0x05, b'h', b'e', b'l', b'l', b'o'])
        .unwrap();
    assert_closed_by_serve(unmasked, "an unmasked frame");

    // A frame announcing 1 TiB.
    let mut oversized = handshake(port);
    let mut frame = vec![0x82, 0xFF];
    frame.extend_from_slice(&(1u64 << 40).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend_from_slice(&random_bytes(65536));
    let _ = oversized.write_all(&frame);
    assert_closed_by_serve(oversized, "an oversized frame");

    // A real ssh client behind a relay that stops reading (its download backs up in serve).
    let stuck_relay = FaultRelay::start(port);
    let stuck_proxy = format!(
        "{} --url ws://127.0.0.1:{}/ %h",
        shell_quote(&bin_path("novita-proxy").display().to_string()),
        stuck_relay.port
    );
    let mut stuck = rig.sshd.ssh(&stuck_proxy);
    stuck.args([rig.host(), "cat /dev/zero"]);
    let _stuck = Session::spawn_discarding_stdout(&mut stuck);
    stuck_relay.wait_for_bytes(1 << 20, LIMIT);
    stuck_relay.set(Fault::Blackhole);

    // A flood of idle connections: half a handshake, or nothing at all.
    let mut flood = Vec::new();
    for i in 0..300 {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("flood connection");
        if i % 2 == 0 {
            let _ = conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n");
        }
        flood.push(conn);
    }

    // New sessions work while all of that is going on.
    assert_echo(&ssh_echo(&mut rig.ssh(), rig.host()));
    during.expect("still-alive", LIMIT);
    assert!(during.wait(LIMIT).success(), "{}", during.output_text());
    drop(flood);
    assert_echo(&ssh_echo(&mut rig.ssh(), rig.host()));
    let mut bridge = rig.bridge;
    assert!(bridge.is_running(), "serve died:\n{}", bridge.log());
}

// ---------------------------------------------------------------------------------------
// https:// proxies, extra headers, DNS without a network, no retry once bytes flowed,
// proxies that refuse
// ---------------------------------------------------------------------------------------

/// `--domain sandbox.test --connect-to 127.0.0.1:<connect_to> --cacert <cacert>`: the edge's
/// options with another first hop or CA file than [`Edge::proxy_args`].
fn edge_proxy_args(connect_to: u16, cacert: &Path) -> Vec<String> {
    vec![
        "--domain".into(),
        EDGE_DOMAIN.into(),
        "--connect-to".into(),
        format!("127.0.0.1:{connect_to}"),
        "--cacert".into(),
        cacert.display().to_string(),
    ]
}

/// [`edge_proxy_args`] plus `extra` as a shell-quoted ProxyCommand ending in `%h`.
fn edge_proxy_command(connect_to: u16, cacert: &Path, extra: &[&str]) -> String {
    let mut words = vec![shell_quote(&bin_path("novita-proxy").display().to_string())];
    words.extend(
        edge_proxy_args(connect_to, cacert)
            .iter()
            .map(|a| shell_quote(a)),
    );
    words.extend(extra.iter().map(|a| shell_quote(a)));
    words.push("%h".to_owned());
    words.join(" ")
}

/// `novita-proxy` with [`edge_proxy_args`] and a clean environment; add flags and HOST.
fn edge_proxy(connect_to: u16, cacert: &Path) -> Command {
    let mut cmd = Command::new(bin_path("novita-proxy"));
    clean_env(&mut cmd).args(edge_proxy_args(connect_to, cacert));
    cmd
}

/// Asserts exit `code`, nothing on stdout and exactly one stderr line starting with
/// `novita-proxy: `; returns that line.
fn assert_one_line_failure(out: &novita_ssh_e2e::Outcome, code: i32) -> String {
    assert_eq!(out.code(), code, "stderr: {}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "bytes reached stdout: {:?}",
        out.stdout_text()
    );
    let line = out.stderr_line();
    assert!(line.starts_with("novita-proxy: "), "{}", out.stderr);
    line.to_owned()
}

/// Polls `log` for up to 10 s until `done(log)` holds, and returns the last log read (nginx
/// writes a line when a connection ends, a moment after the client exits).
fn settled_log(log: impl Fn() -> String, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = log();
        if done(&text) || Instant::now() >= deadline {
            return text;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// An `https://` proxy URL: TLS to the proxy (nginx `stream` in front of tinyproxy), CONNECT
/// with Basic auth inside it, then TLS to the edge inside the tunnel. `--cacert` covers the
/// proxy's certificate too: with the proxy's CA in the file ssh works; with only the edge's CA
/// the proxy's certificate is refused (exit 8, naming the proxy, no CONNECT sent).
#[test]
fn https_proxy_url_works_and_cacert_covers_the_proxy_certificate() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let password = "pw-https-7Hq2";
    let tinyproxy = Tinyproxy::start_with_auth("bob", password);
    let front = TlsFront::start(tinyproxy.port);
    let url = format!("https://bob:{password}@127.0.0.1:{}", front.port);
    let scratch = tempfile::tempdir().unwrap();
    let both = scratch.path().join("cas.pem");
    fs::write(
        &both,
        fs::read_to_string(&edge.ca_pem).unwrap() + &fs::read_to_string(&front.ca_pem).unwrap(),
    )
    .unwrap();

    let command = edge_proxy_command(edge.port, &both, &["--proxy", &url]);
    assert_echo(&ssh_echo(&mut rig.sshd.ssh(&command), rig.host()));
    let edge_target = format!("127.0.0.1:{}", edge.port);
    assert_eq!(
        tinyproxy.connects(),
        vec![edge_target.clone()],
        "tinyproxy's log:\n{}",
        tinyproxy.log()
    );
    // The proxy leg itself was TLS: nginx terminated a TLS session that carried the tunnel
    // (`<client> TCP <TLS version> 200 <bytes from the client>`).
    let carried = |log: &str| {
        log.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() == 5
                && f[2].starts_with("TLSv1.")
                && f[3] == "200"
                && f[4].parse::<u64>().is_ok_and(|n| n > 1000)
        })
    };
    let log = settled_log(|| front.access_log(), carried);
    assert!(
        carried(&log),
        "no TLS session carried the tunnel; the TLS front's log:\n{log}"
    );

    // Only the edge's CA: the proxy's certificate is not trusted.
    let out = run(
        edge_proxy(edge.port, &edge.ca_pem)
            .args(["--proxy", &url])
            .arg(rig.host()),
        Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"),
        LIMIT,
    );
    let line = assert_one_line_failure(&out, 8);
    assert!(
        line.contains(&format!("https://127.0.0.1:{}", front.port)),
        "the proxy is not named: {line}"
    );
    assert!(
        line.contains("certificate"),
        "no word about the certificate: {line}"
    );
    assert!(!line.contains(password), "the password was printed: {line}");
    assert_eq!(
        tinyproxy.connects(),
        vec![edge_target],
        "a CONNECT went out over an untrusted TLS connection"
    );
}

/// `--header 'X-Team: infra'` arrives at the edge with the upgrade request (its access log
/// records X-Team). Headers with CR/LF, and headers that belong to the upgrade itself, are
/// refused before any connection: exit 2, one line.
#[test]
fn extra_header_reaches_the_edge_and_unsafe_headers_are_refused() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    assert_echo(&ssh_echo(
        &mut rig.ssh_with_proxy_args(&["--header", "X-Team: infra"]),
        rig.host(),
    ));
    let host = Edge::host_for(rig.host(), 8081);
    let upgraded = format!("\"{host}\" \"GET / HTTP/1.1\" 101 x-team=\"infra\"");
    let log = settled_log(|| edge.access_log(), |l| l.contains(&upgraded));
    assert!(
        log.contains(&upgraded),
        "X-Team did not reach the edge:\n{log}"
    );

    let target = CountingListener::start();
    for header in [
        "X-Team: infra\r\nX-Injected: yes",
        "X-Team: infra\nX-Injected: yes",
        "X-Team: in\rfra",
        "Host: evil.example",
        "host: evil.example",
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==",
        "Upgrade: h2c",
        "Connection: close",
    ] {
        let out = run(
            edge_proxy(target.port, &edge.ca_pem)
                .args(["--header", header])
                .arg(rig.host()),
            Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"),
            LIMIT,
        );
        let line = assert_one_line_failure(&out, 2);
        assert!(
            line.to_lowercase().contains("header"),
            "{header:?}: the message does not name the header: {line}"
        );
    }
    assert_eq!(
        target.connections(),
        0,
        "a refused header still opened a connection"
    );
}

/// No network at all (a fresh network namespace: only a loopback that is down, so the
/// resolver cannot be reached and nothing can leave the machine): a real sandbox name fails
/// to resolve with exit 3 and one line about resolving it.
#[cfg(target_os = "linux")]
#[test]
fn dns_failure_without_a_network_exits_3_with_one_line() {
    use novita_ssh_core::DEFAULT_DOMAIN;
    use novita_ssh_e2e::is_root;

    let id = "iz3m5v8axsybc877b539s";
    let mut cmd = Command::new(require_tool("unshare"));
    if !is_root() {
        cmd.args(["--user", "--map-root-user"]);
    }
    cmd.arg("--net").arg(bin_path("novita-proxy")).arg(id);
    clean_env(&mut cmd);
    let out = run(&mut cmd, Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"), LIMIT);
    assert!(
        !out.stderr.starts_with("unshare:"),
        "cannot create a network namespace for this test ({}): run the suite as root, or \
         allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
        out.stderr.trim()
    );
    let line = assert_one_line_failure(&out, 3);
    assert!(
        line.contains(&format!("cannot resolve 8081-{id}.{DEFAULT_DOMAIN}")),
        "not a message about resolving the sandbox's name: {line}"
    );
}

/// Waits up to 20 s for `session` to exit: a proxy that reconnected would keep running.
fn exits_without_reconnecting(
    session: &mut Session,
    relay: &FaultRelay,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.try_wait().is_none() {
        assert!(
            Instant::now() < deadline,
            "still running 20 s after the reset ({} connections through the relay): {}",
            relay.connections(),
            session.output_text()
        );
        thread::sleep(Duration::from_millis(20));
    }
    session.wait(LIMIT)
}

/// Asserts that exactly one connection went through `relay` and the edge logged exactly one
/// upgrade: the proxy did not connect again.
fn assert_one_connection(relay: &FaultRelay, edge: &Edge) {
    assert_eq!(
        relay.connections(),
        1,
        "the proxy connected again after bytes had flowed"
    );
    let upgrades = |log: &str| log.lines().filter(|l| l.contains("\" 101 ")).count();
    let log = settled_log(|| edge.access_log(), |l| upgrades(l) >= 1);
    assert_eq!(
        upgrades(&log),
        1,
        "not exactly one upgrade; edge log:\n{log}"
    );
}

/// Retry only before the tunnel opens: with `--wait 20`, a tunnel that moved bytes and is
/// then reset between client and edge exits 9 with the lost-connection line and never
/// reconnects (one TCP connection through the relay, one upgrade in the edge's log).
#[test]
fn reset_after_bytes_flowed_exits_9_without_reconnecting_despite_wait() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let relay = FaultRelay::start(edge.port);
    let mut proxy = edge_proxy(relay.port, &edge.ca_pem);
    proxy.args(["--wait", "20"]).arg(rig.host());
    let mut session = Session::spawn(&mut proxy);
    session.send("SSH-2.0-OpenSSH_9.2 e2e\r\n");
    // sshd's banner came back through the tunnel: bytes flowed both ways.
    session.expect("SSH-2.0-OpenSSH", LIMIT);
    relay.reset_all();
    let status = exits_without_reconnecting(&mut session, &relay);
    assert_eq!(status.code(), Some(9), "stderr: {}", session.stderr_text());
    assert_lost_message(&session.stderr_text());
    assert_one_connection(&relay, edge);
}

/// The same cut behind the edge (the edge-to-bridge connection is reset in the middle of a
/// session): the edge closes the client's connection, the ssh session fails at once, and
/// the proxy, started with `--wait 20`, does not connect again.
#[test]
fn bridge_side_reset_mid_session_fails_ssh_without_reconnecting() {
    let sshd = Sshd::start();
    let bridge = Bridge::serve(sshd.port);
    let relay = FaultRelay::start(bridge.port);
    let id = novita_ssh_e2e::sandbox_id();
    let edge = Edge::builder().route(&id, relay.port).start();
    let command = edge_proxy_command(edge.port, &edge.ca_pem, &["--wait", "20"]);
    let mut ssh = sshd.ssh(&command);
    ssh.args([id.as_str(), "echo up-$((40 + 2)); sleep 120"]);
    let mut session = Session::spawn(&mut ssh);
    session.expect("up-42", LIMIT);
    relay.reset_all();
    let status = exits_without_reconnecting(&mut session, &relay);
    assert!(
        !status.success(),
        "ssh succeeded after the cut: {}",
        session.output_text()
    );
    assert_one_connection(&relay, &edge);
}

/// Asserts exit 8 and one line naming the proxy (without credentials) and `status`, and
/// never `password`.
fn assert_proxy_refusal(out: &novita_ssh_e2e::Outcome, proxy: &str, status: &str, password: &str) {
    let line = assert_one_line_failure(out, 8);
    assert!(
        line.contains(proxy),
        "the proxy {proxy} is not named: {line}"
    );
    assert!(
        line.contains(status),
        "the status {status} is not named: {line}"
    );
    assert!(!line.contains(password), "the password was printed: {line}");
}

/// A proxy that refuses CONNECT to the edge's port (tinyproxy's `ConnectPort` -> 403) and one
/// that cannot reach the target (tinyproxy -> 500): exit 8, one line naming the proxy and the
/// status, never the password; nothing reached the edge.
#[test]
fn proxy_answering_403_or_5xx_exits_8_naming_proxy_and_status() {
    let rig = Rig::start(BridgeKind::Serve, Link::Wss);
    let edge = rig.edge.as_ref().unwrap();
    let password = "pw-refused-Zq81";

    let strict = Tinyproxy::start_with(Some(("carol", password)), &[443]);
    let out = run(
        rig.proxy().args(["--proxy", &strict.url()]).arg(rig.host()),
        Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"),
        LIMIT,
    );
    assert_proxy_refusal(&out, &strict.url_without_auth(), "403", password);

    let open = Tinyproxy::start_with_auth("carol", password);
    let nothing_there = free_port();
    let out = run(
        edge_proxy(nothing_there, &edge.ca_pem)
            .args(["--proxy", &open.url()])
            .arg(rig.host()),
        Some(b"SSH-2.0-OpenSSH_9.2 probe\r\n"),
        LIMIT,
    );
    assert!(
        open.saw_connect_to(&format!("127.0.0.1:{nothing_there}")),
        "tinyproxy's log:\n{}",
        open.log()
    );
    assert_proxy_refusal(&out, &open.url_without_auth(), "500", password);
    assert!(
        !edge.access_log().contains(rig.host()),
        "a request reached the edge:\n{}",
        edge.access_log()
    );
}

//! The novita-proxy binary from the outside: argument validation, help, version, and the
//! exit codes of connection failures, against small local servers.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_novita-proxy"));
    // What a developer's shell may set (a proxy, a domain, a CA bundle) stays out.
    for var in novita_proxy::generate::PROGRAM.environment_variables() {
        cmd.env_remove(var);
    }
    // No key file or name cache of the developer's own: an empty home.
    let home = std::env::temp_dir().join(format!("novita-proxy-cli-home-{}", std::process::id()));
    cmd.env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"));
    cmd.stdin(Stdio::null());
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run novita-proxy")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts exit `code`, exactly one stderr line starting with "novita-proxy: ", and
/// nothing on stdout.
fn assert_failure(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty, got {:?}",
        out.stdout
    );
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("novita-proxy: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

/// A listener that must never see a connection.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        Self(l)
    }
    fn addr(&self) -> String {
        self.0.local_addr().expect("addr").to_string()
    }
    fn assert_untouched(&self) {
        assert!(self.0.accept().is_err(), "a connection was made");
    }
}

#[test]
fn bad_hosts_exit_2_before_any_network_io() {
    let long = "a".repeat(300);
    let listener = Untouched::new();
    let addr = listener.addr();
    for bad in [
        "a b",
        "x;rm -rf ~",
        "../x",
        "",
        long.as_str(),
        "%h",
        "ñandú",
        "a\nb",
        "-rf",
        "a.b.novita",
    ] {
        for extra in [
            vec!["--connect-to", addr.as_str()],
            vec!["--url", "ws://{id}.example.test/"],
        ] {
            let mut args = extra.clone();
            args.extend(["-vv", "--", bad]);
            let out = run(&args);
            assert_failure(&out, 2, "sandbox ID");
        }
    }
    listener.assert_untouched();
}

#[test]
fn other_bad_input_exits_2() {
    let listener = Untouched::new();
    let addr = listener.addr();
    let cases: &[(&[&str], &str)] = &[
        (&["--domain", "evil.com/x", "abc"], "domain"),
        (&["--url", "http://x/", "abc"], "URL"),
        (&["--header", "X-A: b\r\nEvil: 1", "abc"], "header"),
        (&["--header", "Host: other", "abc"], "cannot be set"),
        (&["--traffic-token", "a b", "abc"], "token"),
        (&["--connect-to", "nope", "abc"], "--connect-to"),
        (&["--proxy", "socks5://h:1", "abc"], "proxy"),
        (&["--cacert", "/nonexistent/ca.pem", "abc"], "--cacert"),
        (&[], "missing HOST"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["--connect-to", addr.as_str()];
        if args.first() == Some(&"--connect-to") {
            all.clear();
        }
        all.extend_from_slice(args);
        let out = run(&all);
        assert_failure(&out, 2, needle);
    }
    listener.assert_untouched();
}

#[test]
fn help_lists_the_exit_codes_and_every_flag() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Exit codes:"), "{help}");
    for code in 0..=9 {
        assert!(
            help.contains(&format!("\n  {code}  ")),
            "exit code {code} missing: {help}"
        );
    }
    for flag in [
        "--domain",
        "--port",
        "--url",
        "--connect-to",
        "--header",
        "--traffic-token",
        "--cacert",
        "--connect-timeout",
        "--ping-interval",
        "--ping-timeout",
        "--wait",
        "--proxy",
        "--no-proxy",
        "--verbose",
        "--log-file",
        "serve",
    ] {
        assert!(help.contains(flag), "{flag} missing");
    }
    let serve = run(&["serve", "--help"]);
    let serve = String::from_utf8_lossy(&serve.stdout);
    for flag in [
        "--listen",
        "--to",
        "--handshake-timeout",
        "--max-connections",
        "--max-message-size",
    ] {
        assert!(serve.contains(flag), "{flag} missing from serve --help");
    }
}

#[test]
fn version_names_the_commit() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let rest = text.strip_prefix("novita-proxy ").expect("name");
    let (version, commit) = rest.split_once(" (").expect("commit in parentheses");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let commit = commit.strip_suffix(')').expect(")");
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    let in_git = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .is_ok_and(|o| o.status.success());
    if in_git && std::env::var_os("NOVITA_SSH_COMMIT").is_none() {
        assert_ne!(
            commit, "unknown",
            "built inside git: the commit must be known"
        );
    }
}

// DNS failure (exit 3) is tested in the e2e suite inside a network namespace, so that
// no query leaves the machine.

#[test]
fn refused_connection_exits_4() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    let out = run(&["--url", &url]);
    assert_failure(&out, 4, "connection refused");
}

/// Serves one HTTP answer with `status` to every request, and records the requests.
fn http_responder(status: &'static str) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        let mut stream: TcpStream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        head
    });
    (addr, handle)
}

#[test]
fn http_statuses_exit_6_or_7() {
    for (status, code, needle) in [
        ("404 Not Found", 6, "was not found"),
        ("502 Bad Gateway", 6, "not running"),
        ("503 Service Unavailable", 6, "not running"),
        ("403 Forbidden", 7, "--traffic-token"),
    ] {
        let (addr, server) = http_responder(status);
        let url = format!("ws://{addr}/{{id}}");
        let out = run(&[
            "--url",
            &url,
            "--header",
            "X-Team: infra",
            "iz3m5v8axsybc877b539s.novita",
        ]);
        assert_failure(&out, code, needle);
        assert!(
            stderr(&out).contains("iz3m5v8axsybc877b539s"),
            "{}",
            stderr(&out)
        );
        let head = server.join().expect("server");
        assert_eq!(head[0], "GET /iz3m5v8axsybc877b539s HTTP/1.1");
        assert!(head.iter().any(|h| h == "X-Team: infra"), "{head:?}");
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("upgrade: websocket")),
            "{head:?}"
        );
    }
}

#[test]
fn the_traffic_token_is_sent_and_a_refusal_says_so() {
    let (addr, server) = http_responder("403 Forbidden");
    let url = format!("ws://{addr}/");
    let out = bin()
        .args(["--url", &url, "abc"])
        .env("NOVITA_TRAFFIC_TOKEN", "tok-123")
        .output()
        .expect("run");
    assert_failure(&out, 7, "token was refused");
    assert!(
        !stderr(&out).contains("tok-123"),
        "the token must not be printed"
    );
    let head = server.join().expect("server");
    assert!(
        head.iter()
            .any(|h| h == "e2b-traffic-access-token: tok-123"),
        "{head:?}"
    );
}

#[test]
fn a_proxy_that_refuses_exits_8_and_names_itself() {
    let (addr, server) = http_responder("407 Proxy Authentication Required");
    let proxy = format!("http://alice:s3cret@{addr}");
    let out = bin()
        .args(["--domain", "sandbox.test", "iabcdefghijklmnopqrst"])
        .env("HTTPS_PROXY", &proxy)
        .output()
        .expect("run");
    assert_failure(&out, 8, &format!("http://{addr}"));
    let err = stderr(&out);
    assert!(err.contains("407") && err.contains("HTTPS_PROXY"), "{err}");
    assert!(
        !err.contains("s3cret"),
        "the password must not be printed: {err}"
    );
    let head = server.join().expect("server");
    assert_eq!(
        head[0],
        "CONNECT 8081-iabcdefghijklmnopqrst.sandbox.test:443 HTTP/1.1"
    );
    assert!(
        head.iter()
            .any(|h| h == "Proxy-Authorization: Basic YWxpY2U6czNjcmV0"),
        "{head:?}"
    );
}

#[test]
fn serve_refuses_plain_http_and_keeps_running() {
    let mut serve = Serve::start("127.0.0.1:9", &[]);
    let mut s = TcpStream::connect(&serve.listen).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = BufReader::new(s).read_line(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer:?}");
    assert!(serve.is_running(), "serve must keep running");
}

/// An echo server on a free port: echoes each connection until it ends.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = stream.try_clone().expect("clone");
                let mut writer = stream;
                let _ = std::io::copy(&mut reader, &mut writer);
                let _ = writer.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

/// A running `serve`, killed when dropped (also when a test fails).
struct Serve {
    child: std::process::Child,
    listen: String,
}

impl Serve {
    /// Starts `serve` with `extra` arguments and waits until it accepts connections.
    fn start(to: &str, extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = bin()
            .args(["serve", "--listen", &listen, "--to", to])
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let serve = Self { child, listen };
        for _ in 0..100 {
            if TcpStream::connect(&serve.listen).is_ok() {
                return serve;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not start on {}", serve.listen);
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn client_and_serve_carry_bytes_both_ways_and_survive_an_idle_flood() {
    let echo = echo_server();
    let mut serve = Serve::start(&echo, &["--max-connections", "4"]);
    let listen = serve.listen.clone();
    // More idle half-handshakes than --max-connections allows.
    let idle: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = TcpStream::connect(&listen).expect("connect");
            let _ = s.write_all(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n");
            s
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let url = format!("ws://{listen}/");
    let mut client = bin()
        .args(["--url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn client");
    let mut stdin = client.stdin.take().expect("stdin");
    let data = payload.clone();
    let writer = thread::spawn(move || stdin.write_all(&data));
    let out = client.wait_with_output().expect("client");
    writer.join().expect("writer").expect("write stdin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload, "echoed bytes differ");
    assert!(serve.is_running(), "serve must keep running");
    drop(idle);
}

#[test]
fn serve_refuses_bad_addresses_with_exit_2() {
    for (args, needle) in [
        (["--listen", "nope", "--to", "127.0.0.1:22"], "--listen"),
        (["--listen", "127.0.0.1:0", "--to", "nope"], "--to"),
        (["--listen", "127.0.0.1:0", "--to", "a b:22"], "--to"),
    ] {
        let out = bin().arg("serve").args(args).output().expect("run serve");
        assert_failure(&out, 2, needle);
    }
}

#[test]
fn a_name_without_an_api_key_exits_13_before_any_network_io() {
    let edge = Untouched::new();
    let out = bin()
        .args([
            "--domain",
            "sandbox.test",
            "--connect-to",
            &edge.addr(),
            "myproj.novita",
        ])
        .output()
        .expect("run");
    assert_failure(&out, 13, "novita-sshconfig login");
    assert!(stderr(&out).contains("'myproj' is a sandbox name"));
    edge.assert_untouched();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_exits_15_before_any_network_io() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("api_key");
    std::fs::write(&key, "sk_secret_value\n").expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let edge = Untouched::new();
    let out = bin()
        .args([
            "--domain",
            "sandbox.test",
            "--connect-to",
            &edge.addr(),
            "myproj",
        ])
        .env("NOVITA_API_KEY_FILE", &key)
        .output()
        .expect("run");
    assert_failure(&out, 15, "chmod 600");
    assert!(!stderr(&out).contains("sk_secret_value"));
    edge.assert_untouched();
    // With mode 0600 the same file is read: the API (nothing listens) is what fails then.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = bin()
        .args([
            "--api-url",
            &format!("http://{}", edge.addr()),
            "--connect-timeout",
            "1",
            "myproj",
        ])
        .env("NOVITA_API_KEY_FILE", &key)
        .output()
        .expect("run");
    assert_failure(&out, 14, "did not answer");
}

#[test]
fn an_api_that_does_not_answer_exits_14() {
    // Accepts the connection, reads the request, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let holder = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        thread::sleep(Duration::from_secs(3));
        drop(stream);
    });
    let out = bin()
        .args([
            "--api-url",
            &format!("http://{addr}"),
            "--connect-timeout",
            "1",
            "-vv",
            "myproj",
        ])
        .env("NOVITA_API_KEY", "sk_secret_value")
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(14), "{err}");
    assert!(out.stdout.is_empty());
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("novita-proxy: the Novita API at http://"),
        "{err}"
    );
    assert!(last.contains("no answer within 1 s"), "{err}");
    assert!(!err.contains("sk_secret_value"), "the key leaked: {err}");
    holder.join().expect("holder");
}

#[test]
fn a_refused_api_key_exits_13_and_is_never_printed() {
    let (addr, server) = http_responder("401 Unauthorized");
    let out = bin()
        .args(["--api-url", &format!("http://{addr}"), "-vv", "myproj"])
        .env("NOVITA_API_KEY", "sk_secret_value")
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(13), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("refused the API key from NOVITA_API_KEY (401)")
            && last.contains("novita-sshconfig login"),
        "{err}"
    );
    assert!(!err.contains("sk_secret_value"), "the key leaked: {err}");
    let head = server.join().expect("server");
    assert!(
        head[0].starts_with("GET /v2/sandboxes?metadata=name%3Dmyproj&state=running%2Cpaused"),
        "{head:?}"
    );
    assert!(
        head.iter()
            .any(|h| h.eq_ignore_ascii_case("x-api-key: sk_secret_value")),
        "{head:?}"
    );
}

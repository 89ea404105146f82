//! The stand-in Novita platform (`novita_ssh_e2e::platform`) proven against the real
//! `novita-sandbox` 2.1.1 Python SDK, pointed at it with `NOVITA_API_URL`: what the SDK does
//! lands in the platform's state, and what the platform holds is what the SDK sees. Then
//! the same platform behind the nginx edge: the API at `api.sandbox.test`, sandbox ports
//! answered by state, envd's files, and open relays cut by a pause or the end of the time
//! to live. A missing Python or SDK fails these tests.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use novita_ssh_e2e::platform::{ApiMode, KeyCheck, Platform, SandboxSpec, State};
use novita_ssh_e2e::{
    bin_path, require_tool, run, run_ok, shell_quote, Bridge, Edge, HttpServer, Session, Sshd,
};
use serde_json::{json, Value};

/// A bound for commands that should take seconds: exceeding it means a hang.
const LIMIT: Duration = Duration::from_secs(60);

fn millis(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// `value` has no `error` (the SDK raised nothing).
fn ok(value: Value) -> Value {
    assert!(value.get("error").is_none(), "the SDK raised: {value}");
    value
}

/// The exception class the SDK raised.
fn raised(value: &Value) -> &str {
    value["error"]
        .as_str()
        .unwrap_or_else(|| panic!("the SDK raised nothing: {value}"))
}

/// Seconds from now to `t` (negative when past).
fn secs_from_now(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[test]
fn platform_sdk_create_info_set_timeout_kill() {
    let p = Platform::start();
    let created = ok(p.sdk(
        "create",
        &json!({
            "template": "novita-ssh",
            "timeout": 120,
            "metadata": {"name": "sdkbox", "team": "blue"},
            "envs": {"LANG": "C.UTF-8"},
            "private": true,
            "lifecycle": {"on_timeout": "pause", "auto_resume": true},
        }),
    ));
    let id = created["id"].as_str().unwrap();

    // The platform holds what the SDK asked for.
    let rec = p.sandbox(id).unwrap();
    assert_eq!(rec.state, State::Running);
    assert_eq!(rec.template_id, "novita-ssh");
    assert_eq!(
        rec.metadata,
        BTreeMap::from([
            ("name".into(), "sdkbox".into()),
            ("team".into(), "blue".into())
        ])
    );
    assert_eq!(
        rec.env_vars.get("LANG").map(String::as_str),
        Some("C.UTF-8")
    );
    assert!(rec.auto_pause && rec.auto_resume, "{rec:?}");
    assert_eq!(
        rec.end_at.duration_since(rec.started_at).unwrap(),
        Duration::from_secs(120)
    );
    // The SDK holds the tokens the platform made: the traffic token of a private sandbox,
    // envd's token of a secure one (the SDK's default).
    assert!(rec.traffic_token.is_some());
    assert_eq!(
        created["traffic_token"].as_str(),
        rec.traffic_token.as_deref()
    );
    assert!(rec.envd_token.is_some());
    assert_eq!(created["envd_token"].as_str(), rec.envd_token.as_deref());
    assert_eq!(created["domain"], "sandbox.test");

    let create = p.requests().pop().unwrap();
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/sandboxes")
    );
    assert_eq!((create.status, create.key), (201, KeyCheck::Right));
    let body = create.body.unwrap();
    assert_eq!(body["templateID"], "novita-ssh");
    assert_eq!(body["timeout"], 120);
    assert_eq!(body["autoPause"], true);
    assert_eq!(body["autoResume"], json!({"enabled": true}));
    assert_eq!(body["secure"], true);
    assert_eq!(body["network"]["allowPublicTraffic"], false);
    assert!(create
        .user_agent
        .unwrap_or_default()
        .starts_with("novita-sandbox-python-sdk/"));

    // get_info sees what the platform holds, to the millisecond.
    let info = ok(p.sdk("info", &json!({"id": id})));
    assert_eq!(info["state"], "running");
    assert_eq!(info["template"], "novita-ssh");
    assert_eq!(info["metadata"], json!({"name": "sdkbox", "team": "blue"}));
    assert_eq!(info["started_at_ms"], millis(rec.started_at));
    assert_eq!(info["end_at_ms"], millis(rec.end_at));
    assert_eq!(info["domain"], "sandbox.test");
    assert_eq!(info["envd_token"].as_str(), rec.envd_token.as_deref());
    assert_eq!(
        info["lifecycle"],
        json!({"on_timeout": "pause", "auto_resume": true})
    );
    assert_eq!(info["network"], json!({"allow_public_traffic": false}));

    // set_timeout can shorten.
    ok(p.sdk("set_timeout", &json!({"id": id, "timeout": 30})));
    let end = p.end_at(id);
    assert!((28.0..=31.0).contains(&secs_from_now(end)), "{end:?}");
    assert_eq!(p.requests().pop().unwrap().status, 204);
    let info = ok(p.sdk("info", &json!({"id": id})));
    assert_eq!(info["end_at_ms"], millis(end));

    // kill: killed; a second kill finds nothing; get_info neither.
    assert_eq!(ok(p.sdk("kill", &json!({"id": id})))["killed"], true);
    assert_eq!(p.state(id), State::Killed);
    assert_eq!(ok(p.sdk("kill", &json!({"id": id})))["killed"], false);
    assert_eq!(p.requests().pop().unwrap().status, 404);
    let gone = p.sdk("info", &json!({"id": id}));
    assert_eq!(raised(&gone), "SandboxNotFoundException", "{gone}");
}

#[test]
fn platform_sdk_list_follows_pages_and_filters() {
    let p = Platform::start();
    let mut blue = Vec::new();
    for (i, state) in [
        State::Running,
        State::Paused,
        State::Running,
        State::Paused,
        State::Running,
    ]
    .into_iter()
    .enumerate()
    {
        let spec = SandboxSpec::new()
            .name(&format!("b{i}"))
            .metadata("team", "blue")
            .state(state);
        blue.push(p.add(spec));
    }
    for i in 0..2 {
        p.add(
            SandboxSpec::new()
                .name(&format!("r{i}"))
                .metadata("team", "red"),
        );
    }
    p.add(
        SandboxSpec::new()
            .metadata("team", "blue")
            .state(State::Killed),
    );
    p.set_page_size(2);

    // The expected order: start time, then ID.
    let mut expected: Vec<_> = blue.iter().map(|id| p.sandbox(id).unwrap()).collect();
    expected.sort_by_key(|s| (millis(s.started_at), s.id.clone()));

    let listed = ok(p.sdk("list", &json!({"metadata": {"team": "blue"}})));
    let pages = listed["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3, "five sandboxes in pages of two: {listed}");
    let items: Vec<&Value> = pages.iter().flat_map(|p| p.as_array().unwrap()).collect();
    assert_eq!(items.len(), expected.len(), "{listed}");
    for (item, rec) in items.iter().zip(&expected) {
        assert_eq!(item["id"].as_str(), Some(rec.id.as_str()));
        assert_eq!(item["state"], rec.state.reported().unwrap());
        assert_eq!(item["end_at_ms"], millis(rec.end_at));
        assert_eq!(item["started_at_ms"], millis(rec.started_at));
        assert_eq!(item["metadata"]["team"], "blue");
    }
    let lists: Vec<_> = p
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/sandboxes")
        .collect();
    assert_eq!(lists.len(), 3);
    let param = |r: &novita_ssh_e2e::platform::ApiRequest, k: &str| {
        r.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param(&lists[0], "metadata").as_deref(), Some("team=blue"));
    assert_eq!(param(&lists[0], "nextToken"), None);
    assert!(param(&lists[1], "nextToken").is_some());
    assert!(lists
        .iter()
        .all(|r| r.status == 200 && r.key == KeyCheck::Right));

    // A state filter, and two metadata pairs.
    let paused = ok(p.sdk(
        "list",
        &json!({"metadata": {"team": "blue"}, "states": ["paused"]}),
    ));
    let ids: Vec<&str> = paused["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap())
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    // In list order (start time, then ID): both may have started in the same millisecond.
    let paused_in_order: Vec<&str> = expected
        .iter()
        .filter(|s| s.id == blue[1] || s.id == blue[3])
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(ids, paused_in_order);
    let state = p.requests().pop().unwrap();
    assert_eq!(param(&state, "state").as_deref(), Some("paused"));
    let one = ok(p.sdk("list", &json!({"metadata": {"team": "blue", "name": "b2"}})));
    assert_eq!(one["pages"], json!([[one["pages"][0][0]]]));
    assert_eq!(one["pages"][0][0]["id"].as_str(), Some(blue[2].as_str()));

    // Keys and values are percent-quoted by the SDK (`/` kept) inside the form-encoded
    // parameter, which the query encodes once more.
    let odd = p.add(SandboxSpec::new().metadata("la bel", "my proj/1=2&3+%"));
    let found = ok(p.sdk("list", &json!({"metadata": {"la bel": "my proj/1=2&3+%"}})));
    assert_eq!(
        found["pages"][0][0]["id"].as_str(),
        Some(odd.as_str()),
        "{found}"
    );
    assert_eq!(found["pages"][0].as_array().unwrap().len(), 1, "{found}");
    let sent = p.requests().pop().unwrap();
    assert_eq!(
        param(&sent, "metadata").as_deref(),
        Some("la%2520bel=my%2520proj%2F1%253D2%25263%252B%2525")
    );

    // The client's own limit makes pages too.
    p.set_page_size(100);
    let running = ok(p.sdk("list", &json!({"states": ["running"], "limit": 1})));
    assert_eq!(running["pages"].as_array().unwrap().len(), 6, "{running}");
    assert_eq!(
        param(&p.requests().pop().unwrap(), "limit").as_deref(),
        Some("1")
    );
}

#[test]
fn platform_sdk_connect_resumes_extends_and_never_shortens() {
    let p = Platform::start();
    let id = p.add(
        SandboxSpec::new()
            .name("sleepy")
            .state(State::Paused)
            .auto_pause(true)
            .private("tok-sleepy"),
    );
    p.set_resume_delay(Duration::from_millis(1500));

    // connect resumes a paused sandbox (resuming meanwhile) and answers 201 with its tokens.
    let connect = thread::scope(|s| {
        let call = s.spawn(|| p.sdk("connect", &json!({"id": id, "timeout": 200})));
        p.wait_for_state(&id, State::Resuming, Duration::from_secs(30));
        call.join().unwrap()
    });
    let connect = ok(connect);
    let rec = p.sandbox(&id).unwrap();
    assert_eq!(rec.state, State::Running);
    assert_eq!(connect["traffic_token"], "tok-sleepy");
    assert_eq!(connect["envd_token"].as_str(), rec.envd_token.as_deref());
    assert_eq!(connect["domain"], "sandbox.test");
    assert!(
        (195.0..=201.0).contains(&secs_from_now(rec.end_at)),
        "{rec:?}"
    );
    let req = p.requests().pop().unwrap();
    assert_eq!(req.path, format!("/sandboxes/{id}/connect"));
    assert_eq!(
        (req.status, req.body.unwrap()["timeout"].clone()),
        (201, json!(200))
    );
    p.set_resume_delay(Duration::ZERO);

    // Connecting again with less keeps the end (200); with more extends it.
    ok(p.sdk("connect", &json!({"id": id, "timeout": 10})));
    assert_eq!(p.requests().pop().unwrap().status, 200);
    assert_eq!(p.end_at(&id), rec.end_at);
    ok(p.sdk("connect", &json!({"id": id, "timeout": 1000})));
    assert!(secs_from_now(p.end_at(&id)) > 990.0);

    // Pause: paused, and a second pause is a conflict the SDK accepts.
    ok(p.sdk("pause", &json!({"id": id})));
    assert_eq!(p.state(&id), State::Paused);
    assert_eq!(p.requests().pop().unwrap().status, 204);
    ok(p.sdk("pause", &json!({"id": id})));
    assert_eq!(p.requests().pop().unwrap().status, 409);
    let info = ok(p.sdk("info", &json!({"id": id})));
    assert_eq!(info["state"], "paused");

    let unknown = p.sdk(
        "connect",
        &json!({"id": "ie2enosuchsandbox000", "timeout": 60}),
    );
    assert_eq!(raised(&unknown), "SandboxNotFoundException", "{unknown}");
}

#[test]
fn platform_sdk_keys_quota_and_expiry() {
    let p = Platform::start();
    p.set_max_length_hours(3);
    assert_eq!(ok(p.sdk("quota", &json!({})))["max_length_hours"], 3);
    let quota = p.requests().pop().unwrap();
    assert_eq!(
        (quota.path.as_str(), quota.status),
        ("/sandboxes/quota", 200)
    );

    let id = p.add(SandboxSpec::new().name("keyed"));
    let wrong = p.sdk_as(Some("not-the-key"), "info", &json!({"id": id}));
    assert_eq!(raised(&wrong), "AuthenticationException", "{wrong}");
    let req = p.requests().pop().unwrap();
    assert_eq!((req.status, req.key), (401, KeyCheck::Wrong));
    p.clear_requests();
    let none = p.sdk_as(None, "list", &json!({}));
    assert_eq!(raised(&none), "AuthenticationException", "{none}");
    assert!(
        p.requests().is_empty(),
        "the SDK sends nothing without a key"
    );

    // The end passing: paused with auto-pause, killed without.
    let pauses = p.add(
        SandboxSpec::new()
            .timeout(Duration::from_secs(1))
            .auto_pause(true),
    );
    let dies = p.add(SandboxSpec::new().timeout(Duration::from_secs(1)));
    p.wait_for_state(&pauses, State::Paused, Duration::from_secs(10));
    p.wait_for_state(&dies, State::Killed, Duration::from_secs(10));
    assert_eq!(ok(p.sdk("info", &json!({"id": pauses})))["state"], "paused");
    let gone = p.sdk("info", &json!({"id": dies}));
    assert_eq!(raised(&gone), "SandboxNotFoundException", "{gone}");

    // A timeout over the account's maximum is refused at create.
    let long = p.sdk(
        "create",
        &json!({"template": "novita-ssh", "timeout": 4 * 3600}),
    );
    assert_eq!(raised(&long), "SandboxException", "{long}");
}

/// A raw HTTP GET of `/sandboxes/quota` with the key; the status line, or the error.
fn quota_status(p: &Platform) -> Result<String, std::io::Error> {
    let mut conn = TcpStream::connect(("127.0.0.1", p.api_port()))?;
    conn.set_read_timeout(Some(Duration::from_secs(1)))?;
    write!(
        conn,
        "GET /sandboxes/quota HTTP/1.1\r\nHost: x\r\nX-API-KEY: {}\r\nConnection: close\r\n\r\n",
        p.api_key()
    )?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

#[test]
fn platform_api_can_hang_or_refuse() {
    let p = Platform::start();
    assert_eq!(quota_status(&p).unwrap(), "HTTP/1.1 200 OK");
    p.set_api_mode(ApiMode::Silent);
    let hung = quota_status(&p).unwrap_err();
    assert!(
        matches!(
            hung.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{hung}"
    );
    assert_eq!(p.requests().pop().unwrap().status, 0);
    p.set_api_mode(ApiMode::Refuse);
    thread::sleep(Duration::from_millis(200));
    let refused = quota_status(&p).unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    p.set_api_mode(ApiMode::Answer);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while quota_status(&p).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the API did not come back"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(quota_status(&p).unwrap(), "HTTP/1.1 200 OK");
}

/// `curl` through the edge: (status, body).
fn curl(edge: &Edge, url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut cmd = Command::new(require_tool("curl"));
    cmd.args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}"])
        .arg("--cacert")
        .arg(&edge.ca_pem)
        .arg("--connect-to")
        .arg(format!("::127.0.0.1:{}", edge.port))
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY");
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    let out = run_ok(cmd.arg(url), LIMIT).stdout_text();
    let (body, status) = out.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_owned())
}

fn port_url(id: &str, port: u16, path: &str) -> String {
    format!("https://{}{path}", Edge::host_for(id, port))
}

#[test]
fn platform_behind_the_edge_answers_by_state() {
    let p = Platform::start();
    let web = HttpServer::start(b"hello from the sandbox".to_vec());
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/ssh")).unwrap();
    fs::write(
        root.path().join("etc/ssh/ssh_host_ed25519_key.pub"),
        "ssh-ed25519 AAAAC3Nza host\n",
    )
    .unwrap();
    let open = p.add(
        SandboxSpec::new()
            .name("web")
            .port(8080, web.port)
            .envd_root(root.path()),
    );
    let private = p.add(SandboxSpec::new().private("tok-p").port(8080, web.port));
    let paused = p.add(SandboxSpec::new().state(State::Paused).port(8080, web.port));
    let wakes = p.add(
        SandboxSpec::new()
            .state(State::Paused)
            .auto_pause(true)
            .auto_resume(true)
            .port(8080, web.port),
    );
    // A route of the edge's own keeps working beside the platform.
    let fixed = novita_ssh_e2e::sandbox_id();
    let edge = Edge::builder()
        .route_port(&fixed, 8080, web.port, None)
        .platform(&p)
        .start();
    let key = p.api_key();

    // The API through TLS at api.sandbox.test.
    let (status, body) = curl(
        &edge,
        &format!("{}/sandboxes/{open}", edge.api_url()),
        &[("X-API-KEY", &key)],
    );
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["sandboxID"].as_str(), Some(open.as_str()));
    assert_eq!(detail["metadata"]["name"], "web");
    let (status, body) = curl(&edge, &format!("{}/sandboxes/quota", edge.api_url()), &[]);
    assert_eq!(status, 401, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], 401);

    // Sandbox ports by state.
    let hello = (200, "hello from the sandbox".to_owned());
    assert_eq!(curl(&edge, &port_url(&open, 8080, "/"), &[]), hello);
    assert_eq!(curl(&edge, &port_url(&fixed, 8080, "/"), &[]), hello);
    let (status, body) = curl(&edge, &port_url("ie2enosuchsandbox000", 8080, "/"), &[]);
    assert_eq!(status, 502);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["sandboxId"], "ie2enosuchsandbox000");
    assert_eq!(error["code"], 502);
    assert!(error["message"].is_string());
    assert_eq!(curl(&edge, &port_url(&open, 9999, "/"), &[]).0, 502);
    assert_eq!(curl(&edge, &port_url(&private, 8080, "/"), &[]).0, 403);
    let wrong = [("e2b-traffic-access-token", "nope")];
    assert_eq!(curl(&edge, &port_url(&private, 8080, "/"), &wrong).0, 403);
    let right = [("e2b-traffic-access-token", "tok-p")];
    assert_eq!(curl(&edge, &port_url(&private, 8080, "/"), &right), hello);
    assert_eq!(curl(&edge, &port_url(&paused, 8080, "/"), &[]).0, 502);
    assert_eq!(p.state(&paused), State::Paused);
    assert_eq!(curl(&edge, &port_url(&wakes, 8080, "/"), &[]), hello);
    assert_eq!(p.state(&wakes), State::Running, "auto-resume");
    for transient in [State::Pausing, State::Resuming] {
        p.update(&open, |s| s.state = transient);
        assert_eq!(curl(&edge, &port_url(&open, 8080, "/"), &[]).0, 409);
    }
    p.update(&open, |s| s.state = State::Running);

    // envd's files, with envd's token.
    let token = p.sandbox(&open).unwrap().envd_token.unwrap();
    let file = port_url(
        &open,
        49983,
        "/files?path=%2Fetc%2Fssh%2Fssh_host_ed25519_key.pub&username=user",
    );
    let with_token = [("X-Access-Token", token.as_str())];
    assert_eq!(
        curl(&edge, &file, &with_token),
        (200, "ssh-ed25519 AAAAC3Nza host\n".to_owned())
    );
    assert_eq!(curl(&edge, &file, &[]).0, 401);
    assert_eq!(curl(&edge, &file, &[("X-Access-Token", "nope")]).0, 401);
    let missing = port_url(&open, 49983, "/files?path=/etc/ssh/nope.pub&username=user");
    assert_eq!(curl(&edge, &missing, &with_token).0, 404);

    p.kill(&open);
    assert_eq!(curl(&edge, &port_url(&open, 8080, "/"), &[]).0, 502);
    assert!(
        edge.access_log().contains("api.sandbox.test"),
        "{}",
        edge.access_log()
    );
}

#[test]
fn platform_cuts_ssh_sessions_on_pause_and_at_the_end() {
    let p = Platform::start();
    let sshd = Sshd::start();
    let bridge = Bridge::websocat(sshd.port);
    let id = p.add(SandboxSpec::new().port(8081, bridge.port).auto_pause(true));
    let edge = Edge::builder().platform(&p).start();
    let proxy_command = std::iter::once(bin_path("novita-proxy").display().to_string())
        .chain(edge.proxy_args())
        .map(|a| shell_quote(&a))
        .chain(std::iter::once("%h".to_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let session = || {
        let mut session = Session::spawn(
            sshd.ssh(&proxy_command)
                .arg(&id)
                .arg("echo ready; sleep 120"),
        );
        session.expect("ready", LIMIT);
        session
    };

    // A pause cuts the session.
    let mut open = session();
    p.pause(&id);
    let status = open.wait(Duration::from_secs(30));
    assert!(!status.success(), "{status}: {}", open.output_text());
    let refused = run(sshd.ssh(&proxy_command).arg(&id).arg("true"), None, LIMIT);
    assert!(!refused.status.success(), "a paused sandbox answered");

    // Resumed, it serves again; its end passing (auto-pause) cuts the next session.
    p.resume(&id);
    run_ok(sshd.ssh(&proxy_command).arg(&id).arg("true"), LIMIT);
    let mut open = session();
    p.update(&id, |s| {
        s.end_at = SystemTime::now() + Duration::from_secs(1)
    });
    let status = open.wait(Duration::from_secs(30));
    assert!(!status.success(), "{status}: {}", open.output_text());
    assert_eq!(p.state(&id), State::Paused);
}

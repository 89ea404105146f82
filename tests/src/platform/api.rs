//! The REST API on plain HTTP, in the shapes the `novita-sandbox` 2.1.1 SDK sends and
//! parses (its generated `api/client` models are the reference): `POST /sandboxes`,
//! `GET /v2/sandboxes`, `GET|DELETE /sandboxes/{id}`, `POST /sandboxes/{id}/connect`,
//! `/timeout`, `/pause`, and `GET /sandboxes/quota`. Every route wants `X-API-KEY`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::clock::rfc3339;
use super::state::{ApiRequest, ConnectStep, Failure, KeyCheck, SandboxRecord, State, MAX_LIMIT};
use super::wire::{percent_decode, query_pairs, read_body, read_head, Head, Response};
use super::{random_token, ApiMode, Shared, DEFAULT_DOMAIN};

/// The envd version every sandbox reports (the SDK refuses templates older than 0.1.0).
const ENVD_VERSION: &str = "0.2.4";

/// Accepts API connections on `port` until the runtime ends; drops the listener while the
/// mode is [`ApiMode::Refuse`] and binds it again afterwards.
pub(crate) async fn serve(port: u16, first: TcpListener, shared: Arc<Shared>) {
    let mut listener = Some(first);
    let mut mode = shared.mode.subscribe();
    loop {
        let current = *mode.borrow_and_update();
        if current == ApiMode::Refuse {
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match bind(port) {
                Ok(l) => l,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((conn, _)) = accepted {
                    tokio::spawn(connection(conn, shared.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        listener = Some(l);
    }
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    socket.listen(128)
}

/// One client connection: requests answered in turn (keep-alive, as httpx uses it).
async fn connection(mut conn: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let Ok(Some(head)) = read_head(&mut conn, &mut buf).await else {
            return;
        };
        let body = match read_body(&mut conn, &mut buf, &head).await {
            Ok(body) => body,
            Err(e) => {
                let answer = error(400, &e.to_string());
                let _ = answer.write(&mut conn, true).await;
                return;
            }
        };
        let mode = *shared.mode.borrow();
        match mode {
            ApiMode::Refuse => return,
            ApiMode::Silent => {
                let logged = entry(&shared, &head, &body, 0);
                shared.world().log.push(logged);
                std::future::pending::<()>().await;
            }
            ApiMode::Answer => {}
        }
        let answer = handle(&shared, &head, &body).await;
        let logged = entry(&shared, &head, &body, answer.status);
        shared.world().log.push(logged);
        if answer.write(&mut conn, head.wants_close()).await.is_err() || head.wants_close() {
            return;
        }
    }
}

fn entry(shared: &Shared, head: &Head, body: &[u8], status: u16) -> ApiRequest {
    ApiRequest {
        method: head.method.clone(),
        path: head.path().to_owned(),
        query: query_pairs(head.query()),
        body: serde_json::from_slice(body).ok(),
        user_agent: head.header("user-agent").map(str::to_owned),
        key: key_check(shared, head),
        status,
    }
}

fn key_check(shared: &Shared, head: &Head) -> KeyCheck {
    match head.header("x-api-key") {
        None => KeyCheck::Missing,
        Some(k) if k == shared.world().api_key => KeyCheck::Right,
        Some(_) => KeyCheck::Wrong,
    }
}

/// A JSON error body `{code, message}`.
fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "code": status, "message": message }))
}

fn failure(f: &Failure) -> Response {
    error(f.status, &f.message)
}

async fn handle(shared: &Shared, head: &Head, body: &[u8]) -> Response {
    match key_check(shared, head) {
        KeyCheck::Right => {}
        KeyCheck::Missing => return error(401, "Missing API key in the X-API-KEY header"),
        KeyCheck::Wrong => return error(401, "Invalid API key"),
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return error(400, &format!("invalid JSON body: {e}")),
        }
    };
    shared.world().expire(SystemTime::now());
    let segments: Vec<&str> = head.path().trim_matches('/').split('/').collect();
    match (head.method.as_str(), segments.as_slice()) {
        ("GET", ["v2", "sandboxes"]) => list(shared, head),
        ("POST", ["sandboxes"]) => create(shared, &body),
        ("GET", ["sandboxes", "quota"]) => quota(shared),
        ("GET", ["sandboxes", id]) => match shared.world().live(id) {
            Ok(rec) => Response::json(200, &detail(rec)),
            Err(f) => failure(&f),
        },
        ("DELETE", ["sandboxes", id]) => match shared.world().kill(id) {
            Ok(()) => Response::empty(204),
            Err(f) => failure(&f),
        },
        ("POST", ["sandboxes", id, "connect"]) => connect(shared, id, &body).await,
        ("POST", ["sandboxes", id, "timeout"]) => match timeout_field(&body) {
            Ok(t) => match shared.world().set_timeout(id, t, SystemTime::now()) {
                Ok(()) => Response::empty(204),
                Err(f) => failure(&f),
            },
            Err(r) => r,
        },
        ("POST", ["sandboxes", id, "pause"]) => pause(shared, id).await,
        (_, ["v2", "sandboxes"] | ["sandboxes", ..]) => error(405, "method not allowed"),
        _ => error(404, "not found"),
    }
}

/// `{"timeout": secs}`, required.
fn timeout_field(body: &Value) -> Result<Duration, Response> {
    body.get("timeout")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .ok_or_else(|| error(400, "timeout: a whole number of seconds is required"))
}

fn list(shared: &Shared, head: &Head) -> Response {
    let mut metadata = Vec::new();
    let mut states = Vec::new();
    let mut limit = MAX_LIMIT;
    let mut next = None;
    for (k, v) in query_pairs(head.query()) {
        match k.as_str() {
            // The SDK percent-quotes each key and value, then form-encodes the pairs into
            // this one parameter: decoded once as a query parameter, once as a form, and
            // once more per key and value.
            "metadata" => {
                metadata.extend(
                    query_pairs(&v)
                        .into_iter()
                        .map(|(k, v)| (percent_decode(&k), percent_decode(&v))),
                );
            }
            "state" => {
                for s in v.split(',').filter(|s| !s.is_empty()) {
                    if s != "running" && s != "paused" {
                        return error(400, &format!("invalid state {s:?}"));
                    }
                    states.push(s.to_owned());
                }
            }
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => return error(400, &format!("limit must be 1 to {MAX_LIMIT}")),
            },
            "nextToken" => next = Some(v),
            _ => {}
        }
    }
    let (page, next) = shared
        .world()
        .list(&metadata, &states, limit, next.as_deref());
    let answer = Response::json(200, &Value::Array(page.iter().map(listed).collect()));
    match next {
        Some(token) => answer.with_header("X-Next-Token", &token),
        None => answer,
    }
}

fn create(shared: &Shared, body: &Value) -> Response {
    let Some(template) = body.get("templateID").and_then(Value::as_str) else {
        return error(400, "templateID is required");
    };
    let strings = |key: &str| -> BTreeMap<String, String> {
        body.get(key)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let flag = |v: Option<&Value>, default: bool| v.and_then(Value::as_bool).unwrap_or(default);
    let public = flag(
        body.get("network")
            .and_then(|n| n.get("allowPublicTraffic")),
        true,
    );
    let now = SystemTime::now();
    let rec = SandboxRecord {
        id: crate::sandbox_id(),
        client_id: random_token(8),
        template_id: template.to_owned(),
        alias: None,
        metadata: strings("metadata"),
        env_vars: strings("envVars"),
        state: State::Running,
        started_at: now,
        end_at: now,
        timeout: Duration::from_secs(body.get("timeout").and_then(Value::as_u64).unwrap_or(15)),
        auto_pause: flag(body.get("autoPause"), false),
        auto_resume: flag(body.get("autoResume").and_then(|a| a.get("enabled")), false),
        traffic_token: (!public).then(|| random_token(32)),
        envd_token: flag(body.get("secure"), false).then(|| random_token(32)),
        domain: Some(DEFAULT_DOMAIN.to_owned()),
        allow_internet_access: flag(body.get("allow_internet_access"), true),
        ports: BTreeMap::new(),
        envd_root: None,
    };
    let mut world = shared.world();
    match world.create(rec.clone(), now) {
        Ok(()) => Response::json(201, &connected(world.record(&rec.id).unwrap_or(&rec))),
        Err(f) => failure(&f),
    }
}

async fn connect(shared: &Shared, id: &str, body: &Value) -> Response {
    let timeout = match timeout_field(body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut resumed = false;
    // A pause or resume held by a test for longer than this answers 409 instead.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let step = shared.world().connect(id, timeout, SystemTime::now());
        match step {
            Err(f) => return failure(&f),
            Ok(ConnectStep::Extended) => break,
            Ok(ConnectStep::Wait) if tokio::time::Instant::now() > give_up => {
                return error(409, "a pause or resume of the sandbox is still in progress");
            }
            Ok(ConnectStep::Wait) => tokio::time::sleep(Duration::from_millis(20)).await,
            Ok(ConnectStep::Resuming) => {
                let delay = shared.world().resume_delay;
                tokio::time::sleep(delay).await;
                if let Err(f) = shared.world().finish_resume(id, timeout, SystemTime::now()) {
                    return failure(&f);
                }
                resumed = true;
                break;
            }
        }
    }
    let mut world = shared.world();
    // The SDK may ask to change public access on connect (`allowPublicTraffic`).
    if let Some(public) = body.get("allowPublicTraffic").and_then(Value::as_bool) {
        world.update(id, |s| {
            if public {
                s.traffic_token = None;
            } else if s.traffic_token.is_none() {
                s.traffic_token = Some(random_token(32));
            }
        });
    }
    match world.live(id) {
        Ok(rec) => Response::json(if resumed { 201 } else { 200 }, &connected(rec)),
        Err(f) => failure(&f),
    }
}

async fn pause(shared: &Shared, id: &str) -> Response {
    let begun = shared.world().begin_pause(id);
    if let Err(f) = begun {
        return failure(&f);
    }
    let delay = shared.world().pause_delay;
    tokio::time::sleep(delay).await;
    shared.world().finish_pause(id);
    Response::empty(204)
}

fn quota(shared: &Shared) -> Response {
    let world = shared.world();
    Response::json(
        200,
        &json!({
            "limit": {
                "concurrentInstances": 20,
                "concurrentVcpu": 40,
                "concurrentRamMb": 40960,
                "maxLengthHours": world.max_length_hours,
                "diskMb": 20480,
                "maxVcpu": 8,
                "maxRamMb": 16384,
            },
            "usage": {
                "concurrentInstances": world.list(&[], &["running".to_owned()], MAX_LIMIT, None).0.len(),
                "concurrentVcpu": 0,
                "concurrentRamMb": 0,
            },
        }),
    )
}

/// The `ListedSandbox` shape (`GET /v2/sandboxes` items).
fn listed(s: &SandboxRecord) -> Value {
    let mut m = Map::new();
    m.insert("sandboxID".into(), json!(s.id));
    m.insert("clientID".into(), json!(s.client_id));
    m.insert("templateID".into(), json!(s.template_id));
    if let Some(alias) = &s.alias {
        m.insert("alias".into(), json!(alias));
    }
    m.insert("startedAt".into(), json!(rfc3339(s.started_at)));
    m.insert("endAt".into(), json!(rfc3339(s.end_at)));
    m.insert(
        "state".into(),
        json!(s.state.reported().unwrap_or("paused")),
    );
    m.insert("cpuCount".into(), json!(2));
    m.insert("memoryMB".into(), json!(512));
    m.insert("diskSizeMB".into(), json!(10240));
    m.insert("envdVersion".into(), json!(ENVD_VERSION));
    m.insert("metadata".into(), json!(s.metadata));
    Value::Object(m)
}

/// The `SandboxDetail` shape (`GET /sandboxes/{id}`): no traffic token.
fn detail(s: &SandboxRecord) -> Value {
    let mut v = listed(s);
    if let Value::Object(m) = &mut v {
        m.insert("domain".into(), json!(s.domain));
        if let Some(token) = &s.envd_token {
            m.insert("envdAccessToken".into(), json!(token));
        }
        m.insert("allowInternetAccess".into(), json!(s.allow_internet_access));
        m.insert(
            "lifecycle".into(),
            json!({
                "autoResume": s.auto_resume,
                "onTimeout": if s.auto_pause { "pause" } else { "kill" },
            }),
        );
        m.insert(
            "network".into(),
            json!({ "allowPublicTraffic": s.traffic_token.is_none() }),
        );
    }
    v
}

/// The `Sandbox` shape (the create and connect answers), tokens included (`null` when none).
fn connected(s: &SandboxRecord) -> Value {
    let mut m = Map::new();
    m.insert("sandboxID".into(), json!(s.id));
    m.insert("clientID".into(), json!(s.client_id));
    m.insert("templateID".into(), json!(s.template_id));
    if let Some(alias) = &s.alias {
        m.insert("alias".into(), json!(alias));
    }
    m.insert("envdVersion".into(), json!(ENVD_VERSION));
    m.insert("domain".into(), json!(s.domain));
    m.insert("envdAccessToken".into(), json!(s.envd_token));
    m.insert("trafficAccessToken".into(), json!(s.traffic_token));
    Value::Object(m)
}

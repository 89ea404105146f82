//! A stand-in of the Novita platform that the real `novita-sandbox` 2.1.1 SDK accepts: the
//! REST API, the edge's routing of `<port>-<id>.<domain>` by sandbox state, and envd's file
//! reads, on loopback, for the code under test to talk to exactly as to Novita.
//!
//! [`Platform::start`] runs it on its own thread (killed on drop) with two plain-HTTP ports:
//! the API ([`Platform::api_url`]) and the edge router, which an [`Edge`](crate::Edge)
//! started with [`EdgeBuilder::platform`](crate::EdgeBuilder::platform) puts behind TLS as
//! `https://api.sandbox.test` and `https://<port>-<id>.sandbox.test`.
//!
//! Tests add sandboxes with [`SandboxSpec`], change them with the hooks on [`Platform`],
//! and read back what the API was asked ([`Platform::requests`]) and what it holds
//! ([`Platform::sandbox`]). [`Platform::sdk`] runs the real SDK against it.
//!
//! ```no_run
//! use novita_ssh_e2e::platform::{Platform, SandboxSpec, State};
//! use novita_ssh_e2e::{Bridge, Edge, Sshd};
//!
//! let platform = Platform::start();
//! let sshd = Sshd::start();
//! let bridge = Bridge::websocat(sshd.port);
//! let id = platform.add(
//!     SandboxSpec::new().name("myproj").state(State::Paused).port(8081, bridge.port),
//! );
//! let edge = Edge::builder().platform(&platform).start();
//! // novita-proxy <edge.platform_proxy_args()> myproj, with NOVITA_API_KEY=platform.api_key()
//! # let _ = (id, edge);
//! ```
//!
//! Rules where Novita's behaviour is not documented follow E2B's API, whose wire format
//! Novita keeps:
//! - The API reports only `running` and `paused` (the SDK's `SandboxState` knows no other):
//!   a resume in progress reads `running`, a pause in progress `paused`; killed sandboxes
//!   are 404 and left out of lists.
//! - A resume (by connect, the edge's auto-resume or [`Platform::resume`]) restarts the
//!   clock: `startedAt` is the resume time, the end its timeout later.
//! - Every end is capped at `startedAt` plus the account's maximum length; a create asking
//!   for more is refused (400). `POST /sandboxes/{id}/timeout` wants a running sandbox (404
//!   otherwise).
//! - Create and connect answer `"trafficAccessToken": null` for a public sandbox and
//!   `"domain": null` when the sandbox has none.
//! - envd's port (49983) does not want the traffic token (the SDK never sends it there);
//!   envd wants its own `X-Access-Token`.

mod api;
mod clock;
mod envd;
mod router;
mod sdk;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{oneshot, watch};

pub use state::{ApiRequest, KeyCheck, SandboxRecord, State};

use crate::files::random_bytes;
use crate::EDGE_DOMAIN;

/// The domain the API reports for its sandboxes unless told otherwise (the edge's).
const DEFAULT_DOMAIN: &str = EDGE_DOMAIN;

/// How the API answers (see [`Platform::set_api_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiMode {
    /// Normally.
    Answer,
    /// It accepts connections and reads requests but never answers (a hung API).
    Silent,
    /// Nothing listens on its port: connections are refused.
    Refuse,
}

/// State shared between the server thread and the test's hooks.
#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<state::World>,
    mode: watch::Sender<ApiMode>,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, state::World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running stand-in platform. Stopped (with every open connection) on drop.
pub struct Platform {
    api_port: u16,
    router_port: u16,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform")
            .field("api_port", &self.api_port)
            .field("router_port", &self.router_port)
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// Starts the API and the edge router on free loopback ports, with a fresh API key,
    /// pages of up to 100, a maximum sandbox length of 24 h, and no pause or resume delay.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start() -> Platform {
        let api = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the API port");
        let router = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the router port");
        let api_port = api.local_addr().unwrap().port();
        let router_port = router.local_addr().unwrap().port();
        api.set_nonblocking(true).unwrap();
        router.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            world: Mutex::new(state::World::new(format!("e2e-key-{}", random_token(24)))),
            mode: watch::channel(ApiMode::Answer).0,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let s = shared.clone();
        let thread = thread::Builder::new()
            .name("novita-platform".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                rt.block_on(async move {
                    let api = tokio::net::TcpListener::from_std(api).unwrap();
                    let router = tokio::net::TcpListener::from_std(router).unwrap();
                    tokio::select! {
                        _ = stopped => {}
                        () = api::serve(api_port, api, s.clone()) => {}
                        () = router::serve(router, s.clone()) => {}
                        () = expire_loop(&s) => {}
                    }
                });
                rt.shutdown_background();
            })
            .expect("start the platform thread");
        Platform {
            api_port,
            router_port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The API's port (plain HTTP on 127.0.0.1).
    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// The edge router's port (plain HTTP on 127.0.0.1; nginx forwards sandbox hosts to it).
    pub fn router_port(&self) -> u16 {
        self.router_port
    }

    /// `http://127.0.0.1:<api_port>`: the `NOVITA_API_URL` that reaches the API directly.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// The API key the API accepts (`X-API-KEY`).
    pub fn api_key(&self) -> String {
        self.shared.world().api_key.clone()
    }

    /// Makes the API accept another key (and refuse the old one with 401).
    pub fn set_api_key(&self, key: &str) {
        key.clone_into(&mut self.shared.world().api_key);
    }

    /// Adds a sandbox (in [`SandboxSpec`]'s state, ending its timeout from now) and returns
    /// its ID.
    pub fn add(&self, spec: SandboxSpec) -> String {
        let now = SystemTime::now();
        let mut rec = spec.rec;
        rec.started_at = now;
        rec.end_at = now + rec.timeout;
        let id = rec.id.clone();
        self.shared.world().insert(rec);
        id
    }

    /// What the platform holds about sandbox `id` (killed ones too), after applying every
    /// end that has passed.
    pub fn sandbox(&self, id: &str) -> Option<SandboxRecord> {
        let mut world = self.shared.world();
        world.expire(SystemTime::now());
        world.record(id).cloned()
    }

    /// The state of sandbox `id`.
    ///
    /// # Panics
    /// When the platform never held it.
    pub fn state(&self, id: &str) -> State {
        self.expect(id).state
    }

    /// When sandbox `id` ends unless extended.
    ///
    /// # Panics
    /// When the platform never held it.
    pub fn end_at(&self, id: &str) -> SystemTime {
        self.expect(id).end_at
    }

    fn expect(&self, id: &str) -> SandboxRecord {
        self.sandbox(id)
            .unwrap_or_else(|| panic!("the platform holds no sandbox {id}"))
    }

    /// Changes sandbox `id` in place: its end or start time (to bring the maximum length
    /// near), ports, metadata, tokens, or its state (set [`State::Pausing`] or
    /// [`State::Resuming`] to hold a transition). Leaving [`State::Running`] cuts its relays.
    ///
    /// # Panics
    /// When the platform never held it.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut SandboxRecord)) {
        assert!(
            self.shared.world().update(id, f),
            "the platform holds no sandbox {id}"
        );
    }

    /// Pauses sandbox `id` at once (its open relays are cut), whatever its state.
    pub fn pause(&self, id: &str) {
        self.update(id, |s| s.state = State::Paused);
    }

    /// Resumes sandbox `id` at once: running, started now, ending its timeout from now.
    pub fn resume(&self, id: &str) {
        self.update(id, |s| {
            let now = SystemTime::now();
            s.state = State::Running;
            s.started_at = now;
            s.end_at = now + s.timeout;
        });
    }

    /// Kills sandbox `id` (its open relays are cut; the API answers 404 for it).
    pub fn kill(&self, id: &str) {
        self.update(id, |s| s.state = State::Killed);
    }

    /// Waits until sandbox `id` is in `state` (its end passing counts).
    ///
    /// # Panics
    /// When it is not within `within`, with its record.
    pub fn wait_for_state(&self, id: &str, state: State, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let rec = self.expect(id);
            if rec.state == state {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sandbox {id} is not {state:?} after {within:?}: {rec:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every API request so far, in arrival order.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.shared.world().log.clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        self.shared.world().log.clear();
    }

    /// The most sandboxes one page of `GET /v2/sandboxes` holds, whatever `limit` asks
    /// (at least 1; 100 at first).
    pub fn set_page_size(&self, n: usize) {
        self.shared.world().page_size = n.max(1);
    }

    /// The account's maximum sandbox length (`GET /sandboxes/quota` `limit.maxLengthHours`),
    /// which also caps every sandbox's end at its start plus that length.
    pub fn set_max_length_hours(&self, hours: u32) {
        self.shared.world().max_length_hours = hours;
    }

    /// How long a resume takes (by connect or by the edge's auto-resume); the sandbox is
    /// [`State::Resuming`] meanwhile and the edge answers 409.
    pub fn set_resume_delay(&self, delay: Duration) {
        self.shared.world().resume_delay = delay;
    }

    /// How long `POST /sandboxes/{id}/pause` takes; the sandbox is [`State::Pausing`]
    /// meanwhile.
    pub fn set_pause_delay(&self, delay: Duration) {
        self.shared.world().pause_delay = delay;
    }

    /// Makes the API answer, hang or refuse connections from now on.
    pub fn set_api_mode(&self, mode: ApiMode) {
        self.shared.mode.send_replace(mode);
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Applies passed ends every 50 ms, so relays are cut on time without a request.
async fn expire_loop(shared: &Shared) {
    loop {
        shared.world().expire(SystemTime::now());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `len` random characters of `[a-z0-9]`.
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes(len)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// A sandbox to add with [`Platform::add`]. By default: a fresh ID, template `novita-ssh`,
/// no metadata, running, a 300 s timeout (killed at its end), public traffic, an envd
/// access token, domain `sandbox.test`, no ports.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    rec: SandboxRecord,
}

impl Default for SandboxSpec {
    fn default() -> Self {
        SandboxSpec::new()
    }
}

impl SandboxSpec {
    /// The defaults above.
    pub fn new() -> SandboxSpec {
        let now = SystemTime::now();
        SandboxSpec {
            rec: SandboxRecord {
                id: crate::sandbox_id(),
                client_id: random_token(8),
                template_id: "novita-ssh".into(),
                alias: None,
                metadata: BTreeMap::new(),
                env_vars: BTreeMap::new(),
                state: State::Running,
                started_at: now,
                end_at: now,
                timeout: Duration::from_secs(300),
                auto_pause: false,
                auto_resume: false,
                traffic_token: None,
                envd_token: Some(random_token(32)),
                domain: Some(DEFAULT_DOMAIN.to_owned()),
                allow_internet_access: true,
                ports: BTreeMap::new(),
                envd_root: None,
            },
        }
    }

    /// Uses this ID.
    pub fn id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.rec.id);
        self
    }

    /// Uses this template ID.
    pub fn template(mut self, template_id: &str) -> Self {
        template_id.clone_into(&mut self.rec.template_id);
        self
    }

    /// Names it: metadata `name=<name>` (the kit's default name key).
    pub fn name(self, name: &str) -> Self {
        self.metadata("name", name)
    }

    /// Adds a metadata pair.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.rec.metadata.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Starts it in `state`.
    pub fn state(mut self, state: State) -> Self {
        self.rec.state = state;
        self
    }

    /// Its time to live: it ends that long after it is added (and after each resume).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.rec.timeout = timeout;
        self
    }

    /// Pauses instead of being killed when its end passes.
    pub fn auto_pause(mut self, on: bool) -> Self {
        self.rec.auto_pause = on;
        self
    }

    /// Traffic at the edge resumes it when paused.
    pub fn auto_resume(mut self, on: bool) -> Self {
        self.rec.auto_resume = on;
        self
    }

    /// Makes it private: the edge wants `e2b-traffic-access-token: <token>` on its ports
    /// (envd's excepted), and connect and create answer with the token.
    pub fn private(mut self, token: &str) -> Self {
        self.rec.traffic_token = Some(token.to_owned());
        self
    }

    /// envd's access token (`None`: envd wants none, as a sandbox created with
    /// `secure=False`).
    pub fn envd_token(mut self, token: Option<&str>) -> Self {
        self.rec.envd_token = token.map(str::to_owned);
        self
    }

    /// Relays `<sandbox_port>-<id>.<domain>` to `127.0.0.1:<to_port>`.
    pub fn port(mut self, sandbox_port: u16, to_port: u16) -> Self {
        self.rec
            .ports
            .insert(sandbox_port, ([127, 0, 0, 1], to_port).into());
        self
    }

    /// The folder envd serves as the sandbox's `/` (`GET /files?path=/etc/...`).
    pub fn envd_root(mut self, dir: &Path) -> Self {
        self.rec.envd_root = Some(dir.to_owned());
        self
    }

    /// The domain the API reports (`None`: `null`, as the API may answer).
    pub fn domain(mut self, domain: Option<&str>) -> Self {
        self.rec.domain = domain.map(str::to_owned);
        self
    }
}

//! The platform's state: sandboxes and their lifecycle (running, pausing, paused, resuming,
//! killed), time to live, pages, and the settings tests change. Every rule that depends on
//! the time takes `now`, so the unit tests below drive the clock.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::watch;

use super::clock::unix_millis;

/// The lifecycle state of a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Running: the edge relays to its ports.
    Running,
    /// A pause is in progress: the edge answers 409.
    Pausing,
    /// Paused: the edge answers 502 (or resumes it, with auto-resume).
    Paused,
    /// A resume is in progress: the edge answers 409.
    Resuming,
    /// Killed: gone for the API (404) and the edge (502).
    Killed,
}

impl State {
    /// The state the API reports. The SDK knows only `running` and `paused`
    /// (`SandboxState`), so a resume in progress reads `running`, a pause in progress
    /// `paused`; a killed sandbox is not reported at all.
    pub fn reported(self) -> Option<&'static str> {
        match self {
            State::Running | State::Resuming => Some("running"),
            State::Paused | State::Pausing => Some("paused"),
            State::Killed => None,
        }
    }
}

/// Everything the platform holds about one sandbox (a copy, from
/// [`Platform::sandbox`](super::Platform::sandbox)).
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxRecord {
    /// The sandbox ID (`sandboxID`).
    pub id: String,
    /// `clientID`.
    pub client_id: String,
    /// `templateID`.
    pub template_id: String,
    /// The template's alias (`alias`), when it has one.
    pub alias: Option<String>,
    /// The sandbox's metadata.
    pub metadata: BTreeMap<String, String>,
    /// The environment variables it was created with (`envVars`).
    pub env_vars: BTreeMap<String, String>,
    /// Its state.
    pub state: State,
    /// When it started (or was last resumed).
    pub started_at: SystemTime,
    /// When it ends (pauses or is killed) unless its time to live is extended.
    pub end_at: SystemTime,
    /// The time to live it was created with: what a resume by the edge or by
    /// [`Platform::resume`](super::Platform::resume) gives it.
    pub timeout: Duration,
    /// Whether it pauses instead of being killed when `end_at` passes.
    pub auto_pause: bool,
    /// Whether traffic at the edge resumes it when paused.
    pub auto_resume: bool,
    /// The token the edge requires in `e2b-traffic-access-token` (a private sandbox), or
    /// `None` (public traffic).
    pub traffic_token: Option<String>,
    /// The token envd requires in `X-Access-Token` (a `secure` sandbox), or `None`.
    pub envd_token: Option<String>,
    /// The domain the API reports (`domain`), or `None` (reported as `null`).
    pub domain: Option<String>,
    /// Whether the sandbox may reach the internet (`allow_internet_access`).
    pub allow_internet_access: bool,
    /// Where the edge relays each sandbox port (`<port>-<id>.<domain>`).
    pub ports: BTreeMap<u16, SocketAddr>,
    /// The folder envd serves as the sandbox's `/` (port 49983, `GET /files`).
    pub envd_root: Option<PathBuf>,
}

/// Whether an API request carried the expected key in `X-API-KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// No `X-API-KEY` header.
    Missing,
    /// A key, not the expected one.
    Wrong,
    /// The expected key.
    Right,
}

/// One request the API answered (or was about to answer), in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's pairs, decoded once (the `metadata` value is itself a query string).
    pub query: Vec<(String, String)>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// Whether the key was right.
    pub key: KeyCheck,
    /// The status answered (0 when the API was told not to answer).
    pub status: u16,
}

/// A refusal from the API: the status and the `message` of the JSON error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    pub fn new(status: u16, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    fn not_found(id: &str) -> Failure {
        Failure::new(
            404,
            format!("sandbox \"{id}\" doesn't exist or you don't have access to it"),
        )
    }
}

/// What a connect (or a resume by the edge) has to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectStep {
    /// It was running; its end was extended (or kept, never shortened).
    Extended,
    /// It was paused and is now resuming: wait the resume delay, then `finish_resume`.
    Resuming,
    /// A pause or a resume is in progress: try again shortly.
    Wait,
}

/// The sandboxes and the settings.
#[derive(Debug)]
pub(crate) struct World {
    sandboxes: BTreeMap<String, SandboxRecord>,
    /// Bumped to cut the sandbox's open relays (pause, kill).
    cuts: HashMap<String, watch::Sender<u64>>,
    pub api_key: String,
    pub page_size: usize,
    pub max_length_hours: u32,
    pub resume_delay: Duration,
    pub pause_delay: Duration,
    pub log: Vec<ApiRequest>,
}

/// The most `GET /v2/sandboxes` returns per page (`limit`'s maximum, as E2B's API).
pub(crate) const MAX_LIMIT: usize = 100;

impl World {
    pub fn new(api_key: String) -> World {
        World {
            sandboxes: BTreeMap::new(),
            cuts: HashMap::new(),
            api_key,
            page_size: MAX_LIMIT,
            max_length_hours: 24,
            resume_delay: Duration::ZERO,
            pause_delay: Duration::ZERO,
            log: Vec::new(),
        }
    }

    /// Adds (or replaces) a sandbox.
    pub fn insert(&mut self, rec: SandboxRecord) {
        if let Some(old) = self.cuts.get(&rec.id) {
            old.send_modify(|n| *n += 1);
        } else {
            self.cuts.insert(rec.id.clone(), watch::channel(0).0);
        }
        self.sandboxes.insert(rec.id.clone(), rec);
    }

    /// Any sandbox the platform holds, killed ones included.
    pub fn record(&self, id: &str) -> Option<&SandboxRecord> {
        self.sandboxes.get(id)
    }

    /// A sandbox the API knows (not killed), or 404.
    pub fn live(&self, id: &str) -> Result<&SandboxRecord, Failure> {
        self.sandboxes
            .get(id)
            .filter(|s| s.state != State::Killed)
            .ok_or_else(|| Failure::not_found(id))
    }

    fn live_mut(&mut self, id: &str) -> Result<&mut SandboxRecord, Failure> {
        self.sandboxes
            .get_mut(id)
            .filter(|s| s.state != State::Killed)
            .ok_or_else(|| Failure::not_found(id))
    }

    /// Changes a sandbox in place (for the tests' hooks). `false` when it does not exist.
    pub fn update(&mut self, id: &str, f: impl FnOnce(&mut SandboxRecord)) -> bool {
        let Some(rec) = self.sandboxes.get_mut(id) else {
            return false;
        };
        let before = rec.state;
        f(rec);
        if before == State::Running && rec.state != State::Running {
            self.cut(id);
        }
        true
    }

    /// Ends the open relays of sandbox `id`.
    pub fn cut(&mut self, id: &str) {
        if let Some(tx) = self.cuts.get(id) {
            tx.send_modify(|n| *n += 1);
        }
    }

    /// A receiver that changes when the sandbox's relays must end.
    pub fn subscribe(&self, id: &str) -> Option<watch::Receiver<u64>> {
        self.cuts.get(id).map(watch::Sender::subscribe)
    }

    fn max_length(&self) -> Duration {
        Duration::from_secs(u64::from(self.max_length_hours) * 3600)
    }

    /// `now + timeout`, capped at the account's maximum sandbox length from `started_at`.
    fn end_for(&self, started_at: SystemTime, now: SystemTime, timeout: Duration) -> SystemTime {
        (now + timeout).min(started_at + self.max_length())
    }

    /// Ends every running sandbox whose end has passed: paused with auto-pause, else killed.
    pub fn expire(&mut self, now: SystemTime) {
        let due: Vec<String> = self
            .sandboxes
            .values()
            .filter(|s| s.state == State::Running && s.end_at <= now)
            .map(|s| s.id.clone())
            .collect();
        for id in due {
            if let Some(s) = self.sandboxes.get_mut(&id) {
                s.state = if s.auto_pause {
                    State::Paused
                } else {
                    State::Killed
                };
            }
            self.cut(&id);
        }
    }

    /// A new sandbox from `POST /sandboxes`: running, ending `timeout` from now. 400 when the
    /// timeout exceeds the account's maximum length.
    pub fn create(&mut self, mut rec: SandboxRecord, now: SystemTime) -> Result<(), Failure> {
        if rec.timeout > self.max_length() {
            return Err(Failure::new(
                400,
                format!(
                    "Timeout cannot be greater than {} hours",
                    self.max_length_hours
                ),
            ));
        }
        rec.state = State::Running;
        rec.started_at = now;
        rec.end_at = now + rec.timeout;
        self.insert(rec);
        Ok(())
    }

    /// The first step of `POST /sandboxes/{id}/connect`: extends a running sandbox (never
    /// shortens), starts resuming a paused one.
    pub fn connect(
        &mut self,
        id: &str,
        timeout: Duration,
        now: SystemTime,
    ) -> Result<ConnectStep, Failure> {
        let max = self.max_length();
        let s = self.live_mut(id)?;
        match s.state {
            State::Running => {
                let wanted = (now + timeout).min(s.started_at + max);
                s.end_at = s.end_at.max(wanted);
                Ok(ConnectStep::Extended)
            }
            State::Paused => {
                s.state = State::Resuming;
                Ok(ConnectStep::Resuming)
            }
            State::Pausing | State::Resuming => Ok(ConnectStep::Wait),
            State::Killed => Err(Failure::not_found(id)),
        }
    }

    /// Completes a resume: running again, started now, ending `timeout` from now. 404 when
    /// it was killed meanwhile.
    pub fn finish_resume(
        &mut self,
        id: &str,
        timeout: Duration,
        now: SystemTime,
    ) -> Result<(), Failure> {
        let end = self.end_for(now, now, timeout);
        let s = self.live_mut(id)?;
        if s.state == State::Resuming {
            s.state = State::Running;
            s.started_at = now;
            s.end_at = end;
        }
        Ok(())
    }

    /// `POST /sandboxes/{id}/timeout`: the sandbox now ends `timeout` from now (which may
    /// shorten it), capped at the maximum length. 404 unless running.
    pub fn set_timeout(
        &mut self,
        id: &str,
        timeout: Duration,
        now: SystemTime,
    ) -> Result<(), Failure> {
        let max = self.max_length();
        let s = self.live_mut(id)?;
        match s.state {
            State::Running | State::Resuming => {
                s.end_at = (now + timeout).min(s.started_at + max);
                Ok(())
            }
            _ => Err(Failure::new(
                404,
                format!("sandbox \"{id}\" is not running"),
            )),
        }
    }

    /// The first step of `POST /sandboxes/{id}/pause`: pausing, relays cut. 409 when it is
    /// not running (already paused, or a pause or resume in progress).
    pub fn begin_pause(&mut self, id: &str) -> Result<(), Failure> {
        let s = self.live_mut(id)?;
        match s.state {
            State::Running => {
                s.state = State::Pausing;
                self.cut(id);
                Ok(())
            }
            State::Paused | State::Pausing => Err(Failure::new(
                409,
                format!("sandbox \"{id}\" is already paused"),
            )),
            _ => Err(Failure::new(
                409,
                format!("sandbox \"{id}\" cannot be paused while it is resuming"),
            )),
        }
    }

    /// Completes a pause.
    pub fn finish_pause(&mut self, id: &str) {
        if let Some(s) = self.sandboxes.get_mut(id) {
            if s.state == State::Pausing {
                s.state = State::Paused;
            }
        }
    }

    /// `DELETE /sandboxes/{id}`.
    pub fn kill(&mut self, id: &str) -> Result<(), Failure> {
        self.live_mut(id)?.state = State::Killed;
        self.cut(id);
        Ok(())
    }

    /// One page of `GET /v2/sandboxes`: the sandboxes whose metadata holds every pair of
    /// `metadata` and whose reported state is in `states` (running and paused when empty), in
    /// start order, at most `limit` (and the page size); and the token of the next page.
    pub fn list(
        &self,
        metadata: &[(String, String)],
        states: &[String],
        limit: usize,
        next_token: Option<&str>,
    ) -> (Vec<SandboxRecord>, Option<String>) {
        let mut all: Vec<&SandboxRecord> = self
            .sandboxes
            .values()
            .filter(|s| {
                s.state.reported().is_some_and(|r| {
                    if states.is_empty() {
                        true
                    } else {
                        states.iter().any(|w| w == r)
                    }
                })
            })
            .filter(|s| {
                metadata
                    .iter()
                    .all(|(k, v)| s.metadata.get(k).is_some_and(|have| have == v))
            })
            .collect();
        all.sort_by_key(|s| cursor(s));
        let start = next_token.map_or(0, |token| {
            all.iter()
                .position(|s| cursor(s).as_str() >= token)
                .unwrap_or(all.len())
        });
        let take = limit.min(self.page_size).max(1);
        let page: Vec<SandboxRecord> = all
            .iter()
            .skip(start)
            .take(take)
            .map(|s| (*s).clone())
            .collect();
        let next = all.get(start + take).map(|s| cursor(s));
        (page, next)
    }
}

/// A sandbox's place in the list order (start time, then ID), also the page token.
fn cursor(s: &SandboxRecord) -> String {
    format!("{:020}.{}", unix_millis(s.started_at), s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, now: SystemTime) -> SandboxRecord {
        SandboxRecord {
            id: id.to_owned(),
            client_id: "c".into(),
            template_id: "t".into(),
            alias: None,
            metadata: BTreeMap::new(),
            env_vars: BTreeMap::new(),
            state: State::Running,
            started_at: now,
            end_at: now + Duration::from_secs(300),
            timeout: Duration::from_secs(300),
            auto_pause: false,
            auto_resume: false,
            traffic_token: None,
            envd_token: None,
            domain: None,
            allow_internet_access: true,
            ports: BTreeMap::new(),
            envd_root: None,
        }
    }

    fn world() -> (World, SystemTime) {
        (World::new("key".into()), SystemTime::now())
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_end_passing_pauses_or_kills_and_cuts_relays() {
        let (mut w, now) = world();
        w.insert(rec("kill", now));
        w.insert(SandboxRecord {
            auto_pause: true,
            ..rec("pause", now)
        });
        let mut cut = w.subscribe("pause").unwrap();
        w.expire(now + S(299));
        assert_eq!(w.record("kill").unwrap().state, State::Running);
        assert!(!cut.has_changed().unwrap());
        w.expire(now + S(300));
        assert_eq!(w.record("kill").unwrap().state, State::Killed);
        assert_eq!(w.record("pause").unwrap().state, State::Paused);
        assert!(cut.has_changed().unwrap());
        cut.mark_unchanged();
        assert_eq!(w.live("kill").unwrap_err().status, 404);
    }

    #[test]
    fn connect_extends_but_never_shortens() {
        let (mut w, now) = world();
        w.insert(rec("a", now));
        let end = w.record("a").unwrap().end_at;
        assert_eq!(w.connect("a", S(60), now), Ok(ConnectStep::Extended));
        assert_eq!(
            w.record("a").unwrap().end_at,
            end,
            "a shorter connect keeps the end"
        );
        assert_eq!(
            w.connect("a", S(900), now + S(10)),
            Ok(ConnectStep::Extended)
        );
        assert_eq!(w.record("a").unwrap().end_at, now + S(910));
        assert_eq!(w.connect("nope", S(60), now).unwrap_err().status, 404);
    }

    #[test]
    fn connect_resumes_a_paused_sandbox_and_waits_for_transitions() {
        let (mut w, now) = world();
        w.insert(SandboxRecord {
            state: State::Paused,
            started_at: now - S(3600),
            ..rec("p", now)
        });
        assert_eq!(w.connect("p", S(120), now), Ok(ConnectStep::Resuming));
        assert_eq!(w.record("p").unwrap().state, State::Resuming);
        assert_eq!(w.connect("p", S(120), now), Ok(ConnectStep::Wait));
        w.finish_resume("p", S(120), now + S(1)).unwrap();
        let p = w.record("p").unwrap();
        assert_eq!(p.state, State::Running);
        assert_eq!(p.started_at, now + S(1));
        assert_eq!(p.end_at, now + S(121));
    }

    #[test]
    fn set_timeout_can_shorten_and_is_capped_by_the_maximum_length() {
        let (mut w, now) = world();
        w.max_length_hours = 1;
        w.insert(SandboxRecord {
            started_at: now - S(3000),
            ..rec("a", now)
        });
        w.set_timeout("a", S(30), now).unwrap();
        assert_eq!(w.record("a").unwrap().end_at, now + S(30));
        w.set_timeout("a", S(3600), now).unwrap();
        assert_eq!(w.record("a").unwrap().end_at, now + S(600), "capped at 1 h");
        assert_eq!(w.connect("a", S(3600), now), Ok(ConnectStep::Extended));
        assert_eq!(w.record("a").unwrap().end_at, now + S(600));
        let too_long = SandboxRecord {
            timeout: S(7200),
            ..rec("b", now)
        };
        assert_eq!(w.create(too_long, now).unwrap_err().status, 400);
    }

    #[test]
    fn pause_conflicts_and_kill() {
        let (mut w, now) = world();
        w.insert(rec("a", now));
        let mut cut = w.subscribe("a").unwrap();
        w.begin_pause("a").unwrap();
        assert!(cut.has_changed().unwrap());
        cut.mark_unchanged();
        assert_eq!(w.record("a").unwrap().state, State::Pausing);
        assert_eq!(w.begin_pause("a").unwrap_err().status, 409);
        w.finish_pause("a");
        assert_eq!(w.record("a").unwrap().state, State::Paused);
        assert_eq!(w.begin_pause("a").unwrap_err().status, 409);
        assert_eq!(w.set_timeout("a", S(10), now).unwrap_err().status, 404);
        w.kill("a").unwrap();
        assert_eq!(w.kill("a").unwrap_err().status, 404);
        assert_eq!(w.begin_pause("a").unwrap_err().status, 404);
        assert_eq!(w.begin_pause("nope").unwrap_err().status, 404);
    }

    #[test]
    fn pages_filter_by_metadata_and_state() {
        let (mut w, now) = world();
        for i in 0..7u64 {
            let mut r = rec(&format!("s{i}"), now + S(i));
            r.metadata.insert(
                "team".into(),
                if i % 2 == 0 { "blue" } else { "red" }.into(),
            );
            if i == 4 {
                r.state = State::Paused;
            }
            if i == 6 {
                r.state = State::Killed;
            }
            w.insert(r);
        }
        w.page_size = 2;
        let blue = [("team".to_owned(), "blue".to_owned())];
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let (page, next) = w.list(&blue, &[], 100, token.as_deref());
            pages += 1;
            seen.extend(page.into_iter().map(|s| s.id));
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, ["s0", "s2", "s4"]);
        assert_eq!(pages, 2);
        let (page, next) = w.list(&blue, &["paused".to_owned()], 100, None);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, "s4");
        assert_eq!(next, None);
        let (page, next) = w.list(&[], &["running".to_owned()], 1, None);
        assert_eq!(page[0].id, "s0");
        let (page, _) = w.list(&[], &["running".to_owned()], 1, next.as_deref());
        assert_eq!(page[0].id, "s1");
        let (page, _) = w.list(&[("team".into(), "green".into())], &[], 100, None);
        assert!(page.is_empty());
    }
}

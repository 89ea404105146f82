//! The Novita REST API, as the `novita-sandbox` 2.1.1 SDK calls it: find sandboxes by
//! metadata, connect (resume and extend), create, pause, kill, and the account's quota.
//!
//! Requests go through the same TCP, proxy, TLS and timeout settings as the tunnel
//! ([`crate::connect::dial`]). The key is sent as `X-API-KEY` and never logged.

pub mod http;
pub mod model;
pub mod time;

use std::sync::Arc;
use std::time::Duration;

use novita_ssh_core::credentials::{ApiKey, KeySource};
use novita_ssh_core::SandboxId;

use crate::connect::http_proxy::Proxy;
use crate::connect::tls::Roots;
pub use model::{AutoResume, Connected, CreateRequest, Network, Quota, SandboxInfo, State};

/// The most pages of `GET /v2/sandboxes` followed before giving up.
const MAX_PAGES: usize = 100;

/// Where the API is and how to reach it.
#[derive(Clone)]
pub struct ApiSettings {
    /// The base URL, validated (`https://api.<domain>`, no trailing `/`).
    pub base: String,
    /// The key.
    pub key: ApiKey,
    /// Where the key came from, for messages.
    pub key_source: KeySource,
    /// `--connect-to`, as for the tunnel.
    pub connect_to: Option<(String, u16)>,
    /// The HTTP proxy chosen for the API's host.
    pub proxy: Option<Proxy>,
    /// Trust anchors.
    pub tls: Arc<Roots>,
    /// The limit for one request, connection included.
    pub timeout: Duration,
}

/// Why an API call failed. `Display` is one line without the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 or 403: the key was refused.
    #[error("the Novita API at {base} refused the API key from {key_from} ({status})")]
    Unauthorized {
        /// The API.
        base: String,
        /// Where the key came from.
        key_from: String,
        /// The status.
        status: u16,
    },
    /// 404: no such sandbox.
    #[error("the Novita API does not know it (404)")]
    NotFound,
    /// 409: a conflicting state (already paused, pause or resume in progress).
    #[error("the Novita API answered 409 Conflict: {0}")]
    Conflict(String),
    /// The API could not be reached, or did not answer in time.
    #[error("the Novita API at {base} did not answer: {why}")]
    Unreachable {
        /// The API.
        base: String,
        /// What went wrong.
        why: String,
    },
    /// Any other status.
    #[error("the Novita API at {base} answered {status}: {message}")]
    Status {
        /// The API.
        base: String,
        /// The status.
        status: u16,
        /// The platform's message, or the reason phrase.
        message: String,
    },
    /// An answer the kit cannot use.
    #[error("the Novita API at {base} sent an answer the kit cannot read: {why}")]
    BadAnswer {
        /// The API.
        base: String,
        /// What is wrong with it.
        why: String,
    },
}

/// A client of the API. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    settings: Arc<ApiSettings>,
}

impl Api {
    /// A client with these settings.
    pub fn new(settings: ApiSettings) -> Api {
        Api {
            settings: Arc::new(settings),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ApiSettings {
        &self.settings
    }

    /// `GET /v2/sandboxes`: the sandboxes whose metadata holds every `(key, value)` pair,
    /// in the given states, every page.
    pub async fn list(
        &self,
        metadata: &[(String, String)],
        states: &[State],
    ) -> Result<Vec<SandboxInfo>, ApiError> {
        let mut query = Vec::new();
        if !metadata.is_empty() {
            let pairs: Vec<String> = metadata
                .iter()
                .map(|(k, v)| format!("{}={}", http::encode(k), http::encode(v)))
                .collect();
            query.push(format!("metadata={}", http::encode(&pairs.join("&"))));
        }
        if !states.is_empty() {
            let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            query.push(format!("state={}", http::encode(&names.join(","))));
        }
        query.push("limit=100".to_owned());
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut q = query.clone();
            if let Some(token) = &next {
                q.push(format!("nextToken={}", http::encode(token)));
            }
            let path = format!("/v2/sandboxes?{}", q.join("&"));
            let answer = self.request("GET", &path, None).await?;
            let page: Vec<SandboxInfo> = answer.json(&self.settings.base)?;
            all.extend(page);
            next = answer
                .next_token
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()));
            if next.is_none() {
                return Ok(all);
            }
        }
        Err(self.bad_answer(format!("more than {MAX_PAGES} pages of sandboxes")))
    }

    /// The running or paused sandboxes whose metadata has `key=name`, each once, sorted by
    /// ID. The filter is applied again here: a platform that ignored it must not lead
    /// anywhere else.
    pub async fn named(&self, key: &str, name: &str) -> Result<Vec<SandboxInfo>, ApiError> {
        let found = self
            .list(
                &[(key.to_owned(), name.to_owned())],
                &[State::Running, State::Paused],
            )
            .await?;
        let mut found: Vec<SandboxInfo> = found
            .into_iter()
            .filter(|s| {
                s.metadata_value(key) == Some(name)
                    && matches!(s.state.as_str(), "running" | "paused" | "")
            })
            .collect();
        found.sort_by(|a, b| a.sandbox_id.cmp(&b.sandbox_id));
        found.dedup_by(|a, b| a.sandbox_id == b.sandbox_id);
        Ok(found)
    }

    /// `GET /sandboxes/{id}`.
    pub async fn get(&self, id: &SandboxId) -> Result<SandboxInfo, ApiError> {
        self.request("GET", &format!("/sandboxes/{id}"), None)
            .await?
            .json(&self.settings.base)
    }

    /// `POST /sandboxes/{id}/connect`: resumes a paused sandbox and makes it live at least
    /// `timeout` seconds from now (never shorter than it already would), like the SDK's
    /// `Sandbox.connect`.
    pub async fn connect(&self, id: &SandboxId, timeout: u64) -> Result<Connected, ApiError> {
        let body = serde_json::json!({ "timeout": timeout }).to_string();
        let answer = self
            .request("POST", &format!("/sandboxes/{id}/connect"), Some(body))
            .await?;
        let mut connected: Connected = answer.json(&self.settings.base)?;
        connected.resumed = answer.status == 201;
        Ok(connected)
    }

    /// `POST /sandboxes`: creates a sandbox.
    pub async fn create(&self, request: &CreateRequest) -> Result<Connected, ApiError> {
        let body = serde_json::to_string(request)
            .map_err(|e| self.bad_answer(format!("cannot encode the request: {e}")))?;
        self.request("POST", "/sandboxes", Some(body))
            .await?
            .json(&self.settings.base)
    }

    /// `POST /sandboxes/{id}/timeout`: the sandbox ends `timeout` seconds from now.
    pub async fn set_timeout(&self, id: &SandboxId, timeout: u64) -> Result<(), ApiError> {
        let body = serde_json::json!({ "timeout": timeout }).to_string();
        self.request("POST", &format!("/sandboxes/{id}/timeout"), Some(body))
            .await
            .map(drop)
    }

    /// `POST /sandboxes/{id}/pause`. Already paused: [`ApiError::Conflict`].
    pub async fn pause(&self, id: &SandboxId) -> Result<(), ApiError> {
        self.request("POST", &format!("/sandboxes/{id}/pause"), None)
            .await
            .map(drop)
    }

    /// `DELETE /sandboxes/{id}`.
    pub async fn kill(&self, id: &SandboxId) -> Result<(), ApiError> {
        self.request("DELETE", &format!("/sandboxes/{id}"), None)
            .await
            .map(drop)
    }

    /// `GET /sandboxes/quota`.
    pub async fn quota(&self) -> Result<Quota, ApiError> {
        self.request("GET", "/sandboxes/quota", None)
            .await?
            .json(&self.settings.base)
    }

    fn bad_answer(&self, why: String) -> ApiError {
        ApiError::BadAnswer {
            base: self.settings.base.clone(),
            why,
        }
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<http::Answer, ApiError> {
        crate::info!("API {method} {}{}", self.settings.base, path);
        let answer = http::exchange(&self.settings, method, path, body).await?;
        crate::info!("API {method} {path}: {}", answer.status);
        let base = &self.settings.base;
        match answer.status {
            200..=299 => Ok(answer),
            401 | 403 => Err(ApiError::Unauthorized {
                base: base.clone(),
                key_from: self.settings.key_source.to_string(),
                status: answer.status,
            }),
            404 => Err(ApiError::NotFound),
            409 => Err(ApiError::Conflict(answer.message())),
            status => Err(ApiError::Status {
                base: base.clone(),
                status,
                message: answer.message(),
            }),
        }
    }
}

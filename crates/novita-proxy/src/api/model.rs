//! The API's JSON shapes, as the `novita-sandbox` 2.1.1 SDK sends and reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A sandbox's lifecycle state, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Running: its ports answer.
    Running,
    /// Paused: memory and files kept, ports closed until resumed.
    Paused,
}

impl State {
    /// The API's name for the state (`running`, `paused`).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Paused => "paused",
        }
    }
}

/// A sandbox as `GET /v2/sandboxes` and `GET /sandboxes/{id}` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// The sandbox ID.
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    /// The client ID (the older hostname suffix).
    #[serde(rename = "clientID", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The template it was made from.
    #[serde(rename = "templateID", default)]
    pub template_id: String,
    /// The template's alias, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// When it started (RFC 3339).
    #[serde(rename = "startedAt", default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ends unless extended (RFC 3339).
    #[serde(rename = "endAt", default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<String>,
    /// `running` or `paused` (or whatever else the platform reports).
    #[serde(default)]
    pub state: String,
    /// Its metadata (the kit keeps the name here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Its domain (only `GET /sandboxes/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// envd's access token (only `GET /sandboxes/{id}`, secure sandboxes). Never printed.
    #[serde(rename = "envdAccessToken", default, skip_serializing)]
    pub envd_access_token: Option<String>,
}

impl SandboxInfo {
    /// The value of `key` in its metadata (the kit keeps the name there).
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .map(String::as_str)
    }
}

/// The answer to create and connect: the sandbox and its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Connected {
    /// The sandbox ID.
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    /// The client ID.
    #[serde(rename = "clientID", default)]
    pub client_id: Option<String>,
    /// The template it was made from.
    #[serde(rename = "templateID", default)]
    pub template_id: String,
    /// The domain its ports are reached at, when the platform says.
    #[serde(default)]
    pub domain: Option<String>,
    /// envd's access token. Never printed.
    #[serde(rename = "envdAccessToken", default)]
    pub envd_access_token: Option<String>,
    /// The traffic access token of a private sandbox. Never printed.
    #[serde(rename = "trafficAccessToken", default)]
    pub traffic_access_token: Option<String>,
    /// Whether this call resumed it from pause (the API answered 201 to connect).
    #[serde(skip)]
    pub resumed: bool,
}

/// What `POST /sandboxes` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateRequest {
    /// The template ID or alias.
    #[serde(rename = "templateID")]
    pub template_id: String,
    /// Seconds until it ends (or pauses, with `auto_pause`).
    pub timeout: u64,
    /// Pause instead of ending when the timeout passes.
    #[serde(rename = "autoPause")]
    pub auto_pause: bool,
    /// Resume on traffic to a port (region domains only).
    #[serde(rename = "autoResume", skip_serializing_if = "Option::is_none")]
    pub auto_resume: Option<AutoResume>,
    /// envd requires its access token (the SDK's default).
    pub secure: bool,
    /// Outgoing internet access.
    pub allow_internet_access: bool,
    /// Whether its ports need the traffic access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Metadata (the kit's name key among it).
    pub metadata: BTreeMap<String, String>,
    /// Environment variables.
    #[serde(rename = "envVars")]
    pub env_vars: BTreeMap<String, String>,
}

/// `autoResume` of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoResume {
    /// Resume on traffic.
    pub enabled: bool,
}

/// `network` of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    /// `false`: every request to a port needs the traffic access token.
    #[serde(rename = "allowPublicTraffic")]
    pub allow_public_traffic: bool,
}

/// The part of `GET /sandboxes/quota` the kit reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Quota {
    /// The account's limits.
    #[serde(default)]
    pub limit: QuotaLimit,
}

/// The account's limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QuotaLimit {
    /// The longest a sandbox may run, in hours (0: not reported).
    #[serde(rename = "maxLengthHours", default)]
    pub max_length_hours: u64,
}

/// An error body: `{code, message}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// The platform's message.
    #[serde(default)]
    pub message: String,
}

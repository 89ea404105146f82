//! The real `novita-sandbox` Python SDK pointed at a [`Platform`]: one SDK call per run of
//! `tests/platform/sdk.py`, with the API URL, key and domain in its environment.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::Platform;
use crate::run;

/// Longer than any SDK call against loopback may take (a hang otherwise).
const LIMIT: Duration = Duration::from_secs(120);

/// What the SDK's HTTP client (httpx) would read from the environment besides ours.
const FOREIGN_ENV: &[&str] = &[
    "NOVITA_ACCESS_TOKEN",
    "NOVITA_DEBUG",
    "NOVITA_SANDBOX_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

impl Platform {
    /// Runs one call of the real SDK against this platform's API with its key, and returns
    /// what the SDK returned, as JSON (`{"error": <exception class>, "message": ...}` when it
    /// raised). Calls: `create {template, timeout, metadata?, envs?, private?, lifecycle?}`,
    /// `list {metadata?, states?, limit?}` (`{"pages": [[info...]...]}`), `connect {id,
    /// timeout}`, `set_timeout {id, timeout}`, `info {id}`, `pause {id}`, `kill {id}`,
    /// `quota {}`; see `tests/platform/sdk.py` for the fields.
    ///
    /// # Panics
    /// When Python or the SDK is missing (`$NOVITA_SSH_E2E_PYTHON`, else `python3` on
    /// PATH, must import `novita_sandbox`): the suite never skips.
    pub fn sdk(&self, call: &str, args: &Value) -> Value {
        self.sdk_as(Some(&self.api_key()), call, args)
    }

    /// [`Platform::sdk`] with another API key (`None`: no key at all).
    pub fn sdk_as(&self, key: Option<&str>, call: &str, args: &Value) -> Value {
        let python = crate::sandbox::python();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("platform/sdk.py");
        let mut cmd = Command::new(&python);
        for var in FOREIGN_ENV {
            cmd.env_remove(var);
        }
        cmd.arg(&script)
            .arg(call)
            .arg(args.to_string())
            .env("NOVITA_API_URL", self.api_url())
            .env("NOVITA_DOMAIN", crate::EDGE_DOMAIN)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        match key {
            Some(key) => cmd.env("NOVITA_API_KEY", key),
            None => cmd.env_remove("NOVITA_API_KEY"),
        };
        let out = run(&mut cmd, None, LIMIT);
        assert!(
            out.status.success(),
            "the novita-sandbox SDK call {call} {args} failed ({}) with {}; the suite needs \
             the SDK: `{} -m pip install novita-sandbox==2.1.1`, or point \
             NOVITA_SSH_E2E_PYTHON at a Python that has it:\n{}",
            out.status,
            python.display(),
            python.display(),
            out.stderr
        );
        let text = out.stdout_text();
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the SDK call {call} printed no JSON ({e}): {text}"))
    }
}

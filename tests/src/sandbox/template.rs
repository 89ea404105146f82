//! Reading a Python template through the real `novita-sandbox` SDK: `Template.to_json`, as
//! the SDK sends it to the template builder (run by `tests/sandbox/template_json.py`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::rootfs::scripts_dir;
use crate::{require_tool, run};

/// One build step of a template, as the SDK serialises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `RUN`: a shell command (`run_cmd` joins a list with `&&`), as the named user or, when
    /// `None`, as the builder's current user.
    Run {
        /// The command line.
        command: String,
        /// The user the step names.
        user: Option<String>,
    },
    /// `USER`: later steps and the start command run as this user (created if missing).
    User(String),
    /// `WORKDIR`: later steps run in this directory (created if missing).
    Workdir(String),
    /// `ENV`: variables for later steps.
    Env(Vec<(String, String)>),
    /// Anything else (`COPY`, ...), which the emulated sandbox does not run.
    Other(String),
}

/// What the SDK says a template does.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    /// The build steps, in order.
    pub steps: Vec<Step>,
    /// The start command, if any.
    pub start_cmd: Option<String>,
    /// The ready check (a shell command that succeeds once the sandbox is ready).
    pub ready_cmd: Option<String>,
    /// The base image the template names (not used: the emulated sandbox is Debian).
    pub from_image: Option<String>,
    /// The version of the SDK that read it.
    pub sdk_version: String,
    /// The JSON the SDK printed.
    pub json: String,
}

impl TemplateSpec {
    /// Every `http://` or `https://` URL in the `RUN` steps (the downloads to serve).
    pub fn urls(&self) -> Vec<String> {
        let mut urls = Vec::new();
        for step in &self.steps {
            if let Step::Run { command, .. } = step {
                for word in command.split(|c: char| c.is_whitespace() || "'\";&|()<>`".contains(c))
                {
                    if (word.starts_with("https://") || word.starts_with("http://"))
                        && !urls.iter().any(|u| u == word)
                    {
                        urls.push(word.to_owned());
                    }
                }
            }
        }
        urls
    }
}

/// The Python that has the SDK: `$NOVITA_SSH_E2E_PYTHON`, else `python3` on PATH.
pub(crate) fn python() -> PathBuf {
    env::var_os("NOVITA_SSH_E2E_PYTHON")
        .filter(|v| !v.is_empty())
        .map_or_else(|| require_tool("python3"), PathBuf::from)
}

/// Reads `template_py` (a module that defines `template`) through the SDK.
///
/// # Panics
/// When the SDK is missing (with the pip command), the module fails, or the JSON is not the
/// shape the SDK documents.
pub fn read(template_py: &Path) -> TemplateSpec {
    // An empty network namespace: the SDK's registry read fails at once, and nothing leaves
    // the machine.
    let mut cmd = Command::new(require_tool("unshare"));
    cmd.arg("--net")
        .arg("--")
        .arg(python())
        .arg(scripts_dir().join("template_json.py"))
        .arg(template_py)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(&mut cmd, None, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "reading {} through the novita-sandbox SDK failed ({}):\n{}",
        template_py.display(),
        out.status,
        out.stderr
    );
    let json = out.stdout_text();
    parse(&json).unwrap_or_else(|e| panic!("unexpected template JSON ({e}):\n{json}"))
}

/// Parses the SDK's JSON.
pub(crate) fn parse(json: &str) -> Result<TemplateSpec, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let steps = value
        .get("steps")
        .and_then(Value::as_array)
        .ok_or("no steps array")?
        .iter()
        .map(|step| {
            let kind = step.get("type").and_then(Value::as_str).unwrap_or_default();
            let args: Vec<String> = step
                .get("args")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default();
            let first = || {
                args.first()
                    .cloned()
                    .ok_or(format!("{kind} without arguments"))
            };
            Ok(match kind {
                "RUN" => Step::Run {
                    command: first()?,
                    user: args.get(1).filter(|u| !u.is_empty()).cloned(),
                },
                "USER" => Step::User(first()?),
                "WORKDIR" => Step::Workdir(first()?),
                "ENV" => Step::Env(
                    args.chunks(2)
                        .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
                        .collect(),
                ),
                other => Step::Other(format!("{other} {args:?}")),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(TemplateSpec {
        steps,
        start_cmd: value.get("startCmd").and_then(text),
        ready_cmd: value.get("readyCmd").and_then(text),
        from_image: value.get("fromImage").and_then(text),
        sdk_version: value.get("sdkVersion").and_then(text).unwrap_or_default(),
        json: json.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_json_and_finds_the_downloads() {
        let json = r#"{"steps": [
            {"type": "RUN", "args": ["apt-get update && apt-get install -y openssh-server", "root"], "force": false},
            {"type": "RUN", "args": ["curl -fsSL -o /usr/local/bin/w 'https://h.example/a/w' && chmod a+x /usr/local/bin/w"], "force": false},
            {"type": "USER", "args": ["user"], "force": false},
            {"type": "ENV", "args": ["A", "1", "B", "2"], "force": false}],
            "startCmd": "sudo w", "readyCmd": "ss -tuln | grep :8081", "sdkVersion": "2.1.1"}"#;
        let spec = parse(json).unwrap();
        assert_eq!(spec.steps.len(), 4);
        assert_eq!(
            spec.steps[0],
            Step::Run {
                command: "apt-get update && apt-get install -y openssh-server".into(),
                user: Some("root".into())
            }
        );
        assert!(matches!(&spec.steps[1], Step::Run { user: None, .. }));
        assert_eq!(spec.steps[2], Step::User("user".into()));
        assert_eq!(
            spec.steps[3],
            Step::Env(vec![("A".into(), "1".into()), ("B".into(), "2".into())])
        );
        assert_eq!(spec.urls(), vec!["https://h.example/a/w".to_owned()]);
        assert_eq!(spec.start_cmd.as_deref(), Some("sudo w"));
    }
}

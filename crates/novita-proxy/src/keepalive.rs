//! Keeping a sandbox alive while a session is open: the time to live is extended at an
//! interval well inside it (like Coder's activity bump), and once, before the account's
//! maximum sandbox length ends the session, a warning goes to stderr (ssh shows it).
//! Nothing here ever ends the session: a failed extension is logged and retried.

use std::future::Future;
use std::time::{Duration, SystemTime};

use novita_ssh_core::SandboxId;

use crate::api::{time, Api, ApiError, Connected};

/// How long before the maximum length the warning comes.
const WARN_BEFORE: Duration = Duration::from_secs(10 * 60);
/// The shortest wait before retrying a failed extension.
const RETRY: Duration = Duration::from_secs(5);

/// What the keep-alive does.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// The time to live each extension asks for, in seconds.
    pub ttl: u64,
    /// How often to extend; `None`: never (after the first connect).
    pub interval: Option<Duration>,
    /// Whether to warn before the account's maximum sandbox length.
    pub quota_warning: bool,
}

/// Runs for as long as it is polled: first waits for `first` (the connect call that
/// started with the tunnel), then extends the sandbox's time to live on schedule.
pub async fn run(
    api: Api,
    id: SandboxId,
    schedule: Schedule,
    first: impl Future<Output = Result<Connected, ApiError>>,
) {
    match first.await {
        Ok(_) => crate::info!("sandbox {id} lives at least {} s from now", schedule.ttl),
        Err(e @ ApiError::Unauthorized { .. }) => {
            crate::log::failure(&format!(
                "warning: {e}: sandbox {id} is not kept alive during this session: run novita-sshconfig login with a valid key"
            ));
            return std::future::pending().await;
        }
        Err(e) => crate::info!("extending sandbox {id} failed: {e}; retrying"),
    }
    let warning = async {
        if schedule.quota_warning {
            quota_warning(&api, &id).await;
        }
        std::future::pending::<()>().await
    };
    let bumps = async {
        let Some(interval) = schedule.interval else {
            return std::future::pending().await;
        };
        let mut wait = interval;
        loop {
            tokio::time::sleep(wait).await;
            match api.connect(&id, schedule.ttl).await {
                Ok(c) => {
                    crate::info!(
                        "extended sandbox {id}: it lives at least {} s from now{}",
                        schedule.ttl,
                        if c.resumed {
                            " (it had been paused)"
                        } else {
                            ""
                        }
                    );
                    wait = interval;
                }
                Err(e) => {
                    wait = interval.min(RETRY);
                    crate::info!(
                        "extending sandbox {id} failed: {e}; retrying in {} s",
                        wait.as_secs_f32()
                    );
                }
            }
        }
    };
    tokio::join!(warning, bumps);
}

/// Warns once, `WARN_BEFORE` ahead, when the account's maximum sandbox length will end
/// the sandbox (and with it the session), whatever the keep-alive does.
async fn quota_warning(api: &Api, id: &SandboxId) {
    let (quota, info) = tokio::join!(api.quota(), api.get(id));
    let (quota, info) = match (quota, info) {
        (Ok(q), Ok(i)) => (q, i),
        (Err(e), _) | (_, Err(e)) => {
            crate::info!("cannot read the account's maximum sandbox length: {e}");
            return;
        }
    };
    let hours = quota.limit.max_length_hours;
    let Some(started) = info.started_at.as_deref().and_then(time::parse_rfc3339) else {
        crate::info!("the API reported no start time for sandbox {id}");
        return;
    };
    if hours == 0 {
        return;
    }
    let hard_end = started + Duration::from_secs(hours * 3600);
    let warn_at = hard_end.checked_sub(WARN_BEFORE).unwrap_or(started);
    crate::info!(
        "sandbox {id} reaches the account's maximum length ({hours} h) at {}",
        time::clock_utc(hard_end)
    );
    if let Ok(wait) = warn_at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let left = hard_end
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    crate::log::failure(&format!(
        "warning: sandbox {id} reaches your account's maximum sandbox length ({hours} h) at {} (in {} min {} s); the platform then ends it and this session: save your work",
        time::clock_utc(hard_end),
        left / 60,
        left % 60
    ));
}

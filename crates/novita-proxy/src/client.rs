//! `novita-proxy HOST`: validate everything, open the WebSocket (retrying with `--wait`
//! where that is safe), then run the tunnel between stdin/stdout and the sandbox.

use std::time::Duration;

use novita_ssh_core::Destination;

use crate::cli::ClientArgs;
use crate::connect::open_with_retry;
use crate::exit::{strip_os_error, Exit, Failure};
use crate::plan::Plan;
use crate::target::{log_target, Target};
use crate::tunnel::{End, Options, Side, Tunnel, TunnelError};

/// How long to wait, after our Close, for a peer that has gone quiet.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// After a reset, how long to wait for ssh's SIGHUP before calling the connection lost.
const LOST_GRACE: Duration = Duration::from_millis(500);
/// The read buffer for frames from the sandbox.
const READ_BUFFER: usize = 128 * 1024;

pub use crate::resolve::plan;

/// Runs the client to its end and returns the failure, if any.
pub async fn run(plan: Plan, args: &ClientArgs) -> Result<(), Failure> {
    let env = |name: &str| std::env::var(name).ok();
    plan.roots().preload();
    let opened = match (&plan.api, &plan.dest) {
        (Some(api), Some(dest)) => crate::platform::open(&plan, api, dest, args, &env).await?,
        (None, Some(Destination::Name(name))) => return Err(crate::resolve::name_needs_key(name)),
        (_, dest) => {
            let id = match dest {
                Some(Destination::Id(id)) => Some(id),
                _ => None,
            };
            let target = plan.target(id, None, None, &env)?;
            log_target(&target);
            let (transport, leftover) = open_with_retry(&target, args, args.wait).await?;
            crate::platform::Opened {
                transport,
                leftover,
                target,
                keepalive: None,
            }
        }
    };
    let crate::platform::Opened {
        transport,
        leftover,
        target,
        keepalive,
    } = opened;
    let (input, output) = crate::stdio::open();
    let ping_interval = (!args.ping_interval.is_zero()).then_some(args.ping_interval);
    let opts = Options {
        side: Side::CLIENT,
        ping_interval,
        ping_timeout: args.ping_timeout.unwrap_or(args.ping_interval * 3),
        max_message: None,
        close_grace: CLOSE_GRACE,
        read_buffer: READ_BUFFER,
    };
    let tunnel = Tunnel::new(transport, input, output, &leftover, opts).run();
    let result = match keepalive {
        // The keep-alive never ends the session: it runs until the tunnel does.
        Some(keepalive) => {
            tokio::pin!(tunnel);
            tokio::select! {
                result = &mut tunnel => result,
                () = keepalive => tunnel.await,
            }
        }
        None => tunnel.await,
    };
    match result {
        Ok(End::PeerClosedWith(code, reason)) => Err(crate::tunnel::closed_with(code, &reason)),
        Ok(end) => {
            crate::info!("tunnel ended: {}", describe(end));
            Ok(())
        }
        Err(e @ TunnelError::Lost(_)) => {
            // A bridge that exits with the session (websocat --exit-on-eof) may reset the
            // connection just as ssh finishes. ssh then hangs up within milliseconds:
            // give it that chance (the caller exits 0 on SIGHUP) before reporting.
            crate::debug!("connection ended with {e}; waiting briefly for ssh to hang up");
            tokio::time::sleep(LOST_GRACE).await;
            Err(lost(&e, &target))
        }
        Err(e) => Err(lost(&e, &target)),
    }
}

fn describe(end: End) -> String {
    match end {
        End::PeerClosed(code) => format!("the sandbox closed the connection (code {code:?})"),
        End::PeerClosedWith(code, _) => format!("the sandbox closed the connection (code {code})"),
        End::PeerEof => "the sandbox ended the connection".to_owned(),
        End::InputDone => "end of input".to_owned(),
        End::OutputClosed => "stdout was closed".to_owned(),
    }
}

fn lost(e: &TunnelError, target: &Target) -> Failure {
    let sandbox = target
        .id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    match e {
        TunnelError::PingTimeout(_) => Failure::new(
            Exit::Lost,
            format!(
                "connection to the sandbox was lost{sandbox}: {e}: check your network; the sandbox may have stopped (raise --ping-timeout on slow links)"
            ),
        ),
        TunnelError::Lost(io) => Failure::new(
            Exit::Lost,
            format!(
                "connection to the sandbox was lost{sandbox}: {}: check your network and reconnect",
                strip_os_error(&io.to_string())
            ),
        ),
        TunnelError::Protocol(p) => Failure::new(
            Exit::Lost,
            format!("connection to the sandbox was lost{sandbox}: the bridge sent an {p}: check the bridge in the sandbox"),
        ),
        TunnelError::Local(io) => Failure::new(
            Exit::Internal,
            format!(
                "reading stdin or writing stdout failed: {}: run novita-proxy as an ssh ProxyCommand",
                strip_os_error(&io.to_string())
            ),
        ),
    }
}

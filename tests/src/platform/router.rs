//! The edge router behind nginx: `<port>-<id>.<domain>` answered by the sandbox's state, as
//! E2B's client proxy does (502 unknown, killed or paused; 409 while pausing or resuming;
//! 403 without a private sandbox's traffic token), resumed first with auto-resume, and
//! relayed (request head included, then bytes both ways) to the local address registered
//! for the port while running. Port 49983 without a registered address is envd.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::envd;
use super::state::{ConnectStep, State};
use super::wire::{read_head, Head, Response};
use super::Shared;

/// envd's port in every sandbox.
pub(crate) const ENVD_PORT: u16 = 49983;

/// The header a private sandbox's traffic must carry.
const TRAFFIC_TOKEN_HEADER: &str = "e2b-traffic-access-token";

/// Accepts edge connections until the runtime ends.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        if let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(connection(conn, shared.clone()));
        }
    }
}

/// What to do with a request.
enum Decision {
    Refuse(u16, String),
    Resume(Duration),
    Relay(SocketAddr, watch::Receiver<u64>),
    Envd {
        root: Option<PathBuf>,
        token: Option<String>,
        cut: watch::Receiver<u64>,
    },
}

async fn connection(mut conn: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    let Ok(Some(head)) = read_head(&mut conn, &mut buf).await else {
        return;
    };
    let host = head.header("host").unwrap_or_default().to_owned();
    let Some((port, id)) = parse_host(&host) else {
        let _ = refuse(&mut conn, "", 502, &format!("invalid host {host:?}")).await;
        return;
    };
    loop {
        let decision = decide(&shared, &id, port, &head);
        match decision {
            Decision::Refuse(status, message) => {
                let _ = refuse(&mut conn, &id, status, &message).await;
                return;
            }
            Decision::Resume(timeout) => {
                let step = shared.world().connect(&id, timeout, SystemTime::now());
                if step == Ok(ConnectStep::Resuming) {
                    let delay = shared.world().resume_delay;
                    tokio::time::sleep(delay).await;
                    let _ = shared
                        .world()
                        .finish_resume(&id, timeout, SystemTime::now());
                }
            }
            Decision::Relay(addr, cut) => {
                relay(conn, &buf, addr, cut, &id).await;
                return;
            }
            Decision::Envd { root, token, cut } => {
                envd::answer(conn, &head, root, token, cut).await;
                return;
            }
        }
    }
}

fn decide(shared: &Shared, id: &str, port: u16, head: &Head) -> Decision {
    let mut world = shared.world();
    world.expire(SystemTime::now());
    let Some(s) = world.record(id).filter(|s| s.state != State::Killed) else {
        return Decision::Refuse(502, "The sandbox was not found".into());
    };
    match s.state {
        State::Pausing => {
            return Decision::Refuse(409, "The sandbox is being paused, try again later".into())
        }
        State::Resuming => {
            return Decision::Refuse(409, "The sandbox is being resumed, try again later".into())
        }
        State::Paused if s.auto_resume => return Decision::Resume(s.timeout),
        State::Paused => return Decision::Refuse(502, "The sandbox is paused".into()),
        State::Running | State::Killed => {}
    }
    if port != ENVD_PORT {
        if let Some(want) = &s.traffic_token {
            match head.header(TRAFFIC_TOKEN_HEADER) {
                None => {
                    return Decision::Refuse(
                        403,
                        format!("Missing {TRAFFIC_TOKEN_HEADER} header: the sandbox is private"),
                    )
                }
                Some(got) if got != want => {
                    return Decision::Refuse(403, format!("Invalid {TRAFFIC_TOKEN_HEADER}"))
                }
                Some(_) => {}
            }
        }
    }
    let addr = s.ports.get(&port).copied();
    let (root, token) = (s.envd_root.clone(), s.envd_token.clone());
    let Some(cut) = world.subscribe(id) else {
        return Decision::Refuse(502, "The sandbox was not found".into());
    };
    match addr {
        Some(addr) => Decision::Relay(addr, cut),
        None if port == ENVD_PORT => Decision::Envd { root, token, cut },
        None => Decision::Refuse(
            502,
            format!("The sandbox is running but port {port} is not open"),
        ),
    }
}

/// `<port>-<id>[-anything].<domain>[:port]` → (port, id).
fn parse_host(host: &str) -> Option<(u16, String)> {
    let name = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let label = name.split('.').next()?;
    let mut parts = label.split('-');
    let port = parts.next()?.parse().ok()?;
    let id = parts.next().filter(|id| !id.is_empty())?;
    Some((port, id.to_ascii_lowercase()))
}

/// The edge's JSON error `{sandboxId, message, code}`.
async fn refuse(conn: &mut TcpStream, id: &str, status: u16, message: &str) -> std::io::Result<()> {
    Response::json(
        status,
        &json!({ "sandboxId": id, "message": message, "code": status }),
    )
    .write(conn, true)
    .await?;
    conn.shutdown().await
}

/// Relays the buffered request and then bytes both ways, until either side ends or the
/// sandbox is paused or killed.
async fn relay(
    mut conn: TcpStream,
    buffered: &[u8],
    addr: SocketAddr,
    mut cut: watch::Receiver<u64>,
    id: &str,
) {
    let mut up = match TcpStream::connect(addr).await {
        Ok(up) => up,
        Err(e) => {
            let _ = refuse(
                &mut conn,
                id,
                502,
                &format!("The sandbox is running but nothing answers on the port: {e}"),
            )
            .await;
            return;
        }
    };
    if up.write_all(buffered).await.is_err() {
        return;
    }
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut conn, &mut up) => {}
        _ = cut.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host("8081-ie2eabc.sandbox.test"),
            Some((8081, "ie2eabc".to_owned()))
        );
        assert_eq!(
            parse_host("49983-ie2eabc-b9b802c4.sandbox.test:443"),
            Some((49983, "ie2eabc".to_owned()))
        );
        assert_eq!(parse_host("api.sandbox.test"), None);
        assert_eq!(parse_host("8081-.sandbox.test"), None);
    }
}

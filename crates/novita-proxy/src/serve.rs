//! `novita-proxy serve`: accept WebSocket upgrades and bridge each to its own TCP
//! connection to `--to`.
//!
//! Every connection is its own task with its own buffers: a slow, hostile or broken client
//! only ever stalls itself. Unfinished handshakes are cut after `--handshake-timeout`, and
//! `--max-connections` bounds the total, so a flood costs bounded memory.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::cli::ServeArgs;
use crate::exit::{strip_os_error, Exit, Failure};
use crate::tunnel::{End, Options, Side, Tunnel};
use crate::ws;

/// The longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long to spend sending an error answer to a client that does not read it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// After our Close, how long to wait for a client that has gone quiet.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The read buffer per connection for frames from the client.
const READ_BUFFER: usize = 64 * 1024 + ws::MAX_HEADER;

struct Config {
    to: String,
    handshake_timeout: Duration,
    connect_timeout: Duration,
    tunnel: Options,
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(args: &ServeArgs) -> Result<(), Failure> {
    let to = crate::cli::parse_to(&args.to)?;
    crate::cli::check_listen(&args.listen)?;
    let listener = TcpListener::bind(&args.listen).await.map_err(|e| {
        Failure::new(
            Exit::Internal,
            format!(
                "cannot listen on {}: {}: pick a free ADDR:PORT for --listen",
                novita_ssh_core::quote_for_message(&args.listen),
                strip_os_error(&e.to_string())
            ),
        )
    })?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    crate::warn!("serve: listening on {local}, bridging WebSocket connections to {to}");
    let ping_interval = (!args.ping_interval.is_zero()).then_some(args.ping_interval);
    let config = Arc::new(Config {
        to,
        handshake_timeout: args.handshake_timeout,
        connect_timeout: args.connect_timeout,
        tunnel: Options {
            side: Side::SERVER,
            ping_interval,
            ping_timeout: args.ping_timeout.unwrap_or(args.ping_interval * 3),
            max_message: Some(args.max_message_size),
            close_grace: CLOSE_GRACE,
            read_buffer: READ_BUFFER,
        },
    });
    let limit = Arc::new(Semaphore::new(args.max_connections as usize));
    let pending = Arc::new(Pending::default());
    let ids = AtomicU64::new(0);
    let mut last_full_warning: Option<tokio::time::Instant> = None;
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
                    match limit.clone().try_acquire_owned() {
                        Ok(permit) => pending.spawn(id, connection(sock, peer, id, config.clone(), permit, pending.clone())),
                        // Full: make room by dropping the oldest unfinished handshake (real
                        // clients finish theirs in one round trip, idle floods never do).
                        Err(_) if pending.evict_oldest() => {
                            let (limit, config, registry) = (limit.clone(), config.clone(), pending.clone());
                            pending.spawn(id, async move {
                                if let Ok(Ok(permit)) = tokio::time::timeout(Duration::from_secs(1), limit.acquire_owned()).await {
                                    connection(sock, peer, id, config, permit, registry).await;
                                }
                            });
                        }
                        Err(_) => {
                            drop(sock);
                            let now = tokio::time::Instant::now();
                            if last_full_warning.is_none_or(|t| now - t > Duration::from_secs(10)) {
                                last_full_warning = Some(now);
                                crate::warn!("serve: {} connections bridged (--max-connections): refusing new ones", args.max_connections);
                            }
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    crate::warn!("serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut stop => {
                crate::warn!("serve: stopping");
                return Ok(());
            }
        }
    }
}

/// Connections that have not finished their handshake, oldest first, so that a flood of
/// idle ones can be cut to make room.
#[derive(Default)]
struct Pending {
    tasks: Mutex<VecDeque<(u64, AbortHandle)>>,
}

impl Pending {
    /// Spawns a connection task, registered as pending until it calls [`Pending::done`].
    fn spawn<F>(&self, id: u64, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task).abort_handle();
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push_back((id, handle));
        }
    }

    /// The connection finished its handshake (or ended): it is no longer evictable.
    fn done(&self, id: u64) {
        if let Ok(mut tasks) = self.tasks.lock() {
            if let Some(i) = tasks.iter().position(|(t, _)| *t == id) {
                tasks.remove(i);
            }
        }
    }

    /// Aborts the oldest pending handshake; `false` if there is none.
    fn evict_oldest(&self) -> bool {
        let oldest = self
            .tasks
            .lock()
            .ok()
            .and_then(|mut tasks| tasks.pop_front());
        match oldest {
            Some((id, handle)) => {
                handle.abort();
                crate::info!("#{id}: handshake dropped to make room (--max-connections)");
                true
            }
            None => false,
        }
    }
}

/// Marks a connection as no longer pending when dropped (also when its task is aborted).
struct PendingGuard {
    pending: Arc<Pending>,
    id: u64,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.pending.done(self.id);
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The Sec-WebSocket-Key.
    pub key: String,
    /// The request path, for the log.
    pub path: String,
    /// Length of the request head.
    pub head_len: usize,
}

/// Why a request was not upgraded: the status and a short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status to answer.
    pub status: u16,
    /// Why, for the body and the log.
    pub why: &'static str,
}

/// Parses a request head. `Ok(None)`: incomplete.
pub fn parse_request(buf: &[u8]) -> Result<Option<UpgradeRequest>, Rejection> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err(Rejection {
                status: 431,
                why: "request head too large",
            })
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Rejection {
                status: 431,
                why: "too many headers",
            })
        }
        Err(_) => {
            return Err(Rejection {
                status: 400,
                why: "not an HTTP request",
            })
        }
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let has_token = |value: &str, token: &str| {
        value
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(&header("upgrade"), "websocket") {
        return Err(Rejection {
            status: 426,
            why: "this is a WebSocket bridge; plain HTTP is not served",
        });
    }
    if req.method != Some("GET") {
        return Err(Rejection {
            status: 400,
            why: "a WebSocket upgrade must use GET",
        });
    }
    if !has_token(&header("connection"), "upgrade") {
        return Err(Rejection {
            status: 400,
            why: "missing Connection: Upgrade",
        });
    }
    if header("sec-websocket-version").trim() != "13" {
        return Err(Rejection {
            status: 426,
            why: "only WebSocket version 13 is supported",
        });
    }
    let key = header("sec-websocket-key").trim().to_owned();
    if BASE64.decode(&key).map(|k| k.len()).ok() != Some(16) {
        return Err(Rejection {
            status: 400,
            why: "missing or invalid Sec-WebSocket-Key",
        });
    }
    let path: String = req.path.unwrap_or("/").chars().take(100).collect();
    Ok(Some(UpgradeRequest {
        key,
        path,
        head_len,
    }))
}

/// The answer for a rejected request.
pub fn rejection_response(r: &Rejection) -> String {
    let reason = match r.status {
        400 => "Bad Request",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let body = format!("{}\n", r.why);
    let extra = if r.status == 426 {
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        r.status,
        body.len()
    )
}

async fn connection(
    mut sock: TcpStream,
    peer: SocketAddr,
    id: u64,
    config: Arc<Config>,
    _permit: OwnedSemaphorePermit,
    pending: Arc<Pending>,
) {
    let pending = PendingGuard { pending, id };
    let _ = sock.set_nodelay(true);
    let started = tokio::time::Instant::now();
    let (request, leftover) =
        match tokio::time::timeout(config.handshake_timeout, read_request(&mut sock)).await {
            Err(_) => {
                crate::info!(
                    "#{id} {peer}: no WebSocket handshake within {:?}: closed",
                    config.handshake_timeout
                );
                return;
            }
            Ok(Err(None)) => {
                crate::debug!("#{id} {peer}: closed before the handshake");
                return;
            }
            Ok(Err(Some(rejection))) => {
                crate::info!(
                    "#{id} {peer}: refused ({} {})",
                    rejection.status,
                    rejection.why
                );
                answer_and_close(sock, &rejection_response(&rejection)).await;
                return;
            }
            Ok(Ok(ok)) => ok,
        };
    let target =
        match tokio::time::timeout(config.connect_timeout, TcpStream::connect(&config.to)).await {
            Ok(Ok(t)) => t,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => strip_os_error(&e.to_string()),
                    _ => "timed out".to_owned(),
                };
                crate::warn!("#{id} {peer}: cannot connect to {}: {why}", config.to);
                let rejection = Rejection {
                    status: 502,
                    why: "the bridge cannot reach its target",
                };
                answer_and_close(sock, &rejection_response(&rejection)).await;
                return;
            }
        };
    let _ = target.set_nodelay(true);
    let accept = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        ws::accept_key(&request.key)
    );
    match tokio::time::timeout(ANSWER_TIMEOUT, sock.write_all(accept.as_bytes())).await {
        Ok(Ok(())) => {}
        _ => {
            crate::debug!("#{id} {peer}: could not send the upgrade answer");
            return;
        }
    }
    drop(pending);
    crate::info!("#{id} {peer}: {} bridged to {}", request.path, config.to);
    let mut target = target;
    let (from_target, to_target) = target.split();
    let result = Tunnel::new(
        &mut sock,
        from_target,
        to_target,
        &leftover,
        config.tunnel.clone(),
    )
    .run()
    .await;
    let secs = started.elapsed().as_secs_f32();
    match result {
        Ok(end) => {
            let how = match end {
                End::PeerClosed(_) => "the client closed".to_owned(),
                End::PeerClosedWith(code, _) => format!(
                    "the client closed with code {code}, {}",
                    ws::close_code::name(code)
                ),
                End::PeerEof => "the client disconnected".to_owned(),
                End::InputDone => "the target closed".to_owned(),
                End::OutputClosed => "the target stopped reading".to_owned(),
            };
            crate::info!("#{id} {peer}: done after {secs:.1} s ({how})");
        }
        Err(e) => crate::info!("#{id} {peer}: ended after {secs:.1} s: {e}"),
    }
}

/// Reads the request head. `Err(None)`: the client left; `Err(Some(_))`: answer and close.
async fn read_request(
    sock: &mut TcpStream,
) -> Result<(UpgradeRequest, Vec<u8>), Option<Rejection>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = sock.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(request) = parse_request(&buf).map_err(Some)? {
            let leftover = buf.split_off(request.head_len);
            return Ok((request, leftover));
        }
    }
}

async fn answer_and_close(mut sock: TcpStream, answer: &str) {
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
        sock.write_all(answer.as_bytes()).await?;
        sock.shutdown().await?;
        // Drain a little so the close does not turn into a reset that eats the answer.
        let mut sink = [0u8; 4096];
        let mut total = 0;
        while total < 64 * 1024 {
            match sock.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn accepts_a_websocket_upgrade() {
        let req = parse_request(GOOD.as_bytes())
            .expect("valid")
            .expect("complete");
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(req.path, "/x");
        assert_eq!(req.head_len, GOOD.len());
        assert_eq!(parse_request(&GOOD.as_bytes()[..30]), Ok(None));
    }

    #[test]
    fn refuses_everything_else() {
        let status = |req: &str| {
            parse_request(req.as_bytes())
                .map(|_| 0)
                .unwrap_or_else(|r| r.status)
        };
        assert_eq!(status("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 426);
        assert_eq!(status("\x16\x03\x01garbage\r\n\r\n"), 400);
        assert_eq!(status(&GOOD.replace("GET", "POST")), 400);
        assert_eq!(status(&GOOD.replace("keep-alive, Upgrade", "close")), 400);
        assert_eq!(status(&GOOD.replace("Version: 13", "Version: 8")), 426);
        assert_eq!(
            status(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "short")),
            400
        );
        let many: String = (0..60).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(status(&format!("GET / HTTP/1.1\r\n{many}\r\n")), 431);
        assert_eq!(status(&"A".repeat(MAX_HEAD)), 431);
        assert_eq!(status("\x00\x01 garbage\r\n\r\n"), 400);
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(status(&long), 431);
        let answer = rejection_response(&Rejection {
            status: 426,
            why: "w",
        });
        assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(answer.contains("Sec-WebSocket-Version: 13"));
    }
}

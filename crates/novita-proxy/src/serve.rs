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

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::cli::ServeArgs;
use crate::exit::{strip_os_error, Exit, Failure};
use crate::handshake::server::{self, Rejection};
use crate::signal::{self, Stop};
use crate::tunnel::{End, Options, Side, Tunnel};
use crate::ws;

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
    let stop = signal::first_of(&[Stop::Terminate, Stop::Interrupt]);
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
        match tokio::time::timeout(config.handshake_timeout, server::read_request(&mut sock)).await
        {
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
                server::refuse(sock, &rejection).await;
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
                server::refuse(sock, &rejection).await;
                return;
            }
        };
    let _ = target.set_nodelay(true);
    if !server::accept(&mut sock, &request).await {
        crate::debug!("#{id} {peer}: could not send the upgrade answer");
        return;
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

//! A TCP relay between client and bridge that can misbehave on command: pass bytes, delay
//! them, stop moving them while keeping the sockets open (a dead peer), or reset every
//! connection (a cut cable seen by both ends).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the relay treats bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Relay bytes as they come.
    Pass,
    /// Stop reading and writing; keep every socket open (the peer looks alive to TCP but
    /// nothing arrives: a dead NAT mapping, a suspended laptop, a hung edge).
    Blackhole,
    /// Deliver every chunk this long after it was read, in each direction.
    Delay(Duration),
}

const POLL: Duration = Duration::from_millis(25);

#[derive(Debug)]
struct Shared {
    mode: Mutex<Fault>,
    resets: AtomicU64,
    accepted: AtomicUsize,
    bytes: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    fn mode(&self) -> Fault {
        *self.mode.lock().unwrap()
    }
}

/// A relay from `127.0.0.1:port` to `127.0.0.1:<target>`, switchable at runtime with
/// [`FaultRelay::set`] and [`FaultRelay::reset_all`]. Stops accepting on drop; open
/// connections are reset then.
#[derive(Debug)]
pub struct FaultRelay {
    /// The port clients connect to (127.0.0.1).
    pub port: u16,
    shared: Arc<Shared>,
}

impl FaultRelay {
    /// Starts relaying to `127.0.0.1:<target_port>`, in [`Fault::Pass`] mode.
    pub fn start(target_port: u16) -> FaultRelay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(Fault::Pass),
            resets: AtomicU64::new(0),
            accepted: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                s.accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(target) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    reset(&client);
                    continue;
                };
                relay(client, target, s.clone());
            }
        });
        FaultRelay { port, shared }
    }

    /// Switches every connection (open and future) to `fault`.
    pub fn set(&self, fault: Fault) {
        *self.shared.mode.lock().unwrap() = fault;
    }

    /// Resets (TCP RST to both ends) every connection open now. Later connections are
    /// relayed according to the current mode.
    pub fn reset_all(&self) {
        self.shared.resets.fetch_add(1, Ordering::SeqCst);
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// How many bytes were delivered so far, both directions together.
    pub fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` bytes went through.
    ///
    /// # Panics
    /// After `limit`.
    pub fn wait_for_bytes(&self, n: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.bytes() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} bytes went through the relay within {limit:?}",
                self.bytes()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for FaultRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.reset_all();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One relayed connection: both sockets and whether it was torn down.
struct Conn {
    client: TcpStream,
    target: TcpStream,
    dead: AtomicBool,
    generation: u64,
    shared: Arc<Shared>,
}

impl Conn {
    /// Whether this connection must stop: torn down here or by the other direction, or a
    /// reset was requested since it was opened.
    fn is_dead(&self) -> bool {
        if self.dead.load(Ordering::SeqCst) {
            return true;
        }
        if self.shared.resets.load(Ordering::SeqCst) != self.generation {
            self.abort();
            return true;
        }
        false
    }

    /// Tears the connection down with a RST on both sides (once every thread let go of its
    /// handle, the kernel closes the sockets with SO_LINGER 0).
    fn abort(&self) {
        if !self.dead.swap(true, Ordering::SeqCst) {
            reset(&self.client);
            reset(&self.target);
        }
    }
}

fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

enum Chunk {
    Data(Instant, Vec<u8>),
    Eof,
}

fn relay(client: TcpStream, target: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let _ = target.set_nodelay(true);
    let generation = shared.resets.load(Ordering::SeqCst);
    let (Ok(c2), Ok(t2)) = (client.try_clone(), target.try_clone()) else {
        return;
    };
    let conn = Arc::new(Conn {
        client: c2,
        target: t2,
        dead: AtomicBool::new(false),
        generation,
        shared,
    });
    for (from, to) in [
        (client.try_clone(), target.try_clone()),
        (target.try_clone(), client.try_clone()),
    ] {
        let (Ok(from), Ok(to)) = (from, to) else {
            conn.abort();
            return;
        };
        let (tx, rx) = mpsc::channel();
        let c = conn.clone();
        thread::spawn(move || read_side(from, tx, &c));
        let c = conn.clone();
        thread::spawn(move || write_side(to, rx, &c));
    }
    // The Conn keeps the last handles; it is dropped when the four threads end.
    drop((client, target));
}

fn read_side(mut from: TcpStream, tx: Sender<Chunk>, conn: &Conn) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; 65536];
    while !conn.is_dead() {
        let mode = conn.shared.mode();
        if mode == Fault::Blackhole {
            thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Chunk::Eof);
                return;
            }
            Ok(n) => {
                let delay = match mode {
                    Fault::Delay(d) => d,
                    _ => Duration::ZERO,
                };
                if tx
                    .send(Chunk::Data(Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                conn.abort();
                return;
            }
        }
    }
}

fn write_side(mut to: TcpStream, rx: Receiver<Chunk>, conn: &Conn) {
    let _ = to.set_write_timeout(Some(POLL));
    loop {
        if conn.is_dead() {
            return;
        }
        let chunk = match rx.recv_timeout(POLL) {
            Ok(chunk) => chunk,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match chunk {
            Chunk::Eof => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Chunk::Data(due, data) => {
                while Instant::now() < due || conn.shared.mode() == Fault::Blackhole {
                    if conn.is_dead() {
                        return;
                    }
                    let wait = due.saturating_duration_since(Instant::now());
                    thread::sleep(wait.clamp(Duration::from_millis(1), POLL));
                }
                let mut sent = 0;
                while sent < data.len() {
                    if conn.is_dead() {
                        return;
                    }
                    match to.write(&data[sent..]) {
                        Ok(0) => {
                            conn.abort();
                            return;
                        }
                        Ok(n) => {
                            sent += n;
                            conn.shared.bytes.fetch_add(n as u64, Ordering::SeqCst);
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::WouldBlock
                                    | ErrorKind::TimedOut
                                    | ErrorKind::Interrupted
                            ) => {}
                        Err(_) => {
                            conn.abort();
                            return;
                        }
                    }
                }
            }
        }
    }
}

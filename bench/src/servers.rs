//! The far ends of the raw-stream and round-trip measures: loopback TCP servers that the
//! bridges relay to. A sink that counts what arrives, a source that sends a fixed amount, and
//! an echo server. Each runs in threads of the bench process and lives as long as the bench.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The read buffer of the sink (large, so that the sink is never the bottleneck).
const SINK_BUFFER: usize = 256 * 1024;

/// What one connection to the [`Sink`] delivered.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Bytes received.
    pub bytes: u64,
    /// When the first byte arrived.
    pub first: Instant,
    /// When the expected amount was complete (or the connection ended).
    pub last: Instant,
}

impl Arrival {
    /// MiB/s between the first and the last byte.
    pub fn mib_per_s(&self) -> f64 {
        let secs = self.last.duration_since(self.first).as_secs_f64().max(1e-9);
        self.bytes as f64 / 1_048_576.0 / secs
    }
}

/// Counts the bytes of every connection; reports each connection once it has delivered
/// `expect` bytes or ended.
#[derive(Debug)]
pub struct Sink {
    /// The port (127.0.0.1).
    pub port: u16,
    arrivals: Receiver<Arrival>,
}

impl Sink {
    /// Starts listening on a free loopback port.
    pub fn start(expect: u64) -> Sink {
        let (listener, port) = bind();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let tx = tx.clone();
                thread::spawn(move || count(conn, expect, &tx));
            }
        });
        Sink { port, arrivals: rx }
    }

    /// Forgets reports of earlier connections.
    pub fn drain(&self) {
        while self.arrivals.try_recv().is_ok() {}
    }

    /// Waits for the next connection's report.
    pub fn next(&self, limit: Duration) -> Option<Arrival> {
        self.arrivals.recv_timeout(limit).ok()
    }
}

fn count(mut conn: TcpStream, expect: u64, tx: &Sender<Arrival>) {
    let mut buf = vec![0u8; SINK_BUFFER];
    let mut bytes = 0u64;
    let mut first = None;
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let now = Instant::now();
                first.get_or_insert(now);
                bytes += n as u64;
                if bytes >= expect {
                    let _ = tx.send(Arrival {
                        bytes,
                        first: first.unwrap_or(now),
                        last: now,
                    });
                    // Keep reading (and discarding) until the peer closes.
                    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
                    return;
                }
            }
        }
    }
    if let Some(first) = first {
        let _ = tx.send(Arrival {
            bytes,
            first,
            last: Instant::now(),
        });
    }
}

/// Sends `len` bytes (a repeated random block) on every connection, then closes it.
#[derive(Debug)]
pub struct Source {
    /// The port (127.0.0.1).
    pub port: u16,
}

impl Source {
    /// Starts listening on a free loopback port.
    pub fn start(len: u64, block: Arc<Vec<u8>>) -> Source {
        let (listener, port) = bind();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let block = block.clone();
                thread::spawn(move || send(conn, len, &block));
            }
        });
        Source { port }
    }
}

fn send(mut conn: TcpStream, len: u64, block: &[u8]) {
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        if conn.write_all(&block[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
    let _ = conn.shutdown(std::net::Shutdown::Write);
    // Wait for the peer to close so that the last bytes are not lost to a reset.
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = [0u8; 4096];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}

/// Writes back whatever it reads, at once (TCP_NODELAY).
#[derive(Debug)]
pub struct Echo {
    /// The port (127.0.0.1).
    pub port: u16,
}

impl Echo {
    /// Starts listening on a free loopback port.
    pub fn start() -> Echo {
        let (listener, port) = bind();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                thread::spawn(move || echo(conn));
            }
        });
        Echo { port }
    }
}

fn echo(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 65536];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener
        .local_addr()
        .expect("the listener's address")
        .port();
    (listener, port)
}

//! Loopback ports: picking free ones, waiting for a listener, counting connections.

use std::collections::HashSet;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::Proc;

/// A loopback TCP port that was free a moment ago and that this process has not handed out
/// before (tests run in parallel threads; each fixture gets its own port).
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a loopback port")
            .port();
        if given.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
///
/// # Panics
/// When `proc` exits first or nothing listens within `timeout`, with the process's log.
pub fn wait_for_port(port: u16, timeout: Duration, proc: &mut Proc) {
    if let Err(e) = try_wait_for_port(port, timeout, proc) {
        panic!("{e}");
    }
}

/// [`wait_for_port`] that returns the failure (with the process's log) instead of panicking.
pub fn try_wait_for_port(port: u16, timeout: Duration, proc: &mut Proc) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
            .is_ok()
        {
            return Ok(());
        }
        if !proc.is_running() {
            return Err(format!(
                "{} exited before listening on port {port}; its log:\n{}",
                proc.name(),
                proc.log()
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} is not listening on port {port} after {timeout:?}; its log:\n{}",
                proc.name(),
                proc.log()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a server on a free port: `start(port)` spawns it, `ready(port, proc)` waits until
/// it serves. When the process exits before it is ready (another program took the port in
/// the meantime), it is tried again on another port, three times at most.
///
/// # Panics
/// When it is not ready in time while still running, or failed on three ports.
pub fn start_on_free_port(
    what: &str,
    mut start: impl FnMut(u16) -> Proc,
    ready: impl Fn(u16, &mut Proc) -> Result<(), String>,
) -> (u16, Proc) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut proc = start(port);
        match ready(port, &mut proc) {
            Ok(()) => return (port, proc),
            Err(e) if proc.is_running() => panic!("{e}"),
            Err(e) => last = e,
        }
    }
    panic!("{what} failed to start on three different ports; the last attempt: {last}")
}

/// A loopback listener that counts (and drops) every connection: the target to point a
/// client at when asserting that it made no network attempt at all.
#[derive(Debug)]
pub struct CountingListener {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CountingListener {
    /// Starts listening on a free loopback port.
    pub fn start() -> CountingListener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(mut conn) = conn {
                    c.fetch_add(1, Ordering::SeqCst);
                    thread::spawn(move || {
                        // Hold the connection briefly, then close it without answering.
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                        let _ = conn.read(&mut [0u8; 1024]);
                        let _ = conn.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        CountingListener { port, count, stop }
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag; the count is not read after this.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

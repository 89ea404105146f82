//! The data path: bytes from a local input become WebSocket binary frames, and the
//! payload of frames from the peer goes to a local output.
//!
//! One [`Tunnel`] drives both directions from a single task with a hand-written poll
//! loop, so it needs no locks, no channels and no per-frame allocation:
//! - input -> peer: one read of up to 64 KiB becomes one final binary frame (a keystroke
//!   goes out at once; under load the reads and so the frames are large); the header is
//!   written in front of the payload in the same buffer and a client masks in place.
//! - peer -> output: the socket is read into a large buffer; payload is unmasked in place
//!   and written straight from there, as it arrives (messages are never collected).
//! - Pings are answered, and sent on an interval; silence longer than the ping timeout
//!   ends the tunnel as lost.
//! - Text messages are data too, once valid: their UTF-8 is checked as it arrives, and a
//!   text frame that spans several reads is held until its end, so that nothing of a
//!   frame that fails the connection reaches the output. Binary payload is never held.
//! - Frames that break RFC 6455 fail the connection with the Close code the RFC asks for
//!   (1002, 1007, 1009); a valid Close is echoed with its code and reason.
//!
//! The client runs it between stdin/stdout and the WebSocket; `serve` between the
//! WebSocket and a TCP connection.

use std::future::{poll_fn, Future as _};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

use crate::ws::{
    self, close_code, opcode, Decoder, Event, FrameError, MaskKeys, Role, MAX_CONTROL_PAYLOAD,
    MAX_HEADER,
};

/// The largest payload of one data frame we send (websocat's default buffer size).
pub const MAX_FRAME_PAYLOAD: usize = 64 * 1024;

/// How a tunnel behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Client (masks frames) or server (expects masked frames).
    pub role: Role,
    /// Send a ping this often (`None`: never).
    pub ping_interval: Option<Duration>,
    /// End as lost when nothing arrives from the peer for this long (only with pings).
    pub ping_timeout: Duration,
    /// Refuse messages longer than this.
    pub max_message: Option<u64>,
    /// After our Close, how long to wait in silence for the peer to finish.
    pub close_grace: Duration,
    /// Size of the buffer frames are read into.
    pub read_buffer: usize,
}

/// How a tunnel ended normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The peer sent a Close frame without a code or with 1000 or 1001.
    PeerClosed(Option<u16>),
    /// The peer sent a Close frame with any other (valid) code, which reports an error
    /// or an application's own reason, with its reason text.
    PeerClosedWith(u16, String),
    /// The peer's connection ended without a Close frame.
    PeerEof,
    /// Our input ended, we sent Close, and the peer finished or went quiet.
    InputDone,
    /// Our output was closed by its reader (for stdout: ssh went away).
    OutputClosed,
}

/// How a tunnel failed.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// Nothing arrived from the peer within the ping timeout.
    #[error("no data and no answer to pings for {} s", .0.as_secs())]
    PingTimeout(Duration),
    /// The WebSocket connection broke (reset, broken pipe, TLS error).
    #[error("{0}")]
    Lost(io::Error),
    /// The peer sent frames that break the protocol.
    #[error("{0}")]
    Protocol(FrameError),
    /// Reading the local input or writing the local output failed.
    #[error("{0}")]
    Local(io::Error),
}

/// Moves bytes between a WebSocket connection `S` and a local input `I` / output `O`.
pub struct Tunnel<S, I, O> {
    ws: S,
    input: I,
    output: O,
    opts: Options,
    masks: Option<MaskKeys>,

    // input -> ws
    up_buf: Box<[u8]>,
    up: (usize, usize),
    input_eof: bool,
    ctrl_buf: [u8; MAX_HEADER + MAX_CONTROL_PAYLOAD],
    ctrl: (usize, usize),
    writing_data: bool,
    pong: Option<([u8; MAX_CONTROL_PAYLOAD], usize)>,
    ping_due: bool,
    close_wanted: Option<ClosePayload>,
    close_sent: bool,
    ws_dirty: bool,

    // ws -> output
    down_buf: Box<[u8]>,
    down: (usize, usize),
    out: (usize, usize),
    out_dirty: bool,
    output_shut: bool,
    // A text frame that spans reads, held until it has proved valid; `out_held`: `out`
    // indexes this instead of `down_buf`.
    held: Vec<u8>,
    out_held: bool,
    decoder: Decoder,
    ws_eof: bool,
    peer_close: Option<Option<u16>>,
    peer_close_payload: ClosePayload,
    failed: Option<FrameError>,

    // time
    last_rx: Instant,
    closing_since: Option<Instant>,
    ping_timer: Option<Interval>,
    watchdog: Option<Pin<Box<Sleep>>>,
    grace: Option<Pin<Box<Sleep>>>,
}

impl<S, I, O> Tunnel<S, I, O>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    /// A tunnel over an open WebSocket `ws`. `leftover` holds bytes already read from
    /// `ws` after the handshake (the start of the first frames).
    pub fn new(ws: S, input: I, output: O, leftover: &[u8], opts: Options) -> Self {
        let read_buffer = opts.read_buffer.max(leftover.len()).max(MAX_HEADER * 2);
        let mut down_buf = vec![0u8; read_buffer].into_boxed_slice();
        down_buf[..leftover.len()].copy_from_slice(leftover);
        let now = Instant::now();
        let ping_timer = opts.ping_interval.map(|every| {
            let mut timer = tokio::time::interval_at(now + every, every);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        });
        let watchdog = opts
            .ping_interval
            .map(|_| Box::pin(tokio::time::sleep_until(now + opts.ping_timeout)));
        Self {
            ws,
            input,
            output,
            masks: (opts.role == Role::Client).then(MaskKeys::new),
            decoder: Decoder::new(opts.role, opts.max_message),
            opts,
            up_buf: vec![0u8; MAX_HEADER + MAX_FRAME_PAYLOAD].into_boxed_slice(),
            up: (0, 0),
            input_eof: false,
            ctrl_buf: [0; MAX_HEADER + MAX_CONTROL_PAYLOAD],
            ctrl: (0, 0),
            writing_data: false,
            pong: None,
            ping_due: false,
            close_wanted: None,
            close_sent: false,
            ws_dirty: false,
            down_buf,
            down: (0, leftover.len()),
            out: (0, 0),
            out_dirty: false,
            output_shut: false,
            held: Vec::new(),
            out_held: false,
            ws_eof: false,
            peer_close: None,
            peer_close_payload: ClosePayload::default(),
            failed: None,
            last_rx: now,
            closing_since: None,
            ping_timer,
            watchdog,
            grace: None,
        }
    }

    /// Runs the tunnel to its end.
    pub async fn run(mut self) -> Result<End, TunnelError> {
        poll_fn(|cx| self.poll(cx)).await
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<End, TunnelError>> {
        loop {
            let mut progress = false;
            if let Some(done) = self.poll_down(cx, &mut progress) {
                return Poll::Ready(done);
            }
            if let Some(done) = self.poll_up(cx, &mut progress) {
                return Poll::Ready(done);
            }
            if let Some(done) = self.finished() {
                return Poll::Ready(done);
            }
            if let Some(done) = self.poll_timers(cx, &mut progress) {
                return Poll::Ready(done);
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Peer -> output: write pending payload, decode, read more.
    fn poll_down(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        loop {
            // 1. Pending payload to the output.
            while self.out.0 < self.out.1 {
                let src = if self.out_held {
                    &self.held[..]
                } else {
                    &self.down_buf[..]
                };
                match Pin::new(&mut self.output).poll_write(cx, &src[self.out.0..self.out.1]) {
                    Poll::Ready(Ok(0)) => {
                        return Some(self.output_gone(io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.out.0 += n;
                        self.out_dirty = true;
                        *progress = true;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => return Some(self.output_gone(e)),
                    Poll::Pending => return None,
                }
            }
            if self.out_held {
                self.release_held();
            }
            if self.out_dirty {
                match Pin::new(&mut self.output).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.out_dirty = false,
                    Poll::Ready(Err(e)) => return Some(self.output_gone(e)),
                    Poll::Pending => return None,
                }
            }
            // The server's half-close: after the client's Close, the target sees the end
            // of its input, and what it still sends reaches the client before our Close.
            if self.opts.role == Role::Server && self.peer_close.is_some() && !self.output_shut {
                match Pin::new(&mut self.output).poll_shutdown(cx) {
                    Poll::Ready(_) => {
                        self.output_shut = true;
                        *progress = true;
                    }
                    Poll::Pending => return None,
                }
            }
            // 2. Decode what is buffered.
            if self.down.0 < self.down.1 && self.peer_close.is_none() && self.failed.is_none() {
                let base = self.down.0;
                match self.decoder.decode(&mut self.down_buf[base..self.down.1]) {
                    Err(e) => {
                        crate::debug!("refusing the peer's frames: {e}");
                        self.close_wanted = Some(ClosePayload::code(e.close_code()));
                        self.failed = Some(e);
                        self.drop_unsent_data();
                        self.release_held();
                        *progress = true;
                        return None;
                    }
                    Ok((used, event)) => {
                        self.down.0 += used;
                        match event {
                            Some(Event::Data(a, b)) => {
                                self.out = (base + a, base + b);
                                if self.output_shut {
                                    // The local side is shut: drop late data.
                                    self.out = (0, 0);
                                }
                            }
                            Some(Event::Text(a, b, frame_end)) => {
                                if self.output_shut {
                                    self.release_held();
                                } else if frame_end && self.held.is_empty() {
                                    // The whole frame was in this read: no copy needed.
                                    self.out = (base + a, base + b);
                                } else {
                                    self.held
                                        .extend_from_slice(&self.down_buf[base + a..base + b]);
                                    if frame_end {
                                        self.out = (0, self.held.len());
                                        self.out_held = true;
                                    }
                                }
                            }
                            Some(Event::Ping) => {
                                let payload = self.decoder.control_payload();
                                let mut copy = [0u8; MAX_CONTROL_PAYLOAD];
                                copy[..payload.len()].copy_from_slice(payload);
                                self.pong = Some((copy, payload.len()));
                            }
                            Some(Event::Pong) => {}
                            Some(Event::Close(code)) => {
                                self.peer_close_payload =
                                    ClosePayload::copy(self.decoder.control_payload());
                                self.on_peer_close(code);
                            }
                            None => {}
                        }
                        if used > 0 || event.is_some() {
                            *progress = true;
                            continue;
                        }
                    }
                }
            }
            // 3. Read more from the peer.
            if self.ws_eof || self.failed.is_some() {
                return None;
            }
            if self.down.0 == self.down.1 || self.peer_close.is_some() {
                self.down = (0, 0);
            } else if self.down.0 > 0 {
                // Only a partial header (under 14 bytes) can be left: move it to the front.
                self.down_buf.copy_within(self.down.0..self.down.1, 0);
                self.down = (0, self.down.1 - self.down.0);
            }
            let mut rb = ReadBuf::new(&mut self.down_buf[self.down.1..]);
            match Pin::new(&mut self.ws).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    *progress = true;
                    if n == 0 {
                        self.ws_eof = true;
                        return None;
                    }
                    self.last_rx = Instant::now();
                    self.down.1 += n;
                    if self.peer_close.is_some() {
                        // Nothing may follow a Close: ignore it.
                        self.down = (0, 0);
                    }
                }
                // Once a Close went either way, a reset is just how some peers hang up
                // (websocat drops the socket with unread bytes in it).
                Poll::Ready(Err(e))
                    if is_eof(&e) || self.peer_close.is_some() || self.close_sent =>
                {
                    crate::debug!("the peer's connection ended: {e}");
                    self.ws_eof = true;
                    *progress = true;
                    return None;
                }
                Poll::Ready(Err(e)) => return Some(Err(TunnelError::Lost(e))),
                Poll::Pending => return None,
            }
        }
    }

    /// Input -> peer: control frames first (at frame boundaries), then data, then Close.
    fn poll_up(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        loop {
            // Pick the next frame to write when none is in flight.
            if self.ctrl.0 == self.ctrl.1 && !self.writing_data && !self.close_sent {
                if let Some((payload, len)) = self.pong.take() {
                    self.queue_control(opcode::PONG, &payload[..len]);
                } else if self.ping_due {
                    self.ping_due = false;
                    let stamp = self.last_rx.elapsed().as_millis().to_be_bytes();
                    self.queue_control(opcode::PING, &stamp[8..]);
                } else if self.up.0 < self.up.1 {
                    self.writing_data = true;
                } else if let Some(close) = self.close_wanted {
                    self.queue_control(opcode::CLOSE, close.as_bytes());
                    self.close_sent = true;
                    self.closing_since = Some(Instant::now());
                }
            }
            // Write it.
            let (buf, range) = if self.writing_data {
                (&self.up_buf[..], self.up)
            } else {
                (&self.ctrl_buf[..], self.ctrl)
            };
            if range.0 < range.1 {
                match Pin::new(&mut self.ws).poll_write(cx, &buf[range.0..range.1]) {
                    Poll::Ready(Ok(0)) => {
                        return Some(self.ws_write_failed(io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        *progress = true;
                        self.ws_dirty = true;
                        if self.writing_data {
                            self.up.0 += n;
                            if self.up.0 == self.up.1 {
                                self.writing_data = false;
                                self.up = (0, 0);
                            }
                        } else {
                            self.ctrl.0 += n;
                        }
                        continue;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Some(self.ws_write_failed(e)),
                    Poll::Pending => return None,
                }
            }
            if self.ws_dirty {
                match Pin::new(&mut self.ws).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.ws_dirty = false,
                    Poll::Ready(Err(e)) => return Some(self.ws_write_failed(e)),
                    Poll::Pending => return None,
                }
            }
            // Read the next chunk of input into a new data frame.
            if self.input_eof
                || self.close_wanted.is_some()
                || self.close_sent
                || self.up.0 < self.up.1
            {
                return None;
            }
            let mut rb = ReadBuf::new(&mut self.up_buf[MAX_HEADER..]);
            match Pin::new(&mut self.input).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    *progress = true;
                    let n = rb.filled().len();
                    if n == 0 {
                        self.input_eof = true;
                        self.on_input_eof();
                        continue;
                    }
                    if self.peer_close.is_some() {
                        // The server's half-close: the target is still talking, so the
                        // grace period before answering the client's Close starts over.
                        self.last_rx = Instant::now();
                    }
                    self.frame_input(n);
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => match self.opts.role {
                    Role::Client => return Some(Err(TunnelError::Local(e))),
                    Role::Server => {
                        crate::debug!("reading the target failed: {e}");
                        self.input_eof = true;
                        self.close_wanted = Some(ClosePayload::code(close_code::INTERNAL));
                        *progress = true;
                    }
                },
                Poll::Pending => return None,
            }
        }
    }

    /// Turns `n` input bytes at `up_buf[MAX_HEADER..]` into a frame ready to write.
    fn frame_input(&mut self, n: usize) {
        let mask = self.masks.as_mut().map(MaskKeys::next_key);
        let mut header = [0u8; MAX_HEADER];
        let h = ws::encode_header(&mut header, opcode::BINARY, n, mask);
        let start = MAX_HEADER - h;
        self.up_buf[start..MAX_HEADER].copy_from_slice(&header[..h]);
        if let Some(key) = mask {
            ws::apply_mask(&mut self.up_buf[MAX_HEADER..MAX_HEADER + n], key, 0);
        }
        self.up = (start, MAX_HEADER + n);
    }

    fn queue_control(&mut self, op: u8, payload: &[u8]) {
        let mask = self.masks.as_mut().map(MaskKeys::next_key);
        let mut header = [0u8; MAX_HEADER];
        let h = ws::encode_header(&mut header, op, payload.len(), mask);
        self.ctrl_buf[..h].copy_from_slice(&header[..h]);
        self.ctrl_buf[h..h + payload.len()].copy_from_slice(payload);
        if let Some(key) = mask {
            ws::apply_mask(&mut self.ctrl_buf[h..h + payload.len()], key, 0);
        }
        self.ctrl = (0, h + payload.len());
    }

    fn on_input_eof(&mut self) {
        crate::debug!("local input ended: sending Close");
        self.close_wanted = Some(if self.peer_close.is_some() {
            // The answer to the peer's Close echoes its code and reason.
            self.peer_close_payload
        } else {
            ClosePayload::code(close_code::NORMAL)
        });
    }

    fn on_peer_close(&mut self, code: Option<u16>) {
        crate::debug!("the peer sent Close ({code:?})");
        self.peer_close = Some(code);
        match self.opts.role {
            // The client answers at once, echoing the code and reason, and ends.
            Role::Client => {
                self.drop_unsent_data();
                if self.close_wanted.is_none() {
                    self.close_wanted = Some(self.peer_close_payload);
                }
            }
            // The server half-closes: the target sees the end of its input, and what it
            // still sends goes to the client before our Close; a target that stays quiet
            // for the grace period gets the Close answered without it (`poll_timers`).
            Role::Server => {}
        }
        self.closing_since.get_or_insert_with(Instant::now);
    }

    /// Forgets a held text frame once written (or when it must never be).
    fn release_held(&mut self) {
        if self.out_held {
            self.out = (0, 0);
            self.out_held = false;
        }
        self.held.clear();
        self.held.shrink_to(MAX_FRAME_PAYLOAD);
    }

    /// Forgets a data frame that has not started to go out (one that has must finish, or
    /// the peer would misread everything after it).
    fn drop_unsent_data(&mut self) {
        if !self.writing_data {
            self.up = (0, 0);
        }
    }

    /// Whether the tunnel is done.
    fn finished(&mut self) -> Option<Result<End, TunnelError>> {
        let out_idle = self.out.0 == self.out.1 && !self.out_dirty;
        let close_flushed = self.close_sent && self.ctrl.0 == self.ctrl.1 && !self.ws_dirty;
        if let Some(err) = &self.failed {
            if close_flushed || self.ws_eof {
                return Some(Err(TunnelError::Protocol(err.clone())));
            }
            return None;
        }
        if let Some(code) = self.peer_close {
            if close_flushed || self.ws_eof {
                return Some(Ok(self.peer_closed(code)));
            }
            return None;
        }
        // poll_down decoded all it could: what is left is a partial frame that can never
        // complete.
        if self.ws_eof && out_idle {
            return Some(Ok(End::PeerEof));
        }
        None
    }

    fn poll_timers(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        if let Some(timer) = &mut self.ping_timer {
            if timer.poll_tick(cx).is_ready() && !self.close_sent {
                self.ping_due = true;
                *progress = true;
            }
        }
        if let Some(dog) = &mut self.watchdog {
            if dog.as_mut().poll(cx).is_ready() {
                let deadline = self.last_rx + self.opts.ping_timeout;
                if Instant::now() >= deadline {
                    return Some(Err(TunnelError::PingTimeout(self.opts.ping_timeout)));
                }
                dog.as_mut().reset(deadline);
                *progress = true;
            }
        }
        if let Some(since) = self.closing_since {
            // Half-close: while the peer keeps sending after our Close, keep delivering;
            // end once it has been quiet for the grace period.
            let deadline = since.max(self.last_rx) + self.opts.close_grace;
            let grace = self
                .grace
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if grace.as_mut().poll(cx).is_ready() {
                let deadline =
                    self.closing_since.unwrap_or(since).max(self.last_rx) + self.opts.close_grace;
                if Instant::now() >= deadline {
                    if self.peer_close.is_some() && self.close_wanted.is_none() {
                        // serve: the target neither ended nor sent anything after the
                        // client's Close; answer it now rather than keep the client waiting.
                        crate::debug!("the target went quiet after the client's Close");
                        self.input_eof = true;
                        self.close_wanted = Some(self.peer_close_payload);
                        self.closing_since = Some(Instant::now());
                        self.grace = None;
                        *progress = true;
                        return None;
                    }
                    crate::debug!("the peer went quiet after Close");
                    if let Some(err) = self.failed.take() {
                        return Some(Err(TunnelError::Protocol(err)));
                    }
                    return Some(Ok(match self.peer_close {
                        Some(code) => self.peer_closed(code),
                        None => End::InputDone,
                    }));
                }
                grace.as_mut().reset(deadline);
                *progress = true;
            }
        }
        None
    }

    fn output_gone(&mut self, e: io::Error) -> Result<End, TunnelError> {
        match (self.opts.role, e.kind()) {
            (Role::Client, io::ErrorKind::BrokenPipe | io::ErrorKind::WriteZero) => {
                Ok(End::OutputClosed)
            }
            (Role::Client, _) => Err(TunnelError::Local(e)),
            (Role::Server, _) => {
                crate::debug!("writing to the target failed: {e}");
                Ok(End::OutputClosed)
            }
        }
    }

    /// How the peer's Close ended the tunnel.
    fn peer_closed(&self, code: Option<u16>) -> End {
        match code {
            Some(code) if !close_code::is_normal(code) => {
                End::PeerClosedWith(code, self.peer_close_payload.reason())
            }
            _ => End::PeerClosed(code),
        }
    }

    fn ws_write_failed(&mut self, e: io::Error) -> Result<End, TunnelError> {
        // After the peer's Close, a failed reply is normal: the peer may already be gone.
        if let Some(code) = self.peer_close {
            return Ok(self.peer_closed(code));
        }
        if self.close_sent && is_eof(&e) {
            return Ok(End::InputDone);
        }
        Err(TunnelError::Lost(e))
    }
}

/// The client's failure when the sandbox's bridge closed with a code other than 1000 or
/// 1001: one line naming the code, its meaning and the reason the bridge gave.
pub fn closed_with(code: u16, reason: &str) -> crate::exit::Failure {
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let reason = if reason.trim().is_empty() {
        String::new()
    } else {
        format!(", reason {:?}", reason.trim())
    };
    crate::exit::Failure::new(
        crate::exit::Exit::BridgeError,
        format!(
            "the sandbox's bridge closed the connection with code {code} ({}{reason}): check the bridge and the service behind it in the sandbox",
            close_code::name(code)
        ),
    )
}

/// The payload of a Close frame we send: a status code and, when echoing the peer's
/// Close, its reason.
#[derive(Debug, Clone, Copy)]
struct ClosePayload {
    buf: [u8; MAX_CONTROL_PAYLOAD],
    len: usize,
}

impl Default for ClosePayload {
    fn default() -> Self {
        Self {
            buf: [0; MAX_CONTROL_PAYLOAD],
            len: 0,
        }
    }
}

impl ClosePayload {
    fn code(code: u16) -> Self {
        Self::copy(&code.to_be_bytes())
    }

    /// A copy of a payload the decoder validated (at most 125 bytes).
    fn copy(payload: &[u8]) -> Self {
        let len = payload.len().min(MAX_CONTROL_PAYLOAD);
        let mut c = Self {
            len,
            ..Self::default()
        };
        c.buf[..len].copy_from_slice(&payload[..len]);
        c
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn reason(&self) -> String {
        String::from_utf8_lossy(self.as_bytes().get(2..).unwrap_or_default()).into_owned()
    }
}

/// Whether an I/O error is an end of stream in disguise (a TLS peer that closed the
/// TCP connection without close_notify, a reset after everything was said).
pub fn is_eof(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::UnexpectedEof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

    fn opts(role: Role) -> Options {
        Options {
            role,
            ping_interval: None,
            ping_timeout: Duration::from_secs(90),
            max_message: Some(1 << 20),
            close_grace: Duration::from_millis(500),
            read_buffer: 128 * 1024,
        }
    }

    /// A frame as the peer builds it (unmasked from a server, masked from a client).
    fn frame(op: u8, payload: &[u8], mask: bool) -> Vec<u8> {
        let key = mask.then_some([0x11, 0x22, 0x33, 0x44]);
        let mut h = [0u8; MAX_HEADER];
        let n = ws::encode_header(&mut h, op, payload.len(), key);
        let mut out = h[..n].to_vec();
        let mut body = payload.to_vec();
        if let Some(k) = key {
            ws::apply_mask(&mut body, k, 0);
        }
        out.extend(body);
        out
    }

    /// Splits raw bytes into (opcode, masked, unmasked payload) frames; `None` if the last
    /// frame is incomplete.
    fn try_frames(mut raw: &[u8]) -> Option<Vec<(u8, bool, Vec<u8>)>> {
        let mut out = Vec::new();
        while !raw.is_empty() {
            let h = ws::parse_header(raw).expect("valid frame")?;
            let end = h.header_len + h.len as usize;
            let mut payload = raw.get(h.header_len..end)?.to_vec();
            if let Some(k) = h.mask {
                ws::apply_mask(&mut payload, k, 0);
            }
            out.push((h.opcode, h.mask.is_some(), payload));
            raw = &raw[end..];
        }
        Some(out)
    }

    fn frames(raw: &[u8]) -> Vec<(u8, bool, Vec<u8>)> {
        try_frames(raw).expect("complete frames")
    }

    /// Reads from the peer side until a Close frame has arrived (or EOF).
    async fn read_until_close(peer: &mut DuplexStream) -> Vec<(u8, bool, Vec<u8>)> {
        let mut raw = Vec::new();
        let mut chunk = vec![0u8; 65536];
        loop {
            let n = peer.read(&mut chunk).await.expect("read");
            raw.extend_from_slice(&chunk[..n]);
            if n == 0 {
                return frames(&raw);
            }
            if let Some(done) =
                try_frames(&raw).filter(|f| f.iter().any(|(op, _, _)| *op == opcode::CLOSE))
            {
                return done;
            }
        }
    }

    #[tokio::test]
    async fn client_masks_input_and_delivers_peer_data_then_answers_close() {
        let (ws, mut peer) = tokio::io::duplex(1 << 20);
        let input: &[u8] = &[7u8; 100_000];
        let tunnel = Tunnel::new(
            ws,
            input,
            Vec::new(),
            &frame(opcode::BINARY, b"early", false),
            opts(Role::Client),
        );
        let task = tokio::spawn(async move {
            let mut t = tunnel;
            let end = poll_fn(|cx| t.poll(cx)).await;
            (end, t.output)
        });
        let sent = read_until_close(&mut peer).await;
        // 100 000 bytes as 64 KiB + rest, masked, never an empty message; then Close.
        let data: Vec<_> = sent.iter().filter(|f| f.0 == opcode::BINARY).collect();
        assert_eq!(
            data.iter().map(|f| f.2.len()).collect::<Vec<_>>(),
            vec![65536, 100_000 - 65536]
        );
        assert!(sent.iter().all(|f| f.1), "every client frame is masked");
        assert!(data.iter().all(|f| f.2.iter().all(|b| *b == 7)));
        assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
        // Half-close: the peer still sends after our Close, then closes.
        peer.write_all(&frame(opcode::BINARY, &[1u8; 70_000], false))
            .await
            .expect("write");
        peer.write_all(&frame(opcode::PING, b"p", false))
            .await
            .expect("write");
        peer.write_all(&frame(opcode::TEXT, b"tail", false))
            .await
            .expect("write");
        peer.write_all(&frame(opcode::CLOSE, &1000u16.to_be_bytes(), false))
            .await
            .expect("write");
        let (end, output) = task.await.expect("join");
        assert_eq!(end.expect("clean end"), End::PeerClosed(Some(1000)));
        assert_eq!(&output[..5], b"early");
        assert_eq!(output.len(), 5 + 70_000 + 4);
        assert_eq!(&output[output.len() - 4..], b"tail");
    }

    #[tokio::test]
    async fn client_answers_pings_and_a_close() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Client)).run());
        peer.write_all(&frame(opcode::PING, b"are you there", false))
            .await
            .expect("write");
        peer.write_all(&frame(opcode::CLOSE, &1001u16.to_be_bytes(), false))
            .await
            .expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(got[0], (opcode::PONG, true, b"are you there".to_vec()));
        assert_eq!(
            got[1],
            (opcode::CLOSE, true, 1001u16.to_be_bytes().to_vec())
        );
        assert_eq!(
            task.await.expect("join").expect("clean"),
            End::PeerClosed(Some(1001))
        );
    }

    #[tokio::test]
    async fn a_silent_peer_is_detected_by_the_ping_timeout() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let mut o = opts(Role::Client);
        o.ping_interval = Some(Duration::from_millis(50));
        o.ping_timeout = Duration::from_millis(300);
        let started = Instant::now();
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
        // The peer reads (so pings go out) but never answers.
        let reader = tokio::spawn(async move {
            let mut raw = Vec::new();
            let _ = peer.read_to_end(&mut raw).await;
            raw
        });
        let err = task.await.expect("join").expect_err("must fail");
        assert!(matches!(err, TunnelError::PingTimeout(_)), "{err:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        let sent = frames(&reader.await.expect("join"));
        assert!(
            sent.iter().filter(|f| f.0 == opcode::PING).count() >= 3,
            "{sent:?}"
        );
    }

    #[tokio::test]
    async fn eof_without_close_is_a_normal_end() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(async move {
            let mut t = Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Client));
            let end = poll_fn(|cx| t.poll(cx)).await;
            (end, t.output)
        });
        peer.write_all(&frame(opcode::BINARY, b"bye", false))
            .await
            .expect("write");
        drop(peer);
        let (end, output) = task.await.expect("join");
        assert_eq!(end.expect("clean"), End::PeerEof);
        assert_eq!(output, b"bye");
    }

    /// A connection whose end comes as a reset instead of an EOF.
    struct Resetting(DuplexStream);

    impl AsyncRead for Resetting {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            match Pin::new(&mut self.0).poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() == before => {
                    Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
                }
                other => other,
            }
        }
    }

    impl AsyncWrite for Resetting {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn a_reset_is_lost_mid_session_but_a_normal_end_after_close() {
        // Mid-session: lost.
        let (ws, peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(
            Tunnel::new(Resetting(ws), input, Vec::new(), &[], opts(Role::Client)).run(),
        );
        drop(peer);
        assert!(matches!(
            task.await.expect("join"),
            Err(TunnelError::Lost(_))
        ));
        // After our Close (end of input), the bridge hanging up with a reset is normal.
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(
            Tunnel::new(Resetting(ws), &b""[..], Vec::new(), &[], opts(Role::Client)).run(),
        );
        let sent = read_until_close(&mut peer).await;
        assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
        drop(peer);
        assert_eq!(task.await.expect("join").expect("normal end"), End::PeerEof);
    }

    #[tokio::test]
    async fn server_pings_unmasked_and_drops_a_silent_client() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let mut o = opts(Role::Server);
        o.ping_interval = Some(Duration::from_millis(50));
        o.ping_timeout = Duration::from_millis(250);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
        let reader = tokio::spawn(async move {
            let mut raw = Vec::new();
            let _ = peer.read_to_end(&mut raw).await;
            raw
        });
        let err = task.await.expect("join").expect_err("silent client");
        assert!(matches!(err, TunnelError::PingTimeout(_)), "{err:?}");
        let sent = frames(&reader.await.expect("join"));
        assert!(
            !sent.is_empty() && sent.iter().all(|f| f.0 == opcode::PING && !f.1),
            "{sent:?}"
        );
    }

    #[tokio::test]
    async fn server_refuses_unmasked_frames_with_a_protocol_close() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Server)).run());
        peer.write_all(&frame(opcode::BINARY, b"unmasked", false))
            .await
            .expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(
            got.last(),
            Some(&(opcode::CLOSE, false, 1002u16.to_be_bytes().to_vec()))
        );
        drop(peer);
        let err = task.await.expect("join").expect_err("protocol error");
        assert!(
            matches!(err, TunnelError::Protocol(FrameError::Protocol(_))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn server_closes_oversized_messages() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let mut o = opts(Role::Server);
        o.max_message = Some(1000);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
        peer.write_all(&frame(opcode::BINARY, &[0u8; 1001], true))
            .await
            .expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(
            got.last(),
            Some(&(opcode::CLOSE, false, 1009u16.to_be_bytes().to_vec()))
        );
        drop(peer);
        assert!(matches!(
            task.await.expect("join"),
            Err(TunnelError::Protocol(FrameError::TooBig(1000)))
        ));
    }

    #[tokio::test]
    async fn client_refuses_an_invalid_close_and_never_echoes_its_code() {
        for (payload, answer) in [
            (1005u16.to_be_bytes().to_vec(), 1002u16),
            (vec![0x03], 1002),
            (b"\x03\xe8\xc3\x28".to_vec(), 1007),
        ] {
            let (ws, mut peer) = tokio::io::duplex(1 << 16);
            let (input, _keep_open) = tokio::io::duplex(16);
            let task =
                tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Client)).run());
            peer.write_all(&frame(opcode::CLOSE, &payload, false))
                .await
                .expect("write");
            let got = read_until_close(&mut peer).await;
            assert_eq!(
                got.last(),
                Some(&(opcode::CLOSE, true, answer.to_be_bytes().to_vec()))
            );
            drop(peer);
            assert!(matches!(
                task.await.expect("join"),
                Err(TunnelError::Protocol(_))
            ));
        }
    }

    #[tokio::test]
    async fn client_echoes_an_error_close_with_its_reason_and_reports_it() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Client)).run());
        let payload = b"\x03\xf3sshd is gone";
        peer.write_all(&frame(opcode::CLOSE, payload, false))
            .await
            .expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(got.last(), Some(&(opcode::CLOSE, true, payload.to_vec())));
        assert_eq!(
            task.await.expect("join").expect("an end"),
            End::PeerClosedWith(1011, "sshd is gone".to_owned())
        );
        let failure = closed_with(1011, "sshd is gone");
        assert_eq!(failure.exit.code(), 16);
        assert!(
            failure
                .message
                .contains("code 1011 (internal error, reason \"sshd is gone\")"),
            "{}",
            failure.message
        );
    }

    #[tokio::test]
    async fn a_text_frame_that_turns_out_invalid_never_reaches_the_output() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(async move {
            let mut t = Tunnel::new(ws, input, Vec::new(), &[], opts(Role::Client));
            let end = poll_fn(|cx| t.poll(cx)).await;
            (end, t.output)
        });
        // A valid text frame in two reads goes out whole; then one whose second half is
        // not UTF-8 fails the connection with nothing of it written.
        let good = frame(opcode::TEXT, "valid \u{20ac}".as_bytes(), false);
        peer.write_all(&good[..5]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        peer.write_all(&good[5..]).await.expect("write");
        let bad = frame(opcode::TEXT, b"held back\xff", false);
        peer.write_all(&bad[..8]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(50)).await;
        peer.write_all(&bad[8..]).await.expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(
            got.last(),
            Some(&(opcode::CLOSE, true, 1007u16.to_be_bytes().to_vec()))
        );
        drop(peer);
        let (end, output) = task.await.expect("join");
        assert!(matches!(
            end,
            Err(TunnelError::Protocol(FrameError::NotUtf8(_)))
        ));
        assert_eq!(output, "valid \u{20ac}".as_bytes());
    }

    #[tokio::test]
    async fn server_answers_a_close_when_the_target_stays_quiet() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (target_side, mut target) = tokio::io::duplex(1 << 16);
        let (from_target, to_target) = tokio::io::split(target_side);
        let mut o = opts(Role::Server);
        o.close_grace = Duration::from_millis(200);
        let task = tokio::spawn(Tunnel::new(ws, from_target, to_target, &[], o).run());
        let payload = b"\x0b\xb8why not";
        peer.write_all(&frame(opcode::CLOSE, payload, true))
            .await
            .expect("write");
        // The target sees the end of its input but neither answers nor closes.
        let mut got = Vec::new();
        target.read_to_end(&mut got).await.expect("read");
        let started = Instant::now();
        let sent = read_until_close(&mut peer).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(sent, vec![(opcode::CLOSE, false, payload.to_vec())]);
        assert_eq!(
            task.await.expect("join").expect("an end"),
            End::PeerClosedWith(3000, "why not".to_owned())
        );
    }

    #[tokio::test]
    async fn server_half_closes_the_target_and_forwards_its_last_bytes() {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (target_side, mut target) = tokio::io::duplex(1 << 16);
        let (from_target, to_target) = tokio::io::split(target_side);
        let task =
            tokio::spawn(Tunnel::new(ws, from_target, to_target, &[], opts(Role::Server)).run());
        peer.write_all(&frame(opcode::BINARY, b"request", true))
            .await
            .expect("write");
        peer.write_all(&frame(opcode::CLOSE, &1000u16.to_be_bytes(), true))
            .await
            .expect("write");
        // The target sees the request, then the end of its input...
        let mut got = Vec::new();
        target.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"request");
        // ...and its answer still reaches the client, before the server's Close.
        target.write_all(b"answer").await.expect("write");
        drop(target);
        let sent = read_until_close(&mut peer).await;
        assert_eq!(sent[0], (opcode::BINARY, false, b"answer".to_vec()));
        assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
        assert_eq!(
            task.await.expect("join").expect("clean"),
            End::PeerClosed(Some(1000))
        );
    }
}

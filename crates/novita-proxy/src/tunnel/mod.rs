//! The data path: bytes from a local input become WebSocket binary frames, and the
//! payload of frames from the peer goes to a local output.
//!
//! One [`Tunnel`] drives both directions from a single task with a hand-written poll
//! loop, so it needs no locks, no channels and no per-frame allocation:
//! - input -> peer (`upload.rs`): one read of up to 64 KiB becomes one final binary frame
//!   (a keystroke goes out at once; under load the reads and so the frames are large); the
//!   header is written in front of the payload in the same buffer and a client masks in
//!   place.
//! - peer -> output (`download.rs`): the socket is read into a large buffer; payload is
//!   unmasked in place and written straight from there, as it arrives (messages are never
//!   collected).
//! - Pings are answered, and sent on an interval; silence longer than the ping timeout
//!   ends the tunnel as lost.
//! - Text messages are data too, once valid: their UTF-8 is checked as it arrives, and a
//!   text frame that spans several reads is held until its end, so that nothing of a
//!   frame that fails the connection reaches the output. Binary payload is never held.
//! - Frames that break RFC 6455 fail the connection with the Close code the RFC asks for
//!   (1002, 1007, 1009); a valid Close is echoed with its code and reason (`close.rs`).
//!
//! The client runs it between stdin/stdout and the WebSocket ([`Side::CLIENT`]); `serve`
//! between the WebSocket and a TCP connection ([`Side::SERVER`]).

mod close;
mod control;
mod download;
mod span;
#[cfg(test)]
mod tests;
mod upload;

use std::future::{poll_fn, Future as _};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

use crate::ws::{Decoder, FrameError, Role, MAX_HEADER};

pub use close::closed_with;

use close::Close;
use download::Download;
use upload::Upload;

/// The largest payload of one data frame we send (websocat's default buffer size).
pub const MAX_FRAME_PAYLOAD: usize = 64 * 1024;

/// How a tunnel behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which end of the WebSocket this is, and what follows from it.
    pub side: Side,
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

/// The behaviour that differs between the two ends of a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    /// Who masks: a client masks what it sends and expects unmasked frames; a server the
    /// reverse.
    pub role: Role,
    /// What the peer's Close does to the local side.
    pub on_peer_close: OnPeerClose,
    /// What a failing local input or output does.
    pub local_errors: LocalErrors,
}

impl Side {
    /// `novita-proxy HOST`: between ssh's stdin/stdout and the sandbox's bridge.
    pub const CLIENT: Side = Side {
        role: Role::Client,
        on_peer_close: OnPeerClose::AnswerAtOnce,
        local_errors: LocalErrors::Fail,
    };
    /// `novita-proxy serve`: between a client's WebSocket and a TCP connection to `--to`.
    pub const SERVER: Side = Side {
        role: Role::Server,
        on_peer_close: OnPeerClose::HalfClose,
        local_errors: LocalErrors::EndTunnel,
    };
}

/// What the peer's Close does to the local side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnPeerClose {
    /// Drop the data frame that has not started to go out, echo the Close at once (its
    /// code and reason) and end.
    AnswerAtOnce,
    /// Half-close: shut the local output (the target sees the end of its input) and keep
    /// sending what the local input still gives; answer the Close when the input ends, or
    /// when it has been quiet for the close grace.
    HalfClose,
}

/// What a failing local input or output does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalErrors {
    /// Fail the tunnel with [`TunnelError::Local`]; an output closed by its reader (a
    /// broken pipe) is still a normal end ([`End::OutputClosed`]).
    Fail,
    /// The local side is just another connection: a failed read closes the WebSocket
    /// with 1011 (internal error), a failed write ends the tunnel as [`End::OutputClosed`].
    EndTunnel,
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
    /// Input -> peer: the data frame and the control frame being written.
    up: Upload,
    /// Peer -> output: what was read from the peer and what is being written out.
    down: Download,
    decoder: Decoder,
    /// Who closed, who answered, and the grace timer of the closing handshake.
    close: Close,
    /// When the peer was last heard from (or, after its Close, the local input).
    last_rx: Instant,
    ping_timer: Option<Interval>,
    watchdog: Option<Pin<Box<Sleep>>>,
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
            up: Upload::new(opts.side.role),
            down: Download::new(read_buffer, leftover),
            decoder: Decoder::new(opts.side.role, opts.max_message),
            close: Close::default(),
            opts,
            last_rx: now,
            ping_timer,
            watchdog,
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

    /// The ping interval, the ping timeout and the close grace.
    fn poll_timers(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        if let Some(timer) = &mut self.ping_timer {
            if timer.poll_tick(cx).is_ready() && !self.close.state.close_sent() {
                self.up.ping_due = true;
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
        self.poll_close_grace(cx, progress)
    }
}

/// Whether an I/O error is an end of stream in disguise (a TLS peer that closed the
/// TCP connection without close_notify, a reset after everything was said).
pub fn is_eof(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::UnexpectedEof)
}

//! The closing handshake: who closed, who answered, and how long to wait for the rest.
//!
//! Every way a tunnel winds down is one [`Closing`] state; the close grace timer lives
//! beside it in [`Close`].

use std::future::Future as _;
use std::pin::Pin;
use std::task::Context;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

use super::control::ControlPayload;
use super::{End, OnPeerClose, Tunnel, TunnelError};
use crate::exit::{Exit, Failure};
use crate::ws::{close_code, FrameError};

/// The closing state and its timer.
#[derive(Default)]
pub(super) struct Close {
    /// Where the closing handshake stands.
    pub(super) state: Closing,
    /// Fires when the peer (or, while half-closed, the local input) has been quiet for
    /// the close grace since [`Closing::since`]; armed on first use.
    grace: Option<Pin<Box<Sleep>>>,
}

/// Where the closing handshake stands.
///
/// `repr(u8)` gives it a plain tag: the data path asks which state this is several times
/// per wake-up, and a tag hidden in a niche of a field costs more to read.
#[derive(Debug, Default)]
#[repr(u8)]
pub(super) enum Closing {
    /// Neither side has closed.
    #[default]
    Open,
    /// Our Close waits for the frame in flight (our input ended, or the server's target
    /// failed).
    CloseQueued(ControlPayload),
    /// Our Close went out at `since`; what the peer still sends is delivered.
    CloseSent {
        /// When our Close was written.
        since: Instant,
    },
    /// The peer sent Close with `code` (and `payload`, code and reason, to echo).
    PeerClosed {
        /// Its status code, if any.
        code: Option<u16>,
        /// Its payload.
        payload: ControlPayload,
        /// When the grace period started: our answer went out, or (before that) the
        /// peer's Close arrived.
        since: Instant,
        /// Our answer.
        reply: Reply,
    },
    /// The peer broke the protocol: we close with the code the RFC asks for.
    Failed {
        /// What was wrong.
        error: FrameError,
        /// Our Close carrying the error's code (or the one that had already gone out).
        reply: Reply,
        /// When our Close went out.
        since: Option<Instant>,
    },
}

/// Our answer to the peer's Close, or our Close after its protocol error.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(super) enum Reply {
    /// Not yet: the server lets the target finish first (half-close).
    Waiting,
    /// Queued behind the frame in flight.
    Queued(ControlPayload),
    /// Written.
    Sent,
}

impl Closing {
    /// Whether our Close has been written.
    pub(super) fn close_sent(&self) -> bool {
        matches!(
            self,
            Closing::CloseSent { .. }
                | Closing::PeerClosed {
                    reply: Reply::Sent,
                    ..
                }
                | Closing::Failed {
                    reply: Reply::Sent,
                    ..
                }
        )
    }

    /// The Close to write next, if one is queued.
    pub(super) fn queued(&self) -> Option<ControlPayload> {
        match self {
            Closing::CloseQueued(payload)
            | Closing::PeerClosed {
                reply: Reply::Queued(payload),
                ..
            }
            | Closing::Failed {
                reply: Reply::Queued(payload),
                ..
            } => Some(*payload),
            _ => None,
        }
    }

    /// Whether the local input is still read: nothing is closed, or the server waits for
    /// its target after the client's Close.
    pub(super) fn reads_input(&self) -> bool {
        matches!(
            self,
            Closing::Open
                | Closing::PeerClosed {
                    reply: Reply::Waiting,
                    ..
                }
        )
    }

    /// Whether the peer sent Close.
    pub(super) fn peer_closed(&self) -> bool {
        matches!(self, Closing::PeerClosed { .. })
    }

    /// Whether the peer broke the protocol.
    pub(super) fn failed(&self) -> bool {
        matches!(self, Closing::Failed { .. })
    }

    /// Whether frames from the peer are still decoded: nothing follows a Close, and
    /// nothing is read after a protocol error.
    pub(super) fn decodes(&self) -> bool {
        !matches!(self, Closing::PeerClosed { .. } | Closing::Failed { .. })
    }

    /// When the close grace period started, once it has.
    fn since(&self) -> Option<Instant> {
        match self {
            Closing::Open | Closing::CloseQueued(_) => None,
            Closing::CloseSent { since } | Closing::PeerClosed { since, .. } => Some(*since),
            Closing::Failed { since, .. } => *since,
        }
    }

    /// Queues our Close with `payload` (replacing one queued before).
    pub(super) fn queue(&mut self, payload: ControlPayload) {
        match self {
            Closing::Open | Closing::CloseQueued(_) => *self = Closing::CloseQueued(payload),
            Closing::PeerClosed { reply, .. } | Closing::Failed { reply, .. } => {
                if !matches!(reply, Reply::Sent) {
                    *reply = Reply::Queued(payload);
                }
            }
            Closing::CloseSent { .. } => {}
        }
    }

    /// Our queued Close was written at `now`.
    pub(super) fn mark_sent(&mut self, now: Instant) {
        match self {
            Closing::Open | Closing::CloseSent { .. } => {}
            Closing::CloseQueued(_) => *self = Closing::CloseSent { since: now },
            Closing::PeerClosed { reply, since, .. } => {
                *reply = Reply::Sent;
                *since = now;
            }
            Closing::Failed { reply, since, .. } => {
                *reply = Reply::Sent;
                *since = Some(now);
            }
        }
    }

    /// The peer sent Close at `now`. With `answer`, our answer (the peer's own payload,
    /// unless a Close of ours is already queued) is queued at once.
    fn peer_close(
        &mut self,
        code: Option<u16>,
        payload: ControlPayload,
        answer: bool,
        now: Instant,
    ) {
        let (reply, since) = match self {
            Closing::Open if answer => (Reply::Queued(payload), now),
            Closing::Open => (Reply::Waiting, now),
            Closing::CloseQueued(ours) => (Reply::Queued(*ours), now),
            Closing::CloseSent { since } => (Reply::Sent, *since),
            // Nothing is decoded after a Close or a protocol error.
            Closing::PeerClosed { .. } | Closing::Failed { .. } => return,
        };
        *self = Closing::PeerClosed {
            code,
            payload,
            since,
            reply,
        };
    }

    /// The peer broke the protocol: our Close carries the error's code, unless ours has
    /// already gone out.
    pub(super) fn fail(&mut self, error: FrameError) {
        let code = ControlPayload::code(error.close_code());
        let (reply, since) = match self {
            Closing::CloseSent { since } => (Reply::Sent, Some(*since)),
            Closing::PeerClosed {
                reply: Reply::Sent,
                since,
                ..
            } => (Reply::Sent, Some(*since)),
            Closing::PeerClosed { since, .. } => (Reply::Queued(code), Some(*since)),
            Closing::Failed { reply, since, .. } => (*reply, *since),
            Closing::Open | Closing::CloseQueued(_) => (Reply::Queued(code), None),
        };
        *self = Closing::Failed {
            error,
            reply,
            since,
        };
    }

    /// How the peer's Close ends the tunnel, once it came.
    pub(super) fn peer_end(&self) -> Option<End> {
        match self {
            Closing::PeerClosed { code, payload, .. } => Some(peer_end(*code, payload)),
            _ => None,
        }
    }
}

/// How the peer's Close ended the tunnel.
fn peer_end(code: Option<u16>, payload: &ControlPayload) -> End {
    match code {
        Some(code) if !close_code::is_normal(code) => End::PeerClosedWith(code, payload.reason()),
        _ => End::PeerClosed(code),
    }
}

impl<S, I, O> Tunnel<S, I, O>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    /// The local input ended: queue our Close, which answers the peer's if it came.
    pub(super) fn on_input_eof(&mut self) {
        crate::debug!("local input ended: sending Close");
        let payload = match &self.close.state {
            // The answer to the peer's Close echoes its code and reason.
            Closing::PeerClosed { payload, .. } => *payload,
            _ => ControlPayload::code(close_code::NORMAL),
        };
        self.close.state.queue(payload);
    }

    /// The peer sent Close with `code` and `payload`.
    pub(super) fn on_peer_close(&mut self, code: Option<u16>, payload: ControlPayload) {
        crate::debug!("the peer sent Close ({code:?})");
        let answer = match self.opts.side.on_peer_close {
            // The client answers at once, echoing the code and reason, and ends.
            OnPeerClose::AnswerAtOnce => {
                self.up.drop_unsent_data();
                true
            }
            // The server half-closes: the target sees the end of its input, and what it
            // still sends goes to the client before our Close; a target that stays quiet
            // for the grace period gets the Close answered without it
            // (`poll_close_grace`).
            OnPeerClose::HalfClose => false,
        };
        self.close
            .state
            .peer_close(code, payload, answer, Instant::now());
    }

    /// Whether the tunnel is done.
    pub(super) fn finished(&mut self) -> Option<Result<End, TunnelError>> {
        let out_idle = self.down.out.is_empty() && !self.down.out_dirty;
        let close_flushed =
            self.close.state.close_sent() && self.up.ctrl.is_empty() && !self.up.ws_dirty;
        match &self.close.state {
            Closing::Failed { error, .. } => (close_flushed || self.down.ws_eof)
                .then(|| Err(TunnelError::Protocol(error.clone()))),
            Closing::PeerClosed { code, payload, .. } => {
                (close_flushed || self.down.ws_eof).then(|| Ok(peer_end(*code, payload)))
            }
            // poll_down decoded all it could: what is left is a partial frame that can
            // never complete.
            _ => (self.down.ws_eof && out_idle).then_some(Ok(End::PeerEof)),
        }
    }

    /// The close grace: after a Close, end once the other side has been quiet for it.
    pub(super) fn poll_close_grace(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        let since = self.close.state.since()?;
        // Half-close: while the peer keeps sending after our Close, keep delivering; end
        // once it has been quiet for the grace period.
        let deadline = since.max(self.last_rx) + self.opts.close_grace;
        let grace = self
            .close
            .grace
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if grace.as_mut().poll(cx).is_pending() {
            return None;
        }
        if Instant::now() < deadline {
            grace.as_mut().reset(deadline);
            *progress = true;
            return None;
        }
        match &mut self.close.state {
            Closing::PeerClosed {
                payload,
                since,
                reply: reply @ Reply::Waiting,
                ..
            } => {
                // serve: the target neither ended nor sent anything after the client's
                // Close; answer it now rather than keep the client waiting.
                crate::debug!("the target went quiet after the client's Close");
                self.up.input_eof = true;
                *reply = Reply::Queued(*payload);
                *since = Instant::now();
                self.close.grace = None;
                *progress = true;
                None
            }
            Closing::Failed { error, .. } => {
                crate::debug!("the peer went quiet after Close");
                Some(Err(TunnelError::Protocol(error.clone())))
            }
            Closing::PeerClosed { code, payload, .. } => {
                crate::debug!("the peer went quiet after Close");
                Some(Ok(peer_end(*code, payload)))
            }
            _ => {
                crate::debug!("the peer went quiet after Close");
                Some(Ok(End::InputDone))
            }
        }
    }
}

/// The client's failure when the sandbox's bridge closed with a code other than 1000 or
/// 1001: one line naming the code, its meaning and the reason the bridge gave.
pub fn closed_with(code: u16, reason: &str) -> Failure {
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
    Failure::new(
        Exit::BridgeError,
        format!(
            "the sandbox's bridge closed the connection with code {code} ({}{reason}): check the bridge and the service behind it in the sandbox",
            close_code::name(code)
        ),
    )
}

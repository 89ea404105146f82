//! Peer -> output: read frames, decode them in place, write their payload out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::control::ControlPayload;
use super::span::Span;
use super::{is_eof, End, LocalErrors, OnPeerClose, Tunnel, TunnelError, MAX_FRAME_PAYLOAD};
use crate::ws::Event;

/// The bytes on their way from the peer to the local output.
pub(super) struct Download {
    /// Frames read from the peer; payload is unmasked in place and written from here.
    buf: Box<[u8]>,
    /// The part of `buf` read but not decoded yet.
    unread: Span,
    /// Payload still to write to the output: in `buf`, or in `held` when `out_held`.
    pub(super) out: Span,
    /// Written to the output but not flushed yet.
    pub(super) out_dirty: bool,
    /// The output was shut (the server's half-close): late data is dropped.
    output_shut: bool,
    /// A text frame that spans reads, held until it has proved valid.
    held: Vec<u8>,
    /// `out` indexes `held` instead of `buf`.
    out_held: bool,
    /// The peer's connection ended.
    pub(super) ws_eof: bool,
}

impl Download {
    /// A read buffer of `size` bytes that starts with `leftover`.
    pub(super) fn new(size: usize, leftover: &[u8]) -> Self {
        let mut buf = vec![0u8; size].into_boxed_slice();
        buf[..leftover.len()].copy_from_slice(leftover);
        Self {
            buf,
            unread: Span::new(0, leftover.len()),
            out: Span::EMPTY,
            out_dirty: false,
            output_shut: false,
            held: Vec::new(),
            out_held: false,
            ws_eof: false,
        }
    }

    /// Forgets a held text frame once written (or when it must never be).
    pub(super) fn release_held(&mut self) {
        if self.out_held {
            self.out = Span::EMPTY;
            self.out_held = false;
        }
        self.held.clear();
        self.held.shrink_to(MAX_FRAME_PAYLOAD);
    }
}

impl<S, I, O> Tunnel<S, I, O>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    /// Peer -> output: write pending payload, decode, read more.
    pub(super) fn poll_down(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        loop {
            // 1. Pending payload to the output.
            while !self.down.out.is_empty() {
                let src = if self.down.out_held {
                    &self.down.held[..]
                } else {
                    &self.down.buf[..]
                };
                match Pin::new(&mut self.output).poll_write(cx, &src[self.down.out.range()]) {
                    Poll::Ready(Ok(0)) => {
                        return Some(self.output_gone(io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.down.out.start += n;
                        self.down.out_dirty = true;
                        *progress = true;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => return Some(self.output_gone(e)),
                    Poll::Pending => return None,
                }
            }
            if self.down.out_held {
                self.down.release_held();
            }
            if self.down.out_dirty {
                match Pin::new(&mut self.output).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.down.out_dirty = false,
                    Poll::Ready(Err(e)) => return Some(self.output_gone(e)),
                    Poll::Pending => return None,
                }
            }
            // The server's half-close: after the client's Close, the target sees the end
            // of its input, and what it still sends reaches the client before our Close.
            if self.opts.side.on_peer_close == OnPeerClose::HalfClose
                && self.close.state.peer_closed()
                && !self.down.output_shut
            {
                match Pin::new(&mut self.output).poll_shutdown(cx) {
                    Poll::Ready(_) => {
                        self.down.output_shut = true;
                        *progress = true;
                    }
                    Poll::Pending => return None,
                }
            }
            // 2. Decode what is buffered.
            if !self.down.unread.is_empty() && self.close.state.decodes() {
                let base = self.down.unread.start;
                match self
                    .decoder
                    .decode(&mut self.down.buf[base..self.down.unread.end])
                {
                    Err(e) => {
                        crate::debug!("refusing the peer's frames: {e}");
                        self.close.state.fail(e);
                        self.up.drop_unsent_data();
                        self.down.release_held();
                        *progress = true;
                        return None;
                    }
                    Ok((used, event)) => {
                        self.down.unread.start += used;
                        match event {
                            Some(Event::Data(a, b)) => {
                                self.down.out = Span::new(base + a, base + b);
                                if self.down.output_shut {
                                    // The local side is shut: drop late data.
                                    self.down.out = Span::EMPTY;
                                }
                            }
                            Some(Event::Text(a, b, frame_end)) => {
                                if self.down.output_shut {
                                    self.down.release_held();
                                } else if frame_end && self.down.held.is_empty() {
                                    // The whole frame was in this read: no copy needed.
                                    self.down.out = Span::new(base + a, base + b);
                                } else {
                                    self.down
                                        .held
                                        .extend_from_slice(&self.down.buf[base + a..base + b]);
                                    if frame_end {
                                        self.down.out = Span::new(0, self.down.held.len());
                                        self.down.out_held = true;
                                    }
                                }
                            }
                            Some(Event::Ping) => {
                                self.up.pong =
                                    Some(ControlPayload::copy(self.decoder.control_payload()));
                            }
                            Some(Event::Pong) => {}
                            Some(Event::Close(code)) => {
                                let payload = ControlPayload::copy(self.decoder.control_payload());
                                self.on_peer_close(code, payload);
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
            if self.down.ws_eof || self.close.state.failed() {
                return None;
            }
            if self.down.unread.is_empty() || self.close.state.peer_closed() {
                self.down.unread = Span::EMPTY;
            } else if self.down.unread.start > 0 {
                // Only a partial header (under 14 bytes) can be left: move it to the front.
                self.down.buf.copy_within(self.down.unread.range(), 0);
                self.down.unread = Span::new(0, self.down.unread.len());
            }
            let mut rb = ReadBuf::new(&mut self.down.buf[self.down.unread.end..]);
            match Pin::new(&mut self.ws).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    *progress = true;
                    if n == 0 {
                        self.down.ws_eof = true;
                        return None;
                    }
                    self.last_rx = Instant::now();
                    self.down.unread.end += n;
                    if self.close.state.peer_closed() {
                        // Nothing may follow a Close: ignore it.
                        self.down.unread = Span::EMPTY;
                    }
                }
                // Once a Close went either way, a reset is just how some peers hang up
                // (websocat drops the socket with unread bytes in it).
                Poll::Ready(Err(e))
                    if is_eof(&e)
                        || self.close.state.peer_closed()
                        || self.close.state.close_sent() =>
                {
                    crate::debug!("the peer's connection ended: {e}");
                    self.down.ws_eof = true;
                    *progress = true;
                    return None;
                }
                Poll::Ready(Err(e)) => return Some(Err(TunnelError::Lost(e))),
                Poll::Pending => return None,
            }
        }
    }

    /// How a failed write to the local output ends the tunnel.
    fn output_gone(&mut self, e: io::Error) -> Result<End, TunnelError> {
        match (self.opts.side.local_errors, e.kind()) {
            (LocalErrors::Fail, io::ErrorKind::BrokenPipe | io::ErrorKind::WriteZero) => {
                Ok(End::OutputClosed)
            }
            (LocalErrors::Fail, _) => Err(TunnelError::Local(e)),
            (LocalErrors::EndTunnel, _) => {
                crate::debug!("writing to the target failed: {e}");
                Ok(End::OutputClosed)
            }
        }
    }
}

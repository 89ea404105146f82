//! Input -> peer: control frames first (at frame boundaries), then data, then Close.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::control::ControlPayload;
use super::span::Span;
use super::{is_eof, End, LocalErrors, Tunnel, TunnelError, MAX_FRAME_PAYLOAD};
use crate::ws::{self, close_code, opcode, MaskKeys, Role, MAX_CONTROL_PAYLOAD, MAX_HEADER};

/// The frames on their way to the peer.
pub(super) struct Upload {
    /// One data frame: the input is read at `MAX_HEADER` and the header written just in
    /// front of it.
    buf: Box<[u8]>,
    /// The part of `buf` still to write; empty when there is no data frame.
    pub(super) frame: Span,
    /// Whether `frame` is being written (once started, a frame must finish before any
    /// other, or the peer would misread everything after it).
    writing_data: bool,
    /// One control frame (Pong, Ping or Close).
    ctrl_buf: [u8; MAX_HEADER + MAX_CONTROL_PAYLOAD],
    /// The part of `ctrl_buf` still to write.
    pub(super) ctrl: Span,
    /// The Pong owed for the peer's last Ping.
    pub(super) pong: Option<ControlPayload>,
    /// The ping interval elapsed: send a Ping.
    pub(super) ping_due: bool,
    /// The local input ended (or failed on the server): read no more.
    pub(super) input_eof: bool,
    /// Written to the WebSocket but not flushed yet.
    pub(super) ws_dirty: bool,
    /// A client's mask keys; `None` for a server, which does not mask.
    masks: Option<MaskKeys>,
}

impl Upload {
    pub(super) fn new(role: Role) -> Self {
        Self {
            buf: vec![0u8; MAX_HEADER + MAX_FRAME_PAYLOAD].into_boxed_slice(),
            frame: Span::EMPTY,
            writing_data: false,
            ctrl_buf: [0; MAX_HEADER + MAX_CONTROL_PAYLOAD],
            ctrl: Span::EMPTY,
            pong: None,
            ping_due: false,
            input_eof: false,
            ws_dirty: false,
            masks: (role == Role::Client).then(MaskKeys::new),
        }
    }

    /// Turns `n` input bytes at `buf[MAX_HEADER..]` into a frame ready to write.
    fn frame_input(&mut self, n: usize) {
        let mask = self.masks.as_mut().map(MaskKeys::next_key);
        let mut header = [0u8; MAX_HEADER];
        let h = ws::encode_header(&mut header, opcode::BINARY, n, mask);
        let start = MAX_HEADER - h;
        self.buf[start..MAX_HEADER].copy_from_slice(&header[..h]);
        if let Some(key) = mask {
            ws::apply_mask(&mut self.buf[MAX_HEADER..MAX_HEADER + n], key, 0);
        }
        self.frame = Span::new(start, MAX_HEADER + n);
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
        self.ctrl = Span::new(0, h + payload.len());
    }

    /// Forgets a data frame that has not started to go out (one that has must finish, or
    /// the peer would misread everything after it).
    pub(super) fn drop_unsent_data(&mut self) {
        if !self.writing_data {
            self.frame = Span::EMPTY;
        }
    }
}

impl<S, I, O> Tunnel<S, I, O>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    /// Input -> peer: control frames first (at frame boundaries), then data, then Close.
    pub(super) fn poll_up(
        &mut self,
        cx: &mut Context<'_>,
        progress: &mut bool,
    ) -> Option<Result<End, TunnelError>> {
        loop {
            // Pick the next frame to write when none is in flight.
            if self.up.ctrl.is_empty() && !self.up.writing_data && !self.close.state.close_sent() {
                if let Some(pong) = self.up.pong.take() {
                    self.up.queue_control(opcode::PONG, pong.as_bytes());
                } else if self.up.ping_due {
                    self.up.ping_due = false;
                    let stamp = self.last_rx.elapsed().as_millis().to_be_bytes();
                    self.up.queue_control(opcode::PING, &stamp[8..]);
                } else if !self.up.frame.is_empty() {
                    self.up.writing_data = true;
                } else if let Some(close) = self.close.state.queued() {
                    self.up.queue_control(opcode::CLOSE, close.as_bytes());
                    self.close.state.mark_sent(Instant::now());
                }
            }
            // Write it.
            let (buf, span) = if self.up.writing_data {
                (&self.up.buf[..], self.up.frame)
            } else {
                (&self.up.ctrl_buf[..], self.up.ctrl)
            };
            if !span.is_empty() {
                match Pin::new(&mut self.ws).poll_write(cx, &buf[span.range()]) {
                    Poll::Ready(Ok(0)) => {
                        return Some(self.ws_write_failed(io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        *progress = true;
                        self.up.ws_dirty = true;
                        if self.up.writing_data {
                            self.up.frame.start += n;
                            if self.up.frame.is_empty() {
                                self.up.writing_data = false;
                                self.up.frame = Span::EMPTY;
                            }
                        } else {
                            self.up.ctrl.start += n;
                        }
                        continue;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Some(self.ws_write_failed(e)),
                    Poll::Pending => return None,
                }
            }
            if self.up.ws_dirty {
                match Pin::new(&mut self.ws).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.up.ws_dirty = false,
                    Poll::Ready(Err(e)) => return Some(self.ws_write_failed(e)),
                    Poll::Pending => return None,
                }
            }
            // Read the next chunk of input into a new data frame.
            if self.up.input_eof || !self.close.state.reads_input() || !self.up.frame.is_empty() {
                return None;
            }
            let mut rb = ReadBuf::new(&mut self.up.buf[MAX_HEADER..]);
            match Pin::new(&mut self.input).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    *progress = true;
                    let n = rb.filled().len();
                    if n == 0 {
                        self.up.input_eof = true;
                        self.on_input_eof();
                        continue;
                    }
                    if self.close.state.peer_closed() {
                        // The server's half-close: the target is still talking, so the
                        // grace period before answering the client's Close starts over.
                        self.last_rx = Instant::now();
                    }
                    self.up.frame_input(n);
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => match self.opts.side.local_errors {
                    LocalErrors::Fail => return Some(Err(TunnelError::Local(e))),
                    LocalErrors::EndTunnel => {
                        crate::debug!("reading the target failed: {e}");
                        self.up.input_eof = true;
                        self.close
                            .state
                            .queue(ControlPayload::code(close_code::INTERNAL));
                        *progress = true;
                    }
                },
                Poll::Pending => return None,
            }
        }
    }

    /// How a failed write to the peer ends the tunnel.
    fn ws_write_failed(&mut self, e: io::Error) -> Result<End, TunnelError> {
        // After the peer's Close, a failed reply is normal: the peer may already be gone.
        if let Some(end) = self.close.state.peer_end() {
            return Ok(end);
        }
        if self.close.state.close_sent() && is_eof(&e) {
            return Ok(End::InputDone);
        }
        Err(TunnelError::Lost(e))
    }
}

//! The WebSocket wire format (RFC 6455) as this tunnel needs it: frame headers, masking,
//! a streaming decoder that never buffers a whole message, and the handshake keys.
//!
//! The decoder hands out data payloads as ranges of the caller's buffer, unmasked in
//! place, so a byte read from the socket is written to the other side without another
//! copy and without an allocation per frame.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// The largest frame header: 2 bytes, an 8-byte length and a 4-byte mask.
pub const MAX_HEADER: usize = 14;
/// The largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Frame opcodes.
pub mod opcode {
    /// Continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0x0;
    /// A text message.
    pub const TEXT: u8 = 0x1;
    /// A binary message.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// Close status codes used here.
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away (a server shutting down, a browser leaving the page).
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error.
    pub const PROTOCOL: u16 = 1002;
    /// A text message (or Close reason) that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Message too big.
    pub const TOO_BIG: u16 = 1009;
    /// Unexpected condition (the other end of the bridge failed).
    pub const INTERNAL: u16 = 1011;

    /// Whether `code` may appear in a Close frame on the wire (RFC 6455 section 7.4 and
    /// the IANA registry): 1000-1003, 1007-1014 and the application ranges 3000-4999.
    /// 1004 is reserved, 1005, 1006 and 1015 must never be sent, everything else is
    /// undefined.
    pub fn is_allowed(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether a peer closing with `code` ended the connection normally.
    pub fn is_normal(code: u16) -> bool {
        matches!(code, NORMAL | GOING_AWAY)
    }

    /// What a code means, for messages.
    pub fn name(code: u16) -> &'static str {
        match code {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1007 => "invalid payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "missing extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            3000..=3999 => "registered application code",
            4000..=4999 => "private application code",
            _ => "invalid code",
        }
    }
}

/// Which side of the connection we are: clients mask what they send and expect unmasked
/// frames; servers the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The connecting side (`novita-proxy HOST`).
    Client,
    /// The accepting side (`novita-proxy serve`).
    Server,
}

/// Writes a final (FIN) frame header for `len` payload bytes into `out` and returns its
/// length. With `mask`, the mask bit and key are included (the caller masks the payload).
pub fn encode_header(
    out: &mut [u8; MAX_HEADER],
    opcode: u8,
    len: usize,
    mask: Option<[u8; 4]>,
) -> usize {
    out[0] = 0x80 | (opcode & 0x0F);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut n = if len < 126 {
        out[1] = mask_bit | len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    if let Some(key) = mask {
        out[n..n + 4].copy_from_slice(&key);
        n += 4;
    }
    n
}

/// XORs `data` with `key`, as if `data` started `offset` bytes into the payload.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Masking keys from the operating system's random source, fetched in batches so that a
/// frame costs no system call.
pub struct MaskKeys {
    rng: SystemRandom,
    batch: [u8; 1024],
    used: usize,
}

impl MaskKeys {
    /// A new key source (the first batch is fetched on first use).
    pub fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            batch: [0; 1024],
            used: 1024,
        }
    }

    /// The next masking key.
    pub fn next_key(&mut self) -> [u8; 4] {
        if self.used + 4 > self.batch.len() {
            if self.rng.fill(&mut self.batch).is_err() {
                // No OS randomness: keys only need to be unpredictable to web pages,
                // which do not exist here. Derive something rather than fail the tunnel.
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                for (i, b) in self.batch.iter_mut().enumerate() {
                    *b = (seed.rotate_left(i as u32 % 128) as u8) ^ (i as u8).wrapping_mul(151);
                }
            }
            self.used = 0;
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.batch[self.used..self.used + 4]);
        self.used += 4;
        key
    }
}

impl Default for MaskKeys {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh `Sec-WebSocket-Key` (16 random bytes, base64).
pub fn generate_key() -> String {
    let mut raw = [0u8; 16];
    if SystemRandom::new().fill(&mut raw).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        raw = nanos.to_le_bytes();
    }
    BASE64.encode(raw)
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key.trim().as_bytes());
    ctx.update(GUID.as_bytes());
    BASE64.encode(ctx.finish().as_ref())
}

/// Why the peer's frames were refused; each maps to a close code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Reserved bits set, an unknown opcode, a bad control frame, bad fragmentation, a
    /// frame masked the wrong way or a malformed Close.
    #[error("invalid WebSocket frame: {0}")]
    Protocol(&'static str),
    /// A Close frame with a status code that must not be sent.
    #[error(
        "invalid WebSocket frame: Close with the status code {0}, which is not allowed on the wire"
    )]
    CloseCode(u16),
    /// A text message or a Close reason that is not UTF-8.
    #[error("invalid WebSocket frame: {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A message larger than the configured maximum.
    #[error("oversized WebSocket message: longer than the maximum of {0} bytes")]
    TooBig(u64),
}

impl FrameError {
    /// The close code to send for this error.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Protocol(_) | Self::CloseCode(_) => close_code::PROTOCOL,
            Self::NotUtf8(_) => close_code::INVALID_DATA,
            Self::TooBig(_) => close_code::TOO_BIG,
        }
    }
}

/// Checks a Close payload: empty, or a status code that may be sent followed by a UTF-8
/// reason. Returns the code.
pub fn parse_close(payload: &[u8]) -> Result<Option<u16>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(FrameError::Protocol("Close frame with a 1-byte payload")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code::is_allowed(code) {
                return Err(FrameError::CloseCode(code));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(FrameError::NotUtf8("the Close reason"));
            }
            Ok(Some(code))
        }
    }
}

/// Validates UTF-8 that arrives in pieces: a code point may be split between pieces
/// (and frames of one message); only the end of the message must be complete.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8Stream {
    carry: [u8; 4],
    carry_len: usize,
}

impl Utf8Stream {
    /// Checks the next piece; with `last`, the message ends with it.
    pub fn push(&mut self, mut piece: &[u8], last: bool) -> Result<(), FrameError> {
        const NOT_UTF8: FrameError = FrameError::NotUtf8("a text message");
        if self.carry_len > 0 {
            // Complete the code point the previous piece ended in.
            let width = match self.carry[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (width - self.carry_len).min(piece.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&piece[..take]);
            let have = self.carry_len + take;
            match std::str::from_utf8(&self.carry[..have]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() && !last => {
                    self.carry_len = have;
                    return Ok(());
                }
                Err(_) => return Err(NOT_UTF8),
            }
            piece = &piece[take..];
        }
        match std::str::from_utf8(piece) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() && !last => {
                let tail = &piece[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len();
                Ok(())
            }
            Err(_) => Err(NOT_UTF8),
        }
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub len: u64,
    /// How many bytes the header took.
    pub header_len: usize,
}

/// Parses a frame header from the start of `buf`; `Ok(None)` if more bytes are needed.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(FrameError::Protocol(
            "reserved bits set (no extension was negotiated)",
        ));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    let masked = b1 & 0x80 != 0;
    let mut n = 2;
    let len = match b1 & 0x7F {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            n = 4;
            u64::from(u16::from_be_bytes([b[0], b[1]]))
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            n = 10;
            let mut be = [0u8; 8];
            be.copy_from_slice(b);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(FrameError::Protocol("payload length with the top bit set"));
            }
            len
        }
        short => u64::from(short),
    };
    let mask = if masked {
        let Some(b) = buf.get(n..n + 4) else {
            return Ok(None);
        };
        n += 4;
        Some([b[0], b[1], b[2], b[3]])
    } else {
        None
    };
    match opcode {
        opcode::CONTINUATION | opcode::TEXT | opcode::BINARY => {}
        opcode::CLOSE | opcode::PING | opcode::PONG => {
            if !fin {
                return Err(FrameError::Protocol("fragmented control frame"));
            }
            if len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(FrameError::Protocol("control frame longer than 125 bytes"));
            }
        }
        _ => return Err(FrameError::Protocol("unknown opcode")),
    }
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        len,
        header_len: n,
    }))
}

/// What the decoder found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Binary message payload bytes at this range of the buffer passed in (already
    /// unmasked).
    Data(usize, usize),
    /// Text message payload bytes at this range, already unmasked and valid UTF-8 so far;
    /// `true` when they end their frame. A later piece of the same frame can still turn
    /// out invalid: whoever must not pass on any part of a failing frame holds the pieces
    /// until the frame ends.
    Text(usize, usize, bool),
    /// A ping; its payload is [`Decoder::control_payload`].
    Ping,
    /// A pong.
    Pong,
    /// A valid close frame with its status code, if any; the whole payload is
    /// [`Decoder::control_payload`].
    Close(Option<u16>),
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    Data {
        remaining: u64,
        mask: Option<[u8; 4]>,
        offset: usize,
        fin: bool,
    },
    Control {
        opcode: u8,
        remaining: usize,
        mask: Option<[u8; 4]>,
        offset: usize,
    },
}

/// The longest text frame accepted when no maximum message size is set: text frames are
/// held whole until validated (see [`Event::Text`]), so they need a bound.
pub const DEFAULT_MAX_TEXT_FRAME: u64 = 16 << 20;

/// A streaming frame decoder: feed it bytes, get data ranges and control events.
pub struct Decoder {
    role: Role,
    max_message: Option<u64>,
    state: State,
    in_message: bool,
    message_len: u64,
    text: bool,
    utf8: Utf8Stream,
    control: [u8; MAX_CONTROL_PAYLOAD],
    control_len: usize,
}

impl Decoder {
    /// A decoder for `role`; with `max_message`, longer messages are refused (and text
    /// frames longer than [`DEFAULT_MAX_TEXT_FRAME`] when there is no maximum).
    pub fn new(role: Role, max_message: Option<u64>) -> Self {
        Self {
            role,
            max_message,
            state: State::Header,
            in_message: false,
            message_len: 0,
            text: false,
            utf8: Utf8Stream::default(),
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
        }
    }

    /// The payload of the last ping or close frame.
    pub fn control_payload(&self) -> &[u8] {
        &self.control[..self.control_len]
    }

    /// Decodes from the start of `buf`, unmasking payload in place. Returns how many bytes
    /// were consumed and what was found; `(0, None)` means more bytes are needed.
    pub fn decode(&mut self, buf: &mut [u8]) -> Result<(usize, Option<Event>), FrameError> {
        match self.state {
            State::Header => {
                let Some(h) = parse_header(buf)? else {
                    return Ok((0, None));
                };
                match (self.role, h.mask) {
                    (Role::Server, None) => {
                        return Err(FrameError::Protocol("unmasked frame from a client"))
                    }
                    (Role::Client, Some(_)) => {
                        return Err(FrameError::Protocol("masked frame from a server"))
                    }
                    (Role::Client, None) | (Role::Server, Some(_)) => {}
                }
                if h.opcode >= opcode::CLOSE {
                    self.control_len = 0;
                    self.state = State::Control {
                        opcode: h.opcode,
                        remaining: h.len as usize,
                        mask: h.mask,
                        offset: 0,
                    };
                    if h.len == 0 {
                        return Ok((h.header_len, Some(self.finish_control(h.opcode)?)));
                    }
                    return Ok((h.header_len, None));
                }
                match (h.opcode, self.in_message) {
                    (opcode::CONTINUATION, false) => {
                        return Err(FrameError::Protocol("continuation frame without a message"))
                    }
                    (opcode::TEXT | opcode::BINARY, true) => {
                        return Err(FrameError::Protocol("new message inside a fragmented one"))
                    }
                    (opcode::TEXT | opcode::BINARY, false) => {
                        self.message_len = 0;
                        self.text = h.opcode == opcode::TEXT;
                    }
                    _ => {}
                }
                self.message_len = self.message_len.saturating_add(h.len);
                if let Some(max) = self.max_message {
                    if self.message_len > max {
                        return Err(FrameError::TooBig(max));
                    }
                }
                if self.text {
                    if self.max_message.is_none() && h.len > DEFAULT_MAX_TEXT_FRAME {
                        return Err(FrameError::TooBig(DEFAULT_MAX_TEXT_FRAME));
                    }
                    if h.len == 0 && h.fin {
                        // The message ends here: no code point may be left open.
                        self.utf8.push(&[], true)?;
                    }
                }
                self.in_message = !h.fin;
                self.state = if h.len == 0 {
                    State::Header
                } else {
                    State::Data {
                        remaining: h.len,
                        mask: h.mask,
                        offset: 0,
                        fin: h.fin,
                    }
                };
                Ok((h.header_len, None))
            }
            State::Data {
                remaining,
                mask,
                offset,
                fin,
            } => {
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                if n == 0 {
                    return Ok((0, None));
                }
                if let Some(key) = mask {
                    apply_mask(&mut buf[..n], key, offset);
                }
                let remaining = remaining - n as u64;
                let event = if self.text {
                    self.utf8.push(&buf[..n], remaining == 0 && fin)?;
                    Event::Text(0, n, remaining == 0)
                } else {
                    Event::Data(0, n)
                };
                self.state = if remaining == 0 {
                    self.in_message = !fin;
                    State::Header
                } else {
                    State::Data {
                        remaining,
                        mask,
                        offset: offset.wrapping_add(n),
                        fin,
                    }
                };
                Ok((n, Some(event)))
            }
            State::Control {
                opcode,
                remaining,
                mask,
                offset,
            } => {
                let n = remaining.min(buf.len());
                if n == 0 {
                    return Ok((0, None));
                }
                let start = self.control_len;
                self.control[start..start + n].copy_from_slice(&buf[..n]);
                if let Some(key) = mask {
                    apply_mask(&mut self.control[start..start + n], key, offset);
                }
                self.control_len += n;
                if remaining == n {
                    return Ok((n, Some(self.finish_control(opcode)?)));
                }
                self.state = State::Control {
                    opcode,
                    remaining: remaining - n,
                    mask,
                    offset: offset + n,
                };
                Ok((n, None))
            }
        }
    }

    fn finish_control(&mut self, opcode: u8) -> Result<Event, FrameError> {
        self.state = State::Header;
        Ok(match opcode {
            opcode::PING => Event::Ping,
            opcode::PONG => Event::Pong,
            _ => Event::Close(parse_close(self.control_payload())?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut h = [0u8; MAX_HEADER];
        let n = encode_header(&mut h, opcode, payload.len(), mask);
        let mut out = h[..n].to_vec();
        let mut body = payload.to_vec();
        if let Some(k) = mask {
            apply_mask(&mut body, k, 0);
        }
        out.extend_from_slice(&body);
        out
    }

    /// Decodes everything, feeding the input in pieces of `step` bytes.
    fn decode_all(
        role: Role,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Vec<Event>), FrameError> {
        let mut dec = Decoder::new(role, Some(1 << 20));
        let mut pending: Vec<u8> = Vec::new();
        let (mut data, mut events) = (Vec::new(), Vec::new());
        for piece in input.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                let (used, ev) = dec.decode(&mut pending)?;
                match ev {
                    Some(Event::Data(a, b) | Event::Text(a, b, _)) => {
                        data.extend_from_slice(&pending[a..b])
                    }
                    Some(other) => events.push(other),
                    None => {}
                }
                pending.drain(..used);
                if used == 0 {
                    break;
                }
            }
        }
        Ok((data, events))
    }

    #[test]
    fn header_lengths() {
        let mut h = [0u8; MAX_HEADER];
        assert_eq!(encode_header(&mut h, opcode::BINARY, 125, None), 2);
        assert_eq!(encode_header(&mut h, opcode::BINARY, 126, None), 4);
        assert_eq!(
            encode_header(&mut h, opcode::BINARY, 65535, Some([1, 2, 3, 4])),
            8
        );
        assert_eq!(
            encode_header(&mut h, opcode::BINARY, 65536, Some([1, 2, 3, 4])),
            14
        );
        let parsed = parse_header(&h).expect("valid").expect("complete");
        assert_eq!(parsed.len, 65536);
        assert_eq!(parsed.mask, Some([1, 2, 3, 4]));
        assert_eq!(parsed.header_len, 14);
    }

    #[test]
    fn masking_is_an_involution_at_any_offset() {
        let original: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let key = [0x12, 0x34, 0x56, 0x78];
        let mut whole = original.clone();
        apply_mask(&mut whole, key, 0);
        // Masking in two pieces at an odd split gives the same bytes.
        let mut split = original.clone();
        let (a, b) = split.split_at_mut(13);
        apply_mask(a, key, 0);
        apply_mask(b, key, 13);
        assert_eq!(whole, split);
        for (i, (m, o)) in whole.iter().zip(&original).enumerate() {
            assert_eq!(*m, o ^ key[i % 4]);
        }
        apply_mask(&mut whole, key, 0);
        assert_eq!(whole, original);
    }

    #[test]
    fn streams_masked_messages_in_any_split() {
        let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut input = frame(opcode::BINARY, &payload, Some([9, 8, 7, 6]));
        input.extend(frame(opcode::PING, b"hi", Some([1, 1, 1, 1])));
        input.extend(frame(opcode::TEXT, b"text", Some([0, 0, 0, 1])));
        input.extend(frame(
            opcode::CLOSE,
            &1000u16.to_be_bytes(),
            Some([5, 5, 5, 5]),
        ));
        for step in [1, 3, 7, 100, 65536, input.len()] {
            let (data, events) = decode_all(Role::Server, &input, step).expect("valid");
            assert_eq!(data.len(), payload.len() + 4, "step {step}");
            assert_eq!(&data[..payload.len()], &payload[..]);
            assert_eq!(&data[payload.len()..], b"text");
            assert_eq!(events, vec![Event::Ping, Event::Close(Some(1000))]);
        }
    }

    #[test]
    fn fragmented_messages_with_interleaved_ping() {
        let mut input = Vec::new();
        let mut h = [0u8; MAX_HEADER];
        let n = encode_header(&mut h, opcode::BINARY, 3, None);
        h[0] &= 0x7F; // not final
        input.extend_from_slice(&h[..n]);
        input.extend_from_slice(b"abc");
        input.extend(frame(opcode::PING, b"", None));
        input.extend(frame(opcode::CONTINUATION, b"def", None));
        let (data, events) = decode_all(Role::Client, &input, 2).expect("valid");
        assert_eq!(data, b"abcdef");
        assert_eq!(events, vec![Event::Ping]);
    }

    #[test]
    fn refuses_bad_frames() {
        let unmasked = frame(opcode::BINARY, b"x", None);
        assert!(matches!(
            decode_all(Role::Server, &unmasked, 64),
            Err(FrameError::Protocol(_))
        ));
        assert!(decode_all(Role::Client, &unmasked, 64).is_ok());
        let masked = frame(opcode::BINARY, b"x", Some([1, 2, 3, 4]));
        assert_eq!(
            decode_all(Role::Client, &masked, 64),
            Err(FrameError::Protocol("masked frame from a server"))
        );
        for bad in [
            vec![0xC2, 0x00],             // RSV1
            vec![0x83, 0x00],             // opcode 3
            vec![0x09, 0x00],             // fragmented ping
            vec![0x89, 0x7E, 0x00, 0x7E], // 126-byte ping
            vec![0x80, 0x00],             // continuation without a message
            vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(decode_all(Role::Client, &bad, 64).is_err(), "{bad:?}");
        }
        let big = frame(opcode::BINARY, &vec![0; (1 << 20) + 1], None);
        assert_eq!(
            decode_all(Role::Client, &big, 1 << 16),
            Err(FrameError::TooBig(1 << 20))
        );
    }

    #[test]
    fn close_payloads_are_checked() {
        let close = |payload: &[u8]| {
            decode_all(Role::Client, &frame(opcode::CLOSE, payload, None), 64)
                .map(|(_, events)| events)
        };
        assert_eq!(close(b""), Ok(vec![Event::Close(None)]));
        assert_eq!(close(b"\x03\xe8bye"), Ok(vec![Event::Close(Some(1000))]));
        assert_eq!(
            close(b"\x03"),
            Err(FrameError::Protocol("Close frame with a 1-byte payload"))
        );
        for code in [1000u16, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert_eq!(
                close(&code.to_be_bytes()),
                Ok(vec![Event::Close(Some(code))])
            );
        }
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let err = close(&code.to_be_bytes()).expect_err("refused");
            assert_eq!(err, FrameError::CloseCode(code));
            assert_eq!(err.close_code(), close_code::PROTOCOL);
        }
        let err = close(b"\x03\xe8\xff").expect_err("refused");
        assert_eq!(err.close_code(), close_code::INVALID_DATA);
    }

    #[test]
    fn text_is_validated_across_pieces_and_frames() {
        // "h€llo 😀" split inside code points, in frames and in feeding steps.
        let text = "h\u{20ac}llo \u{1F600}".as_bytes();
        for cut in 0..=text.len() {
            let mut input = Vec::new();
            let mut h = [0u8; MAX_HEADER];
            let n = encode_header(&mut h, opcode::TEXT, cut, Some([3, 1, 4, 1]));
            h[0] &= 0x7F;
            input.extend_from_slice(&h[..n]);
            let mut first = text[..cut].to_vec();
            apply_mask(&mut first, [3, 1, 4, 1], 0);
            input.extend(first);
            input.extend(frame(
                opcode::CONTINUATION,
                &text[cut..],
                Some([2, 7, 1, 8]),
            ));
            for step in [1, 2, 5, 64] {
                let (data, _) = decode_all(Role::Server, &input, step).expect("valid");
                assert_eq!(data, text, "cut {cut} step {step}");
            }
        }
        let not_utf8 = FrameError::NotUtf8("a text message");
        for bad in [
            &b"\xff"[..],
            b"ok\xc3\x28",
            b"\xed\xa0\x80",     // a surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"\xc0\xaf",         // overlong
            b"\xe2\x82",         // ends inside a code point
        ] {
            for step in [1, 3, 64] {
                assert_eq!(
                    decode_all(Role::Client, &frame(opcode::TEXT, bad, None), step),
                    Err(not_utf8.clone()),
                    "{bad:?}"
                );
            }
        }
        // A message that ends inside a code point, in an empty final frame.
        let mut input = Vec::new();
        input.extend_from_slice(&[0x01, 0x02, 0xe2, 0x82]);
        input.extend(frame(opcode::CONTINUATION, b"", None));
        assert_eq!(decode_all(Role::Client, &input, 64), Err(not_utf8));
        // Binary payload is never checked.
        assert!(decode_all(Role::Client, &frame(opcode::BINARY, b"\xff", None), 64).is_ok());
    }

    #[test]
    fn text_frames_end_their_pieces_and_are_bounded() {
        let mut dec = Decoder::new(Role::Client, None);
        let mut input = frame(opcode::TEXT, b"abcdef", None);
        assert_eq!(dec.decode(&mut input[..4]), Ok((2, None)));
        assert_eq!(
            dec.decode(&mut input[2..4]),
            Ok((2, Some(Event::Text(0, 2, false))))
        );
        assert_eq!(
            dec.decode(&mut input[4..]),
            Ok((4, Some(Event::Text(0, 4, true))))
        );
        let mut dec = Decoder::new(Role::Client, None);
        let mut h = [0u8; MAX_HEADER];
        let n = encode_header(
            &mut h,
            opcode::TEXT,
            (DEFAULT_MAX_TEXT_FRAME + 1) as usize,
            None,
        );
        assert_eq!(
            dec.decode(&mut h[..n]),
            Err(FrameError::TooBig(DEFAULT_MAX_TEXT_FRAME))
        );
    }

    #[test]
    fn accept_key_matches_the_rfc_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(generate_key().len(), 24);
    }

    /// Random and mutated frames never panic the decoder, and whatever it accepts
    /// stays within the buffer it was given.
    #[test]
    fn random_input_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let valid = frame(opcode::BINARY, &[1, 2, 3, 4, 5], Some([1, 2, 3, 4]));
        for round in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut input: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| next() as u8).collect()
            } else {
                let mut v = valid.repeat(1 + len % 3);
                let i = (next() as usize) % v.len();
                v[i] ^= 1 << (next() % 8);
                v
            };
            for role in [Role::Client, Role::Server] {
                let mut dec = Decoder::new(role, Some(1 << 16));
                let mut pos = 0;
                while pos < input.len() {
                    match dec.decode(&mut input[pos..]) {
                        Ok((used, event)) => {
                            if let Some(Event::Data(a, b)) = event {
                                assert!(a <= b && b <= input.len() - pos);
                            }
                            if used == 0 {
                                break;
                            }
                            pos += used;
                        }
                        Err(_) => break,
                    }
                }
            }
        }
    }

    #[test]
    fn mask_keys_vary() {
        let mut keys = MaskKeys::new();
        let first: Vec<[u8; 4]> = (0..600).map(|_| keys.next_key()).collect();
        let distinct: std::collections::HashSet<_> = first.iter().collect();
        assert!(distinct.len() > 500);
    }
}

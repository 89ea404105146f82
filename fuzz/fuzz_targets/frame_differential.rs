//! Differential: the same frames go to novita-proxy's decoder and to tungstenite's
//! (an independent RFC 6455 implementation), as client and as server; both must reach the
//! same verdict (the Close code each would send to fail the connection, a valid Close, or
//! nothing wrong) and deliver the same message bytes.
//!
//! The input is read as a list of whole frames (header bits, mask, length encoding and
//! payload all chosen by the fuzzer), so that neither side stops inside a frame, where
//! the two legitimately differ in how early they notice a problem.
//!
//! Known, accepted differences are left out: a Close with code 1014 (registered by IANA,
//! accepted here and by Python's websockets, refused by tungstenite 0.30), and a Close
//! whose code is invalid and whose reason is not UTF-8 (1002 here, 1007 there: either is
//! a correct failure). tungstenite answers an invalid Close code with 1002 and hands out
//! that Close (reason "Protocol violation") instead of an error; that counts as its 1002,
//! so Closes that carry that reason themselves are left out too.
#![no_main]

use std::io::{self, Read, Write};

use libfuzzer_sys::fuzz_target;
use novita_proxy::ws::{self, close_code, Decoder, Event, Role};
use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::{Message, Role as TRole, WebSocket, WebSocketConfig};

const MAX: usize = 1 << 16;
/// The reason tungstenite puts in place of a Close it refused.
const REPLACED: &str = "Protocol violation";

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Every frame accepted.
    Fine,
    /// A valid Close was received.
    Closed(Option<u16>),
    /// The connection fails with this code.
    Fail(u16),
}

/// Builds whole frames from the fuzzer's bytes; `None` when a known difference is in them.
fn frames(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let take = |n: usize, data: &mut &[u8]| -> Vec<u8> {
        let n = n.min(data.len());
        let (a, b) = data.split_at(n);
        *data = b;
        a.to_vec()
    };
    while data.len() >= 3 {
        let head = take(3, &mut data);
        let (b0, b1, len) = (head[0], head[1], usize::from(head[2]) % 130);
        let masked = b1 & 0x80 != 0;
        let mut payload = take(len, &mut data);
        payload.resize(len, b'a');
        let opcode = b0 & 0x0F;
        if opcode == ws::opcode::CLOSE && payload.len() >= 2 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if code == 1014
                || (!close_code::is_allowed(code) && std::str::from_utf8(&payload[2..]).is_err())
                || payload[2..] == *REPLACED.as_bytes()
            {
                return None;
            }
        }
        out.push(b0);
        let mask_bit = if masked { 0x80 } else { 0 };
        match b1 & 0x03 {
            // The shortest length encoding, or the 16- and 64-bit ones for any length.
            1 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            2 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
            _ if len < 126 => out.push(mask_bit | len as u8),
            _ => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        if masked {
            let key = [b1, b1.wrapping_add(1), head[2], 7];
            out.extend_from_slice(&key);
            ws::apply_mask(&mut payload, key, 0);
        }
        out.extend_from_slice(&payload);
    }
    Some(out)
}

fn ours(role: Role, input: &[u8], step: usize) -> (Verdict, Vec<u8>) {
    let mut decoder = Decoder::new(role, Some(MAX as u64));
    let mut pending = Vec::new();
    let mut data = Vec::new();
    for piece in input.chunks(step) {
        pending.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut pending) {
                Err(e) => return (Verdict::Fail(e.close_code()), data),
                Ok((used, event)) => {
                    match event {
                        Some(Event::Data(a, b) | Event::Text(a, b, _)) => {
                            data.extend_from_slice(&pending[a..b])
                        }
                        Some(Event::Close(code)) => return (Verdict::Closed(code), data),
                        _ => {}
                    }
                    pending.drain(..used);
                    if used == 0 {
                        break;
                    }
                }
            }
        }
    }
    (Verdict::Fine, data)
}

/// The input to read, and a sink for what tungstenite answers.
struct Stream<'a> {
    input: &'a [u8],
}

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Stream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn theirs(role: Role, input: &[u8]) -> (Verdict, Vec<u8>) {
    let role = match role {
        Role::Client => TRole::Client,
        Role::Server => TRole::Server,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX))
        .max_frame_size(Some(MAX));
    let mut socket = WebSocket::from_raw_socket(Stream { input }, role, Some(config));
    let mut data = Vec::new();
    loop {
        match socket.read() {
            Ok(Message::Binary(b)) => data.extend_from_slice(&b),
            Ok(Message::Text(t)) => data.extend_from_slice(t.as_bytes()),
            Ok(Message::Close(close)) => {
                // An invalid code comes back replaced by the 1002 it answered.
                if close.as_ref().is_some_and(|c| c.reason.as_str() == REPLACED) {
                    return (Verdict::Fail(close_code::PROTOCOL), data);
                }
                return (Verdict::Closed(close.map(|c| u16::from(c.code))), data);
            }
            Ok(_) => {}
            Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
                return (Verdict::Fine, data)
            }
            Err(Error::Protocol(_)) => return (Verdict::Fail(close_code::PROTOCOL), data),
            Err(Error::Utf8(_)) => return (Verdict::Fail(close_code::INVALID_DATA), data),
            Err(Error::Capacity(_)) => return (Verdict::Fail(close_code::TOO_BIG), data),
            Err(e) => panic!("unexpected tungstenite error {e:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let Some(input) = frames(rest) else {
        return;
    };
    for role in [Role::Client, Role::Server] {
        let (our_verdict, our_data) = ours(role, &input, usize::from(split).max(1));
        let (their_verdict, their_data) = theirs(role, &input);
        assert_eq!(our_verdict, their_verdict, "{role:?} verdicts differ");
        // tungstenite delivers whole messages only; ours, everything that arrived.
        assert!(
            our_data.starts_with(&their_data),
            "{role:?}: tungstenite delivered bytes this decoder did not"
        );
    }
});

//! [`ControlPayload`]: the payload of a control frame, kept without allocating.

use crate::ws::MAX_CONTROL_PAYLOAD;

/// The payload of a control frame we send: a Pong's copy of the Ping, or a Close's
/// status code and (when echoing the peer's Close) its reason.
#[derive(Debug, Clone, Copy)]
pub(super) struct ControlPayload {
    buf: [u8; MAX_CONTROL_PAYLOAD],
    len: usize,
}

impl Default for ControlPayload {
    fn default() -> Self {
        Self {
            buf: [0; MAX_CONTROL_PAYLOAD],
            len: 0,
        }
    }
}

impl ControlPayload {
    /// A Close payload with only a status code.
    pub(super) fn code(code: u16) -> Self {
        Self::copy(&code.to_be_bytes())
    }

    /// A copy of a payload the decoder validated (at most 125 bytes).
    pub(super) fn copy(payload: &[u8]) -> Self {
        let len = payload.len().min(MAX_CONTROL_PAYLOAD);
        let mut c = Self {
            len,
            ..Self::default()
        };
        c.buf[..len].copy_from_slice(&payload[..len]);
        c
    }

    /// The payload.
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// A Close payload's reason (what follows the code), lossily decoded.
    pub(super) fn reason(&self) -> String {
        String::from_utf8_lossy(self.as_bytes().get(2..).unwrap_or_default()).into_owned()
    }
}

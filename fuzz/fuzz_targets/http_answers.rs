//! HTTP answers from the network: the WebSocket upgrade response and an HTTP proxy's
//! CONNECT response. Never a panic; a complete head never claims more than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_proxy::connect::http_proxy::parse_connect_response;
use novita_proxy::handshake::client::{parse_response, Answer};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(Answer::Upgraded(head_len))) = parse_response(data, "dGhlIHNhbXBsZSBub25jZQ==") {
        assert!(head_len <= data.len());
    }
    if let Ok(Some(answer)) = parse_connect_response(data) {
        assert!(answer.head_len <= data.len());
        assert!(!answer.reason.contains(['\r', '\n']));
    }
});

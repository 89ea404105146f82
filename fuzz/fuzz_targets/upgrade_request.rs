//! Requests to `serve` from the network: never a panic; an accepted upgrade has a key
//! that decodes to 16 bytes and a head within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_proxy::handshake::server::{parse_request, rejection_response};

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(Some(request)) => {
            assert!(request.head_len <= data.len());
            assert_eq!(request.key.len(), 24);
        }
        Ok(None) => {}
        Err(rejection) => {
            let answer = rejection_response(&rejection);
            assert!(answer.starts_with("HTTP/1.1 "));
        }
    }
});

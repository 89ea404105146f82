//! WebSocket frames from the network, split at arbitrary points, for both roles: the
//! decoder must never panic, and data ranges must stay inside the buffer given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_proxy::ws::{Decoder, Event, Role};

fuzz_target!(|data: &[u8]| {
    let Some((&split, frames)) = data.split_first() else {
        return;
    };
    for role in [Role::Client, Role::Server] {
        let mut decoder = Decoder::new(role, Some(1 << 16));
        let mut buf = frames.to_vec();
        // Feed in pieces of `split` bytes (at least 1), keeping what was not consumed.
        let step = usize::from(split).max(1);
        let mut pending: Vec<u8> = Vec::new();
        for piece in buf.chunks_mut(step) {
            pending.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut pending) {
                    Ok((used, event)) => {
                        assert!(used <= pending.len());
                        if let Some(Event::Data(a, b) | Event::Text(a, b, _)) = event {
                            assert!(a <= b && b <= used);
                        }
                        pending.drain(..used);
                        if used == 0 {
                            break;
                        }
                    }
                    Err(_) => return,
                }
            }
        }
    }
});

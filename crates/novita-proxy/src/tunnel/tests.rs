//! The tunnel against a scripted peer on an in-memory connection.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{
    AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf,
};
use tokio::time::Instant;

use super::*;
use crate::ws::{self, opcode, MAX_HEADER};

fn opts(side: Side) -> Options {
    Options {
        side,
        ping_interval: None,
        ping_timeout: Duration::from_secs(90),
        max_message: Some(1 << 20),
        close_grace: Duration::from_millis(500),
        read_buffer: 128 * 1024,
    }
}

/// A frame as the peer builds it (unmasked from a server, masked from a client).
fn frame(op: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = mask.then_some([0x11, 0x22, 0x33, 0x44]);
    let mut h = [0u8; MAX_HEADER];
    let n = ws::encode_header(&mut h, op, payload.len(), key);
    let mut out = h[..n].to_vec();
    let mut body = payload.to_vec();
    if let Some(k) = key {
        ws::apply_mask(&mut body, k, 0);
    }
    out.extend(body);
    out
}

/// Splits raw bytes into (opcode, masked, unmasked payload) frames; `None` if the last
/// frame is incomplete.
fn try_frames(mut raw: &[u8]) -> Option<Vec<(u8, bool, Vec<u8>)>> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let h = ws::parse_header(raw).expect("valid frame")?;
        let end = h.header_len + h.len as usize;
        let mut payload = raw.get(h.header_len..end)?.to_vec();
        if let Some(k) = h.mask {
            ws::apply_mask(&mut payload, k, 0);
        }
        out.push((h.opcode, h.mask.is_some(), payload));
        raw = &raw[end..];
    }
    Some(out)
}

fn frames(raw: &[u8]) -> Vec<(u8, bool, Vec<u8>)> {
    try_frames(raw).expect("complete frames")
}

/// Reads from the peer side until a Close frame has arrived (or EOF).
async fn read_until_close(peer: &mut DuplexStream) -> Vec<(u8, bool, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; 65536];
    loop {
        let n = peer.read(&mut chunk).await.expect("read");
        raw.extend_from_slice(&chunk[..n]);
        if n == 0 {
            return frames(&raw);
        }
        if let Some(done) =
            try_frames(&raw).filter(|f| f.iter().any(|(op, _, _)| *op == opcode::CLOSE))
        {
            return done;
        }
    }
}

#[tokio::test]
async fn client_masks_input_and_delivers_peer_data_then_answers_close() {
    let (ws, mut peer) = tokio::io::duplex(1 << 20);
    let input: &[u8] = &[7u8; 100_000];
    let tunnel = Tunnel::new(
        ws,
        input,
        Vec::new(),
        &frame(opcode::BINARY, b"early", false),
        opts(Side::CLIENT),
    );
    let task = tokio::spawn(async move {
        let mut t = tunnel;
        let end = poll_fn(|cx| t.poll(cx)).await;
        (end, t.output)
    });
    let sent = read_until_close(&mut peer).await;
    // 100 000 bytes as 64 KiB + rest, masked, never an empty message; then Close.
    let data: Vec<_> = sent.iter().filter(|f| f.0 == opcode::BINARY).collect();
    assert_eq!(
        data.iter().map(|f| f.2.len()).collect::<Vec<_>>(),
        vec![65536, 100_000 - 65536]
    );
    assert!(sent.iter().all(|f| f.1), "every client frame is masked");
    assert!(data.iter().all(|f| f.2.iter().all(|b| *b == 7)));
    assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
    // Half-close: the peer still sends after our Close, then closes.
    peer.write_all(&frame(opcode::BINARY, &[1u8; 70_000], false))
        .await
        .expect("write");
    peer.write_all(&frame(opcode::PING, b"p", false))
        .await
        .expect("write");
    peer.write_all(&frame(opcode::TEXT, b"tail", false))
        .await
        .expect("write");
    peer.write_all(&frame(opcode::CLOSE, &1000u16.to_be_bytes(), false))
        .await
        .expect("write");
    let (end, output) = task.await.expect("join");
    assert_eq!(end.expect("clean end"), End::PeerClosed(Some(1000)));
    assert_eq!(&output[..5], b"early");
    assert_eq!(output.len(), 5 + 70_000 + 4);
    assert_eq!(&output[output.len() - 4..], b"tail");
}

#[tokio::test]
async fn client_answers_pings_and_a_close() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Side::CLIENT)).run());
    peer.write_all(&frame(opcode::PING, b"are you there", false))
        .await
        .expect("write");
    peer.write_all(&frame(opcode::CLOSE, &1001u16.to_be_bytes(), false))
        .await
        .expect("write");
    let got = read_until_close(&mut peer).await;
    assert_eq!(got[0], (opcode::PONG, true, b"are you there".to_vec()));
    assert_eq!(
        got[1],
        (opcode::CLOSE, true, 1001u16.to_be_bytes().to_vec())
    );
    assert_eq!(
        task.await.expect("join").expect("clean"),
        End::PeerClosed(Some(1001))
    );
}

#[tokio::test]
async fn a_silent_peer_is_detected_by_the_ping_timeout() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let mut o = opts(Side::CLIENT);
    o.ping_interval = Some(Duration::from_millis(50));
    o.ping_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
    // The peer reads (so pings go out) but never answers.
    let reader = tokio::spawn(async move {
        let mut raw = Vec::new();
        let _ = peer.read_to_end(&mut raw).await;
        raw
    });
    let err = task.await.expect("join").expect_err("must fail");
    assert!(matches!(err, TunnelError::PingTimeout(_)), "{err:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let sent = frames(&reader.await.expect("join"));
    assert!(
        sent.iter().filter(|f| f.0 == opcode::PING).count() >= 3,
        "{sent:?}"
    );
}

#[tokio::test]
async fn eof_without_close_is_a_normal_end() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task = tokio::spawn(async move {
        let mut t = Tunnel::new(ws, input, Vec::new(), &[], opts(Side::CLIENT));
        let end = poll_fn(|cx| t.poll(cx)).await;
        (end, t.output)
    });
    peer.write_all(&frame(opcode::BINARY, b"bye", false))
        .await
        .expect("write");
    drop(peer);
    let (end, output) = task.await.expect("join");
    assert_eq!(end.expect("clean"), End::PeerEof);
    assert_eq!(output, b"bye");
}

/// A connection whose end comes as a reset instead of an EOF.
struct Resetting(DuplexStream);

impl AsyncRead for Resetting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Resetting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_reset_is_lost_mid_session_but_a_normal_end_after_close() {
    // Mid-session: lost.
    let (ws, peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task =
        tokio::spawn(Tunnel::new(Resetting(ws), input, Vec::new(), &[], opts(Side::CLIENT)).run());
    drop(peer);
    assert!(matches!(
        task.await.expect("join"),
        Err(TunnelError::Lost(_))
    ));
    // After our Close (end of input), the bridge hanging up with a reset is normal.
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(
        Tunnel::new(Resetting(ws), &b""[..], Vec::new(), &[], opts(Side::CLIENT)).run(),
    );
    let sent = read_until_close(&mut peer).await;
    assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
    drop(peer);
    assert_eq!(task.await.expect("join").expect("normal end"), End::PeerEof);
}

#[tokio::test]
async fn server_pings_unmasked_and_drops_a_silent_client() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let mut o = opts(Side::SERVER);
    o.ping_interval = Some(Duration::from_millis(50));
    o.ping_timeout = Duration::from_millis(250);
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
    let reader = tokio::spawn(async move {
        let mut raw = Vec::new();
        let _ = peer.read_to_end(&mut raw).await;
        raw
    });
    let err = task.await.expect("join").expect_err("silent client");
    assert!(matches!(err, TunnelError::PingTimeout(_)), "{err:?}");
    let sent = frames(&reader.await.expect("join"));
    assert!(
        !sent.is_empty() && sent.iter().all(|f| f.0 == opcode::PING && !f.1),
        "{sent:?}"
    );
}

#[tokio::test]
async fn server_refuses_unmasked_frames_with_a_protocol_close() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Side::SERVER)).run());
    peer.write_all(&frame(opcode::BINARY, b"unmasked", false))
        .await
        .expect("write");
    let got = read_until_close(&mut peer).await;
    assert_eq!(
        got.last(),
        Some(&(opcode::CLOSE, false, 1002u16.to_be_bytes().to_vec()))
    );
    drop(peer);
    let err = task.await.expect("join").expect_err("protocol error");
    assert!(
        matches!(err, TunnelError::Protocol(FrameError::Protocol(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_closes_oversized_messages() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let mut o = opts(Side::SERVER);
    o.max_message = Some(1000);
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], o).run());
    peer.write_all(&frame(opcode::BINARY, &[0u8; 1001], true))
        .await
        .expect("write");
    let got = read_until_close(&mut peer).await;
    assert_eq!(
        got.last(),
        Some(&(opcode::CLOSE, false, 1009u16.to_be_bytes().to_vec()))
    );
    drop(peer);
    assert!(matches!(
        task.await.expect("join"),
        Err(TunnelError::Protocol(FrameError::TooBig(1000)))
    ));
}

#[tokio::test]
async fn client_refuses_an_invalid_close_and_never_echoes_its_code() {
    for (payload, answer) in [
        (1005u16.to_be_bytes().to_vec(), 1002u16),
        (vec![0x03], 1002),
        (b"\x03\xe8\xc3\x28".to_vec(), 1007),
    ] {
        let (ws, mut peer) = tokio::io::duplex(1 << 16);
        let (input, _keep_open) = tokio::io::duplex(16);
        let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Side::CLIENT)).run());
        peer.write_all(&frame(opcode::CLOSE, &payload, false))
            .await
            .expect("write");
        let got = read_until_close(&mut peer).await;
        assert_eq!(
            got.last(),
            Some(&(opcode::CLOSE, true, answer.to_be_bytes().to_vec()))
        );
        drop(peer);
        assert!(matches!(
            task.await.expect("join"),
            Err(TunnelError::Protocol(_))
        ));
    }
}

#[tokio::test]
async fn client_echoes_an_error_close_with_its_reason_and_reports_it() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task = tokio::spawn(Tunnel::new(ws, input, Vec::new(), &[], opts(Side::CLIENT)).run());
    let payload = b"\x03\xf3sshd is gone";
    peer.write_all(&frame(opcode::CLOSE, payload, false))
        .await
        .expect("write");
    let got = read_until_close(&mut peer).await;
    assert_eq!(got.last(), Some(&(opcode::CLOSE, true, payload.to_vec())));
    assert_eq!(
        task.await.expect("join").expect("an end"),
        End::PeerClosedWith(1011, "sshd is gone".to_owned())
    );
    let failure = closed_with(1011, "sshd is gone");
    assert_eq!(failure.exit.code(), 16);
    assert!(
        failure
            .message
            .contains("code 1011 (internal error, reason \"sshd is gone\")"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_text_frame_that_turns_out_invalid_never_reaches_the_output() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (input, _keep_open) = tokio::io::duplex(16);
    let task = tokio::spawn(async move {
        let mut t = Tunnel::new(ws, input, Vec::new(), &[], opts(Side::CLIENT));
        let end = poll_fn(|cx| t.poll(cx)).await;
        (end, t.output)
    });
    // A valid text frame in two reads goes out whole; then one whose second half is
    // not UTF-8 fails the connection with nothing of it written.
    let good = frame(opcode::TEXT, "valid \u{20ac}".as_bytes(), false);
    peer.write_all(&good[..5]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    peer.write_all(&good[5..]).await.expect("write");
    let bad = frame(opcode::TEXT, b"held back\xff", false);
    peer.write_all(&bad[..8]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    peer.write_all(&bad[8..]).await.expect("write");
    let got = read_until_close(&mut peer).await;
    assert_eq!(
        got.last(),
        Some(&(opcode::CLOSE, true, 1007u16.to_be_bytes().to_vec()))
    );
    drop(peer);
    let (end, output) = task.await.expect("join");
    assert!(matches!(
        end,
        Err(TunnelError::Protocol(FrameError::NotUtf8(_)))
    ));
    assert_eq!(output, "valid \u{20ac}".as_bytes());
}

#[tokio::test]
async fn server_answers_a_close_when_the_target_stays_quiet() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (target_side, mut target) = tokio::io::duplex(1 << 16);
    let (from_target, to_target) = tokio::io::split(target_side);
    let mut o = opts(Side::SERVER);
    o.close_grace = Duration::from_millis(200);
    let task = tokio::spawn(Tunnel::new(ws, from_target, to_target, &[], o).run());
    let payload = b"\x0b\xb8why not";
    peer.write_all(&frame(opcode::CLOSE, payload, true))
        .await
        .expect("write");
    // The target sees the end of its input but neither answers nor closes.
    let mut got = Vec::new();
    target.read_to_end(&mut got).await.expect("read");
    let started = Instant::now();
    let sent = read_until_close(&mut peer).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(sent, vec![(opcode::CLOSE, false, payload.to_vec())]);
    assert_eq!(
        task.await.expect("join").expect("an end"),
        End::PeerClosedWith(3000, "why not".to_owned())
    );
}

#[tokio::test]
async fn server_half_closes_the_target_and_forwards_its_last_bytes() {
    let (ws, mut peer) = tokio::io::duplex(1 << 16);
    let (target_side, mut target) = tokio::io::duplex(1 << 16);
    let (from_target, to_target) = tokio::io::split(target_side);
    let task = tokio::spawn(Tunnel::new(ws, from_target, to_target, &[], opts(Side::SERVER)).run());
    peer.write_all(&frame(opcode::BINARY, b"request", true))
        .await
        .expect("write");
    peer.write_all(&frame(opcode::CLOSE, &1000u16.to_be_bytes(), true))
        .await
        .expect("write");
    // The target sees the request, then the end of its input...
    let mut got = Vec::new();
    target.read_to_end(&mut got).await.expect("read");
    assert_eq!(got, b"request");
    // ...and its answer still reaches the client, before the server's Close.
    target.write_all(b"answer").await.expect("write");
    drop(target);
    let sent = read_until_close(&mut peer).await;
    assert_eq!(sent[0], (opcode::BINARY, false, b"answer".to_vec()));
    assert_eq!(sent.last().map(|f| f.0), Some(opcode::CLOSE));
    assert_eq!(
        task.await.expect("join").expect("clean"),
        End::PeerClosed(Some(1000))
    );
}

//! Bench only: the client data path of novita-proxy for a `ws://` URL, written on
//! tokio-tungstenite instead of novita-proxy's own framing, so that the two can be measured
//! against each other (`bench/scripts/tungstenite-vs-own.sh`, docs/websocket-framing.md).
//!
//! It connects, upgrades, sets TCP_NODELAY, sends each read of stdin (at most 64 KiB, never
//! empty) as one binary message, writes the payload of every message to stdout, and sends
//! Close on stdin EOF; it ends when the peer closes. One current-thread runtime, one task
//! per direction over the split stream.
//!
//! ```sh
//! tungstenite-client ws://127.0.0.1:8081/ [--flush send|idle] [--write-buffer BYTES]
//!     [--read-buffer BYTES] [--payload copy|own] [--stdio pipe|tokio]
//! ```
//!
//! The defaults are the best of the variants measured (docs/websocket-framing.md): `send` per message
//! with no write buffering (`feed` with a 128 KiB write buffer, or flushing only when stdin
//! is idle, cost the same instructions and no less CPU), tokio-tungstenite's default 128 KiB
//! read buffer (64 KiB was no better), a copy of each read into the message (reading into a
//! fresh buffer per message saves that copy but costs an allocation and page faults), and
//! stdin/stdout as novita-proxy drives them (tokio's own stdio costs two to three times the
//! CPU). Not part of the product and not used by the test suite.

// A command-line tool reports its own errors on stderr.
#![allow(clippy::print_stderr)]

use std::future::{poll_fn, Future as _};
use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::Poll;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, ValueEnum};
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

/// The largest payload of one message we send (what novita-proxy and websocat send).
const MAX_PAYLOAD: usize = 64 * 1024;

/// After our Close, how long to wait for the peer to finish (as novita-proxy does).
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// When the stdin -> WebSocket direction writes to the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Flush {
    /// `send` every message: write and flush it at once.
    Send,
    /// `feed` every message and `flush` when stdin has nothing more ready.
    Idle,
}

/// How a read of stdin becomes the payload of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Payload {
    /// Read into one reused buffer and copy the bytes read into the message.
    Copy,
    /// Read into a fresh buffer and hand it to the message without a copy.
    Own,
}

/// How stdin and stdout are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stdio {
    /// Pipes non-blocking on the runtime's poller, files and devices read and written
    /// directly (what novita-proxy does); tokio's stdio for anything else.
    Pipe,
    /// tokio's stdin and stdout (blocking reads and writes on a helper thread).
    Tokio,
}

/// The client data path of novita-proxy for a `ws://` URL, on tokio-tungstenite.
#[derive(Debug, Parser)]
#[command(name = "tungstenite-client")]
struct Options {
    /// ws://HOST:PORT/PATH
    url: String,
    /// When a message is written to the socket
    #[arg(long, value_enum, default_value_t = Flush::Send)]
    flush: Flush,
    /// How a read of stdin becomes a message's payload
    #[arg(long, value_enum, default_value_t = Payload::Copy)]
    payload: Payload,
    /// How stdin and stdout are driven
    #[arg(long, value_enum, default_value_t = Stdio::Pipe)]
    stdio: Stdio,
    /// tokio-tungstenite's write buffer
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    write_buffer: usize,
    /// tokio-tungstenite's read buffer
    #[arg(long, value_name = "BYTES", default_value_t = 128 * 1024)]
    read_buffer: usize,
}

/// `host:port` of a `ws://` URL.
fn authority(url: &str) -> Result<&str> {
    let rest = url
        .strip_prefix("ws://")
        .with_context(|| format!("{url:?}: only ws:// URLs are supported"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    if !authority.contains(':') {
        bail!("{url:?}: give the port explicitly (ws://HOST:PORT/)");
    }
    Ok(authority)
}

fn main() -> ExitCode {
    let code = match run_main() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tungstenite-client: {e:#}");
            1
        }
    };
    std::process::exit(code)
}

fn run_main() -> Result<()> {
    let opts = Options::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = rt.block_on(run(&opts));
    // Do not wait for a helper thread blocked on a read of stdin.
    rt.shutdown_background();
    novita_proxy::stdio::restore();
    result
}

async fn run(opts: &Options) -> Result<()> {
    let tcp = TcpStream::connect(authority(&opts.url)?)
        .await
        .with_context(|| format!("connecting to {}", opts.url))?;
    tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
    let config = WebSocketConfig::default()
        .read_buffer_size(opts.read_buffer)
        .write_buffer_size(opts.write_buffer)
        // Only grows past write_buffer_size while the socket is full: one message more.
        .max_write_buffer_size(opts.write_buffer + 2 * MAX_PAYLOAD)
        // Peers send at most 64 KiB per message; 1 MiB is serve's own limit.
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(opts.url.as_str(), tcp, Some(config))
            .await
            .context("WebSocket upgrade")?;
    let (sink, stream) = ws.split();
    let (input, output) = open_stdio(opts.stdio);

    let up = upload(input, sink, opts);
    let down = download(stream, output);
    tokio::pin!(up, down);
    tokio::select! {
        // The peer closed: done, whatever stdin does.
        r = &mut down => r,
        // stdin ended and Close is sent: let the peer finish.
        r = &mut up => {
            r?;
            match tokio::time::timeout(CLOSE_GRACE, down).await {
                Ok(r) => r,
                Err(_) => Ok(()),
            }
        }
    }
}

/// stdin -> binary messages, then Close.
async fn upload<I, S>(mut input: I, mut sink: S, opts: &Options) -> Result<()>
where
    I: AsyncRead + Unpin,
    S: Sink<Message, Error = WsError> + Unpin,
{
    let mut reused = vec![0u8; MAX_PAYLOAD];
    let mut unflushed = false;
    loop {
        let read = async {
            match opts.payload {
                Payload::Copy => {
                    let n = input.read(&mut reused).await?;
                    Ok::<_, io::Error>(Bytes::copy_from_slice(&reused[..n]))
                }
                Payload::Own => {
                    let mut fresh = Vec::with_capacity(MAX_PAYLOAD);
                    input.read_buf(&mut fresh).await?;
                    Ok(Bytes::from(fresh))
                }
            }
        };
        let data = if unflushed {
            // Read on if stdin has more right now; otherwise flush what is queued first.
            tokio::pin!(read);
            match poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await {
                Poll::Ready(r) => r,
                Poll::Pending => {
                    sink.flush().await.context("sending to the WebSocket")?;
                    unflushed = false;
                    read.await
                }
            }
        } else {
            read.await
        }
        .context("reading stdin")?;
        if data.is_empty() {
            break;
        }
        match opts.flush {
            Flush::Send => sink.send(Message::Binary(data)).await,
            Flush::Idle => {
                unflushed = true;
                sink.feed(Message::Binary(data)).await
            }
        }
        .context("sending to the WebSocket")?;
    }
    sink.send(Message::Close(None))
        .await
        .context("sending Close")?;
    Ok(())
}

/// Payload of messages -> stdout, until the peer closes.
async fn download<S, O>(mut stream: S, mut output: O) -> Result<()>
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
    O: AsyncWrite + Unpin,
{
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Binary(data)) => output.write_all(&data).await,
            Ok(Message::Text(text)) => output.write_all(text.as_bytes()).await,
            Ok(Message::Close(_)) => break,
            Ok(_) => Ok(()),
            // The peer hung up without a Close: the data that came is all there is.
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => break,
            // websocat --exit-on-eof resets the connection right after the closing handshake.
            Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => break,
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e).context("reading from the WebSocket"),
        }
        .context("writing stdout")?;
    }
    output.flush().await.context("writing stdout")?;
    Ok(())
}

type Input = Pin<Box<dyn AsyncRead>>;
type Output = Pin<Box<dyn AsyncWrite>>;

/// stdin and stdout: novita-proxy's own (`novita_proxy::stdio`), or tokio's.
fn open_stdio(mode: Stdio) -> (Input, Output) {
    match mode {
        Stdio::Pipe => {
            let (input, output) = novita_proxy::stdio::open();
            (Box::pin(input), Box::pin(output))
        }
        Stdio::Tokio => (Box::pin(tokio::io::stdin()), Box::pin(tokio::io::stdout())),
    }
}

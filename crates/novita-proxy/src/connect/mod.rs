//! Opening the WebSocket connection: TCP (directly or through an HTTP proxy), TLS, and
//! the upgrade, each failure turned into the right exit code and a one-line message.

pub mod http_proxy;
pub mod tcp;
pub mod tls;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::cli::ClientArgs;
use crate::exit::{io_reason, strip_os_error, Exit, Failure};
use crate::handshake;
use crate::target::Target;
use http_proxy::Proxy;

/// The first hop: to the edge directly, or to the proxy (TLS for an `https://` proxy).
pub enum Leg {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS to an `https://` proxy.
    Tls(Box<TlsStream<TcpStream>>),
}

/// The connection the WebSocket runs on.
pub enum Transport {
    /// `ws://`.
    Plain(Leg),
    /// `wss://`.
    Tls(Box<TlsStream<Leg>>),
}

/// Where one connection goes: the URL's host and port, and how to get there.
pub struct Endpoint<'a> {
    /// `true` for TLS (`wss://`, `https://`).
    pub secure: bool,
    /// The URL's host: DNS, TLS SNI and the certificate check.
    pub host: &'a str,
    /// The URL's port.
    pub port: u16,
    /// `--connect-to`: where to open the TCP connection instead.
    pub connect_to: Option<&'a (String, u16)>,
    /// The HTTP proxy chosen for this host, if any.
    pub proxy: Option<&'a Proxy>,
    /// Trust anchors, needed when `secure` or the proxy is `https://`.
    pub tls: Option<&'a Arc<tls::Roots>>,
}

impl<'a> Endpoint<'a> {
    /// The endpoint of `target`'s WebSocket URL.
    pub fn of(target: &'a Target) -> Self {
        Endpoint {
            secure: target.url.secure,
            host: &target.url.host,
            port: target.url.port,
            connect_to: target.connect_to.as_ref(),
            proxy: target.proxy.as_ref(),
            tls: target.tls.as_ref(),
        }
    }
}

/// Opens the WebSocket for `target` within `timeout`. Returns the connection and any
/// bytes read past the upgrade response.
pub async fn open(target: &Target, timeout: Duration) -> Result<(Transport, Vec<u8>), Failure> {
    let deadline = Instant::now() + timeout;
    let url = &target.url;
    let mut transport = dial(&Endpoint::of(target), deadline, timeout).await?;
    match tokio::time::timeout_at(deadline, handshake::client::upgrade(&mut transport, target))
        .await
    {
        Ok(Ok(leftover)) => Ok((transport, leftover)),
        Ok(Err(f)) => Err(f),
        Err(_) => Err(timed_out(
            Exit::Http,
            &format!("the WebSocket upgrade at {url}"),
            timeout,
        )),
    }
}

/// Opens the WebSocket, retrying safe failures until `wait` has passed.
pub async fn open_with_retry(
    target: &Target,
    args: &ClientArgs,
    wait: Duration,
) -> Result<(Transport, Vec<u8>), Failure> {
    let give_up = Instant::now() + wait;
    let mut backoff = Duration::from_millis(250);
    loop {
        match open(target, args.connect_timeout).await {
            Ok(open) => return Ok(open),
            Err(f) if f.is_retryable() && Instant::now() + backoff < give_up => {
                crate::info!(
                    "not yet ({}); retrying in {} ms",
                    f.message,
                    backoff.as_millis()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(f) => return Err(f),
        }
    }
}

/// Opens TCP (directly or through the proxy) and, for a secure endpoint, TLS, before
/// `deadline` (`timeout` is its length, for messages).
pub async fn dial(
    ep: &Endpoint<'_>,
    deadline: Instant,
    timeout: Duration,
) -> Result<Transport, Failure> {
    let (tcp_host, tcp_port) = match ep.connect_to {
        Some((h, p)) => (h.as_str(), *p),
        None => (ep.host, ep.port),
    };
    let leg = match ep.proxy {
        None => Leg::Tcp(direct(tcp_host, tcp_port, deadline).await?),
        Some(proxy) => via_proxy(ep, proxy, tcp_host, tcp_port, deadline).await?,
    };
    let transport = if ep.secure {
        let config = tls_config(ep).await?;
        let name = tls::server_name(ep.host)?;
        let connect = TlsConnector::from(config).connect(name, leg);
        match tokio::time::timeout_at(deadline, connect).await {
            Ok(Ok(stream)) => Transport::Tls(Box::new(stream)),
            Ok(Err(e)) => return Err(tls::classify(&e, ep.host, Exit::Tls)),
            Err(_) => {
                return Err(timed_out(
                    Exit::Tls,
                    &format!("the TLS handshake with {}", ep.host),
                    timeout,
                ))
            }
        }
    } else {
        Transport::Plain(leg)
    };
    crate::info!("connected to {}:{}", ep.host, ep.port);
    Ok(transport)
}

async fn tls_config(ep: &Endpoint<'_>) -> Result<Arc<ClientConfig>, Failure> {
    match ep.tls {
        Some(roots) => Ok(roots.config().await),
        None => Err(Failure::new(
            Exit::Internal,
            "TLS is not configured: please report this",
        )),
    }
}

fn timed_out(exit: Exit, what: &str, timeout: Duration) -> Failure {
    Failure::new(
        exit,
        format!(
            "{what} timed out after {} s: check the network, or raise --connect-timeout",
            timeout.as_secs_f32()
        ),
    )
}

async fn direct(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, Failure> {
    tcp::connect(host, port, deadline).await.map_err(|e| match e {
        tcp::TcpError::Dns(e) => Failure::new(
            Exit::Dns,
            format!(
                "cannot resolve {host}: {}: check the sandbox ID, --domain and your network or DNS",
                strip_os_error(&e.to_string())
            ),
        ),
        tcp::TcpError::Connect(e) => Failure::new(
            Exit::Connect,
            format!(
                "cannot connect to {host} port {port}: {}: check your network, firewall or proxy settings (HTTPS_PROXY, --proxy)",
                io_reason(&e)
            ),
        ),
    })
}

async fn via_proxy(
    ep: &Endpoint<'_>,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Leg, Failure> {
    let shown = proxy.display();
    let tcp = tcp::connect(&proxy.host, proxy.port, deadline).await.map_err(|e| {
        let why = match &e {
            tcp::TcpError::Dns(e) => format!("cannot resolve it: {}", strip_os_error(&e.to_string())),
            tcp::TcpError::Connect(e) => io_reason(e),
        };
        Failure::new(
            Exit::Proxy,
            format!(
                "cannot reach the HTTP proxy {shown} (from {}): {why}: check the proxy address, or pass --no-proxy",
                proxy.source
            ),
        )
    })?;
    crate::info!("connected to proxy {shown} (from {})", proxy.source);
    let mut leg = if proxy.secure {
        let config = tls_config(ep).await?;
        let name = tls::server_name(&proxy.host)?;
        match tokio::time::timeout_at(deadline, TlsConnector::from(config).connect(name, tcp)).await
        {
            Ok(Ok(s)) => Leg::Tls(Box::new(s)),
            Ok(Err(e)) => {
                let mut f = tls::classify(&e, &proxy.host, Exit::Proxy);
                f.message = format!("HTTP proxy {shown}: {}", f.message);
                return Err(f);
            }
            Err(_) => {
                return Err(timed_out(
                    Exit::Proxy,
                    &format!("the TLS handshake with the proxy {shown}"),
                    deadline_left(deadline),
                ))
            }
        }
    } else {
        Leg::Tcp(tcp)
    };
    match tokio::time::timeout_at(deadline, http_proxy::connect_through(&mut leg, proxy, host, port)).await {
        Ok(result) => result.map(|()| leg),
        Err(_) => Err(Failure::new(
            Exit::Proxy,
            format!("the HTTP proxy {shown} did not answer CONNECT {host}:{port} in time: check the proxy, or pass --no-proxy"),
        )),
    }
}

fn deadline_left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

macro_rules! delegate_io {
    ($ty:ident { $($variant:ident),+ }) => {
        impl AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($ty::$variant(s) => Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }
        impl AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $($ty::$variant(s) => Pin::new(s).poll_write(cx, buf),)+
                }
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($ty::$variant(s) => Pin::new(s).poll_flush(cx),)+
                }
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($ty::$variant(s) => Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

delegate_io!(Leg { Tcp, Tls });
delegate_io!(Transport { Plain, Tls });

//! Waiting for the signals that end the program.

/// A signal that ends the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGHUP: ssh sends it to its ProxyCommand when done.
    HangUp,
    /// SIGTERM.
    Terminate,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

/// Resolves when one of `signals` arrives. A signal that cannot be watched is left out;
/// when none can, it never resolves. Elsewhere than on Unix, only Ctrl-C is watched.
pub async fn first_of(signals: &[Stop]) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut streams = Vec::new();
        for stop in signals {
            let kind = match stop {
                Stop::HangUp => SignalKind::hangup(),
                Stop::Terminate => SignalKind::terminate(),
                Stop::Interrupt => SignalKind::interrupt(),
            };
            if let Ok(s) = signal(kind) {
                streams.push(s);
            }
        }
        if streams.is_empty() {
            return std::future::pending().await;
        }
        std::future::poll_fn(|cx| {
            for s in &mut streams {
                if s.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(());
                }
            }
            std::task::Poll::Pending
        })
        .await;
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        let _ = tokio::signal::ctrl_c().await;
    }
}

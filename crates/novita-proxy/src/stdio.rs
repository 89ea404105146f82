//! Standard input and output as fast asynchronous streams.
//!
//! ssh hands a ProxyCommand pipes. On Unix, pipes and sockets are switched to
//! non-blocking mode and driven by the runtime's poller (no helper thread, no extra
//! copy); their original flags are restored by [`restore`] before the process exits.
//! Regular files and devices such as `/dev/null` are read and written directly (they
//! never block for long). Terminals and everything on other platforms use tokio's own
//! stdin/stdout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(unix)]
use std::{fs::File, io::Read as _, io::Write as _, os::fd::AsFd as _};
#[cfg(unix)]
use tokio::io::unix::AsyncFd;

/// Standard input.
pub enum Input {
    /// A pipe or socket in non-blocking mode.
    #[cfg(unix)]
    Async(AsyncFd<File>),
    /// A regular file or a device: read directly.
    #[cfg(unix)]
    Direct(File),
    /// tokio's stdin (terminals, other platforms).
    Tokio(tokio::io::Stdin),
}

/// Standard output.
pub enum Output {
    /// A pipe or socket in non-blocking mode.
    #[cfg(unix)]
    Async(AsyncFd<File>),
    /// A regular file or a device: written directly.
    #[cfg(unix)]
    Direct(File),
    /// tokio's stdout (terminals, other platforms).
    Tokio(tokio::io::Stdout),
}

/// Opens stdin and stdout for the tunnel. Must be called inside the runtime.
pub fn open() -> (Input, Output) {
    #[cfg(unix)]
    {
        let input = match unix::prepare(io::stdin().as_fd()) {
            Some((file, true)) => match unix::register(file, tokio::io::Interest::READABLE) {
                Some(fd) => Input::Async(fd),
                None => Input::Tokio(tokio::io::stdin()),
            },
            Some((file, false)) => Input::Direct(file),
            None => Input::Tokio(tokio::io::stdin()),
        };
        let output = match unix::prepare(io::stdout().as_fd()) {
            Some((file, true)) => match unix::register(file, tokio::io::Interest::WRITABLE) {
                Some(fd) => Output::Async(fd),
                None => Output::Tokio(tokio::io::stdout()),
            },
            Some((file, false)) => Output::Direct(file),
            None => Output::Tokio(tokio::io::stdout()),
        };
        (input, output)
    }
    #[cfg(not(unix))]
    {
        (
            Input::Tokio(tokio::io::stdin()),
            Output::Tokio(tokio::io::stdout()),
        )
    }
}

/// Restores the file status flags changed by [`open`]. Call before exiting.
pub fn restore() {
    #[cfg(unix)]
    unix::restore();
}

impl AsyncRead for Input {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Input::Async(fd) => loop {
                let mut guard = match fd.poll_read_ready(cx) {
                    Poll::Ready(Ok(g)) => g,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                };
                let unfilled = buf.initialize_unfilled();
                match guard.try_io(|f| f.get_ref().read(unfilled)) {
                    Ok(Ok(n)) => {
                        buf.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(Err(e)) => return Poll::Ready(Err(e)),
                    Err(_would_block) => continue,
                }
            },
            #[cfg(unix)]
            Input::Direct(file) => loop {
                match file.read(buf.initialize_unfilled()) {
                    Ok(n) => {
                        buf.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
            Input::Tokio(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            Output::Async(fd) => loop {
                let mut guard = match fd.poll_write_ready(cx) {
                    Poll::Ready(Ok(g)) => g,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                };
                match guard.try_io(|f| f.get_ref().write(data)) {
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(result) => return Poll::Ready(result),
                    Err(_would_block) => continue,
                }
            },
            #[cfg(unix)]
            Output::Direct(file) => loop {
                match file.write(data) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    result => return Poll::Ready(result),
                }
            },
            Output::Tokio(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Output::Async(_) | Output::Direct(_) => Poll::Ready(Ok(())),
            Output::Tokio(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod unix {
    //! The only unsafe code in the crate: `fcntl` to switch a descriptor to non-blocking
    //! mode and back (no safe std API exists for this), and registering a descriptor with
    //! the runtime's poller.
    use std::fs::File;
    use std::io::IsTerminal as _;
    use std::os::fd::{AsRawFd as _, BorrowedFd, RawFd};
    use std::os::unix::fs::FileTypeExt as _;
    use std::sync::Mutex;

    static SAVED: Mutex<Vec<(RawFd, libc::c_int)>> = Mutex::new(Vec::new());

    /// Duplicates `fd` into a `File`. Returns `(file, true)` when it is a pipe or socket
    /// now in non-blocking mode, `(file, false)` for regular files and non-terminal
    /// devices, `None` for terminals (and when anything fails).
    pub(super) fn prepare(fd: BorrowedFd<'_>) -> Option<(File, bool)> {
        let file = File::from(fd.try_clone_to_owned().ok()?);
        if file.is_terminal() {
            return None;
        }
        let kind = file.metadata().ok()?.file_type();
        if !(kind.is_fifo() || kind.is_socket()) {
            return Some((file, false));
        }
        let raw = file.as_raw_fd();
        #[cfg(target_os = "linux")]
        if kind.is_fifo() {
            grow_pipe(raw);
        }
        // SAFETY: `raw` is a valid descriptor owned by `file` for the whole call;
        // F_GETFL/F_SETFL only read and set status flags.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        if flags < 0 {
            return Some((file, false));
        }
        if flags & libc::O_NONBLOCK == 0 {
            // SAFETY: as above.
            if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
                return Some((file, false));
            }
            if let Ok(mut saved) = SAVED.lock() {
                saved.push((fd.as_raw_fd(), flags));
            }
        }
        Some((file, true))
    }

    /// How large a pipe from or to ssh is made (Linux): ssh reads up to 256 KiB of
    /// packets at once, and with the default 64 KiB pipe both sides wake each other four
    /// times as often. Measured in bench/data/runs.md ("Pipe size").
    #[cfg(target_os = "linux")]
    pub(super) const PIPE_SIZE: libc::c_int = 1024 * 1024;

    /// Grows the pipe behind `raw` to [`PIPE_SIZE`] when it is smaller; best effort (an
    /// unprivileged process may be held to `/proc/sys/fs/pipe-max-size` or a per-user
    /// quota, and then keeps the size it has).
    #[cfg(target_os = "linux")]
    fn grow_pipe(raw: RawFd) {
        // SAFETY: `raw` is a valid pipe descriptor for the whole call; F_GETPIPE_SZ and
        // F_SETPIPE_SZ only read and set the capacity of the pipe's buffer.
        let size = unsafe { libc::fcntl(raw, libc::F_GETPIPE_SZ) };
        if (0..PIPE_SIZE).contains(&size) {
            // SAFETY: as above.
            unsafe { libc::fcntl(raw, libc::F_SETPIPE_SZ, PIPE_SIZE) };
        }
    }

    /// Registers a non-blocking pipe or socket with the runtime's poller.
    pub(super) fn register(
        file: File,
        interest: tokio::io::Interest,
    ) -> Option<tokio::io::unix::AsyncFd<File>> {
        // SAFETY: a `File` owns its descriptor: it stays open and refers to the same open
        // file description until the `AsyncFd` (which owns the `File`) is dropped, and
        // `as_raw_fd` always returns that descriptor.
        unsafe { tokio::io::unix::AsyncFd::register_with_interest(file, interest) }.ok()
    }

    pub(super) fn restore() {
        if let Ok(mut saved) = SAVED.lock() {
            for (fd, flags) in saved.drain(..) {
                // SAFETY: `fd` is 0 or 1, which stay open for the life of the process
                // (we only ever closed our duplicates); F_SETFL only sets status flags.
                unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
#[allow(unsafe_code)]
mod tests {
    use std::os::fd::{AsFd as _, AsRawFd as _};

    fn pipe_size(fd: &impl std::os::fd::AsRawFd) -> libc::c_int {
        // SAFETY: a valid pipe descriptor; F_GETPIPE_SZ only reads its capacity.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) }
    }

    #[test]
    fn pipes_from_ssh_are_grown_and_made_non_blocking() {
        let (reader, writer) = std::io::pipe().expect("pipe");
        assert!(pipe_size(&reader) < super::unix::PIPE_SIZE);
        let (file, is_async) = super::unix::prepare(reader.as_fd()).expect("a pipe");
        assert!(is_async);
        assert_eq!(pipe_size(&writer), super::unix::PIPE_SIZE);
        // SAFETY: a valid descriptor; F_GETFL only reads the status flags.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0);
    }
}

//! The few operating-system calls the standard library does not offer: the home directory
//! from the password database, the host name, an advisory file lock and reading a
//! passphrase without echo.
//!
//! Everything unsafe in this crate is in this module, each call with its reason.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::PathBuf;

/// The current user's home directory from the password database, which is where OpenSSH
/// expands `~` (it ignores `$HOME`). `None` when it cannot be read.
#[cfg(unix)]
pub fn passwd_home() -> Option<PathBuf> {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;

    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: passwd is a plain C struct of pointers and integers; all-zero is valid.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call and `buf.len()` is the
        // real size of the buffer the strings are written to.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        // SAFETY: on success pw_dir points to a NUL-terminated string inside `buf`, which
        // outlives this borrow.
        let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
        let dir = PathBuf::from(OsStr::from_bytes(dir.to_bytes()));
        return (!dir.as_os_str().is_empty()).then_some(dir);
    }
}

/// On Windows OpenSSH expands `~` to the user profile, which is what the home directory is.
#[cfg(not(unix))]
pub fn passwd_home() -> Option<PathBuf> {
    None
}

/// This machine's host name (for the key comment `novita-ssh@<hostname>`).
#[cfg(unix)]
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for writes of its full length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// This machine's host name (for the key comment `novita-ssh@<hostname>`).
#[cfg(not(unix))]
pub fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// Takes an exclusive advisory lock on an open file, waiting for it.
/// Released when the file is closed.
#[cfg(unix)]
pub fn lock_exclusive(file: &File, wait: bool) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let flags = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: the descriptor is open for the lifetime of `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), flags) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// Without flock the lock file's existence is the lock (see `lock.rs`); this always
/// succeeds.
#[cfg(not(unix))]
pub fn lock_exclusive(_file: &File, _wait: bool) -> io::Result<bool> {
    Ok(true)
}

/// Reads one line from the terminal with echo turned off (for a passphrase).
#[cfg(unix)]
pub fn read_passphrase(prompt: &str) -> io::Result<String> {
    use std::io::{BufRead, Write};
    use std::os::unix::io::AsRawFd;

    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is a plain C struct; all-zero is a valid value to be overwritten.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open terminal and `saved` is valid for writes.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: as above; `quiet` is a valid termios copied from the terminal's own.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut writer = &tty;
    let result = writer
        .write_all(prompt.as_bytes())
        .and_then(|()| writer.flush())
        .and_then(|()| {
            let mut line = String::new();
            io::BufReader::new(&tty).read_line(&mut line)?;
            Ok(line)
        });
    // SAFETY: restores the settings read above on the same open terminal.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    let line = result?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Windows has no /dev/tty: a passphrase must come from `--passphrase-file`.
#[cfg(not(unix))]
pub fn read_passphrase(_prompt: &str) -> io::Result<String> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "cannot prompt for a passphrase here: pass --passphrase-file",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn passwd_home_is_absolute() {
        let home = passwd_home().expect("the test user has a passwd entry");
        assert!(home.is_absolute(), "{}", home.display());
    }

    #[test]
    fn hostname_is_known() {
        let name = hostname().expect("host name");
        assert!(!name.is_empty());
    }
}

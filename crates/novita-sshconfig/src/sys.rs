//! The few operating-system calls the standard library does not offer: the home directory
//! from the password database and the host name; and reading a passphrase without echo.
//!
//! Everything unsafe in this crate is in this module, each call with its reason.
#![allow(unsafe_code)]

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

/// Reads a passphrase without echo: from the terminal (`/dev/tty`) on Unix, the console on
/// Windows, with the prompt written there too.
pub fn read_passphrase(prompt: &str) -> io::Result<String> {
    rpassword::prompt_password(prompt)
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

//! Finding the binaries under test and the tools the suite drives.

use std::env;
use std::path::{Path, PathBuf};

/// The path of one of the kit's binaries (`novita-proxy`, `novita-sshconfig`).
///
/// `NOVITA_PROXY_BIN` / `NOVITA_SSHCONFIG_BIN` override it (packaging tests run the suite
/// against installed binaries); otherwise it is the binary cargo built next to this test
/// executable (`target/<profile>/deps/e2e-*` -> `target/<profile>/<name>`).
/// `cargo test --workspace` (what `scripts/test.sh` runs) builds both binaries;
/// `cargo test -p novita-ssh-e2e` alone does not, so run `cargo build` before it.
///
/// # Panics
/// When the binary does not exist, with the command that builds it.
pub fn bin_path(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.replace('-', "_").to_uppercase());
    if let Some(path) = env::var_os(&var).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{var}={} does not exist: point it at an installed {name} or unset it",
            path.display()
        );
        return path;
    }
    let exe = env::current_exe().expect("the test executable's path");
    let mut candidates = Vec::new();
    for dir in exe.ancestors().skip(1).take(3) {
        candidates.push(dir.join(format!("{name}{}", env::consts::EXE_SUFFIX)));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{name} is not built (looked at {}): run `cargo build` (or \
                 `cargo build -p {name}`) first, or set {var}",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Where a tool lives on PATH, or in `/usr/sbin` and `/sbin` (sshd is not on a user's PATH).
///
/// # Panics
/// When the tool is missing, naming the package that provides it. The suite never skips.
pub fn require_tool(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| {
        panic!(
            "missing tool {name}: {} (the end-to-end suite needs it and never skips)",
            install_hint(name)
        )
    })
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    let home_cargo = env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from))
        .chain(home_cargo)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn install_hint(name: &str) -> &'static str {
    match name {
        "sshd" => "apt-get install openssh-server",
        "ssh" | "scp" | "sftp" | "ssh-keygen" => "apt-get install openssh-client",
        "rsync" => "apt-get install rsync",
        "nginx" => "apt-get install nginx",
        "tinyproxy" => "apt-get install tinyproxy",
        "curl" => "apt-get install curl",
        "script" => "apt-get install util-linux (bsdutils)",
        "unshare" => "apt-get install util-linux",
        "websocat" => "cargo install --locked websocat@1.14.1",
        _ => "install it and put it on PATH",
    }
}

/// Whether the tests run as root (`id -u` is 0): nginx and tinyproxy need to be told to keep
/// running as root instead of switching to an unprivileged user that cannot read the temp dir.
pub fn is_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// Environment variables that would change where a client connects or what it trusts:
/// every variable novita-proxy's man page lists, and the API key the novita-sandbox SDK of
/// the template checks reads. Fixtures remove them from every client command so that a
/// developer's shell (a corporate proxy, a real Novita domain or token) cannot leak into a
/// test; tests that exercise them set them explicitly.
pub fn client_env() -> impl Iterator<Item = &'static str> {
    novita_proxy::generate::PROGRAM
        .environment_variables()
        .chain(["NOVITA_API_KEY"])
}

/// Removes [`client_env`] from `cmd`'s environment.
pub fn clean_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for var in client_env() {
        cmd.env_remove(var);
    }
    cmd
}

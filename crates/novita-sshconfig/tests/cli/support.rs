//! A temporary HOME, the binary under test, and OpenSSH as the oracle.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A sandbox ID that passes validation.
pub const ID: &str = "iz3m5v8axsybc877b539s";

/// One isolated user: HOME, a working folder and a fake novita-proxy that records how
/// ssh ran it.
pub struct Env {
    _dir: TempDir,
    /// The root of everything.
    pub root: PathBuf,
    /// $HOME.
    pub home: PathBuf,
    /// The current directory of the commands.
    pub work: PathBuf,
    /// The fake novita-proxy (`--proxy-command-path`).
    pub proxy: PathBuf,
    /// Where the fake proxy writes its arguments, one per line.
    pub proxy_log: PathBuf,
}

/// The path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_novita-sshconfig"))
}

/// Requires a tool; the suite never skips.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "missing tool {tool}: install it (openssh-client provides ssh and ssh-keygen); the tests never skip");
}

impl Env {
    /// A fresh user with an empty HOME.
    pub fn new() -> Env {
        Env::with_home_name("home")
    }

    /// A fresh user whose HOME folder has this name (spaces test quoting).
    pub fn with_home_name(name: &str) -> Env {
        require("ssh");
        let dir = tempfile::Builder::new()
            .prefix("novita-sshconfig-test-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        let home = root.join(name);
        let work = root.join("work");
        let bin = root.join("bin dir");
        for d in [&home, &work, &bin] {
            fs::create_dir_all(d).unwrap();
        }
        let proxy_log = root.join("proxy-args");
        let proxy = bin.join("novita-proxy");
        // Records its arguments, then ends (ssh then reports a closed connection).
        fs::write(
            &proxy,
            format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'novita-proxy 0.0.0-test'; exit 0; fi\n\
                 for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit 0\n",
                proxy_log.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&proxy, fs::Permissions::from_mode(0o755)).unwrap();
        Env {
            _dir: dir,
            root,
            home,
            work,
            proxy,
            proxy_log,
        }
    }

    /// `~/.ssh/config`.
    pub fn ssh_config(&self) -> PathBuf {
        self.home.join(".ssh/config")
    }

    /// `~/.ssh/novita/...`.
    pub fn kit(&self, name: &str) -> PathBuf {
        self.home.join(".ssh/novita").join(name)
    }

    /// Writes `~/.ssh/config` (mode 0600).
    pub fn write_ssh_config(&self, text: &str) {
        fs::create_dir_all(self.home.join(".ssh")).unwrap();
        fs::write(self.ssh_config(), text).unwrap();
        fs::set_permissions(self.ssh_config(), fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// The command, with HOME set and nothing inherited that changes its behaviour.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("HOME", &self.home)
            .env_remove("NOVITA_DOMAIN")
            .env_remove("NOVITA_API_KEY")
            .env_remove("NOVITA_API_KEY_FILE")
            .env_remove("NOVITA_API_URL")
            .current_dir(&self.work)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the command.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs the command with `input` on stdin and extra environment variables.
    pub fn run_with(&self, args: &[&str], input: &str, vars: &[(&str, &str)]) -> Output {
        use std::io::Write as _;
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// Runs the command and asserts it succeeded; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "novita-sshconfig {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs the command, asserts its exit code and a one-line error; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "novita-sshconfig {args:?}: stdout {}\nstderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
        stderr
    }

    /// `init` with the fake proxy and no template.
    pub fn init(&self, extra: &[&str]) -> String {
        let proxy = self.proxy.to_string_lossy().into_owned();
        let mut args = vec![
            "init",
            "--no-template",
            "--proxy-command-path",
            proxy.as_str(),
        ];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    /// `ssh -F ~/.ssh/config -G host`, as keyword -> values.
    pub fn ssh_g(&self, host: &str) -> BTreeMap<String, Vec<String>> {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .arg("-G")
            .arg(host)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh -G {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            if let Some((k, v)) = line.split_once(' ') {
                map.entry(k.to_owned()).or_default().push(v.to_owned());
            }
        }
        map
    }

    /// The first value of a keyword in `ssh -G host`.
    pub fn g(&self, host: &str, keyword: &str) -> String {
        self.ssh_g(host)
            .get(keyword)
            .and_then(|v| v.first().cloned())
            .unwrap_or_default()
    }

    /// Lets ssh run the ProxyCommand for `host` and returns the arguments the (fake) proxy
    /// received.
    pub fn proxy_args_seen_by_ssh(&self, host: &str) -> Vec<String> {
        let _ = fs::remove_file(&self.proxy_log);
        let _ = Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes", host, "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        fs::read_to_string(&self.proxy_log)
            .unwrap_or_else(|e| panic!("ssh did not run the proxy for {host}: {e}"))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every file and link under the root (path -> bytes, or `-> target` for links).
    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        walk(&self.root, &mut out);
        out.remove(&self.proxy_log);
        out
    }
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            out.insert(
                path.clone(),
                format!("-> {}", fs::read_link(&path).unwrap().display()),
            );
        } else if meta.is_dir() {
            out.insert(path.clone(), format!("dir {:o}", meta.permissions().mode()));
            walk(&path, out);
        } else {
            let bytes = fs::read(&path).unwrap();
            out.insert(
                path.clone(),
                format!(
                    "{:o} {}",
                    meta.permissions().mode(),
                    String::from_utf8_lossy(&bytes)
                ),
            );
        }
    }
}

/// The file's mode bits.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A stand-in for the few Novita API answers these tests need: `GET /sandboxes/quota`
/// (200 with the right `X-API-KEY`, else 401) and `GET /v2/sandboxes` (a fixed list).
/// Every request line is recorded, with whether the key was right.
pub struct ApiStub {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// `(request line, key was right)`, in order.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
}

impl ApiStub {
    /// Starts it on a free port; it answers until the test process ends.
    pub fn start(key: &str, sandboxes_json: &str) -> ApiStub {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (key, list, seen) = (key.to_owned(), sandboxes_json.to_owned(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut right = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("x-api-key") && value.trim() == key {
                            right = true;
                        }
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push((first.trim().to_owned(), right));
                let (status, body) = if !right {
                    (
                        "401 Unauthorized",
                        r#"{"code":401,"message":"Invalid API key"}"#.to_owned(),
                    )
                } else if target == "/sandboxes/quota" {
                    ("200 OK", r#"{"limit":{"maxLengthHours":1}}"#.to_owned())
                } else if target.starts_with("/v2/sandboxes") {
                    ("200 OK", list.clone())
                } else {
                    (
                        "404 Not Found",
                        r#"{"code":404,"message":"not found"}"#.to_owned(),
                    )
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        ApiStub { url, log }
    }

    /// The request lines seen so far.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.log.lock().unwrap().clone()
    }
}

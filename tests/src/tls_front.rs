//! A TLS terminator in front of a plain TCP server: nginx's `stream` module with `ssl`,
//! proxying each connection to `127.0.0.1:<port>`. In front of [`crate::Tinyproxy`] it makes
//! an `https://` HTTP proxy (TLS to the proxy, CONNECT inside).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::edge::{certificates, nginx_main_conf, start_nginx};
use crate::{require_tool, Proc};

/// A running nginx on `127.0.0.1:port` that terminates TLS (certificate for `127.0.0.1`,
/// signed by its own test CA) and relays the plain bytes to another port. Killed on drop.
#[derive(Debug)]
pub struct TlsFront {
    /// The TLS port (127.0.0.1).
    pub port: u16,
    /// The test CA that signed its certificate (PEM).
    pub ca_pem: PathBuf,
    _proc: Proc,
    dir: TempDir,
}

impl TlsFront {
    /// Starts terminating TLS for `127.0.0.1:<to_port>`.
    ///
    /// # Panics
    /// When nginx or its stream module is missing, or nginx does not come up.
    pub fn start(to_port: u16) -> TlsFront {
        let load = stream_module_directive();
        let dir = tempfile::Builder::new()
            .prefix("novita-e2e-tls-front-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let (ca_pem, cert_pem, key_pem) = certificates(&["127.0.0.1".to_owned()]);
        let ca_path = d.join("ca.pem");
        fs::write(&ca_path, ca_pem).unwrap();
        fs::write(d.join("front.pem"), cert_pem).unwrap();
        fs::write(d.join("front.key"), key_pem).unwrap();
        let shown = d.display().to_string();
        let (port, proc) = start_nginx("nginx TLS front", d, |port| {
            let mut conf = load.clone();
            conf.push_str(&nginx_main_conf(&shown));
            write!(
                conf,
                r#"stream {{
    log_format front '$remote_addr $protocol $ssl_protocol $status $bytes_received';
    access_log {shown}/access.log front;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {shown}/front.pem;
        ssl_certificate_key {shown}/front.key;
        proxy_pass 127.0.0.1:{to_port};
    }}
}}
"#
            )
            .unwrap();
            conf
        });
        TlsFront {
            port,
            ca_pem: ca_path,
            _proc: proc,
            dir,
        }
    }

    /// One line per finished connection: client, `TCP`, TLS version (`TLSv1.3`), status
    /// (200 for a session that ended normally) and bytes received from the client.
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

/// The `load_module` line nginx needs for `stream {}`: none when the module is built in, the
/// module's path when it is dynamic (Debian: the `libnginx-mod-stream` package).
///
/// # Panics
/// When nginx has no stream module, or the dynamic module is not installed.
fn stream_module_directive() -> String {
    let nginx = require_tool("nginx");
    let out = Command::new(&nginx)
        .arg("-V")
        .output()
        .unwrap_or_else(|e| panic!("run {} -V: {e}", nginx.display()));
    // nginx -V prints to stderr.
    let info =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let args: Vec<&str> = info.split_whitespace().collect();
    if args.contains(&"--with-stream") {
        return String::new();
    }
    assert!(
        args.contains(&"--with-stream=dynamic"),
        "nginx was built without the stream module (needed for the TLS front of the https:// \
         proxy tests): install an nginx with it (Debian: apt-get install nginx \
         libnginx-mod-stream)"
    );
    let dir = args
        .iter()
        .find_map(|a| a.strip_prefix("--modules-path="))
        .map_or_else(
            || {
                let prefix = args
                    .iter()
                    .find_map(|a| a.strip_prefix("--prefix="))
                    .unwrap_or("/usr/local/nginx");
                Path::new(prefix).join("modules")
            },
            PathBuf::from,
        );
    let module = dir.join("ngx_stream_module.so");
    assert!(
        module.is_file(),
        "nginx's stream module {} is missing (needed for the TLS front of the https:// proxy \
         tests): apt-get install libnginx-mod-stream",
        module.display()
    );
    format!("load_module {};\n", module.display())
}

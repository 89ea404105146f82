//! An nginx TLS edge that behaves like Novita's: `wss://<port>-<id>.sandbox.test` routed by
//! Host to the bridge registered for that ID, 502 for unknown IDs, and optionally a
//! traffic token required for one ID (403 without it).
//!
//! With a [`Platform`] attached, `api.sandbox.test` is its API and every other host without a
//! route of its own goes to its edge router, which answers by the sandbox's state.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tempfile::TempDir;

use crate::platform::Platform;
use crate::tools::is_root;
use crate::{require_tool, start_on_free_port, try_wait_for_port, Proc};

/// The domain the edge serves (`*.sandbox.test`); pass it to `novita-proxy --domain`.
pub const EDGE_DOMAIN: &str = "sandbox.test";

/// Routes for an [`Edge`], collected before it starts.
#[derive(Debug, Default, Clone)]
pub struct EdgeBuilder {
    routes: Vec<Route>,
    platform: Option<PlatformPorts>,
}

/// Where a [`Platform`] listens: its API and its edge router.
#[derive(Debug, Clone, Copy)]
struct PlatformPorts {
    api: u16,
    router: u16,
}

#[derive(Debug, Clone)]
struct Route {
    id: String,
    sandbox_port: u16,
    to_port: u16,
    token: Option<String>,
}

impl EdgeBuilder {
    /// Routes `wss://8081-<id>.sandbox.test` to `127.0.0.1:<to_port>`.
    pub fn route(self, id: &str, to_port: u16) -> Self {
        self.route_port(id, 8081, to_port, None)
    }

    /// Like [`EdgeBuilder::route`], but the edge answers 403 unless the request carries
    /// `e2b-traffic-access-token: <token>` (a private sandbox).
    pub fn route_with_token(self, id: &str, to_port: u16, token: &str) -> Self {
        self.route_port(id, 8081, to_port, Some(token.to_owned()))
    }

    /// Routes `wss://<sandbox_port>-<id>.sandbox.test` to `127.0.0.1:<to_port>`, optionally
    /// requiring a traffic token.
    pub fn route_port(
        mut self,
        id: &str,
        sandbox_port: u16,
        to_port: u16,
        token: Option<String>,
    ) -> Self {
        self.routes.push(Route {
            id: id.to_owned(),
            sandbox_port,
            to_port,
            token,
        });
        self
    }

    /// Puts `platform` behind the edge: `https://api.sandbox.test` is its API, and every
    /// `*.sandbox.test` host without a route of its own goes to its edge router.
    pub fn platform(mut self, platform: &Platform) -> Self {
        self.platform = Some(PlatformPorts {
            api: platform.api_port(),
            router: platform.router_port(),
        });
        self
    }

    /// Generates the CA and certificate, writes the config and starts nginx.
    ///
    /// # Panics
    /// When nginx is missing or does not come up (with its error log).
    pub fn start(self) -> Edge {
        let dir = tempfile::Builder::new()
            .prefix("novita-e2e-edge-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let (ca_pem, cert_pem, key_pem) =
            certificates(&[format!("*.{EDGE_DOMAIN}"), EDGE_DOMAIN.to_owned()]);
        let ca_path = d.join("ca.pem");
        fs::write(&ca_path, ca_pem).unwrap();
        fs::write(d.join("edge.pem"), cert_pem).unwrap();
        fs::write(d.join("edge.key"), key_pem).unwrap();
        let (routes, platform) = (self.routes, self.platform);
        let (port, proc) = start_nginx("nginx edge", d, |port| {
            nginx_conf(&routes, platform, port, &d.display().to_string())
        });
        Edge {
            port,
            ca_pem: ca_path,
            proc,
            dir,
        }
    }
}

/// A running nginx TLS edge on `127.0.0.1:port` for `*.sandbox.test`. Killed on drop.
#[derive(Debug)]
pub struct Edge {
    /// The TLS port (127.0.0.1).
    pub port: u16,
    /// The test CA that signed the edge's certificate (PEM); pass it as `--cacert`.
    pub ca_pem: PathBuf,
    proc: Proc,
    dir: TempDir,
}

impl Edge {
    /// Starts describing an edge's routes.
    pub fn builder() -> EdgeBuilder {
        EdgeBuilder::default()
    }

    /// The `novita-proxy` options that reach this edge under its real names:
    /// `--domain sandbox.test --connect-to 127.0.0.1:<port> --cacert <ca.pem>`.
    pub fn proxy_args(&self) -> Vec<String> {
        vec![
            "--domain".into(),
            EDGE_DOMAIN.into(),
            "--connect-to".into(),
            format!("127.0.0.1:{}", self.port),
            "--cacert".into(),
            self.ca_pem.display().to_string(),
        ]
    }

    /// The `novita-proxy` options that reach this edge and its platform's API through it:
    /// [`Edge::proxy_args`] and `--api-url https://api.sandbox.test`.
    pub fn platform_proxy_args(&self) -> Vec<String> {
        let mut args = self.proxy_args();
        args.extend(["--api-url".to_owned(), self.api_url()]);
        args
    }

    /// `https://api.sandbox.test`: the API of the attached platform, through this edge (reach
    /// it with `--connect-to 127.0.0.1:<port>` and the CA).
    pub fn api_url(&self) -> String {
        format!("https://api.{EDGE_DOMAIN}")
    }

    /// The Host name of a sandbox port on this edge (`8081-<id>.sandbox.test`).
    pub fn host_for(id: &str, sandbox_port: u16) -> String {
        format!("{sandbox_port}-{id}.{EDGE_DOMAIN}")
    }

    /// The access log (one line per request: client, Host, request line, status, and the
    /// `X-Team` request header as `x-team="..."`, a custom header to see `--header` arrive).
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The error log (TLS handshake failures show up here).
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Whether nginx is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }
}

/// A fresh test CA, and a certificate for `names` (DNS names or IP addresses) it signed,
/// with the leaf's key: `(ca_pem, cert_pem, key_pem)`.
pub(crate) fn certificates(names: &[String]) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "novita-ssh e2e test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(names.to_vec()).unwrap();
    if let Some(first) = names.first() {
        leaf.distinguished_name.push(DnType::CommonName, first);
    }
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

/// Starts nginx with the configuration `conf(port)` (written to `<dir>/nginx.conf`, its
/// prefix and temp paths in `dir`) on a free port, and waits until it listens.
///
/// # Panics
/// When nginx is missing or does not come up (with its error log).
pub(crate) fn start_nginx(what: &str, dir: &Path, conf: impl Fn(u16) -> String) -> (u16, Proc) {
    let nginx = require_tool("nginx");
    fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf_path = dir.join("nginx.conf");
    start_on_free_port(
        what,
        |port| {
            fs::write(&conf_path, conf(port)).unwrap();
            let mut cmd = Command::new(&nginx);
            cmd.arg("-p")
                .arg(format!("{}/", dir.display()))
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.join("error.log"));
            Proc::spawn(what, cmd, &dir.join("nginx.out"))
        },
        |port, proc| try_wait_for_port(port, Duration::from_secs(20), proc),
    )
}

/// The top of every nginx configuration: foreground, one worker, pid and error log in `dir`.
pub(crate) fn nginx_main_conf(dir: &str) -> String {
    let mut conf = String::new();
    if is_root() {
        // Workers would otherwise switch to `nobody`, which cannot enter the temp dir.
        conf.push_str("user root;\n");
    }
    write!(
        conf,
        r#"daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 4096; }}
"#
    )
    .unwrap();
    conf
}

fn nginx_conf(routes: &[Route], platform: Option<PlatformPorts>, port: u16, dir: &str) -> String {
    let mut conf = nginx_main_conf(dir);
    write!(
        conf,
        r#"http {{
    log_format edge '$remote_addr "$host" "$request" $status x-team="$http_x_team"';
    access_log {dir}/access.log edge;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    ssl_certificate {dir}/edge.pem;
    ssl_certificate_key {dir}/edge.key;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    map $host $bridge {{
        default "{default}";
"#,
        default = platform.map_or(String::new(), |p| format!("127.0.0.1:{}", p.router)),
    )
    .unwrap();
    for r in routes.iter().filter(|r| r.token.is_none()) {
        writeln!(
            conf,
            "        {}-{}.{EDGE_DOMAIN} 127.0.0.1:{};",
            r.sandbox_port, r.id, r.to_port
        )
        .unwrap();
    }
    conf.push_str("    }\n");
    let proxying = r#"
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_connect_timeout 5s;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            proxy_request_buffering off;
"#;
    write!(
        conf,
        r#"    server {{
        listen 127.0.0.1:{port} ssl default_server;
        server_name _;
        location / {{
            if ($bridge = "") {{ return 502; }}
            proxy_pass http://$bridge;{proxying}        }}
    }}
"#
    )
    .unwrap();
    if let Some(p) = platform {
        // The API: plain requests, answered within the client's own timeouts (a hung API
        // must look hung to the client, not end in nginx's 504 first).
        write!(
            conf,
            r#"    server {{
        listen 127.0.0.1:{port} ssl;
        server_name api.{EDGE_DOMAIN};
        location / {{
            proxy_pass http://127.0.0.1:{};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Connection "";
            proxy_connect_timeout 5s;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
"#,
            p.api
        )
        .unwrap();
    }
    for r in routes.iter() {
        let Some(token) = &r.token else { continue };
        write!(
            conf,
            r#"    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {}-{}.{EDGE_DOMAIN};
        location / {{
            if ($http_e2b_traffic_access_token != "{token}") {{ return 403; }}
            proxy_pass http://127.0.0.1:{};{proxying}        }}
    }}
"#,
            r.sandbox_port, r.id, r.to_port
        )
        .unwrap();
    }
    conf.push_str("}\n");
    conf
}

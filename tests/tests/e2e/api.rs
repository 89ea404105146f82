//! The Novita API in the connection path, against the stand-in platform behind the nginx
//! edge: `ssh NAME.novita` finds the sandbox by name, resumes it, fetches a private
//! sandbox's token and keeps it alive while connected; every failure is one line with its
//! own exit code. Real ssh, scp and rsync throughout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use novita_ssh_e2e::platform::{ApiMode, State};
use novita_ssh_e2e::{
    bin_path, random_tree, require_tool, run, run_ok, sha256_file, tree_digest, write_random_file,
    Outcome, Site,
};

const LIMIT: Duration = Duration::from_secs(60);

/// The client side of a [`Site`]: ssh and novita-proxy with its home and the API key.
trait Client {
    fn ssh(&self, extra: &[&str]) -> Command;
    fn proxy(&self, key: Option<&str>, extra: &[&str], host: &str) -> Command;
}

impl Client for Site {
    /// `ssh` through the proxy with the platform's API key.
    fn ssh(&self, extra: &[&str]) -> Command {
        let mut cmd = self.sshd.ssh(&self.proxy_command(extra));
        self.client_env(&mut cmd, Some(&self.platform.api_key()));
        cmd
    }

    /// `novita-proxy <edge options> <extra> HOST` with stdin/stdout as the tunnel.
    fn proxy(&self, key: Option<&str>, extra: &[&str], host: &str) -> Command {
        let mut cmd = Command::new(bin_path("novita-proxy"));
        novita_ssh_e2e::clean_env(&mut cmd)
            .args(self.edge.proxy_args())
            .args(extra)
            .arg(host);
        self.client_env(&mut cmd, key);
        cmd
    }
}

fn echo(ssh: &mut Command, host: &str) -> Outcome {
    run(ssh.arg(host).arg("echo through-the-api"), None, LIMIT)
}

fn assert_echo(out: &Outcome) {
    assert_eq!(out.code(), 0, "ssh failed: {}", out.stderr);
    assert_eq!(out.stdout_text().trim(), "through-the-api");
}

/// The one stderr line of a failed proxy run, after checking the code and empty stdout.
fn one_line_failure(out: &Outcome, code: i32) -> String {
    assert_eq!(out.code(), code, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout must stay empty");
    out.stderr_line().to_owned()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn ssh_scp_and_rsync_reach_a_sandbox_by_name() {
    let site = Site::start();
    let id = site.platform.add(site.spec().name("myproj"));
    site.platform.add(site.spec().name("other"));

    assert_echo(&echo(&mut site.ssh(&[]), "myproj.novita"));
    let list = site
        .platform
        .requests()
        .into_iter()
        .find(|r| r.path == "/v2/sandboxes")
        .expect("a list request");
    assert!(
        list.query
            .contains(&("metadata".to_owned(), "name=myproj".to_owned())),
        "{list:?}"
    );
    assert_eq!(
        site.requests_to("POST", &format!("/sandboxes/{id}/connect")),
        1
    );

    // scp and rsync through the same name, with the ID now cached.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("payload.bin");
    let digest = write_random_file(&file, 3 << 20);
    let remote = site.sshd.dir().join("received.bin");
    let mut scp = Command::new(require_tool("scp"));
    novita_ssh_e2e::clean_env(&mut scp)
        .args(site.sshd.ssh_base_args(&site.proxy_command(&[])))
        .arg(&file)
        .arg(format!("myproj.novita:{}", remote.display()));
    site.client_env(&mut scp, Some(&site.platform.api_key()));
    run_ok(&mut scp, LIMIT);
    assert_eq!(sha256_file(&remote), digest);

    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let want = random_tree(&tree);
    let dest = site.sshd.dir().join("tree-copy");
    let mut rsync = Command::new(require_tool("rsync"));
    rsync
        .arg("-a")
        .arg("-e")
        .arg(site.sshd.ssh_command_line(&site.proxy_command(&[])))
        .arg(format!("{}/", tree.display()))
        .arg(format!("myproj.novita:{}/", dest.display()));
    site.client_env(&mut rsync, Some(&site.platform.api_key()));
    run_ok(&mut rsync, LIMIT);
    assert_eq!(tree_digest(&dest), want);
}

#[test]
fn ids_work_without_a_key_and_make_no_api_call() {
    let site = Site::start();
    let id = site.platform.add(site.spec());
    let mut ssh = site.sshd.ssh(&site.proxy_command(&[]));
    site.client_env(&mut ssh, None);
    assert_echo(&echo(&mut ssh, &format!("{id}.novita")));
    assert!(
        site.platform.requests().is_empty(),
        "{:?}",
        site.platform.requests()
    );
    // A name without a key: one line, exit 13, nothing opened or written.
    let out = run(
        &mut site.proxy(None, &[], "myproj.novita"),
        Some(b""),
        LIMIT,
    );
    assert!(one_line_failure(&out, 13).contains("novita-sshconfig login"));
    assert!(files_under(site.home.path()).is_empty());
}

#[test]
fn a_paused_sandbox_is_resumed_by_ssh_name() {
    let site = Site::start();
    site.platform.set_resume_delay(Duration::from_millis(700));
    let id = site
        .platform
        .add(site.spec().name("sleepy").state(State::Paused));
    // Without the API the edge says the sandbox is not running.
    let out = run(&mut site.proxy(None, &[], &id), Some(b""), LIMIT);
    assert_eq!(out.code(), 6, "{}", out.stderr);

    assert_echo(&echo(&mut site.ssh(&[]), "sleepy.novita"));
    assert_eq!(site.platform.state(&id), State::Running);
    let connect = site
        .platform
        .requests()
        .into_iter()
        .find(|r| r.path == format!("/sandboxes/{id}/connect"))
        .expect("a connect request");
    assert_eq!(connect.status, 201, "{connect:?}");
}

#[test]
fn a_paused_sandbox_by_id_is_resumed_through_409_at_the_edge() {
    let site = Site::start();
    site.platform.set_resume_delay(Duration::from_millis(1500));
    let id = site.platform.add(site.spec().state(State::Paused));
    let started = Instant::now();
    assert_echo(&echo(&mut site.ssh(&[]), &format!("{id}.novita")));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(site.platform.state(&id), State::Running);
}

#[test]
fn a_private_sandbox_is_reached_with_the_token_from_the_api() {
    let site = Site::start();
    let token = "tok-from-the-api-3c9e1f";
    let id = site.platform.add(site.spec().name("secret").private(token));
    // Without the API: 403, exit 7, and the message says which token is missing.
    let out = run(&mut site.proxy(None, &[], &id), Some(b""), LIMIT);
    let line = one_line_failure(&out, 7);
    assert!(line.contains("traffic access token"), "{line}");

    // By name and by ID, no token flag anywhere: the API's token is used.
    assert_echo(&echo(&mut site.ssh(&[]), "secret.novita"));
    assert_echo(&echo(&mut site.ssh(&[]), &format!("{id}.novita")));
    // The token is never printed, even at -vv.
    let out = run(
        &mut site.proxy(Some(&site.platform.api_key()), &["-vv"], "secret"),
        Some(b""),
        LIMIT,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(!out.stderr.contains(token), "{}", out.stderr);
    assert!(
        !out.stderr.contains(&site.platform.api_key()),
        "{}",
        out.stderr
    );
}

#[test]
fn the_time_to_live_is_extended_during_a_session_and_not_after() {
    let site = Site::start();
    // Killed 3 s after its last extension unless extended again.
    let id = site
        .platform
        .add(site.spec().name("short").timeout(Duration::from_secs(3)));
    let started = Instant::now();
    let out = run(
        site.ssh(&["--ttl", "3", "--keepalive", "1"])
            .arg("short.novita")
            .arg("sleep 8; echo survived"),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 0, "the session was cut: {}", out.stderr);
    assert_eq!(out.stdout_text().trim(), "survived");
    assert!(started.elapsed() >= Duration::from_secs(8));
    let bumps = site.requests_to("POST", &format!("/sandboxes/{id}/connect"));
    assert!(bumps >= 5, "only {bumps} extensions in 8 s");

    // After the session: no more extensions, and the sandbox ends on its own schedule.
    let end = site.platform.end_at(&id);
    assert!(end <= SystemTime::now() + Duration::from_secs(3));
    site.platform
        .wait_for_state(&id, State::Killed, Duration::from_secs(6));
    assert_eq!(
        site.requests_to("POST", &format!("/sandboxes/{id}/connect")),
        bumps,
        "extended after the session ended"
    );
}

#[test]
fn a_failed_extension_is_retried_and_never_ends_the_session() {
    let site = Site::start();
    let id = site
        .platform
        .add(site.spec().name("flaky").timeout(Duration::from_secs(30)));
    let mut session = novita_ssh_e2e::Session::spawn(
        site.ssh(&["--ttl", "30", "--keepalive", "1", "-v"])
            .arg("flaky.novita")
            .arg("sleep 5; echo still-here"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    site.platform.set_api_mode(ApiMode::Refuse);
    std::thread::sleep(Duration::from_millis(2500));
    site.platform.set_api_mode(ApiMode::Answer);
    let status = session.wait(LIMIT);
    assert!(status.success(), "{}", session.stderr_text());
    assert!(session.output_text().contains("still-here"));
    assert!(
        session.stderr_text().contains("extending sandbox")
            && session.stderr_text().contains("failed"),
        "{}",
        session.stderr_text()
    );
    assert_eq!(site.platform.state(&id), State::Running);
}

#[test]
fn the_maximum_sandbox_length_is_announced_once_on_stderr() {
    let site = Site::start();
    site.platform.set_max_length_hours(1);
    let id = site.platform.add(site.spec().name("old"));
    // Started 55 minutes ago: the account's 1 h limit ends it in 5 minutes.
    site.platform.update(&id, |s| {
        s.started_at = SystemTime::now() - Duration::from_secs(55 * 60);
    });
    let out = run(
        site.ssh(&[]).arg("old.novita").arg("sleep 2; echo done"),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("maximum sandbox length"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].starts_with("novita-proxy: warning: sandbox "),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("(1 h)") && warnings[0].contains("in 4 min"),
        "{}",
        warnings[0]
    );
    // Turned off, nothing is said.
    let out = run(
        site.ssh(&["--no-quota-warning"])
            .arg("old.novita")
            .arg("true"),
        None,
        LIMIT,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert!(
        !out.stderr.contains("maximum sandbox length"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_sandboxes_with_one_name_are_refused_without_connecting() {
    let site = Site::start();
    let a = site.platform.add(site.spec().name("twin"));
    let b = site.platform.add(site.spec().name("twin"));
    let key = site.platform.api_key();
    let out = run(
        &mut site.proxy(Some(&key), &[], "twin.novita"),
        Some(b""),
        LIMIT,
    );
    let line = one_line_failure(&out, 11);
    assert!(line.contains(&a) && line.contains(&b), "{line}");
    assert_eq!(
        site.requests_to("POST", "/sandboxes/"),
        0,
        "connected anyway"
    );
    assert!(
        !site.edge.access_log().contains("8081-"),
        "a WebSocket was opened: {}",
        site.edge.access_log()
    );
}

#[test]
fn api_failures_are_one_line_each_with_its_own_exit_code_and_nothing_written() {
    let site = Site::start();
    let killed = site.platform.add(site.spec().name("gone"));
    site.platform.kill(&killed);
    let key = site.platform.api_key();
    let check = |out: &Outcome, code: i32, needle: &str| {
        let line = one_line_failure(out, code);
        assert!(line.contains(needle), "{needle:?} not in {line}");
        assert!(
            !out.stderr.contains(&key),
            "the key was printed: {}",
            out.stderr
        );
        assert!(
            files_under(site.home.path()).is_empty(),
            "written: {:?}",
            files_under(site.home.path())
        );
    };

    // No sandbox has the name.
    let out = run(
        &mut site.proxy(Some(&key), &[], "nosuch.novita"),
        Some(b""),
        LIMIT,
    );
    check(&out, 10, "novita-sshconfig create nosuch");
    // The API no longer knows the ID.
    let out = run(&mut site.proxy(Some(&key), &[], &killed), Some(b""), LIMIT);
    check(&out, 12, "no longer exists");
    // A wrong key.
    let out = run(
        &mut site.proxy(Some("wrong-key"), &[], "gone.novita"),
        Some(b""),
        LIMIT,
    );
    check(&out, 13, "refused the API key");
    // An API that does not answer.
    site.platform.set_api_mode(ApiMode::Silent);
    let out = run(
        &mut site.proxy(Some(&key), &["--connect-timeout", "2"], "gone.novita"),
        Some(b""),
        LIMIT,
    );
    check(&out, 14, "did not answer");
    site.platform.set_api_mode(ApiMode::Answer);
    // A key file others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("api_key");
        std::fs::write(&file, format!("{key}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut cmd = site.proxy(None, &[], "gone.novita");
        cmd.env("NOVITA_API_KEY_FILE", &file);
        let out = run(&mut cmd, Some(b""), LIMIT);
        check(&out, 15, "chmod 600");
    }
    // The WebSocket attempt that ran beside the API call for the killed ID was dropped
    // when the API answered 404: no WebSocket ever opened.
    assert!(
        !site
            .edge
            .access_log()
            .lines()
            .any(|l| l.contains("\"8081-") && l.contains("\" 101 ")),
        "a WebSocket was opened: {}",
        site.edge.access_log()
    );
}

#[test]
fn a_recreated_sandbox_is_found_again_by_its_name() {
    let site = Site::start();
    let first = site.platform.add(site.spec().name("phoenix"));
    assert_echo(&echo(&mut site.ssh(&[]), "phoenix.novita"));
    site.platform.kill(&first);
    let second = site.platform.add(site.spec().name("phoenix"));
    site.platform.clear_requests();
    // The cached ID is stale: the API's answer wins and the new sandbox is reached.
    assert_echo(&echo(&mut site.ssh(&[]), "phoenix.novita"));
    assert_eq!(
        site.requests_to("POST", &format!("/sandboxes/{second}/connect")),
        1
    );
}

//! The API settings (`--ttl`, `--keepalive`, `--api`, `--name-key`, `--api-url`), globally
//! and per host: what ssh really hands novita-proxy, and refusals that write nothing.

use super::support::{Env, ID};

#[test]
fn global_api_settings_reach_the_proxy_command() {
    let env = Env::new();
    env.init(&[
        "--ttl",
        "900",
        "--keepalive",
        "300",
        "--name-key",
        "project",
        "--api-url",
        "http://127.0.0.1:9/",
    ]);
    let host = format!("{ID}.novita");
    assert_eq!(
        env.proxy_args_seen_by_ssh(&host),
        [
            "--domain",
            "us-phx-1.sandbox.novita.ai",
            "--api-url",
            "http://127.0.0.1:9",
            "--name-key",
            "project",
            "--ttl",
            "900",
            "--keepalive",
            "300",
            &host
        ]
    );
    // A name reaches the proxy as typed: the proxy looks it up.
    assert!(env
        .g("myproj.novita", "proxycommand")
        .ends_with("--ttl 900 --keepalive 300 %h"));

    // Changing one setting keeps the others.
    env.ok(&["config", "install", "--ttl", "1800"]);
    assert!(env
        .g(&host, "proxycommand")
        .ends_with("--name-key project --ttl 1800 --keepalive 300 %h"));
}

#[test]
fn per_host_settings_override_the_global_ones() {
    let env = Env::new();
    env.init(&["--ttl", "1200"]);
    env.ok(&["add", "old", ID, "--api", "off"]);
    env.ok(&["add", "quiet", ID, "--quota-warning", "off"]);
    assert!(env
        .g("quiet.novita", "proxycommand")
        .ends_with("--ttl 1200 --no-quota-warning %h"));
    env.ok(&["add", "long", "ilong0000000000000000", "--keepalive", "0"]);
    assert_eq!(
        env.proxy_args_seen_by_ssh("old.novita"),
        ["--domain", "us-phx-1.sandbox.novita.ai", "--no-api", ID]
    );
    assert_eq!(
        env.proxy_args_seen_by_ssh("long.novita"),
        [
            "--domain",
            "us-phx-1.sandbox.novita.ai",
            "--ttl",
            "1200",
            "--keepalive",
            "0",
            "ilong0000000000000000"
        ]
    );
    // The wildcard block keeps the global settings only.
    assert!(env
        .g(&format!("{ID}.novita"), "proxycommand")
        .ends_with("--domain us-phx-1.sandbox.novita.ai --ttl 1200 %h"));
    // Turning the API off globally, then back on for one host.
    env.ok(&["config", "install", "--api", "off"]);
    assert!(env
        .g(&format!("{ID}.novita"), "proxycommand")
        .ends_with("--no-api %h"));
    env.ok(&["add", "on", ID, "--api", "on"]);
    assert!(env
        .g("on.novita", "proxycommand")
        .ends_with("--ttl 1200 %h"));
}

#[test]
fn bad_settings_are_refused_on_one_line_and_nothing_is_written() {
    for installed in [false, true] {
        let env = Env::new();
        if installed {
            env.init(&["--ttl", "300"]);
        }
        let before = env.snapshot();
        for bad in [
            &["--ttl", "0"][..],
            &["--ttl", "2592001"],
            &["--ttl", "ten"],
            &["--keepalive", "-1"],
            &["--ttl", "100", "--keepalive", "100"],
            &["--name-key", "a b"],
            &["--name-key", "a=b"],
            &["--api-url", "ftp://x"],
            &["--api-url", "https://x/?k=1"],
            &["--api-url", "https://user:pw@x"],
            &["--api", "maybe"],
            &["--quota-warning", "no"],
        ] {
            for command in [&["config", "install"][..], &["add", "web", ID]] {
                let mut args = command.to_vec();
                args.extend_from_slice(bad);
                env.fails(&args, 2);
            }
        }
        // Against the stored time to live (300 s when installed, else the default 600 s).
        env.fails(&["add", "web", ID, "--keepalive", "600"], 2);
        env.fails(&["config", "install", "--keepalive", "600"], 2);
        assert_eq!(before, env.snapshot(), "a refused command wrote something");
    }
}

//! `list`, `create`, `pause`, `resume`, `delete` against a stand-in API: names resolved,
//! refusals with their own exit codes, and `list` as before without a key.

use super::support::{ApiStub, Env, ID};

const KEY: &str = "sk_test_sandboxes";

const SANDBOXES: &str = r#"[
  {"sandboxID":"iweb0000000000000000a","clientID":"c","templateID":"tpl1","alias":"novita-ssh",
   "startedAt":"2026-01-01T00:00:00Z","endAt":"2099-01-01T00:10:00Z","state":"running",
   "cpuCount":2,"memoryMB":512,"diskSizeMB":1024,"envdVersion":"0.2","metadata":{"name":"web"}},
  {"sandboxID":"idup0000000000000000a","clientID":"c","templateID":"tpl1",
   "startedAt":"2026-01-01T00:00:00Z","endAt":"2099-01-01T00:10:00Z","state":"paused",
   "cpuCount":2,"memoryMB":512,"diskSizeMB":1024,"envdVersion":"0.2","metadata":{"name":"dup"}},
  {"sandboxID":"idup0000000000000000b","clientID":"c","templateID":"tpl1",
   "startedAt":"2026-01-01T00:00:00Z","endAt":"2099-01-01T00:10:00Z","state":"running",
   "cpuCount":2,"memoryMB":512,"diskSizeMB":1024,"envdVersion":"0.2","metadata":{"name":"dup","team":"x"}}
]"#;

fn logged_in(env: &Env, api: &ApiStub) {
    env.init(&["--api-url", &api.url]);
    let out = env.run_with(&["login"], KEY, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.ok(&["add", "alias1", "iweb0000000000000000a"]);
}

#[test]
fn list_shows_sandboxes_with_names_and_the_named_hosts() {
    let env = Env::new();
    env.init(&[]);
    env.ok(&["add", "web", ID]);
    let without_key = env.ok(&["list"]);
    assert!(without_key.starts_with("HOST"), "{without_key}");
    env.fails(&["list", "--json"], 13);

    let env = Env::new();
    let api = ApiStub::start(KEY, SANDBOXES);
    logged_in(&env, &api);
    let out = env.ok(&["list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].ends_with("ENDS"),
        "{out}"
    );
    assert!(
        lines[1].contains("idup0000000000000000a") && lines[1].contains("paused"),
        "{out}"
    );
    assert!(
        lines[3].contains("web")
            && lines[3].contains("novita-ssh")
            && lines[3].contains("UTC (in "),
        "{out}"
    );
    assert!(
        out.contains("alias1.novita"),
        "the named hosts follow: {out}"
    );

    let json: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let web = &json.as_array().unwrap()[2];
    assert_eq!(web["id"], "iweb0000000000000000a");
    assert_eq!(web["name"], "web");
    assert_eq!(web["state"], "running");
    assert_eq!(web["ends_at"], "2099-01-01T00:10:00Z");
    assert_eq!(web["hosts"][0], "alias1.novita");
}

#[test]
fn names_resolve_to_one_sandbox_or_fail_with_their_own_codes() {
    let env = Env::new();
    let api = ApiStub::start(KEY, SANDBOXES);
    logged_in(&env, &api);
    let err = env.fails(&["pause", "nosuch"], 10);
    assert!(err.contains("novita-sshconfig create nosuch"), "{err}");
    let err = env.fails(&["delete", "dup.novita"], 11);
    assert!(
        err.contains("idup0000000000000000a") && err.contains("idup0000000000000000b"),
        "{err}"
    );
    let err = env.fails(&["create", "web"], 6);
    assert!(err.contains("iweb0000000000000000a"), "{err}");
    // The stand-in knows no sandbox by ID: 404.
    env.fails(&["kill", "iweb0000000000000000a"], 12);
    env.fails(&["resume", "alias1"], 12);
    for bad in [
        vec!["create", "Bad Name"],
        vec!["create", "ok", "--metadata", "name=x"],
        vec!["create", "ok", "--metadata", "novalue"],
        vec!["create", "ok", "--template", "a b"],
        vec!["pause", "a;b"],
    ] {
        env.fails(&bad, 2);
    }
    // A key the API refuses, and no key at all.
    env.run_with(&["--yes", "login", "--no-verify"], "sk_wrong", &[]);
    let err = env.fails(&["list"], 13);
    assert!(err.contains("novita-sshconfig login"), "{err}");
    env.ok(&["logout"]);
    env.fails(&["pause", "web"], 13);
    assert!(api.requests().iter().all(|(line, _)| !line.contains(KEY)));
}

//! `add`, `remove`, `list`, and hostile values.

use std::fs;
use std::process::Stdio;

use super::support::{Env, ID};

#[test]
fn a_named_host_reaches_its_sandbox() {
    let env = Env::new();
    env.init(&[]);
    let out = env.ok(&["add", "web", &format!("{ID}.novita"), "--user", "ubuntu"]);
    assert!(out.contains("ssh web.novita"), "{out}");
    assert_eq!(env.g("web.novita", "hostname"), ID);
    assert_eq!(env.g("web.novita", "user"), "ubuntu");
    assert_eq!(
        env.proxy_args_seen_by_ssh("web.novita"),
        ["--domain", "us-phx-1.sandbox.novita.ai", ID]
    );
    env.ok(&["add", "lab", "iother1", "--domain", "sandbox.novita.ai"]);
    assert_eq!(
        env.proxy_args_seen_by_ssh("lab.novita"),
        ["--domain", "sandbox.novita.ai", "iother1"]
    );
    let list = env.ok(&["list"]);
    assert!(
        list.contains("web.novita") && list.contains("lab.novita"),
        "{list}"
    );
    let again = env.ok(&["add", "web", ID, "--user", "ubuntu"]);
    assert!(again.contains("Nothing to change"), "{again}");

    env.ok(&["remove", "web"]);
    assert!(!env.ok(&["list"]).contains("web.novita"));
    assert_eq!(env.g("web.novita", "hostname"), "web.novita");
    env.fails(&["remove", "web"], 2);
}

#[test]
fn concurrent_adds_all_land() {
    let env = Env::new();
    env.init(&[]);
    let children: Vec<_> = (0..8)
        .map(|n| {
            env.command(&["add", &format!("host{n}"), &format!("isandbox{n}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = env.ok(&["list"]);
    for n in 0..8 {
        assert!(
            list.contains(&format!("host{n}.novita")),
            "host{n} lost:\n{list}"
        );
        assert_eq!(
            env.g(&format!("host{n}.novita"), "hostname"),
            format!("isandbox{n}")
        );
    }
}

#[test]
fn hostile_values_are_refused_and_nothing_is_written() {
    let bad_names = [
        "a b",
        "a\tb",
        "x;rm -rf ~",
        "-oProxyCommand=sh",
        "a%h",
        "a\"b",
        "a'b",
        "a\nb",
        "",
        "../x",
        "a*",
    ];
    for installed in [false, true] {
        let env = Env::new();
        if installed {
            env.init(&[]);
        }
        let before = env.snapshot();
        for bad in bad_names {
            env.fails(&["add", bad, ID], 2);
            env.fails(&["add", "ok", bad], 2);
            env.fails(&["add", "ok", ID, "--user", bad], 2);
        }
        for args in [
            vec!["add", "ok", ID, "--domain", "evil.com/x"],
            vec!["add", "ok", ID, "--url", "ws://h/ x"],
            vec!["add", "ok", ID, "--url", "http://h/"],
            vec!["add", "ok", ID, "--proxy", "socks5://h:1"],
            vec!["add", "ok", ID, "--traffic-token", "a b"],
            vec!["add", "ok", ID, "--connect-to", "h;x:1"],
            vec!["init", "--user", "x;y"],
            vec!["init", "--domain", "-x.com"],
            vec!["config", "install", "--url", "ws://a\nb/"],
            vec!["template", "--user", "root"],
            vec!["template", "--bridge", "novita-proxy"],
            vec![
                "template",
                "--bridge",
                "novita-proxy",
                "--bridge-url",
                "ftp://x/y",
            ],
            vec!["doctor", "a;b"],
        ] {
            let err = env.fails(&args, 2);
            assert!(!err.trim().is_empty(), "{args:?}");
        }
        assert_eq!(before, env.snapshot(), "a refused command wrote something");
    }
}

#[test]
fn a_hand_edited_settings_file_cannot_inject_config() {
    let env = Env::new();
    env.init(&[]);
    let settings = env.kit("settings.json");
    let text = fs::read_to_string(&settings).unwrap();
    let evil = text.replace(
        "\"hosts\": []",
        "\"hosts\": [{\"alias\": \"x\\nProxyCommand sh -c evil\", \"id\": \"iabc\"}]",
    );
    assert_ne!(text, evil);
    fs::write(&settings, &evil).unwrap();
    let before = env.snapshot();
    let err = env.fails(&["add", "ok", ID], 2);
    assert!(err.contains("settings.json"), "{err}");
    assert_eq!(before, env.snapshot());
}

//! `doctor` without a sandbox: every check, and `ssh -G` catching an earlier setting.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::support::{Env, ID};

#[test]
fn doctor_passes_after_init_and_names_each_check() {
    let env = Env::new();
    env.init(&[]);
    env.ok(&["add", "web", ID, "--user", "ubuntu"]);
    for host in [None, Some("web"), Some("web.novita"), Some(ID)] {
        let mut args = vec!["doctor"];
        args.extend(host);
        let out = env.ok(&args);
        for name in [
            "OpenSSH client",
            "novita-proxy",
            "key",
            "Include",
            "ssh -G user",
            "ssh -G proxycommand",
        ] {
            assert!(
                out.contains(&format!("ok    {name}")),
                "{host:?}: {name} missing in\n{out}"
            );
        }
        assert!(out.contains("All checks passed."), "{out}");
    }
    let out = env.ok(&["doctor", "web"]);
    assert!(out.contains("uses ubuntu"), "{out}");
}

#[test]
fn doctor_catches_an_earlier_setting_that_overrides_the_kit() {
    let env = Env::new();
    env.init(&[]);
    let text = fs::read_to_string(env.ssh_config()).unwrap();
    env.write_ssh_config(&format!("User alice\nIdentityFile ~/.ssh/id_alice\n{text}"));
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("FAIL  ssh -G user"), "{stdout}");
    assert!(
        stdout.contains("\"alice\", not the kit's \"user\""),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL  ssh -G identityfile"), "{stdout}");
    assert!(stdout.contains("fix: "), "{stdout}");
}

#[test]
fn doctor_reports_a_missing_proxy_a_loose_key_and_a_missing_include() {
    let env = Env::new();
    env.init(&[]);
    fs::set_permissions(env.kit("id_ed25519"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::remove_file(&env.proxy).unwrap();
    env.write_ssh_config("Host other\n  User x\n");
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(
        stdout.contains("FAIL  key: ") && stdout.contains("chmod 600"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL  novita-proxy: "), "{stdout}");
    assert!(
        stdout.contains("FAIL  Include: ") && stdout.contains("no novita-ssh section"),
        "{stdout}"
    );
    env.fails(&["doctor", "--connect"], 2);
}

#[test]
fn doctor_checks_the_api_key_file_and_that_the_api_accepts_the_key() {
    let env = Env::new();
    let api = super::support::ApiStub::start("sk_doctor", "[]");
    env.init(&["--api-url", &api.url]);
    let out = env.ok(&["doctor"]);
    assert!(out.contains("warn  API key: none"), "{out}");
    assert!(out.contains("novita-sshconfig login"), "{out}");

    let login = env.run_with(&["login"], "sk_doctor", &[]);
    assert!(login.status.success());
    let out = env.ok(&["doctor"]);
    assert!(
        out.contains("ok    API key: ") && out.contains("(mode 0600)"),
        "{out}"
    );
    assert!(
        out.contains("ok    Novita API: ") && out.contains("accepted the key"),
        "{out}"
    );

    fs::set_permissions(env.kit("api_key"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(
        stdout.contains("FAIL  API key: ") && stdout.contains("chmod 600"),
        "{stdout}"
    );

    fs::set_permissions(env.kit("api_key"), fs::Permissions::from_mode(0o600)).unwrap();
    env.run_with(&["--yes", "login", "--no-verify"], "sk_wrong", &[]);
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(
        stdout.contains("FAIL  Novita API: ") && stdout.contains("refused"),
        "{stdout}"
    );
    assert!(!stdout.contains("sk_wrong"), "{stdout}");
}

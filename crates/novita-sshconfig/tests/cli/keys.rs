//! `keygen` and the key part of `init`, checked with the real ssh-keygen.

use std::fs;
use std::process::Command;

use super::support::{mode, require, Env};

fn key_fields(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn init_makes_a_private_ed25519_key_with_a_comment() {
    let env = Env::new();
    env.init(&[]);
    let key = env.kit("id_ed25519");
    let public = fs::read_to_string(env.kit("id_ed25519.pub")).unwrap();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(public
        .trim_end()
        .split(' ')
        .nth(2)
        .unwrap()
        .starts_with("novita-ssh@"));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&env.kit("id_ed25519.pub")), 0o644);
    assert_eq!(mode(&env.home.join(".ssh/novita")), 0o700);
    require("ssh-keygen");
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        key_fields(&String::from_utf8_lossy(&out.stdout)),
        key_fields(&public)
    );
}

#[test]
fn an_existing_key_is_never_overwritten() {
    let env = Env::new();
    env.init(&[]);
    let key = env.kit("id_ed25519");
    let before = (
        fs::read(&key).unwrap(),
        fs::read(env.kit("id_ed25519.pub")).unwrap(),
    );
    let err = env.fails(&["keygen"], 6);
    assert!(err.contains("never overwritten"), "{err}");
    env.init(&[]);
    assert_eq!(before.0, fs::read(&key).unwrap());

    let out = env.ok(&["keygen", "--force"]);
    assert!(out.contains("Moved the old key"), "{out}");
    let moved: Vec<_> = fs::read_dir(env.home.join(".ssh/novita"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".old"))
        .collect();
    assert_eq!(moved.len(), 2, "{moved:?}");
    let old = env
        .home
        .join(".ssh/novita")
        .join(moved.iter().find(|n| !n.contains(".pub")).unwrap());
    assert_eq!(
        fs::read(old).unwrap(),
        before.0,
        "the old key is kept aside"
    );
    assert_ne!(fs::read(&key).unwrap(), before.0);
}

#[test]
fn an_encrypted_key_loads_with_ssh_keygen() {
    require("ssh-keygen");
    let env = Env::new();
    let pass = env.root.join("pass");
    fs::write(&pass, "correct horse battery\n").unwrap();
    env.ok(&["keygen", "--passphrase-file", pass.to_str().unwrap()]);
    let key = env.kit("id_ed25519");
    let public = fs::read_to_string(env.kit("id_ed25519.pub")).unwrap();
    assert!(
        public.contains(" novita-ssh@"),
        "the .pub keeps its comment: {public}"
    );
    let load = |p: &str| {
        Command::new("ssh-keygen")
            .args(["-y", "-P", p, "-f"])
            .arg(&key)
            .output()
            .unwrap()
    };
    let out = load("correct horse battery");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        key_fields(&String::from_utf8_lossy(&out.stdout)),
        key_fields(&public)
    );
    assert!(
        !load("wrong").status.success(),
        "a wrong passphrase must fail"
    );
    assert!(!load("").status.success(), "the key is encrypted");
}

#[test]
fn an_existing_key_pair_can_be_used_instead() {
    require("ssh-keygen");
    let env = Env::new();
    let mine = env.root.join("my key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f"])
        .arg(&mine)
        .status()
        .unwrap();
    assert!(status.success());
    env.init(&["--key", mine.to_str().unwrap()]);
    assert!(
        !env.kit("id_ed25519").exists(),
        "no key is made when --key is given"
    );
    assert_eq!(
        env.g("iabc.novita", "identityfile"),
        mine.display().to_string()
    );
    let out = env.ok(&["template", "--out", "tpl"]);
    assert!(out.contains("template.ts"), "{out}");
    let template = fs::read_to_string(env.work.join("tpl/template.ts")).unwrap();
    assert!(
        template.contains(" me@laptop"),
        "the template authorizes --key's public key"
    );

    let broken = env.root.join("broken");
    fs::write(&broken, "-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n").unwrap();
    env.fails(&["keygen", "--key", broken.to_str().unwrap()], 2);
    env.fails(&["keygen", "--key", "/nonexistent/key"], 2);
}

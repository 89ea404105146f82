//! `login` and `logout`: the API key in a 0600 file, from stdin (never argv), checked with
//! the API first, and never shown.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::Output;

use super::support::{mode, ApiStub, Env, ID};

const KEY: &str = "sk_test_0123456789abcdef";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts the exit code and one error line; returns both streams.
fn refused(out: &Output, code: i32) -> String {
    let all = text(out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    assert_eq!(
        all.lines().filter(|l| l.contains("error")).count(),
        1,
        "{all}"
    );
    all
}

#[test]
fn login_stores_the_key_from_stdin_in_a_private_file_after_the_api_accepts_it() {
    let env = Env::new();
    let api = ApiStub::start(KEY, "[]");
    let out = env.run_with(
        &["-v", "login"],
        &format!("{KEY}\n"),
        &[("NOVITA_API_URL", &api.url)],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(KEY), "the key was shown: {all}");
    assert!(all.contains("accepted"), "{all}");
    let file = env.kit("api_key");
    assert_eq!(fs::read_to_string(&file).unwrap(), format!("{KEY}\n"));
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&env.home.join(".ssh/novita")), 0o700);
    assert_eq!(
        api.requests(),
        [("GET /sandboxes/quota HTTP/1.1".to_owned(), true)]
    );

    // The same key again: nothing to change. Another one: only with --yes.
    let out = env.run_with(&["login", "--no-verify"], KEY, &[]);
    assert!(text(&out).contains("Nothing to change"), "{}", text(&out));
    let before = env.snapshot();
    let out = env.run_with(&["login", "--no-verify"], "sk_other", &[]);
    let all = refused(&out, 6);
    assert!(all.contains("--yes"), "{all}");
    assert_eq!(before, env.snapshot());
    let out = env.run_with(&["--yes", "login", "--no-verify"], "sk_other", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read_to_string(&file).unwrap(), "sk_other\n");

    let out = env.ok(&["logout"]);
    assert!(out.contains("Removed"), "{out}");
    assert!(!file.exists());
    assert!(env.ok(&["logout"]).contains("Not logged in"));
}

#[test]
fn bad_keys_refused_keys_and_keys_on_the_command_line_write_nothing() {
    let env = Env::new();
    let api = ApiStub::start(KEY, "[]");
    let vars = [("NOVITA_API_URL", api.url.as_str())];
    let before = env.snapshot();
    for input in ["", "\n", "two words", "ключ", &"k".repeat(600)] {
        refused(&env.run_with(&["login", "--no-verify"], input, &vars), 2);
    }
    let all = refused(&env.run_with(&["login", KEY], "", &vars), 2);
    assert!(!all.contains(KEY), "the key on argv was echoed: {all}");
    let all = refused(&env.run_with(&["login"], "sk_wrong_key", &vars), 13);
    assert!(
        all.contains("refused") && !all.contains("sk_wrong_key"),
        "{all}"
    );
    // An API that does not answer.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let all = refused(
        &env.run_with(&["login"], KEY, &[("NOVITA_API_URL", dead.as_str())]),
        14,
    );
    assert!(all.contains("--no-verify") && !all.contains(KEY), "{all}");
    assert_eq!(before, env.snapshot(), "a refused login wrote something");
}

#[test]
fn a_readable_key_file_is_made_private_and_a_link_is_written_through() {
    let env = Env::new();
    let dotfiles = env.root.join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    fs::create_dir_all(env.home.join(".ssh/novita")).unwrap();
    let real = dotfiles.join("novita_key");
    fs::write(&real, format!("{KEY}\n")).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
    symlink(&real, env.kit("api_key")).unwrap();
    let out = env.run_with(&["login", "--no-verify"], KEY, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(fs::symlink_metadata(env.kit("api_key"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(mode(&real), 0o600, "the key file was left readable");
    assert_eq!(fs::read_to_string(&real).unwrap(), format!("{KEY}\n"));
}

#[test]
fn the_proxy_command_names_the_key_file_when_ssh_looks_elsewhere_for_home() {
    // The tests' HOME is not the password database's home, where ssh's ~ points: the
    // ProxyCommand then names the key file, so a novita-proxy started with another HOME
    // (VS Code from the desktop) still finds it.
    let env = Env::new();
    env.init(&[]);
    let host = format!("{ID}.novita");
    let plain = env.proxy_args_seen_by_ssh(&host);
    assert!(!plain.contains(&"--api-key-file".to_owned()), "{plain:?}");
    let out = env.run_with(&["login", "--no-verify"], KEY, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let args = env.proxy_args_seen_by_ssh(&host);
    let file = env.kit("api_key").display().to_string();
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--api-key-file" && w[1] == file),
        "{args:?}"
    );
    assert!(!fs::read_to_string(env.kit("config")).unwrap().contains(KEY));
    env.ok(&["logout"]);
    assert_eq!(env.proxy_args_seen_by_ssh(&host), plain);
}

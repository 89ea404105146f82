//! `init`, `config install|uninstall|show`: what ssh really uses, and every byte of the
//! user's config.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use super::support::{mode, Env, ID};

const USER_CONFIG: &str = "# my settings\n\
Host *\n\
  User alice\n\
  IdentityFile ~/.ssh/id_alice\n\
  ProxyCommand nc -X connect -x corp:3128 %h %p\n\
\n\
Host gh\n\
  HostName github.com\n\
  User git\n\
Match host build*\n\
  Port 2222\n";

#[test]
fn init_makes_ssh_use_the_kits_settings_for_sandboxes() {
    let env = Env::new();
    env.init(&[]);
    let host = format!("{ID}.novita");
    assert_eq!(
        env.g(&host, "proxycommand"),
        format!(
            "'{}' --domain us-phx-1.sandbox.novita.ai %h",
            env.proxy.display()
        )
    );
    assert_eq!(env.g(&host, "user"), "user");
    assert_eq!(
        env.g(&host, "identityfile"),
        env.kit("id_ed25519").display().to_string()
    );
    assert_eq!(
        env.g(&host, "userknownhostsfile"),
        env.kit("known_hosts").display().to_string()
    );
    assert_eq!(env.g(&host, "stricthostkeychecking"), "accept-new");
    assert_eq!(env.g(&host, "serveraliveinterval"), "30");
    assert_eq!(env.g(&host, "identitiesonly"), "yes");
    // ssh runs the ProxyCommand through the shell: the quoted path and the host arrive intact.
    assert_eq!(
        env.proxy_args_seen_by_ssh(&host),
        ["--domain", "us-phx-1.sandbox.novita.ai", &host]
    );
    assert_eq!(mode(&env.ssh_config()), 0o600);
    assert_eq!(mode(&env.kit("config")), 0o600);
}

#[test]
fn a_users_host_star_and_other_hosts_are_left_alone_and_the_kit_still_wins() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    let hosts = ["gh", "example.org", "build7"];
    let before: Vec<_> = hosts.iter().map(|h| env.ssh_g(h)).collect();
    let host = format!("{ID}.novita");
    assert_eq!(
        env.g(&host, "user"),
        "alice",
        "the user's Host * applies before init"
    );

    env.init(&[]);
    let after: Vec<_> = hosts.iter().map(|h| env.ssh_g(h)).collect();
    assert_eq!(before, after, "other hosts resolve exactly as before");

    let text = fs::read_to_string(env.ssh_config()).unwrap();
    assert!(
        text.ends_with(USER_CONFIG),
        "bytes outside the markers changed:\n{text}"
    );
    assert!(text.starts_with("# >>> novita-ssh >>>"));
    assert_eq!(env.g(&host, "user"), "user");
    assert!(env
        .g(&host, "proxycommand")
        .contains("--domain us-phx-1.sandbox.novita.ai %h"));
    assert_eq!(
        env.g(&host, "identityfile"),
        env.kit("id_ed25519").display().to_string()
    );
    assert_eq!(
        fs::read_to_string(env.home.join(".ssh/config.novita-ssh.bak")).unwrap(),
        USER_CONFIG,
        "the previous version is kept beside it"
    );
}

#[test]
fn a_second_init_changes_nothing_and_says_so() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    env.init(&[]);
    env.ok(&["add", "web", ID]);
    let before = env.snapshot();
    let out = env.init(&[]);
    assert!(out.contains("Nothing to change"), "{out}");
    assert_eq!(before, env.snapshot());
    let out = env.ok(&["config", "install"]);
    assert!(out.contains("Nothing to change"), "{out}");
    assert_eq!(before, env.snapshot());
}

#[test]
fn dry_runs_show_diffs_and_change_nothing() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    let before = env.snapshot();
    let proxy = env.proxy.to_string_lossy().into_owned();
    let out = env.ok(&["init", "--dry-run", "--proxy-command-path", &proxy]);
    assert!(out.contains("+Include "), "{out}");
    assert!(out.contains("+Host *.novita"), "{out}");
    assert!(
        out.contains("+export const template"),
        "the template files are in the diff: {out}"
    );
    assert!(out.contains("Would create the key"), "{out}");
    assert_eq!(before, env.snapshot(), "init --dry-run wrote something");

    env.init(&[]);
    let before = env.snapshot();
    for args in [
        vec![
            "config",
            "install",
            "--dry-run",
            "--domain",
            "sandbox.novita.ai",
        ],
        vec!["add", "--dry-run", "web", ID],
        vec!["config", "uninstall", "--dry-run", "--purge-keys"],
    ] {
        let out = env.ok(&args);
        assert!(
            out.contains("---") && out.contains("+++"),
            "{args:?}: {out}"
        );
        assert_eq!(before, env.snapshot(), "{args:?} wrote something");
    }
    let out = env.ok(&["config", "show", "--dry-run"]);
    assert!(out.contains("novita-ssh section at lines 1-3"), "{out}");
    assert_eq!(before, env.snapshot());
}

#[test]
fn uninstall_gives_back_the_original_bytes() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    env.init(&[]);
    env.ok(&["add", "web", ID]);
    let out = env.ok(&["config", "uninstall"]);
    assert!(out.contains("Kept the key"), "{out}");
    assert_eq!(fs::read_to_string(env.ssh_config()).unwrap(), USER_CONFIG);
    assert!(!env.kit("config").exists());
    assert!(!env.kit("settings.json").exists());
    assert!(
        env.kit("id_ed25519").exists(),
        "keys stay without --purge-keys"
    );
    let out = env.ok(&["config", "uninstall"]);
    assert!(out.contains("Nothing to remove"), "{out}");

    env.init(&[]);
    env.ok(&["config", "uninstall", "--purge-keys"]);
    assert_eq!(fs::read_to_string(env.ssh_config()).unwrap(), USER_CONFIG);
    assert!(
        !env.home.join(".ssh/novita").exists(),
        "--purge-keys removes the kit's folder"
    );
}

#[test]
fn uninstall_removes_a_config_the_kit_created() {
    let env = Env::new();
    env.init(&[]);
    assert!(env.ssh_config().exists());
    env.ok(&["config", "uninstall"]);
    assert!(!env.ssh_config().exists(), "the kit created it, so it goes");
}

#[test]
fn a_symlinked_config_stays_a_link_and_its_target_is_written() {
    let env = Env::new();
    let dotfiles = env.root.join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    fs::write(dotfiles.join("ssh_config"), USER_CONFIG).unwrap();
    fs::create_dir_all(env.home.join(".ssh")).unwrap();
    symlink("../../dotfiles/ssh_config", env.ssh_config()).unwrap();
    env.init(&[]);
    let meta = fs::symlink_metadata(env.ssh_config()).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let text = fs::read_to_string(dotfiles.join("ssh_config")).unwrap();
    assert!(text.starts_with("# >>> novita-ssh") && text.ends_with(USER_CONFIG));
    assert_eq!(env.g(&format!("{ID}.novita"), "user"), "user");
    env.ok(&["config", "uninstall"]);
    assert!(fs::symlink_metadata(env.ssh_config())
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_to_string(dotfiles.join("ssh_config")).unwrap(),
        USER_CONFIG
    );
}

#[test]
fn a_read_only_config_is_untouched_and_the_lines_are_printed() {
    // home-manager: ~/.ssh/config is a link to a 0444 file in a read-only store folder.
    let env = Env::new();
    let store = env.root.join("nix-store/abc-home-manager-files");
    fs::create_dir_all(&store).unwrap();
    let file = store.join("ssh_config");
    fs::write(&file, USER_CONFIG).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(&store, fs::Permissions::from_mode(0o555)).unwrap();
    fs::create_dir_all(env.home.join(".ssh")).unwrap();
    symlink(&file, env.ssh_config()).unwrap();

    let proxy = env.proxy.to_string_lossy().into_owned();
    let out = env.run(&["init", "--no-template", "--proxy-command-path", &proxy]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("is read-only"), "{stdout}");
    assert!(
        stdout.contains(&format!("Include {}", env.kit("config").display())),
        "the line to add is printed: {stdout}"
    );
    assert!(stdout.contains("programs.ssh.includes"), "{stdout}");
    assert_eq!(fs::read_to_string(&file).unwrap(), USER_CONFIG);
    assert!(fs::symlink_metadata(env.ssh_config())
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        env.kit("config").exists(),
        "the kit's own file is written for the Include"
    );
    let listing: Vec<_> = fs::read_dir(&store).unwrap().collect();
    assert_eq!(listing.len(), 1, "nothing was created in the store");

    // Once the user added the Include by hand, init is satisfied.
    fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        &file,
        format!("Include {}\n{USER_CONFIG}", env.kit("config").display()),
    )
    .unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(&store, fs::Permissions::from_mode(0o555)).unwrap();
    let out = env.init(&[]);
    assert!(out.contains("by hand"), "{out}");
    assert_eq!(env.g(&format!("{ID}.novita"), "user"), "user");
    fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_write_protected_plain_file_is_read_only_too() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    fs::set_permissions(env.ssh_config(), fs::Permissions::from_mode(0o400)).unwrap();
    let proxy = env.proxy.to_string_lossy().into_owned();
    let out = env.run(&["config", "install", "--proxy-command-path", &proxy]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(fs::read_to_string(env.ssh_config()).unwrap(), USER_CONFIG);
    assert_eq!(mode(&env.ssh_config()), 0o400);
}

#[test]
fn broken_markers_are_refused_and_nothing_changes() {
    let begin = "# >>> novita-ssh >>> (managed by novita-sshconfig)\n";
    let end = "# <<< novita-ssh <<<\n";
    for text in [
        format!("{begin}Include x\n{end}{begin}Include y\n{end}"),
        format!("{end}Host a\n{begin}"),
        format!("Host a\n  User b\n{begin}Include x\n"),
        format!("Include x\n{end}Host b\n"),
    ] {
        let env = Env::new();
        env.write_ssh_config(&text);
        let before = env.snapshot();
        let proxy = env.proxy.to_string_lossy().into_owned();
        let err = env.fails(&["init", "--proxy-command-path", &proxy], 3);
        assert!(err.contains("refusing to change"), "{err}");
        assert_eq!(before, env.snapshot(), "something changed for\n{text}");
        let err = env.fails(&["config", "uninstall"], 3);
        assert!(err.contains("marker"), "{err}");
        assert_eq!(before, env.snapshot());
    }
}

#[test]
fn a_section_moved_below_a_host_line_is_put_back_on_top() {
    let env = Env::new();
    env.write_ssh_config(USER_CONFIG);
    env.init(&[]);
    let text = fs::read_to_string(env.ssh_config()).unwrap();
    let section_end = text.find(USER_CONFIG).unwrap();
    // The user moves the section to the end, under `Match host build*`.
    env.write_ssh_config(&format!("{USER_CONFIG}{}", &text[..section_end]));
    let host = format!("{ID}.novita");
    assert_eq!(
        env.g(&host, "user"),
        "alice",
        "below a Match line it does not apply"
    );
    let out = env.ok(&["config", "install"]);
    assert!(out.contains("Moved the novita-ssh section"), "{out}");
    assert_eq!(env.g(&host, "user"), "user");
    assert_eq!(fs::read_to_string(env.ssh_config()).unwrap(), text);
}

#[test]
fn paths_with_spaces_and_odd_urls_reach_the_proxy_intact() {
    let env = Env::with_home_name("my home");
    env.init(&[]);
    let host = format!("{ID}.novita");
    assert_eq!(
        env.g(&host, "identityfile"),
        env.kit("id_ed25519").display().to_string()
    );
    let url = "ws://127.0.0.1:9/{id}/x?a=%41&b='c'";
    env.ok(&[
        "add",
        "odd",
        ID,
        "--url",
        url,
        "--proxy",
        "http://u:p@127.0.0.1:3128",
    ]);
    assert_eq!(
        env.proxy_args_seen_by_ssh("odd.novita"),
        ["--url", url, "--proxy", "http://u:p@127.0.0.1:3128", ID]
    );
}

#[test]
fn domain_and_user_defaults_are_written_for_every_sandbox() {
    let env = Env::new();
    env.init(&["--domain", "Sandbox.Novita.AI", "--user", "ubuntu"]);
    let host = format!("{ID}.novita");
    assert_eq!(env.g(&host, "user"), "ubuntu");
    assert_eq!(
        env.proxy_args_seen_by_ssh(&host),
        ["--domain", "sandbox.novita.ai", &host]
    );
    // The environment variable the SDK uses is honoured too.
    let proxy = env.proxy.to_string_lossy().into_owned();
    let out = env
        .command(&["config", "install", "--proxy-command-path", &proxy])
        .env("NOVITA_DOMAIN", "eu.example.test")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        env.proxy_args_seen_by_ssh(&host),
        ["--domain", "eu.example.test", &host]
    );
}

#[test]
fn novita_proxy_is_found_on_path_without_resolving_links() {
    let env = Env::new();
    let real = env.root.join("Cellar/novita-ssh/0.1.0/bin");
    fs::create_dir_all(&real).unwrap();
    fs::copy(&env.proxy, real.join("novita-proxy")).unwrap();
    let linked = env.root.join("opt-bin");
    fs::create_dir_all(&linked).unwrap();
    symlink(real.join("novita-proxy"), linked.join("novita-proxy")).unwrap();
    let out = env
        .command(&["init", "--no-template"])
        .env("PATH", format!("{}:/usr/bin:/bin", linked.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proxy = env.g(&format!("{ID}.novita"), "proxycommand");
    assert!(
        proxy.starts_with(&format!("{}/novita-proxy ", linked.display())),
        "{proxy}"
    );
}

#[test]
fn version_man_page_and_completions() {
    let env = Env::new();
    let out = env.ok(&["--version"]);
    assert!(out.starts_with("novita-sshconfig 0.1.0 ("), "{out}");
    assert!(!out.contains("(unknown)") || std::env::var_os("NOVITA_SSH_COMMIT").is_none());
    let help = env.ok(&["--help"]);
    assert!(
        help.contains("Exit codes:") && help.contains("3  refused"),
        "{help}"
    );
    let man = env.ok(&["--generate", "man"]);
    assert!(man.contains(".TH NOVITA-SSHCONFIG 1 "), "{man}");
    for (kind, marker) in [
        ("complete-bash", "complete -F _novita__sshconfig"),
        ("complete-zsh", "#compdef novita-sshconfig"),
        ("complete-fish", "complete -c novita-sshconfig"),
    ] {
        let text = env.ok(&["--generate", kind]);
        assert!(text.contains(marker), "{kind}: {text}");
    }
    assert!(env
        .snapshot()
        .keys()
        .all(|p| !p.starts_with(env.home.join(".ssh"))));
}

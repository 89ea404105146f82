//! The generated template, checked with the real SDKs from their registries: the
//! TypeScript type-checks with `tsc --strict` against `novita-sandbox` (npm), and the Python
//! loads with `novita-sandbox` (PyPI), whose `Template.to_dockerfile` and `to_json` show the
//! steps it will run. Installing them: `npm ci` in tests/sdk and
//! `pip install -r tests/sdk/requirements.txt` (`.ci/run` does both). Missing SDKs fail.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{require, Env};

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk")
}

/// Generates the template and returns the folder it is in and the key line it authorizes.
fn generate(env: &Env, lang: &str, extra: &[&str]) -> (PathBuf, String) {
    if !env.kit("id_ed25519").exists() {
        env.init(&[]);
    }
    let out = env.work.join(format!("tpl-{lang}-{}", extra.len()));
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["template", "--lang", lang, "--out", out_s.as_str()];
    args.extend_from_slice(extra);
    env.ok(&args);
    let key = fs::read_to_string(env.kit("id_ed25519.pub"))
        .unwrap()
        .trim()
        .to_owned();
    (out, key)
}

#[test]
fn the_typescript_template_type_checks_against_the_real_sdk() {
    let sdk = sdk_dir();
    let tsc = sdk.join("node_modules/typescript/bin/tsc");
    assert!(
        tsc.is_file()
            && sdk
                .join("node_modules/novita-sandbox/package.json")
                .is_file(),
        "the TypeScript SDK is not installed: run `npm ci` in {} (.ci/run does)",
        sdk.display()
    );
    require("node");
    let env = Env::new();
    let mut files = Vec::new();
    for extra in [
        vec![],
        vec![
            "--bridge",
            "novita-proxy",
            "--bridge-url",
            "https://example.com/dl/novita-proxy",
        ],
    ] {
        let (dir, key) = generate(&env, "ts", &extra);
        let template = fs::read_to_string(dir.join("template.ts")).unwrap();
        assert!(template.contains("from 'novita-sandbox/code-interpreter'"));
        assert!(template.contains("export const template"));
        assert!(template.contains(&key), "the key line is in the template");
        symlink(sdk.join("node_modules"), dir.join("node_modules")).unwrap();
        files.push(dir.join("template.ts"));
        files.push(dir.join("build.ts"));
    }
    // One tsc run for both variants (it is slow to start).
    for pair in files.chunks(2) {
        // In the template's folder, as in a user's project (its node_modules/@types count).
        let out = Command::new("node")
            .current_dir(pair[0].parent().unwrap())
            .arg(&tsc)
            .args([
                "--noEmit",
                "--strict",
                "--target",
                "es2022",
                "--module",
                "esnext",
                "--moduleResolution",
                "bundler",
            ])
            .args(pair)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tsc --strict failed on {pair:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Loads the generated Python with the real SDK and prints its Dockerfile, then the JSON.
const LOAD_PY: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
try:
    from novita_sandbox import Template
except ImportError as e:
    sys.exit("novita-sandbox (PyPI) is not installed: pip install -r crates/novita-sshconfig/tests/sdk/requirements.txt (%s)" % e)
import template
import build  # it must import cleanly, without building anything
print(Template.to_dockerfile(template.template))
print("=====JSON=====")
print(Template.to_json(template.template))
"#;

#[test]
fn the_python_template_loads_with_the_real_sdk_and_shows_the_expected_steps() {
    require("python3");
    require("sh");
    let env = Env::new();
    for (extra, bridge_line) in [
        (
            vec![],
            "/usr/local/bin/websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22",
        ),
        (
            vec![
                "--bridge",
                "novita-proxy",
                "--bridge-url",
                "http://127.0.0.1:9/novita-proxy",
                "--user",
                "dev",
            ],
            "/usr/local/bin/novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22",
        ),
    ] {
        let (dir, key) = generate(&env, "python", &extra);
        let out = Command::new("python3")
            .arg("-c")
            .arg(LOAD_PY)
            .arg(&dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the Python SDK could not load the template: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (dockerfile, json) = text.split_once("=====JSON=====").unwrap();
        let user = if extra.is_empty() { "user" } else { "dev" };
        let runs: Vec<&str> = dockerfile
            .lines()
            .filter(|l| l.starts_with("RUN "))
            .collect();
        assert!(
            dockerfile.starts_with("FROM ubuntu:24.04\n"),
            "{dockerfile}"
        );
        assert!(
            runs[0].contains("apt-get install -y openssh-server rsync curl ca-certificates"),
            "{dockerfile}"
        );
        let expect_in = |n: usize, what: &str| {
            assert!(
                runs[n].contains(what),
                "RUN {n} lacks {what:?}:\n{dockerfile}"
            );
        };
        for setting in [
            "'PasswordAuthentication no'",
            "'PermitEmptyPasswords no'",
            "'KbdInteractiveAuthentication no'",
            "'PermitRootLogin no'",
            "'AuthenticationMethods publickey'",
            "> /etc/ssh/sshd_config.d/00-novita-ssh.conf",
            "/usr/sbin/sshd -t",
        ] {
            expect_in(1, setting);
        }
        expect_in(
            2,
            &format!("useradd --create-home --shell /bin/bash '{user}'"),
        );
        expect_in(
            2,
            &format!("printf '\\n%s\\n' '{key}' >> \"$home/.ssh/authorized_keys\""),
        );
        expect_in(2, "chmod 0600 \"$home/.ssh/authorized_keys\"");
        expect_in(2, &format!("install -d -m 0700 -o '{user}'"));
        expect_in(3, "curl -fsSL -o /usr/local/bin/");
        expect_in(4, bridge_line);
        assert!(
            dockerfile.contains(
                "ENTRYPOINT if [ \"$(id -u)\" -eq 0 ]; then exec /usr/local/bin/novita-ssh-start"
            ),
            "{dockerfile}"
        );
        assert!(
            !text.contains("PRIVATE KEY"),
            "nothing secret in the template"
        );
        let private = fs::read_to_string(env.kit("id_ed25519")).unwrap();
        let body: String = private
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(
            !text.contains(&body[..40]),
            "nothing secret in the template"
        );

        // Every step names root (both builder generations), the start waits for 8081, and
        // every command is valid sh.
        assert!(
            json.contains("\"readyCmd\": \"ss -tuln | grep :8081\""),
            "{json}"
        );
        let steps = json.matches("\"type\": \"RUN\"").count();
        assert_eq!(steps, 5, "{json}");
        assert_eq!(
            json.matches("\"root\"").count(),
            steps,
            "every RUN step runs as root: {json}"
        );
        for cmd in runs.iter().map(|r| &r[4..]) {
            let status = Command::new("sh").args(["-n", "-c", cmd]).status().unwrap();
            assert!(status.success(), "not valid sh: {cmd}");
        }
        // The start script the last step writes is valid sh too.
        let script = env.root.join(format!("start-{user}"));
        let write = runs[4][4..].replace(
            "> /usr/local/bin/novita-ssh-start",
            &format!("> '{}'", script.display()),
        );
        let write = write
            .strip_suffix(" && chmod 0755 /usr/local/bin/novita-ssh-start")
            .unwrap();
        assert!(Command::new("sh")
            .args(["-c", write])
            .status()
            .unwrap()
            .success());
        let status = Command::new("sh").arg("-n").arg(&script).status().unwrap();
        assert!(status.success(), "the start script is not valid sh");
        let script = fs::read_to_string(&script).unwrap();
        assert!(script.starts_with("#!/bin/sh\n"), "{script}");
        assert!(script.contains(&format!("exec {bridge_line}")), "{script}");
    }
}

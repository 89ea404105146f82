//! RFC 6455 conformance of novita-proxy's own WebSocket framing, against an independent
//! implementation: `tests/conformance/rfc6455.py` drives the Python `websockets` library
//! (pinned in `tests/conformance/requirements.txt`) as client of `novita-proxy serve` and
//! as server of the client, and sends raw frames over plain TCP for every case a library
//! will not produce. Each case prints one PASS/FAIL line; the list is in
//! docs/websocket-conformance.md. A missing python3 or `websockets` fails, never skips.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use novita_ssh_e2e::{bin_path, clean_env, require_tool, run};

/// Both suites take seconds; this bound only catches a hang.
const LIMIT: Duration = Duration::from_secs(300);

fn conformance(end: &str) {
    let python = require_tool("python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/rfc6455.py");
    let out = run(
        clean_env(&mut Command::new(python))
            .arg(&script)
            .arg(end)
            .arg(bin_path("novita-proxy")),
        None,
        LIMIT,
    );
    let report = out.stdout_text();
    println!("{report}");
    assert_eq!(
        out.code(),
        0,
        "RFC 6455 cases failed for {end} (exit 2: python3 -m pip install -r \
         tests/conformance/requirements.txt):\n{}\nstderr: {}",
        report
            .lines()
            .filter(|l| !l.starts_with("PASS "))
            .collect::<Vec<_>>()
            .join("\n"),
        out.stderr
    );
    assert!(report.contains(" passed, 0 failed"), "{report}");
}

#[test]
fn serve_against_python_websockets_and_raw_frames() {
    conformance("serve");
}

#[test]
fn client_against_python_websockets_and_raw_frames() {
    conformance("client");
}

#!/bin/sh
# novita-proxy's own WebSocket framing against a tokio-tungstenite client, on loopback:
# raw upload/download of 1 GiB and ssh upload/download through websocat and through
# `novita-proxy serve`, interleaved runs, medians, client CPU time and peak RSS (wait4).
#
#   bench/scripts/tungstenite-vs-own.sh [--runs N] [--size MIB] [--only raw-up,raw-down,ssh-up,ssh-down]
#                                       [--client 'LABEL=COMMAND {bin} {url}' ...] [--raw runs.tsv]
#
# Needs python3, socat, websocat, sshd/ssh and a Linux host. CARGO_TARGET_DIR is honoured.
# The result is in docs/websocket-framing.md; every run in bench/data/tungstenite-vs-own.tsv.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --locked -p novita-proxy >&2
cargo build --release --locked -p novita-ssh-bench --bin tungstenite-client >&2
exec python3 bench/scripts/tungstenite_vs_own.py --bin-dir "${CARGO_TARGET_DIR:-target}/release" "$@"

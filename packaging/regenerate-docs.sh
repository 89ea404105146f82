#!/usr/bin/env bash
# Rewrites the committed man pages (man/) and shell completions (packaging/completions/)
# from the clap definitions of both programs. Run it after changing a flag or a help text,
# then commit the result; `cargo test` fails while they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
NOVITA_SSH_REGENERATE=1 cargo test --locked -p novita-proxy -p novita-sshconfig --lib \
  generate::tests::committed_man_page_and_completions_are_current
git status --short -- man packaging/completions

#!/bin/sh
# Runs every cargo-fuzz target for SECONDS each (default 60), one after the other, then
# minimizes each target's corpus in fuzz/corpus/<target> (commit what changed).
# Crashes are saved in fuzz/artifacts/<target>/; the script exits 1 if any target failed.
#
# Needs cargo-fuzz (cargo install --locked cargo-fuzz) and nightly compiler features:
# a nightly toolchain when rustup has one, otherwise (or when RUSTC_BOOTSTRAP=1 is already
# set) the default toolchain with RUSTC_BOOTSTRAP=1.
# Not part of CI: the fuzz crate is outside the workspace and builds in fuzz/target.
set -eu

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "usage: fuzz/run-all.sh [SECONDS]: SECONDS per target must be a whole number, e.g. 300" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: run cargo install --locked cargo-fuzz" >&2
    exit 1
fi
if [ -z "${RUSTC_BOOTSTRAP:-}" ] && cargo +nightly --version >/dev/null 2>&1; then
    set -- +nightly
else
    # cargo-fuzz passes -Z flags (sanitizers, coverage); stable accepts them this way.
    export RUSTC_BOOTSTRAP=1
    set --
fi

cargo "$@" fuzz build
failed=
for target in $(cargo "$@" fuzz list); do
    mkdir -p "corpus/$target"
    echo "=== $target: ${seconds}s"
    if cargo "$@" fuzz run "$target" -- -max_total_time="$seconds" -timeout=10; then
        cargo "$@" fuzz cmin "$target" >/dev/null 2>&1 ||
            echo "=== $target: minimizing the corpus failed" >&2
    else
        failed="$failed $target"
    fi
done

if [ -n "$failed" ]; then
    echo "failed:$failed (inputs in fuzz/artifacts/<target>/; reproduce with cargo fuzz run <target> <input>)" >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a failure"

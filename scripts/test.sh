#!/usr/bin/env bash
# Every test of the kit on Debian or Ubuntu, from a fresh machine: installs what the tests
# need when it is missing, then runs the whole suite (unit tests, the CLI tests against
# OpenSSH and the template SDKs, and the end-to-end suite in tests/).
#
#   scripts/test.sh [--install-only | --no-install] [-- CARGO-TEST-ARGS...]
#
# What it installs, each only when missing:
#   - apt packages: a C compiler (for ring) and OpenSSL's headers (for websocat), OpenSSH
#     client and server, rsync, nginx with its stream module, tinyproxy, socat, curl,
#     sshpass, debootstrap, util-linux, iproute2, python3 with venv, node and npm;
#   - Rust (rustup, stable) when there is no cargo;
#   - websocat 1.14.1 (cargo install --locked), the bridge of the documented template;
#   - the novita-sandbox SDKs the template tests load: npm (`npm ci` in
#     crates/novita-sshconfig/tests/sdk) and PyPI, with Python websockets for the RFC 6455
#     conformance suite (a venv at /opt/novita-ssh-ci/python, or $NOVITA_SSH_TEST_VENV,
#     put first on PATH);
#   - the emulated sandbox's base rootfs (debootstrap, cached in /var/cache/novita-ssh-e2e).
#
# The suite needs root (network namespaces, chroot, /run/sshd): run as another user, the
# script runs itself again through sudo with your toolchain, and gives back what it built.
# Plain `cargo test` needs none of this: it runs the tests that need nothing but Rust.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

install=true
run=true
while [ $# -gt 0 ]; do
  case $1 in
    --install-only) run=false ;;
    --no-install) install=false ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) printf 'scripts/test.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "scripts/test.sh: the suite needs root (network namespaces, chroot, apt-get): run it as root" >&2
    exit 1
  fi
  echo "scripts/test.sh: the suite needs root (network namespaces, chroot, apt-get): running it through sudo" >&2
  again=()
  [ "$install" = true ] || again+=(--no-install)
  [ "$run" = true ] || again+=(--install-only)
  exec sudo env PATH="$PATH" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" \
    RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" "$0" "${again[@]}" -- "$@"
fi

cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
venv=${NOVITA_SSH_TEST_VENV:-/opt/novita-ssh-ci/python}
sdk=crates/novita-sshconfig/tests/sdk
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

step() { printf '\n==> %s (%ss)\n' "$*" "$SECONDS"; }

# Run through sudo: what root wrote into the checkout and into the user's cargo home goes
# back to the user, so that a later `cargo build` as the user works.
if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ]; then
  give_back() {
    for path in "$root/target" "$root/$sdk/node_modules" "$CARGO_HOME"; do
      if [ -e "$path" ] && [ "$(stat -c %u "$(dirname "$path")")" = "$SUDO_UID" ]; then
        chown -R "$SUDO_UID:$SUDO_GID" "$path" || true
      fi
    done
  }
  trap give_back EXIT
fi

# Debian packages the tests run, built against or install with (websocat builds against
# OpenSSL).
packages=(
  gcc libc6-dev pkg-config libssl-dev curl ca-certificates git procps
  openssh-server openssh-client rsync nginx libnginx-mod-stream tinyproxy socat sshpass
  debootstrap util-linux iproute2 python3 python3-venv
)
# Node from elsewhere (nodesource, nvm) brings its own npm.
command -v npm >/dev/null || packages+=(nodejs npm)

install_packages() {
  local missing=() started=()
  for package in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != installed ]; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all installed"
    return
  fi
  echo "installing: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  # The distribution starts these on install; the tests start their own instances.
  for package in "${missing[@]}"; do
    case $package in
      nginx | tinyproxy) started+=("$package") ;;
      openssh-server) started+=(ssh) ;;
    esac
  done
  for service in "${started[@]}"; do
    systemctl stop "$service" 2>/dev/null || service "$service" stop 2>/dev/null || true
  done
}

install_rust() {
  if command -v cargo >/dev/null; then
    cargo --version
    return
  fi
  echo "no cargo: installing Rust (stable) with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --no-modify-path --profile minimal --default-toolchain stable
  cargo --version
}

install_websocat() {
  if command -v websocat >/dev/null && websocat --version | grep -q '1\.14\.1'; then
    websocat --version
    return
  fi
  cargo install --locked websocat@1.14.1
  websocat --version
}

install_python_sdk() {
  if [ ! -x "$venv/bin/python3" ]; then
    python3 -m venv "$venv"
  fi
  # Pinned: pip leaves a satisfied requirement alone, without asking the index.
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
    -r "$sdk/requirements.txt" -r tests/conformance/requirements.txt
  "$venv/bin/python3" -c 'import importlib.metadata as m
for name in ("novita-sandbox", "websockets"):
    print(name, m.version(name))'
}

install_npm_sdk() {
  # npm ci leaves node_modules/.package-lock.json behind; newer than the lock file means
  # this lock file is what is installed.
  if [ "$sdk/node_modules/.package-lock.json" -nt "$sdk/package-lock.json" ]; then
    echo "up to date"
    return
  fi
  (cd "$sdk" && npm ci --no-audit --no-fund)
}

# What the tests find on PATH: websocat from cargo install, python3 with the SDK.
export PATH="$venv/bin:$CARGO_HOME/bin:$PATH"

if [ "$install" = true ]; then
  step "apt packages"
  install_packages
  step "Rust"
  install_rust
  step "websocat 1.14.1"
  install_websocat
  step "Python: the novita-sandbox SDK and websockets (PyPI, in $venv)"
  install_python_sdk
  step "novita-sandbox TypeScript SDK and tsc (npm, in $sdk)"
  install_npm_sdk
  step "the emulated sandbox's base rootfs"
  cargo run --locked --quiet -p novita-ssh-e2e --bin sandbox-rootfs
fi

if [ "$run" = true ]; then
  step "cargo test: every package, with the CLI tests that run OpenSSH and the SDKs"
  cargo test --workspace --locked --features novita-sshconfig/tool-tests "$@"
  step "all tests passed"
fi

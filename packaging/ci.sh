#!/usr/bin/env bash
# Packaging checks, run by .ci/run after the test suite (as root, on Debian):
#   1. the committed man pages lint clean and match the version and changelog;
#   2. the Homebrew formula: ruby -c, release-formula.sh on a `git archive` tarball, and its
#      install and test blocks run from that tarball (packaging/formula-test.rb);
#   3. the .deb: cargo-deb build, contents, lintian, dpkg -i, the installed man pages and
#      completions, the end-to-end ssh scenarios against /usr/bin, dpkg -r leaving nothing.
# Any failure exits non-zero with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> packaging: %s (%ss)\n' "$*" "$SECONDS"; }
fail() {
  echo "packaging/ci.sh: $*" >&2
  exit 1
}

# Lintian warnings that are expected, each justified in packaging/README.md.
ALLOWED_LINTIAN_WARNINGS="initial-upload-closes-no-bugs"

# Absolute: the formula builds in an unpacked tarball and shares the compiled dependencies.
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
work=$(mktemp -d /tmp/novita-ssh-packaging.XXXXXX)
installed_by_us=false
cleanup() {
  if $installed_by_us && dpkg-query -W novita-ssh >/dev/null 2>&1; then
    dpkg -r novita-ssh >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

for tool in cargo mandoc man ruby lintian dpkg dpkg-deb git ssh zsh fish bash; do
  command -v "$tool" >/dev/null || fail "missing tool $tool: .ci/run installs it"
done
command -v cargo-deb >/dev/null || fail "missing cargo-deb: cargo install --locked cargo-deb"

# The commit --version must report: the one checked out when this script started.
commit=$(git rev-parse --short=10 HEAD)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml)
version=${version%%$'\n'*}
[ -n "$version" ] || fail "no version in Cargo.toml"

step "man pages: mandoc -T lint and groff's warnings, as lintian checks them"
changelog_stamp=$(sed -n 's/^ -- .*>  //p' packaging/deb/changelog)
changelog_date=$(date -u -d "${changelog_stamp%%$'\n'*}" +%F)
changelog_version=$(sed -n '1s/^novita-ssh (\(.*\)-[0-9]*) .*/\1/p' packaging/deb/changelog)
[ "$changelog_version" = "$version" ] ||
  fail "packaging/deb/changelog's newest entry is $changelog_version, Cargo.toml says $version: add a changelog entry"
for page in man/novita-proxy.1 man/novita-sshconfig.1; do
  lint=$(mandoc -T lint -W warning "$page" 2>&1 || true)
  [ -z "$lint" ] || fail "mandoc -T lint $page:"$'\n'"$lint"
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
    man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || fail "man --warnings $page:"$'\n'"$warnings"
  grep -q "^\.TH [A-Z-]* 1 $changelog_date \"novita-ssh $version\"" "$page" ||
    fail "$page: .TH must carry $changelog_date and novita-ssh $version (the changelog's date and the version): set RELEASE_DATE in crates/novita-ssh-docs/src/lib.rs, then packaging/regenerate-docs.sh"
  for section in EXAMPLES FILES ENVIRONMENT '"EXIT STATUS"' '"SEE ALSO"'; do
    grep -qx "\.SH $section" "$page" || fail "$page has no $section section"
  done
  grep -q 'fBssh_config\\fR(5)' "$page" && grep -q 'fBssh\\fR(1)' "$page" ||
    fail "$page: SEE ALSO must name ssh_config(5) and ssh(1)"
done
echo "man pages clean"

step "Homebrew formula: syntax, release-formula.sh on a git archive tarball"
ruby -c Formula/novita-ssh.rb
tarball=$work/novita-ssh-$version.tar.gz
git archive --format=tar.gz --prefix="novita-ssh-$version/" -o "$tarball" "$commit"
cp Formula/novita-ssh.rb "$work/novita-ssh.rb"
bash packaging/release-formula.sh "$version" "$tarball" "$work/novita-ssh.rb"
sha=$(sha256sum "$tarball" | cut -d' ' -f1)
grep -qx "  url \"https://github.com/novita-ssh/novita-ssh/archive/refs/tags/v$version.tar.gz\"" \
  "$work/novita-ssh.rb" || fail "release-formula.sh did not set the url"
grep -qx "  sha256 \"$sha\"" "$work/novita-ssh.rb" || fail "release-formula.sh did not set the sha256"
changed=$(diff "$work/novita-ssh.rb" Formula/novita-ssh.rb | grep -c '^[<>]' || true)
[ "$changed" -le 4 ] || fail "release-formula.sh changed more than the url and sha256 lines"
ruby -c "$work/novita-ssh.rb"
if bash packaging/release-formula.sh 9.9.9 "$tarball" "$work/novita-ssh.rb" 2>/dev/null; then
  fail "release-formula.sh accepted a tarball of another version"
fi

step "Homebrew formula: install and test blocks from the tarball"
mkdir -p "$work/src" "$work/prefix" "$work/testpath"
tar -xzf "$tarball" -C "$work/src"
CARGO_TARGET_DIR=$target_dir ruby packaging/formula-test.rb "$work/novita-ssh.rb" \
  "$work/src/novita-ssh-$version" "$work/prefix" "$work/testpath"
for file in bin/novita-proxy bin/novita-sshconfig share/man/man1/novita-proxy.1 \
  share/man/man1/novita-sshconfig.1 etc/bash_completion.d/novita-proxy \
  share/zsh/site-functions/_novita-sshconfig share/fish/vendor_completions.d/novita-proxy.fish; do
  [ -f "$work/prefix/$file" ] || fail "the formula did not install $file"
done

step "deb: cargo build --release and cargo deb"
cargo build --release --locked -p novita-proxy -p novita-sshconfig
cargo deb -p novita-proxy --no-build --output "$work/deb/"
deb=$(ls "$work"/deb/novita-ssh_"$version"-*_*.deb)
dpkg-deb -I "$deb"
control=$(dpkg-deb -f "$deb" Package Section Depends)
grep -qx 'Package: novita-ssh' <<<"$control" || fail "package name: $control"
grep -qx 'Section: utils' <<<"$control" || fail "section: $control"
grep -q '^Depends: .*openssh-client' <<<"$control" || fail "depends: $control"
grep -q '^Depends: .*libc6' <<<"$control" || fail "no shared library dependencies: $control"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
expected_files=(
  /usr/bin/novita-proxy
  /usr/bin/novita-sshconfig
  /usr/share/man/man1/novita-proxy.1.gz
  /usr/share/man/man1/novita-sshconfig.1.gz
  /usr/share/bash-completion/completions/novita-proxy
  /usr/share/bash-completion/completions/novita-sshconfig
  /usr/share/zsh/vendor-completions/_novita-proxy
  /usr/share/zsh/vendor-completions/_novita-sshconfig
  /usr/share/fish/vendor_completions.d/novita-proxy.fish
  /usr/share/fish/vendor_completions.d/novita-sshconfig.fish
  /usr/share/doc/novita-ssh/copyright
  /usr/share/doc/novita-ssh/changelog.Debian.gz
)
for file in "${expected_files[@]}"; do
  grep -qx "$file" <<<"$contents" || fail "$deb lacks $file"
done

step "deb: lintian"
lintian_out=$(lintian --info --display-experimental --pedantic "$deb" 2>&1 | grep -v '^running with root' || true)
printf '%s\n' "$lintian_out"
if grep -q '^E: ' <<<"$lintian_out"; then
  fail "lintian reports errors"
fi
while read -r tag; do
  [ -z "$tag" ] && continue
  grep -qw -- "$tag" <<<"$ALLOWED_LINTIAN_WARNINGS" ||
    fail "lintian warning $tag is new: fix it, or justify it in packaging/README.md and ALLOWED_LINTIAN_WARNINGS"
done < <(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' <<<"$lintian_out")

step "deb: dpkg -i"
if dpkg-query -W -f='${Status}' novita-ssh 2>/dev/null | grep -q 'ok installed'; then
  fail "novita-ssh is already installed: dpkg -r novita-ssh first"
fi
installed_by_us=true
# Minimal images drop man pages and docs with dpkg path-exclude rules; this package's
# files are what is under test, so they are always installed here.
dpkg --path-include='/usr/share/man/man1/novita-*' --path-include='/usr/share/doc/novita-ssh/*' \
  -i "$deb"
for file in "${expected_files[@]}"; do
  [ -f "$file" ] || fail "dpkg -i did not install $file"
done
for cmd in novita-proxy novita-sshconfig; do
  line=$("/usr/bin/$cmd" --version)
  built_from=$(sed -n "s/^$cmd $version (\([0-9a-f]\{10\}\))\$/\1/p" <<<"$line")
  # The commit checked out at the start, or a later one when commits landed meanwhile.
  [ -n "$built_from" ] && git merge-base --is-ancestor "$commit" "$built_from" 2>/dev/null ||
    fail "/usr/bin/$cmd --version says '$line', expected '$cmd $version ($commit)'"
  [ "$(man -w "$cmd")" = "/usr/share/man/man1/$cmd.1.gz" ] || fail "man -w $cmd: $(man -w "$cmd")"
  rendered=$(MANPAGER=cat MANWIDTH=80 man "$cmd" 2>&1)
  grep -q 'EXIT STATUS' <<<"$rendered" || fail "man $cmd does not render: $rendered"
done

step "deb: completions load from their installed paths"
bash_words=$(bash -c '
  source /usr/share/bash-completion/completions/novita-proxy
  COMP_WORDS=(novita-proxy --conn); COMP_CWORD=1; COMP_LINE="novita-proxy --conn"; COMP_POINT=${#COMP_LINE}
  function=$(complete -p novita-proxy | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
  "$function" novita-proxy --conn novita-proxy
  printf "%s\n" "${COMPREPLY[@]}"')
grep -qx -- '--connect-to' <<<"$bash_words" || fail "bash completion of novita-proxy --conn: $bash_words"
fish_words=$(fish -c 'complete -C "novita-sshconfig config un"')
grep -q '^uninstall' <<<"$fish_words" || fail "fish completion of novita-sshconfig config un: $fish_words"
zsh -n /usr/share/zsh/vendor-completions/_novita-proxy /usr/share/zsh/vendor-completions/_novita-sshconfig
zsh_fpath=$(zsh -fc 'print -l $fpath')
grep -qx /usr/share/zsh/vendor-completions <<<"$zsh_fpath" ||
  fail "zsh does not look in /usr/share/zsh/vendor-completions: $zsh_fpath"

step "deb: end-to-end ssh scenarios against /usr/bin"
NOVITA_PROXY_BIN=/usr/bin/novita-proxy NOVITA_SSHCONFIG_BIN=/usr/bin/novita-sshconfig \
  cargo test --locked -p novita-ssh-e2e --test e2e -- \
  sshconfig:: proxy::ssh_command_propagates_exit_status:: proxy::bad_hosts_exit_2_without_touching_the_network

step "deb: dpkg -r leaves nothing behind"
dpkg -r novita-ssh
installed_by_us=false
for file in "${expected_files[@]}"; do
  [ ! -e "$file" ] || fail "dpkg -r left $file"
done
status=$(dpkg-query -W -f='${Status}' novita-ssh 2>/dev/null || true)
case $status in
  "" | *not-installed) ;;
  *) fail "novita-ssh is still '$status' after dpkg -r" ;;
esac
[ ! -e /usr/share/doc/novita-ssh ] || fail "dpkg -r left /usr/share/doc/novita-ssh"

step "packaging checks passed"

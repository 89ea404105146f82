#!/usr/bin/env bash
# Points the Homebrew formula at a release: rewrites its `url` and `sha256` lines.
#
#   packaging/release-formula.sh VERSION TARBALL [FORMULA]
#
# TARBALL is the archive GitHub serves for the tag vVERSION, downloaded beforehand with
#   curl -fL -o novita-ssh-VERSION.tar.gz \
#     https://github.com/novita-ssh/novita-ssh/archive/refs/tags/vVERSION.tar.gz
# This script downloads nothing: it checks that TARBALL is this project at VERSION, hashes
# it and rewrites FORMULA (default: Formula/novita-ssh.rb) in place.
set -euo pipefail

die() {
  echo "release-formula.sh: $*" >&2
  exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: release-formula.sh VERSION TARBALL [FORMULA]"
version=$1
tarball=$2
formula=${3:-"$(dirname "$0")/../Formula/novita-ssh.rb"}

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
  die "VERSION must look like 1.2.3 (no leading v), got '$version'"
[ -f "$tarball" ] || die "no tarball at $tarball: download the release archive first (see the header of this script)"
[ -f "$formula" ] || die "no formula at $formula"

listing=$(tar -tzf "$tarball" 2>/dev/null) || die "$tarball is not a .tar.gz archive"
top=${listing%%/*}
grep -qx "$top/Formula/novita-ssh.rb" <<<"$listing" ||
  die "$tarball does not hold novita-ssh (no $top/Formula/novita-ssh.rb)"
manifest=$(tar -xzOf "$tarball" "$top/Cargo.toml")
manifest_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' <<<"$manifest")
manifest_version=${manifest_version%%$'\n'*}
[ "$manifest_version" = "$version" ] ||
  die "$tarball is version '$manifest_version', not $version: tag the commit that bumped the version"

if command -v sha256sum >/dev/null; then
  sha=$(sha256sum "$tarball" | cut -d' ' -f1)
else
  sha=$(shasum -a 256 "$tarball" | cut -d' ' -f1)
fi
url="https://github.com/novita-ssh/novita-ssh/archive/refs/tags/v$version.tar.gz"

[ "$(grep -c '^  url "' "$formula")" = 1 ] || die "$formula must have exactly one '  url \"...\"' line"
[ "$(grep -c '^  sha256 "' "$formula")" = 1 ] || die "$formula must have exactly one '  sha256 \"...\"' line"

tmp=$(mktemp "$formula.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v url="$url" -v sha="$sha" '
  /^  url "/    { print "  url \"" url "\""; next }
  /^  sha256 "/ { print "  sha256 \"" sha "\""; next }
  { print }
' "$formula" >"$tmp"
cat "$tmp" >"$formula"
echo "$formula: url $url"
echo "$formula: sha256 $sha"

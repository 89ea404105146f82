#!/bin/sh
# Builds the base root filesystem of the emulated sandbox: Debian minbase plus what the
# platform's base provisioning adds (e2b-dev/infra template/build/phases/base/provision.sh):
# openssh-server, sudo, curl, socat, ca-certificates; `passwd -d root`; the three lines
# appended to /etc/ssh/sshd_config. The `user` account is not part of the image: the
# harness creates it per boot, before the template's steps (current builders) or after
# them (older builders).
#
# Usage: build-rootfs.sh DEST MIRROR SUITE
# Run under `flock` by the harness; DEST appears only once complete (built beside it,
# then renamed), so a killed build never leaves a half-made rootfs behind.
set -eu

dest=$1
mirror=$2
suite=$3

if [ -d "$dest" ]; then
  exit 0
fi

tmp="$dest.partial"
# A build killed earlier may have left its tree: never cross into a mount while deleting.
rm -rf --one-file-system "$tmp"

echo "building the emulated sandbox's base rootfs in $dest from $mirror (once, cached)" >&2

# Own mount and PID namespaces: whatever debootstrap mounts or a package script starts
# in the target goes away with them.
unshare --mount --pid --fork --mount-proc -- \
  debootstrap --variant=minbase \
    --include=openssh-server,sudo,curl,ca-certificates,socat,procps,iproute2,adduser,passwd \
    "$suite" "$tmp" "$mirror" >&2

# Package scripts must not start daemons inside the image (Debian's container convention).
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"

# The sandbox has no network: apt fails at once instead of retrying with back-off.
printf 'Acquire::Retries "0";\n' >"$tmp/etc/apt/apt.conf.d/99-novita-ssh-e2e-offline"

# Package lists, so that an apt-get install of a package the image already has succeeds
# offline, as it does on the platform; and the .deb files (not installed) of the packages a
# template may add for the kit's promises (rsync), so that installing them works offline too.
unshare --mount --pid --fork --mount-proc -- \
  chroot "$tmp" /bin/sh -c 'apt-get -q update && apt-get clean &&
    DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only rsync' >&2

# The platform's base provisioning (the parts that concern logins).
chroot "$tmp" /bin/sh -eu -c '
  echo "export SHELL=/bin/bash" >/etc/profile.d/shell.sh
  passwd -d root
  cat >>/etc/ssh/sshd_config <<CONF
PermitRootLogin yes
PermitEmptyPasswords yes
PasswordAuthentication yes
CONF
  mkdir -p /run/sshd
  /usr/sbin/sshd -t
  rmdir /run/sshd
' >&2

mv "$tmp" "$dest"
echo "base rootfs ready: $dest" >&2

# Trees built by other versions of this script that no test used for a week (the harness
# touches a tree each time it uses it; a checkout of another version may still be running).
find "$(dirname "$dest")" -maxdepth 1 -name "$(basename "${dest%-*}")-*" ! -name "$(basename "$dest")" \
  -mtime +7 -exec rm -rf --one-file-system {} +

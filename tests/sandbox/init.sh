#!/bin/sh
# PID 1 of one emulated sandbox, started by the harness as
#   unshare --mount --net --pid --uts --fork --kill-child --mount-proc sh init.sh BASE STATE HOSTNAME
# It lays a private, writable overlay over the cached base rootfs, mounts what a booted
# system has (/proc, /dev, /dev/pts, /run, /tmp), brings up the namespace's own loopback,
# writes STATE/ready, then waits for EOF on stdin. Its exit ends every process of the
# sandbox, and the mounts vanish with the mount namespace: nothing is left on the host
# but STATE.
set -eu

base=$1
state=$2
name=$3
root=$state/root

mkdir -p "$state/upper" "$state/work" "$root"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$state/upper,workdir=$state/work" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  : >"$root/dev/$node"
  mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir -m 0755 "$root/dev/pts"
mkdir -m 1777 "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"

ip link set lo up
hostname "$name"
echo "$name" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n' "$name" >"$root/etc/hosts"

: >"$state/ready"
# Lives until the harness closes our stdin (or dies).
exec cat >/dev/null

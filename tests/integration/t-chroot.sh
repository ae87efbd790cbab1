#!/bin/bash
# Programs run from the mount: chroot into it and run busybox's shell, which
# reads a file that three layers replaced in turn.
. "$(dirname "$0")/lib.sh"
lfs_require_prog chroot
fx=$(lfs_fixture conformance)

lfs_mount "oci:$fx/oci:conf" "$T/mnt"
# shellcheck disable=SC2016	# expanded by the shell inside the chroot
out=$(chroot "$T/mnt" /bin/busybox sh -c 'echo hello from $(cat /etc/somefile)') ||
	fail "chroot failed"
[ "$out" = "hello from the top layer" ] || fail "chroot printed: $out"
out=$(chroot "$T/mnt" /bin/sh -c 'ls /data/opq; readlink /data/lnk-rel') ||
	fail "chroot /bin/sh (a symlink to busybox) failed"
[ "$out" = "$(printf 'new\n../etc/hostname')" ] || fail "chroot printed: $out"

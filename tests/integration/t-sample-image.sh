#!/bin/bash
# The demo's image (scripts/mk-sample-image) is what scripts/demo shows:
# built twice, a second apart, it is the same bytes (layers, config,
# manifest, index.json, and no stray blobs); mounted, it runs busybox's
# shell in a chroot and shows layer 2's merge (a new /etc/motd, /etc/issue
# deleted by a whiteout).
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci tar dpkg chroot
[ -x /bin/busybox ] || lfs_skip "busybox-static not installed"
mk=$LFS_SRCDIR/scripts/mk-sample-image

"$mk" "$T/a" >&2 || fail "mk-sample-image failed"
sleep 1	# a clock in the output would show now
"$mk" "$T/b" >&2 || fail "mk-sample-image failed the second time"
diff -r "$T/a" "$T/b" >&2 || fail "two builds of the sample image differ"
[ "$(find "$T/a/oci/blobs/sha256" -type f | wc -l)" -eq 4 ] ||
	fail "want 4 blobs (2 layers, config, manifest): $(ls "$T/a/oci/blobs/sha256")"

lfs_mount "oci:$T/a/oci:demo" "$T/mnt"
# shellcheck disable=SC2016	# expanded by the shell inside the chroot
out=$(chroot "$T/mnt" /bin/sh -c \
	'. /etc/os-release; echo "$ID"; cat /etc/motd; ls /etc') ||
	fail "chroot into the sample image failed"
want="layerfs-demo
Hello from layer 2 of the layerfs demo image.
group
motd
os-release
passwd"
[ "$out" = "$want" ] || fail "chroot printed: $out"

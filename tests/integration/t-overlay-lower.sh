#!/bin/bash
# The mount works as a lower dir of kernel overlayfs, and the merged tree,
# before any write, equals the mount.
. "$(dirname "$0")/lib.sh"
lfs_require_prog findmnt
grep -qw overlay /proc/filesystems || modprobe overlay ||
	lfs_skip "no overlayfs"
fx=$(lfs_fixture conformance)

lfs_mount "oci:$fx/oci:conf" "$T/lower"
# tmpfs can always host an upper dir (it needs trusted.* xattrs and d_type).
mkdir "$T/rw" "$T/merged"
lfs_track_mount "$T/rw"
mount -t tmpfs -o mode=0700 tmpfs "$T/rw"
mkdir "$T/rw/upper" "$T/rw/work"
# overlayfs gives the root the upper dir's attributes: make them the same.
chmod --reference="$T/lower" "$T/rw/upper"
chown --reference="$T/lower" "$T/rw/upper"
touch -r "$T/lower" "$T/rw/upper"
lfs_track_mount "$T/merged"
mount -t overlay overlay \
	-o "lowerdir=$T/lower,upperdir=$T/rw/upper,workdir=$T/rw/work" \
	"$T/merged"
assert_same_tree "$T/lower" "$T/merged"

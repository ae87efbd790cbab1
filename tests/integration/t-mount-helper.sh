#!/bin/bash
# mount(8) and fstab work: `mount -t fuse.layerfs` runs mount.fuse3, which
# runs `layerfs SOURCE MNT -o OPTS`; that helper form also works when run
# directly, and so does an fstab line (`mount -T FSTAB MNT`).  All mount
# what `layerfs mount` mounts.
. "$(dirname "$0")/lib.sh"
lfs_require_prog mount.fuse3 unshare
fx=$(lfs_fixture conformance)
src=oci:$fx/oci:conf

mkdir "$T/bin" "$T/mount8" "$T/helper" "$T/fstab-mnt"
ln -s "$LAYERFS" "$T/bin/layerfs"
lfs_mount "$src" "$T/ref"
"$DUMPTREE" "$T/ref" >"$T/dump.ref"

# The fstab-style form, run directly.
lfs_track_mount "$T/helper"
PATH=$T/bin:$PATH layerfs "$src" "$T/helper" \
	-o "ro,allow_other,cache_dir=$T/cache" || fail "helper form failed"
assert_same_tree "$T/ref" "$T/helper"

# mount(8) runs helpers with a fixed PATH (/usr/local/sbin first), not ours:
# put our layerfs there in a private mount namespace nothing else sees.  If
# this fails half way, the EXIT trap kills the daemon, which ends the
# namespace and its mounts.
[ -d /usr/local/sbin ] || lfs_skip "no /usr/local/sbin to shadow"
# In a chroot "/" is no mount point and cannot be made private.
unshare --mount --propagation private true 2>/dev/null ||
	lfs_skip "no private mount namespace here (a chroot?)"
# An fstab line, as layerfs(1) shows one; `mount -T` finds it by its
# mountpoint.  Fields are blank-separated: a blank inside one is \040.
fstab_field() { printf '%s' "${1// /\\040}"; }
printf '%s %s fuse.layerfs cache_dir=%s,allow_other 0 0\n' \
	"$(fstab_field "$src")" "$(fstab_field "$T/fstab-mnt")" \
	"$(fstab_field "$T/cache")" >"$T/fstab"
# shellcheck disable=SC2016	# expanded by the inner sh
unshare --mount --propagation private sh -euc '
	mount --bind "$1/bin" /usr/local/sbin
	mount -t fuse.layerfs -o "cache_dir=$1/cache" "$2" "$1/mount8"
	findmnt -n -o FSTYPE,SOURCE --mountpoint "$1/mount8" >"$1/mount8.type"
	"$3" "$1/mount8" >"$1/dump.mount8"
	fusermount3 -u "$1/mount8"
	mount -T "$1/fstab" "$1/fstab-mnt"
	findmnt -n -o FSTYPE,SOURCE --mountpoint "$1/fstab-mnt" \
		>"$1/fstab.type"
	"$3" "$1/fstab-mnt" >"$1/dump.fstab"
	fusermount3 -u "$1/fstab-mnt"' sh "$T" "$src" "$DUMPTREE" ||
	fail "mount -t fuse.layerfs or mount -T FSTAB failed"
[ "$(cat "$T/mount8.type")" = "fuse.layerfs $src" ] ||
	fail "mount(8) made: $(cat "$T/mount8.type")"
diff -u "$T/dump.ref" "$T/dump.mount8" >&2 || fail "mount(8) tree differs"
[ "$(cat "$T/fstab.type")" = "fuse.layerfs $src" ] ||
	fail "mount -T made: $(cat "$T/fstab.type")"
diff -u "$T/dump.ref" "$T/dump.fstab" >&2 || fail "fstab mount tree differs"


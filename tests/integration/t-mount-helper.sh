#!/bin/bash
# mount(8) and fstab work, from a copy `meson install` put in a clean
# prefix: the binary where mount(8)'s helpers look, the man page where
# man(1) looks.  `mount -t fuse.layerfs` runs mount.fuse3, which runs
# `layerfs SOURCE MNT -o OPTS`; that helper form also works when run
# directly, and so does an fstab line (`mount -T FSTAB MNT`).  All mount
# what `layerfs mount` mounts, with the flags layerfs(1) documents: the
# helper form run directly is nosuid,nodev unless told suid,dev (FUSE's
# default, as `layerfs mount`); through mount.fuse3 it is suid,dev unless
# told nosuid,nodev (mount.fuse3 adds dev,suid, as mount(8) gives any file
# system); the man page's own fstab example line gets nosuid,nodev.
. "$(dirname "$0")/lib.sh"
lfs_require_prog mount.fuse3 unshare meson python3
fx=$(lfs_fixture conformance)
src=oci:$fx/oci:conf

mkdir "$T/mount8" "$T/mount8-safe" "$T/helper" "$T/helper-suid" \
	"$T/fstab-mnt" "$T/fstab-man"
# Install into $T/root as a package would into /: where each file goes.
meson install -C "$LFS_BUILDDIR" --no-rebuild --quiet --destdir "$T/root" \
	>"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "meson install failed"; }
installed() { # BUILD-PATH-SUFFIX: where meson installs that file
	meson introspect "$LFS_BUILDDIR" --installed | python3 -c '
import json, sys
for built, dest in json.load(sys.stdin).items():
    if built.endswith(sys.argv[1]):
        print(dest)' "$1"
}
bin_path=$(installed /src/layerfs)
man_path=$(installed /docs/layerfs.1)
[ -n "$bin_path" ] || fail "meson install installs no layerfs binary"
[ "${man_path%/man1/layerfs.1}" != "$man_path" ] ||
	fail "the man page goes to $man_path, not a man1 directory"
[ -x "$T/root$bin_path" ] || fail "$T/root$bin_path: not installed"
cmp "$T/root$man_path" "$LFS_SRCDIR/docs/layerfs.1" ||
	fail "$T/root$man_path: not the man page"
ibin=$T/root${bin_path%/*}
[ "${bin_path##*/}" = layerfs ] || fail "installed as $bin_path"
"$ibin/layerfs" --version | grep -q '^layerfs ' ||
	fail "the installed layerfs does not run"
lfs_mount "$src" "$T/ref"
"$DUMPTREE" "$T/ref" >"$T/dump.ref"

# flags VFS-OPTIONS: of a mount's flags, those about writes, set-user-ID
# bits and devices, sorted ("nodev,nosuid,ro", or "ro" for suid,dev).
flags() {
	tr , '\n' <<<"$1" | grep -xE 'ro|rw|nosuid|nodev' | sort | paste -sd, -
}
# want_flags WHAT VFS-OPTIONS WANT
want_flags() {
	[ "$(flags "$2")" = "$3" ] || fail "$1: flags $2, want $3"
}
vfs_options() { findmnt -n -o VFS-OPTIONS --mountpoint "$1"; }

# The helper form, run directly: FUSE's default, nosuid,nodev, unless
# told otherwise.
lfs_track_mount "$T/helper"
PATH=$ibin:$PATH layerfs "$src" "$T/helper" \
	-o "ro,allow_other,cache_dir=$T/cache" || fail "helper form failed"
assert_same_tree "$T/ref" "$T/helper"
want_flags "helper form" "$(vfs_options "$T/helper")" nodev,nosuid,ro
lfs_track_mount "$T/helper-suid"
PATH=$ibin:$PATH layerfs "$src" "$T/helper-suid" \
	-o "suid,dev,cache_dir=$T/cache" || fail "helper form, suid,dev failed"
want_flags "helper form -o suid,dev" "$(vfs_options "$T/helper-suid")" ro

# mount(8) runs helpers with a fixed PATH (/usr/local/sbin first), not ours:
# put the installed bin directory there in a private mount namespace
# nothing else sees.  If
# this fails half way, the EXIT trap kills the daemon, which ends the
# namespace and its mounts.
[ -d /usr/local/sbin ] || lfs_skip "no /usr/local/sbin to shadow"
# In a chroot "/" is no mount point and cannot be made private.
unshare --mount --propagation private true 2>/dev/null ||
	lfs_skip "no private mount namespace here (a chroot?)"
# fstab lines; `mount -T` finds each by its mountpoint.  Fields are
# blank-separated: a blank inside one is \040.  One has no flags; the
# other has the options of the example line in layerfs(1), with the cache
# moved here.
fstab_field() { printf '%s' "${1// /\\040}"; }
man_opts=$(sed -n 's/^oci:[^ ]*  *[^ ]*  *fuse\.layerfs  *\([^ ]*\) .*/\1/p' \
	"$LFS_SRCDIR/docs/layerfs.1")
[[ $man_opts == *cache_dir=* ]] ||
	fail "no fstab example with cache_dir= in layerfs(1): '$man_opts'"
man_opts=$(sed "s|cache_dir=[^,]*|cache_dir=$T/cache|" <<<"$man_opts")
{
	printf '%s %s fuse.layerfs cache_dir=%s,allow_other 0 0\n' \
		"$(fstab_field "$src")" "$(fstab_field "$T/fstab-mnt")" \
		"$(fstab_field "$T/cache")"
	printf '%s %s fuse.layerfs %s 0 0\n' "$(fstab_field "$src")" \
		"$(fstab_field "$T/fstab-man")" "$(fstab_field "$man_opts")"
} >"$T/fstab"
# shellcheck disable=SC2016	# expanded by the inner sh
unshare --mount --propagation private sh -euc '
	info() {
		findmnt -n -o FSTYPE,SOURCE --mountpoint "$1/$2" >"$1/$2.type"
		findmnt -n -o VFS-OPTIONS --mountpoint "$1/$2" >"$1/$2.flags"
		"$3" "$1/$2" >"$1/dump.$2"
		fusermount3 -u "$1/$2"
	}
	mount --bind "$4" /usr/local/sbin
	mount -t fuse.layerfs -o "cache_dir=$1/cache" "$2" "$1/mount8"
	info "$1" mount8 "$3"
	mount -t fuse.layerfs -o "nosuid,nodev,cache_dir=$1/cache" "$2" \
		"$1/mount8-safe"
	info "$1" mount8-safe "$3"
	mount -T "$1/fstab" "$1/fstab-mnt"
	info "$1" fstab-mnt "$3"
	mount -T "$1/fstab" "$1/fstab-man"
	info "$1" fstab-man "$3"' sh "$T" "$src" "$DUMPTREE" "$ibin" ||
	fail "mount -t fuse.layerfs or mount -T FSTAB failed"
for m in mount8 mount8-safe fstab-mnt fstab-man; do
	[ "$(cat "$T/$m.type")" = "fuse.layerfs $src" ] ||
		fail "$m made: $(cat "$T/$m.type")"
	diff -u "$T/dump.ref" "$T/dump.$m" >&2 || fail "$m: the tree differs"
done
want_flags "mount -t fuse.layerfs" "$(cat "$T/mount8.flags")" ro
want_flags "mount -t fuse.layerfs -o nosuid,nodev" \
	"$(cat "$T/mount8-safe.flags")" nodev,nosuid,ro
want_flags "fstab line without nosuid,nodev" "$(cat "$T/fstab-mnt.flags")" ro
want_flags "the fstab line of layerfs(1)" "$(cat "$T/fstab-man.flags")" \
	nodev,nosuid,ro

#!/bin/bash
# The mount is read-only (every write fails with EROFS) and, mounted by root,
# open to other users under the kernel's permission checks (allow_other +
# default_permissions): nobody reads a 0644 file but not a 0600 one.
. "$(dirname "$0")/lib.sh"
lfs_require_prog setpriv setfattr
fx=$(lfs_fixture conformance)
m=$T/mnt

lfs_mount "oci:$fx/oci:conf" "$m"
[ "$(findmnt -n -o FSTYPE --mountpoint "$m")" = fuse.layerfs ] ||
	fail "not a fuse.layerfs mount"
opts=,$(findmnt -n -o OPTIONS --mountpoint "$m"),
for o in ro nosuid nodev default_permissions allow_other; do
	[[ $opts == *,$o,* ]] || fail "mount option $o missing: $opts"
done

expect_erofs() {
	local out

	if out=$("$@" 2>&1); then
		fail "succeeded on a read-only mount: $*"
	fi
	[[ $out == *"Read-only file system"* ]] || fail "$*: not EROFS: $out"
}
expect_erofs touch "$m/data/public"
expect_erofs touch "$m/data/new-file"
expect_erofs mkdir "$m/data/new-dir"
expect_erofs rm "$m/data/public"
expect_erofs rmdir "$m/data/emptydir"
expect_erofs mv "$m/data/public" "$m/data/moved"
expect_erofs ln -s public "$m/data/new-link"
expect_erofs ln "$m/data/public" "$m/data/new-hardlink"
expect_erofs mkfifo "$m/data/new-fifo"
if command -v mknod >/dev/null; then
	expect_erofs mknod "$m/data/new-null" c 1 3
fi
expect_erofs truncate -s 0 "$m/data/public"
if command -v fallocate >/dev/null; then
	expect_erofs fallocate -l 4096 "$m/data/public"
fi
expect_erofs chmod 0600 "$m/data/public"
expect_erofs chown 1:1 "$m/data/public"
expect_erofs setfattr -n user.new -v 1 "$m/data/public"
expect_erofs setfattr -x user.foo "$m/data/xattr/file"
# shellcheck disable=SC2016	# expanded by the inner sh
expect_erofs sh -c 'echo more >>"$1"' sh "$m/data/public"

# A non-root user has to reach the mountpoint first.
chmod 0755 "$T"
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
[ "$(as_nobody cat "$m/data/public")" = public ] ||
	fail "nobody cannot read a 0644 file"
for f in data/secret root/. data/modes/readonly-dir/inside; do
	if out=$(as_nobody cat "$m/$f" 2>&1); then
		fail "nobody read $f"
	fi
	[[ $out == *"Permission denied"* ]] || fail "nobody, $f: $out"
done

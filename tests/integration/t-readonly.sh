#!/bin/bash
# The mount is read-only (every write fails with EROFS) and, mounted by root,
# open to other users under the kernel's permission checks (allow_other +
# default_permissions): nobody reads a 0644 file but not a 0600 one.
# MS_RDONLY stops writes in the kernel, before the daemon; so a second mount,
# remounted read-write, checks that the daemon answers each write itself.
. "$(dirname "$0")/lib.sh"
lfs_require_prog setpriv setfattr perl mknod fallocate
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
expect_erofs mknod "$m/data/new-null" c 1 3
expect_erofs truncate -s 0 "$m/data/public"
expect_erofs fallocate -l 4096 "$m/data/public"
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

# The daemon's own answers.  `mount -i -o remount,rw` clears MS_RDONLY on a
# FUSE mount (root may; -i keeps mount.fuse3 out of it), so every write
# below reaches the daemon, which must refuse it.  The -d trace shows each
# request and its reply; one with the wrong opcode or answer fails.
# WRITE, FALLOCATE and a size-changing SETATTR need a file opened for
# writing, which OPEN and CREATE never grant, so no request reaches them.
rw=$T/rw
mkdir -p "$rw"
lfs_track_mount "$rw"
"$LAYERFS" mount -d --cache-dir "$T/cache" "oci:$fx/oci:conf" "$rw" \
	>"$T/trace" 2>&1 &
for _ in $(seq 50); do mountpoint -q "$rw" && break; sleep 0.1; done
mountpoint -q "$rw" || fail "the -d mount did not come up: $(cat "$T/trace")"
if ! out=$(mount -i -o remount,rw "$rw" 2>&1); then
	echo "SKIP (part): remount,rw refused here ($out); the daemon's" \
		"EROFS answers are not checked" >&2
	exit 0
fi
opts=,$(findmnt -n -o OPTIONS --mountpoint "$rw"),
[[ $opts == *,rw,* ]] || fail "remount,rw left $rw read-only: $opts"
[ "$(cat "$rw/data/public")" = public ] || fail "no read after remount,rw"

# daemon_says OPCODE ERRNO MESSAGE CMD...: CMD fails with MESSAGE, and the
# daemon got at least one OPCODE request meanwhile and answered every one
# with -ERRNO.  libfuse logs a request before handling it and the reply
# before sending it, so both are in the trace when CMD returns.
daemon_says() {
	local op=$1 err=$2 msg=$3 before ids id out

	shift 3
	before=$(wc -l <"$T/trace")
	if out=$("$@" 2>&1); then
		fail "succeeded on a mount remounted rw: $*"
	fi
	[[ $out == *"$msg"* ]] || fail "$*: want \"$msg\", got: $out"
	ids=$(tail -n "+$((before + 1))" "$T/trace" |
		sed -n "s/.*unique: \([0-9]*\), opcode: $op .*/\1/p")
	[ -n "$ids" ] || fail "$*: no $op request reached the daemon"
	for id in $ids; do
		grep -q "unique: $id, error: -$err " "$T/trace" ||
			fail "$*: $op not answered -$err: $(grep "unique: $id," "$T/trace")"
	done
}
erofs() { daemon_says "$1" 30 "Read-only file system" "${@:2}"; }
d=$rw/data
erofs SETATTR touch "$d/public"	# open fails, then utimensat
erofs CREATE touch "$d/new-file"
erofs MKDIR mkdir "$d/new-dir"
erofs UNLINK rm "$d/public"
erofs RMDIR rmdir "$d/emptydir"
erofs 'RENAME2\?' mv "$d/public" "$d/moved"
erofs LINK ln "$d/public" "$d/new-hardlink"
erofs SYMLINK ln -s public "$d/new-link"
erofs SETATTR chmod 0600 "$d/public"
erofs SETATTR chown 1:1 "$d/public"
erofs SETXATTR setfattr -n user.new -v 1 "$d/public"
erofs REMOVEXATTR setfattr -x user.foo "$d/xattr/file"
erofs OPEN truncate -s 0 "$d/public"
erofs MKNOD mkfifo "$d/new-fifo"
erofs MKNOD mknod "$d/new-null" c 1 3
erofs OPEN fallocate -l 4096 "$d/public"
# shellcheck disable=SC2016	# expanded by the inner sh
erofs OPEN sh -c 'exec 3>>"$1"' sh "$d/public"	# O_WRONLY
# shellcheck disable=SC2016
erofs OPEN sh -c 'exec 3<>"$1"' sh "$d/public"	# O_RDWR
# O_TMPFILE is FUSE_TMPFILE (51), which libfuse 3.14 has no handler for: it
# answers ENOSYS, and the kernel tells the caller EOPNOTSUPP.  No file is
# made either way.
# shellcheck disable=SC2016	# perl's variables
daemon_says '[^ ]* (51),' 38 "Operation not supported" perl -e \
	'sysopen(my $f, $ARGV[0], 020200000 | 1, 0600) or die "$!\n"' "$d"
[ "$(cat "$d/public")" = public ] || fail "public changed"

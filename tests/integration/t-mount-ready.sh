#!/bin/bash
# `layerfs mount` returns only once the tree answers.  The kernel's INIT is
# answered inside the FUSE loop, after the mount itself worked, and may be
# rejected there: then the command fails with a one-line reason, nothing
# stays mounted and no daemon is left, in the background and with -f.
# A user's max_read= given twice is answered as libfuse reads it.
# SIGTERM still ends a daemon's session (the readiness check runs on a
# thread of its own, which must not take the signal).
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/l/dir"
echo hello >"$T/l/dir/file"
tar -C "$T/l" -cf "$T/l.tar" .

# wait_no_daemon WHAT: the daemons of this test are gone within 5 s.
wait_no_daemon() {
	local pids

	for _ in $(seq 50); do
		pids=$(lfs_daemons)
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	fail "$1: daemon still running: $pids"
}

# Ready means ready: the root (the FUSE root, inode 1) and a file answer
# the moment the command returns, every time.
for i in $(seq 20); do
	lfs_mount "" "$T/mnt" --layer "$T/l.tar"
	[ "$(stat -c %i "$T/mnt")" = 1 ] || fail "round $i: root not inode 1"
	[ "$(stat -f -c %t "$T/mnt")" = 65735546 ] ||
		fail "round $i: not a FUSE mount"
	[ "$(cat "$T/mnt/dir/file")" = hello ] || fail "round $i: wrong content"
	fusermount3 -u "$T/mnt"
done
wait_no_daemon "after unmounting"

# SIGTERM ends the session and the mount.
lfs_mount "" "$T/mnt" --layer "$T/l.tar"
pid=$(lfs_daemons)
[ -n "$pid" ] || fail "no daemon after mounting"
kill -TERM "$pid"
for _ in $(seq 50); do mountpoint -q "$T/mnt" || break; sleep 0.1; done
! mountpoint -q "$T/mnt" || fail "SIGTERM did not end the session"
wait_no_daemon "after SIGTERM"

check_reason() {
	grep -q "^layerfs: cannot mount .* at $1: $4" "$2" ||
		fail "$3: no 'cannot mount ... at $1: $4' line: $(cat "$2")"
}

# A user's max_read= is answered in INIT as libfuse reads it (the last
# one), so libfuse does not reject INIT ("different maximum read size").
lfs_mount "" "$T/twice" --layer "$T/l.tar" -o max_read=8192,max_read=4096
findmnt -n -o OPTIONS --mountpoint "$T/twice" | grep -q 'max_read=4096' ||
	fail "max_read=4096 not applied"
[ "$(cat "$T/twice/dir/file")" = hello ] || fail "max_read twice: content"
fusermount3 -u "$T/twice"

# A refused INIT: once layerfs answers INIT correctly nothing real
# triggers it, so a preloaded shim makes the readiness check's statfs
# fail as the kernel's answer would (ECONNREFUSED).  Under ASan the shim
# cannot come first in the link order, which is harmless here.
: "${FAULT_STATFS:?}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
lfs_track_mount "$T/bad"
mkdir -p "$T/bad"
rc=0
LD_PRELOAD=$FAULT_STATFS LFS_FAULT_STATFS=$T/bad \
	"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/l.tar" "$T/bad" \
	2>"$T/stderr" || rc=$?
cat "$T/stderr" >&2
[ "$rc" -eq 8 ] || fail "refused INIT: exit status $rc, want 8 (FUSE refused)"
[ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "refused INIT: want one line"
check_reason "$T/bad" "$T/stderr" "background" \
	"the file system never answered: Connection refused"
! mountpoint -q "$T/bad" || fail "refused INIT left it mounted"
wait_no_daemon "after the failed mount"

# -f: no parent to tell, the same line and exit status.
lfs_track_mount "$T/bad-fg"
mkdir -p "$T/bad-fg"
rc=0
LD_PRELOAD=$FAULT_STATFS LFS_FAULT_STATFS=$T/bad-fg \
	timeout 30 "$LAYERFS" mount -f --cache-dir "$T/cache" \
	--layer "$T/l.tar" "$T/bad-fg" 2>"$T/stderr-fg" || rc=$?
cat "$T/stderr-fg" >&2
[ "$rc" -eq 8 ] || fail "-f: exit status $rc, want 8"
[ "$(wc -l <"$T/stderr-fg")" -eq 1 ] || fail "-f: want a one-line reason"
check_reason "$T/bad-fg" "$T/stderr-fg" "-f" \
	"the file system never answered: Connection refused"
! mountpoint -q "$T/bad-fg" || fail "-f: failed mount left it mounted"
wait_no_daemon "after the failed -f mount"

# Nothing stale is left behind: the same mountpoint mounts fine now.
lfs_mount "" "$T/bad" --layer "$T/l.tar"
[ "$(cat "$T/bad/dir/file")" = hello ] || fail "remount: wrong content"

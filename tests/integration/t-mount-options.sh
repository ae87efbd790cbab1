#!/bin/bash
# Mount options reach the kernel: -o suid,dev lifts the nosuid,nodev
# defaults (a real root file system needs them), noallow_other keeps the
# mount private, FUSE options such as noexec pass through, an unknown option
# fails before any work (exit 2, one line naming it, nothing indexed) and
# no mount, and -d traces requests.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/l/bin"
cp /bin/busybox "$T/l/bin/busybox"
tar -C "$T/l" -cf "$T/l.tar" .

opts() { echo ",$(findmnt -n -o OPTIONS --mountpoint "$1"),"; }

lfs_mount "" "$T/rootfs" --layer "$T/l.tar" -o suid,dev
o=$(opts "$T/rootfs")
[[ $o != *,nosuid,* && $o != *,nodev,* ]] || fail "suid,dev ignored: $o"
"$T/rootfs/bin/busybox" true || fail "cannot execute from the mount"

lfs_mount "" "$T/private" --layer "$T/l.tar" -o noallow_other,noexec
o=$(opts "$T/private")
[[ $o != *,allow_other,* ]] || fail "noallow_other ignored: $o"
[[ $o == *,noexec,* ]] || fail "noexec not passed: $o"
if "$T/private/bin/busybox" true 2>/dev/null; then
	fail "executed from a noexec mount"
fi

lfs_mount_fails "" "$T/bad" --layer "$T/l.tar" -o no_such_option
grep -q "no_such_option" "$T/stderr" || fail "unknown option not named"
# ... before any work: exit 2 (bad usage), one line in our words, and
# nothing indexed into a new cache.
mkdir -p "$T/bad2"
st=0
"$LAYERFS" mount --cache-dir "$T/cache2" --layer "$T/l.tar" \
	-o frobnicate,no_such "$T/bad2" 2>"$T/stderr" || st=$?
[ "$st" -eq 2 ] || fail "unknown options: exit $st, not 2"
[ "$(wc -l <"$T/stderr")" -eq 1 ] &&
	grep -qx 'layerfs mount: unknown options frobnicate,no_such (see layerfs mount --help)' \
		"$T/stderr" || fail "unknown options: $(cat "$T/stderr")"
[ ! -e "$T/cache2" ] || fail "indexed before refusing the options"
! mountpoint -q "$T/bad2" || fail "mounted anyway"

lfs_track_mount "$T/debug"
mkdir -p "$T/debug"
"$LAYERFS" mount -d --cache-dir "$T/cache" --layer "$T/l.tar" "$T/debug" \
	>"$T/debug.log" 2>&1 &
for _ in $(seq 50); do mountpoint -q "$T/debug" && break; sleep 0.1; done
ls "$T/debug/bin" >/dev/null || fail "debug mount unusable"
fusermount3 -u "$T/debug"
wait || fail "the -d daemon exited with an error"
grep -q "LOOKUP" "$T/debug.log" || fail "no request trace with -d"

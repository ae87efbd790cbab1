#!/bin/bash
# The daemon serves many readers at once: eight processes walk and read the
# whole tree concurrently (lookups, listings, xattrs, data), and every one of
# them sees exactly what umoci unpacked.  Then the kernel drops its caches,
# which makes it forget our nodes, and a second round must see the same.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci
fx=$(lfs_fixture conformance)
umoci unpack --image "$fx/oci:conf" "$T/unpack" >&2 || fail "umoci unpack"
"$DUMPTREE" "$T/unpack/rootfs" >"$T/want"
lfs_mount "oci:$fx/oci:conf" "$T/mnt"

round() {
	local i pids=()

	for i in $(seq 8); do
		"$DUMPTREE" "$T/mnt" >"$T/got.$1.$i" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "reader $((i + 1)) failed"
	done
	for i in $(seq 8); do
		diff -u "$T/want" "$T/got.$1.$i" >&2 ||
			fail "round $1, reader $i saw a different tree"
	done
}
round 1
sync
echo 2 >/proc/sys/vm/drop_caches
round 2

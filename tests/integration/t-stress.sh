#!/bin/bash
# scripts/stress, short: 16 readers for 20 s over a two-layer gzip image
# of 20,000 files (random lstat, reads with the page cache dropped
# before half of them, listings; the kernel's caches dropped every 5 s),
# every answer against `umoci unpack`, the daemon's memory within what
# its options allow and nothing held at the end that it did not hold at
# the start; 50 mount cycles of the same image, five ways in turn
# (fusermount3 -u, umount, SIGTERM, writable, the helper form), with no
# daemon, mount or file left and no daemon holding more than the first
# of its way; and the daemon in a memory cgroup of 48 MiB with
# meta_cache=1M, handles=1 and span_cache=1M, a cold mount then readers,
# with the default options and with prefetch=unpack: the limit reached, no OOM
# kill, no wrong byte.  Any error, wrong byte, leak or OOM kill fails.
# The seed is printed; LFS_STRESS_SEED=N replays the readers.
. "$(dirname "$0")/lib.sh"
: "${STRESS:?}" "${MKDATA:?}"
lfs_require_prog umoci gzip tar cmp
# In a sanitizer build, ASan keeps up to 256 MiB of freed memory in
# quarantine; a small one keeps the daemon's memory a measure of what it
# uses, which the readers and the cgroup hold to a budget.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
seed=${LFS_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed (LFS_STRESS_SEED=$seed replays it)"

run() {
	"$LFS_SRCDIR/scripts/stress" --no-build --work "$T/stress" \
		--seed "$seed" "$@" || fail "scripts/stress $* failed"
}

run --files 20000 --procs 16 --seconds 20 --drop 5 readers
run --cycles 50 --cycle-files 20000 cycles
run --files 20000 --procs 16 --cgroup-seconds 4 --drop 2 --limit 48M \
	-o meta_cache=1M,handles=1,span_cache=1M cgroup

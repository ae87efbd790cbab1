#!/bin/bash
# scripts/stress, short: 16 readers for 20 s over a two-layer gzip image
# of 20,000 files (random lstat, reads with the page cache dropped
# before half of them, listings; the kernel's caches dropped every 5 s),
# every answer against `umoci unpack`, the daemon's memory within what
# its options allow and nothing held at the end that it did not hold at
# the start; 50 mount cycles of a 2,000-file image, five ways in turn
# (fusermount3 -u, umount, SIGTERM, writable, the helper form), with no
# daemon, mount or file left and no daemon holding more than the first
# of its way; and the daemon in a memory cgroup of 24 MiB with
# meta_cache=1M and handles=1, a cold mount then readers, with the
# default options and with prefetch=unpack: the limit reached, no OOM
# kill, no wrong byte.  Any error, wrong byte, leak or OOM kill fails.
# The seed is printed; LFS_STRESS_SEED=N replays the readers.
. "$(dirname "$0")/lib.sh"
: "${STRESS:?}" "${MKDATA:?}"
lfs_require_prog umoci gzip tar cmp
seed=${LFS_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed (LFS_STRESS_SEED=$seed replays it)"

run() {
	"$LFS_SRCDIR/scripts/stress" --no-build --work "$T/stress" \
		--seed "$seed" "$@" || fail "scripts/stress $* failed"
}

run --files 20000 --procs 16 --seconds 20 --drop 5 readers
run --cycles 50 --cycle-files 2000 cycles
run --files 20000 --procs 16 --cgroup-seconds 5 --drop 2 --limit 24M \
	-o meta_cache=1M,handles=1 cgroup

#!/bin/bash
# Data integrity of a writable mount under load (tests/tools/stress.c):
# four processes make 100000 random operations (pwrite/pwritev at random
# offsets up to 256 KiB, ftruncate and truncate both ways, chmod (a
# metadata-only copy-up), MAP_SHARED stores with and without msync,
# fsync, close and reopen with and without O_TRUNC, O_APPEND writes,
# reads through the read-write descriptor, through one opened before the
# first write and through fresh ones, with pages dropped) on files of the
# conformance image (copied up on the first write) and new ones, each
# process owning its files and checking every read, and every file whole
# at the end, against its model.  Then two writers share a file below in
# disjoint chunks while two readers, whose descriptors were opened before
# the copy-up (one O_DIRECT), must see every returned write, never the
# data below.  The models' sha256 must then be what the mount shows after
# drop_caches, what the upper itself holds, and what a new mount over the
# same upper shows; nothing is left in W/work.  Last, a shorter run of
# the first part on a mount with -o metacopy=off.
#
# The seed is printed; LFS_STRESS_SEED=N replays a run.
. "$(dirname "$0")/lib.sh"
: "${STRESS:?}"
lfs_require_prog timeout
fx=$(lfs_fixture conformance)
src=oci:$fx/oci:conf
U=$T/upper W=$T/work M=$T/mnt
mkdir -p "$U" "$W"
seed=${LFS_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $seed (LFS_STRESS_SEED=$seed replays it)"

lfs_mount "$src" "$M" -o "upper=$U,work=$W"
# Below: a sparse 1 MiB file, small ones, one 0600; new: in a new
# directory and in a directory below.
lower=(data/sparse-pax etc/passwd data/secret etc/group)
new=(stress/a data/stress-b)
shared=bin/busybox
for f in "${lower[@]}" "$shared"; do
	[ -f "$M/$f" ] || fail "the fixture has no $f"
	[ ! -e "$U/$f" ] || fail "$f is in the upper before any write"
done
mkdir "$M/stress"

timeout 180 "$STRESS" --seed "$seed" --procs 4 --ops 100000 \
	--state "$T/state" --model-dir "$T/model" "$M" "${lower[@]}" "${new[@]}" ||
	fail "stress (seed $seed) failed, status $?"
[ ! -e "$U/$shared" ] || fail "$shared was copied up by the first run"
timeout 120 "$STRESS" --shared --seed "$seed" --state "$T/state" \
	--model-dir "$T/model" "$M" "$shared" ||
	fail "stress --shared (seed $seed) failed, status $?"
[ "$(wc -l <"$T/state")" -eq $((${#lower[@]} + ${#new[@]} + 1)) ] ||
	fail "the state file lists $(wc -l <"$T/state") files"
[ -z "$(ls -A "$W/work")" ] ||
	fail "W/work holds leftovers while mounted: $(ls -A "$W/work")"

# The kernel's page cache dropped: the daemon answers every read.
sync
echo 3 >/proc/sys/vm/drop_caches
"$STRESS" --verify "$T/state" --model-dir "$T/model" "$M" ||
	fail "after drop_caches, the mount differs from the models (seed $seed)"
fusermount3 -u "$M"
[ -z "$(ls -A "$W/work")" ] ||
	fail "W/work holds leftovers after unmount: $(ls -A "$W/work")"

# Every file was opened for writing: the upper holds all of its data.
"$STRESS" --verify "$T/state" --model-dir "$T/model" "$U" ||
	fail "the upper's files differ from the models (seed $seed)"

# A new mount over the same upper.
lfs_mount "$src" "$M" -o "upper=$U,work=$W"
"$STRESS" --verify "$T/state" --model-dir "$T/model" "$M" ||
	fail "the remount differs from the models (seed $seed)"
fusermount3 -u "$M"

# The same with -o metacopy=off, on a fresh upper: every copy-up copies
# the data, the ones a chmod or a truncate(2) of a file below makes too.
U=$T/upper-nometa W=$T/work-nometa
mkdir -p "$U" "$W"
lfs_mount "$src" "$M" -o "upper=$U,work=$W,metacopy=off"
mkdir "$M/stress"
timeout 120 "$STRESS" --seed "$seed" --procs 4 --ops 30000 \
	--state "$T/state-nometa" --model-dir "$T/model-nometa" "$M" \
	"${lower[@]}" "${new[@]}" ||
	fail "stress -o metacopy=off (seed $seed) failed, status $?"
fusermount3 -u "$M"
[ -z "$(ls -A "$W/work")" ] ||
	fail "W/work holds leftovers after unmount: $(ls -A "$W/work")"
lfs_mount "$src" "$M" -o "upper=$U,work=$W,metacopy=off"
"$STRESS" --verify "$T/state-nometa" --model-dir "$T/model-nometa" "$M" ||
	fail "the remount (metacopy=off) differs from the models (seed $seed)"
fusermount3 -u "$M"

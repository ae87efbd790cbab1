#!/bin/bash
# kill -9 of a writable mount's daemon leaves the upper as it was before
# or after each change, never in between, and only leftovers in W/work,
# which the next mount over the same upper removes:
#  (a) during the copy-up of a 256 MiB file (an append to it): the upper
#      gets no file, partial or not; the remount shows the lower content,
#      unchanged, and W/work is empty; the append then works;
# (a2) while a metadata-only copy (made by a chmod) gets its data: the
#      file reads from below again, with its new mode;
#  (b) during a storm of renames (files and directories, from below and
#      made in the upper, back and forth between two directories; three
#      rounds): every object is there exactly once, under one of its two
#      names, with its content;
#  (c) after writes flushed with fsync (a new file, files below written,
#      appended, truncated): the remount shows them.
# After each crash, kernel overlayfs over the same upper (lowerdir: the
# layer extracted by tar) shows the same tree as the layerfs remount.
. "$(dirname "$0")/lib.sh"
: "${STRESS:?}"
lfs_require_prog tar cmp diff dd getfattr awk
grep -qw overlay /proc/filesystems || modprobe overlay ||
	lfs_skip "no overlayfs"
M=$T/mnt
NP=6 # rename storm processes (stress --renames)
storm_objs=(lf0 lf1 lf2 lf3 ld0 ld1 uf0 uf1 uf2 uf3 ud0 ud1)

# ---- the layer: a big file, the storm's tree, (c)'s files ----
mkdir -p "$T/src/c" "$T/ref"
head -c 256M /dev/urandom >"$T/src/big"
for p in $(seq 0 $((NP - 1))); do
	d=$T/src/storm/p$p
	mkdir -p "$d/A" "$d/B"
	for i in 0 1 2 3; do
		head -c $((4096 + RANDOM)) /dev/urandom >"$d/A/lf$i"
	done
	for i in 0 1; do
		mkdir -p "$d/A/ld$i/sub"
		echo "lower dir $p $i" >"$d/A/ld$i/x"
		head -c 10000 /dev/urandom >"$d/A/ld$i/y"
		echo z >"$d/A/ld$i/sub/z"
	done
done
head -c 1M /dev/urandom >"$T/src/c/lower"
head -c 300K /dev/urandom >"$T/src/c/lower2"
head -c 200K /dev/urandom >"$T/src/c/lower3"
tar -C "$T/src" -cf "$T/layer.tar" .
mkdir "$T/lower"
tar -C "$T/lower" -xpf "$T/layer.tar"
rm -rf "$T/src"
cmp "$T/lower/big" <(tar -xOf "$T/layer.tar" ./big) ||
	fail "tar -x does not give the tar's big file"

# The layerfs daemon serving mountpoint $1.
daemon_of() {
	local pid

	for pid in $(pgrep -x layerfs); do
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qxF -- "$1" && { echo "$pid"; return 0; }
	done
	return 1
}

# kill -9 the daemon of $M, wait until it is gone (or a zombie: its
# descriptors, and the work directory's lock, are closed then), and
# detach the dead mount.
crash() {
	local pid i

	pid=$(daemon_of "$M") || fail "no layerfs daemon serves $M"
	kill -KILL "$pid"
	for i in $(seq 200); do
		[ -e "/proc/$pid" ] || break
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null &&
			break
		sleep 0.05
	done
	[ ! -e "/proc/$pid" ] ||
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null ||
		fail "the killed daemon $pid is still there"
	fusermount3 -uz "$M" 2>/dev/null || umount -l "$M" ||
		fail "cannot detach the dead mount $M"
	! mountpoint -q "$M" || fail "$M is still mounted after the detach"
}

wmount() { # UPPER WORK
	lfs_mount "" "$M" --layer "$T/layer.tar" -o "upper=$1,work=$2"
}

work_empty() { # WORK WHEN
	[ -d "$1/work" ] || fail "$1/work is missing $2"
	[ -z "$(ls -A "$1/work")" ] ||
		fail "$1/work holds leftovers $2: $(ls -lA "$1/work")"
}

# Kernel overlayfs over upper $1 shows what the layerfs mount at $M shows.
same_as_overlay() { # UPPER NAME
	local k=$T/kmerged.$2 kw=$T/kwork.$2

	mkdir "$k" "$kw"
	lfs_track_mount "$k"
	mount -t overlay overlay -o "lowerdir=$T/lower,upperdir=$1,workdir=$kw,redirect_dir=on,metacopy=on,index=off" \
		"$k" || fail "mount -t overlay over $1 ($2) failed"
	assert_same_tree "$M" "$k"
	umount "$k"
	rm -rf "$kw"
}

# ---- (a) kill -9 during the copy-up of a 256 MiB file ----
caught=
for try in 1 2 3 4 5; do
	U=$T/a$try/upper W=$T/a$try/work
	mkdir -p "$U" "$W"
	wmount "$U" "$W"
	work_empty "$W" "after the mount"
	(echo appended >>"$M/big") 2>/dev/null &
	appender=$!
	tmp=
	for i in $(seq 4000); do
		tmp=$(compgen -G "$W/work/*" | head -n1) && [ -s "$tmp" ] && break
		tmp=
		[ ! -e "$U/big" ] || break
		sleep 0.002
	done
	crash
	wait "$appender" || true
	if [ -n "$tmp" ] && [ ! -e "$U/big" ] &&
		[ -n "$(ls -A "$W/work")" ]; then
		caught=$try
		break
	fi
	# Too late (or too early): the copy was done.  Whatever is in the
	# upper must still be whole.
	echo "try $try: the copy-up was not caught running (temp '${tmp##*/}', upper: $(ls -A "$U"))"
	if [ -e "$U/big" ]; then
		cmp -n 268435456 "$U/big" "$T/lower/big" ||
			fail "a copy-up killed after its rename left a wrong $U/big"
	fi
done
[ -n "$caught" ] || lfs_skip "the copy-up always finished before the kill"
echo "(a) killed during the copy-up, try $caught: W/work held $(ls -A "$W/work") ($(stat -c %s "$W/work"/* | head -n1) bytes)"
[ -z "$(find "$U" -mindepth 1 | head -n5)" ] ||
	fail "the killed copy-up left something in the upper: $(find "$U" -mindepth 1 | head -n5)"
wmount "$U" "$W"
work_empty "$W" "after the remount"
[ -z "$(find "$U" -mindepth 1 | head -n5)" ] ||
	fail "the remount put something in the upper: $(find "$U" -mindepth 1 | head -n5)"
[ "$(stat -c %s "$M/big")" = 268435456 ] ||
	fail "big is $(stat -c %s "$M/big") bytes after the crash"
cmp "$M/big" "$T/lower/big" || fail "big differs from the lower file after the crash"
same_as_overlay "$U" a-crash
# The append, again, to its end.
echo appended >>"$M/big" || fail "the append after the remount failed"
[ -f "$U/big" ] || fail "the append did not copy big up"
cmp -n 268435456 "$M/big" "$T/lower/big" || fail "big's copy differs"
[ "$(tail -c 9 "$M/big")" = appended ] || fail "big does not end in the append"
[ "$(stat -c %s "$U/big")" = $((268435456 + 9)) ] ||
	fail "the upper's big is $(stat -c %s "$U/big") bytes"
fusermount3 -u "$M"
work_empty "$W" "after the unmount"
wmount "$U" "$W"
same_as_overlay "$U" a-done
fusermount3 -u "$M"
rm -rf "$T"/a[0-9]

# ---- (a2) kill -9 while a metadata-only copy-up gets its data ----
# A chmod copies big up with its metadata only (an empty file marked
# overlay.metacopy, its data below); the append then copies the data in
# place, and the mark goes once the data is whole.  Killed in between,
# the file must read from below again.
mc=trusted.overlay.metacopy # root: the trusted namespace
has_mark() { getfattr -h -n "$mc" "$1" >/dev/null 2>&1; }
caught=
for try in 1 2 3 4 5; do
	U=$T/mc$try/upper W=$T/mc$try/work
	mkdir -p "$U" "$W"
	wmount "$U" "$W"
	chmod 0600 "$M/big" || fail "chmod big"
	if ! { [ -f "$U/big" ] && has_mark "$U/big"; }; then
		fail "chmod did not make a metadata-only copy of big: $(ls -l "$U")"
	fi
	[ "$(stat -c %b "$U/big")" -lt 64 ] ||
		fail "the metadata-only copy holds $(stat -c %b "$U/big") blocks"
	(echo appended >>"$M/big") 2>/dev/null &
	appender=$!
	for i in $(seq 4000); do
		[ "$(stat -c %b "$U/big")" -gt 0 ] && break
		sleep 0.002
	done
	crash
	wait "$appender" || true
	if has_mark "$U/big"; then
		caught=$try
		break
	fi
	echo "try $try: the data copy was not caught running"
	cmp -n 268435456 "$U/big" "$T/lower/big" ||
		fail "a data copy killed after it was marked whole left a wrong $U/big"
done
[ -n "$caught" ] || lfs_skip "the data copy always finished before the kill"
echo "(a2) killed during the data copy, try $caught: $(stat -c %b "$U/big") blocks of it in the upper"
wmount "$U" "$W"
work_empty "$W" "after the remount"
[ "$(stat -c %a:%s "$M/big")" = 600:268435456 ] ||
	fail "big is $(stat -c %a:%s "$M/big") (mode:size) after the crash"
cmp "$M/big" "$T/lower/big" ||
	fail "big differs from the lower file after a crash during its data copy"
same_as_overlay "$U" a2-crash
echo appended >>"$M/big" || fail "the append after the remount failed"
! has_mark "$U/big" || fail "big is still marked metacopy after the append"
cmp -n 268435456 "$U/big" "$T/lower/big" || fail "the upper's big differs"
[ "$(tail -c 9 "$M/big")" = appended ] || fail "big does not end in the append"
fusermount3 -u "$M"
rm -rf "$T"/mc[0-9]

# ---- (b) kill -9 during a rename storm ----
U=$T/b/upper W=$T/b/work
mkdir -p "$U" "$W"
wmount "$U" "$W"
# The objects' content as it must stay: those below, and new ones made
# in the upper (files, directories, and a new file in a lower directory).
for p in $(seq 0 $((NP - 1))); do
	r=$T/ref/p$p
	mkdir -p "$r"
	cp -a "$T/lower/storm/p$p/A/." "$r/"
	for i in 0 1 2 3; do
		head -c $((100 + RANDOM)) /dev/urandom >"$r/uf$i"
	done
	for i in 0 1; do
		mkdir -p "$r/ud$i/sub"
		echo "upper dir $p $i" >"$r/ud$i/x"
		head -c 5000 /dev/urandom >"$r/ud$i/sub/z"
	done
	echo "new in a lower dir $p" >"$r/ld1/new"
	for o in uf0 uf1 uf2 uf3 ud0 ud1; do
		cp -a "$r/$o" "$M/storm/p$p/A/" || fail "cp $o into the mount"
	done
	cp -a "$r/ld1/new" "$M/storm/p$p/A/ld1/new" || fail "cp ld1/new"
done

# Every object exactly once, under one of its names, with its content.
check_objects() { # WHEN
	local p o d a b n bad=0

	for p in $(seq 0 $((NP - 1))); do
		d=$M/storm/p$p
		for o in "${storm_objs[@]}"; do
			a=$d/A/$o b=$d/B/$o.r
			if [ -e "$a" ] && [ -e "$b" ]; then
				echo "p$p/$o: under both names" >&2
				bad=1
			elif [ -e "$a" ] || [ -e "$b" ]; then
				[ -e "$a" ] || a=$b
				diff -r --no-dereference "$T/ref/p$p/$o" "$a" >&2 || {
					echo "p$p/$o: wrong content at ${a#"$d"/}" >&2
					bad=1
				}
			else
				echo "p$p/$o: under neither name" >&2
				bad=1
			fi
		done
		n=$(find "$d/A" "$d/B" -mindepth 1 -maxdepth 1 | wc -l)
		if [ "$n" -ne ${#storm_objs[@]} ]; then
			echo "p$p: A and B hold $n names, not ${#storm_objs[@]}:" \
				"$(ls -A "$d/A" "$d/B" | tr '\n' ' ')" >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ] || fail "the rename storm's objects are wrong $1"
}

check_objects "before the storm"
# Three rounds, each killed and remounted over the same upper, so the
# kills land in different renames; the next round starts from there.
for round in 1 2 3; do
	rm -f "$T/stop" "$T/count"
	"$STRESS" --renames --procs "$NP" --stop "$T/stop" --count "$T/count" \
		--seed "$RANDOM" "$M" storm "${storm_objs[@]}" &
	storm=$!
	sleep 1.5
	before=$(cat "$T/count" 2>/dev/null || echo 0)
	sleep 0.5
	during=$(cat "$T/count" 2>/dev/null || echo 0)
	touch "$T/stop"
	crash
	wait "$storm" || fail "renames failed before the kill (round $round)"
	echo "(b) round $round: $during renames before the kill ($((during - before)) in its last 0.5 s)"
	[ "$during" -gt "$before" ] ||
		fail "the rename storm stalled before the kill ($before, then $during renames; round $round)"
	wmount "$U" "$W"
	work_empty "$W" "after the remount (round $round)"
	check_objects "after the crash of round $round"
	same_as_overlay "$U" "b$round"
done
fusermount3 -u "$M"

# ---- (c) what was fsync'd survives kill -9 ----
U=$T/c/upper W=$T/c/work
mkdir -p "$U" "$W" "$T/exp"
wmount "$U" "$W"
head -c 3M /dev/urandom >"$T/exp/new"
head -c 100K /dev/urandom >"$T/chunk"
cp "$T/lower/c/lower" "$T/exp/lower"
dd if="$T/chunk" of="$T/exp/lower" bs=100K seek=3 conv=notrunc status=none
cp "$T/lower/c/lower2" "$T/exp/lower2"
cat "$T/chunk" >>"$T/exp/lower2"
head -c 1000 "$T/lower/c/lower3" >"$T/exp/lower3"
# A new file; a file below overwritten in the middle, one appended to,
# one truncated; each flushed by dd's fsync.
dd if="$T/exp/new" of="$M/c/new" bs=1M conv=fsync status=none
dd if="$T/chunk" of="$M/c/lower" bs=100K seek=3 conv=notrunc,fsync \
	status=none
dd if="$T/chunk" of="$M/c/lower2" oflag=append conv=notrunc,fsync \
	status=none
dd if=/dev/null of="$M/c/lower3" bs=1 seek=1000 conv=fsync status=none
for f in new lower lower2 lower3; do
	cmp "$M/c/$f" "$T/exp/$f" || fail "c/$f is wrong before the crash"
done
crash
wmount "$U" "$W"
work_empty "$W" "after the remount"
for f in new lower lower2 lower3; do
	cmp "$M/c/$f" "$T/exp/$f" || fail "c/$f lost fsync'd data in the crash"
done
same_as_overlay "$U" c
fusermount3 -u "$M"

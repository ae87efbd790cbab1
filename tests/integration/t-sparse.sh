#!/bin/bash
# Holes cost no memory: a 1 TiB sparse file with three small data runs (at
# its start, at 2^39 and at its end), archived by GNU tar in the old GNU
# format and in pax (GNU tar finds the holes with SEEK_HOLE, so both tars
# are a few KiB and quick to make), mounts as two layers.  Reads at the
# start, around the middle and at the end give the file's bytes, data and
# zeros; st_blocks counts only the data, so du(1) shows the file as the
# few KiB it holds; the daemon's peak resident memory (VmHWM) stays under
# 64 MiB and each layer's index under 64 KiB (it holds three extents; a
# hole stored as anything would need far more).
. "$(dirname "$0")/lib.sh"
lfs_require_prog tar truncate dd cmp du

TIB=$((1 << 40))
MID=$((1 << 39))
S=$T/src
mkdir -p "$S"
f=$S/big
truncate -s "$TIB" "$f" || lfs_skip "no 1 TiB file on this file system"
printf 'the start' | dd of="$f" conv=notrunc status=none
printf 'the middle' | dd of="$f" bs=1 seek=$MID conv=notrunc status=none
printf 'the end' | dd of="$f" bs=1 seek=$((TIB - 7)) conv=notrunc status=none
[ "$(stat -c %b "$f")" -lt 4096 ] ||
	lfs_skip "this file system stored the holes"

# pack NAME FORMAT-OPTION...: $T/NAME.tar holding the file as NAME.
pack() {
	local name=$1

	shift
	LC_ALL=C TZ=UTC tar -c -f "$T/$name.tar" -C "$S" "$@" \
		--owner=0 --group=0 --numeric-owner --mtime=@0 \
		--transform="s/^big\$/$name/" big
	[ "$(stat -c %s "$T/$name.tar")" -lt 65536 ] ||
		fail "$name.tar: $(stat -c %s "$T/$name.tar") bytes; the holes were stored"
}
pack gnu --format=gnu --sparse
pack pax --format=pax --sparse-version=1.0 \
	--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime

# In a sanitizer build, ASan keeps up to 256 MiB of freed memory in
# quarantine; a small one keeps the peak a measure of what the daemon uses.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8" lfs_mount "" "$T/mnt" --layer "$T/gnu.tar" --layer "$T/pax.tar"

# same FILE OFF LEN: FILE's bytes [OFF, OFF + LEN) are the source's.
same() {
	cmp <(dd if="$1" iflag=skip_bytes,count_bytes bs=1M skip="$2" \
		count="$3" status=none) \
		<(dd if="$f" iflag=skip_bytes,count_bytes bs=1M skip="$2" \
			count="$3" status=none) ||
		fail "$1: bytes $2+$3 differ from the source"
}

# zeros FILE OFF LEN: FILE's bytes [OFF, OFF + LEN) are zeros.
zeros() {
	cmp <(dd if="$1" iflag=skip_bytes,count_bytes bs=1M skip="$2" \
		count="$3" status=none) <(head -c "$3" /dev/zero) ||
		fail "$1: bytes $2+$3 are not zeros"
}

# at FILE OFF LEN WANT: FILE's bytes [OFF, OFF + LEN) are WANT.
at() {
	local got

	got=$(dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" \
		status=none)
	[ "$got" = "$4" ] || fail "$1 at $2: \"$got\", want \"$4\""
}

for n in gnu pax; do
	m=$T/mnt/$n
	[ "$(stat -c %s "$m")" -eq "$TIB" ] ||
		fail "$m: size $(stat -c %s "$m"), want $TIB"
	read -r blocks unit < <(stat -c '%b %B' "$m")
	[ "$blocks" -gt 0 ] && [ $((blocks * unit)) -lt 65536 ] ||
		fail "$m: $blocks blocks of $unit for three short runs"
	[ "$(du -k "$m" | cut -f1)" -le 64 ] || fail "du says $(du -k "$m")"
	at "$m" 0 9 'the start'
	at "$m" "$MID" 10 'the middle'
	at "$m" $((TIB - 7)) 7 'the end'
	same "$m" 0 $((1 << 20))
	zeros "$m" 4096 $((16 << 20))
	zeros "$m" $((1 << 38)) $((16 << 20))
	same "$m" $((MID - (32 << 20))) $((64 << 20))
	zeros "$m" $((MID + 4096)) $((16 << 20))
	same "$m" $((TIB - (1 << 20))) $((1 << 20))
	# Past the end: nothing.
	[ -z "$(dd if="$m" iflag=skip_bytes skip="$TIB" bs=4096 count=1 \
		status=none | head -c 1)" ] || fail "$m: a read past the end gave data"
done

pid=$(lfs_daemons)
[ -n "$pid" ] && [ "$(wc -w <<<"$pid")" -eq 1 ] ||
	fail "want one daemon, found: $pid"
hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
echo "daemon VmHWM: $hwm kB"
[ "$hwm" -lt $((64 << 10)) ] || fail "the daemon's peak memory is $hwm kB"

n=0
for idx in "$T"/cache/index/*.idx; do
	[ "$(stat -c %s "$idx")" -lt 65536 ] ||
		fail "$idx: $(stat -c %s "$idx") bytes for one file of three runs"
	n=$((n + 1))
done
[ "$n" -eq 2 ] || fail "$n indexes for 2 layers"

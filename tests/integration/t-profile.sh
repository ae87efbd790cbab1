#!/bin/bash
# Profiles (docs/decisions/0035): a mount records the files it first
# reads, in order, and saves them at unmount in the cache's profile/; the
# next mount of the same layers asks the kernel to read those bytes ahead
# (fincore sees them in the page cache: from a plain layer's file, and
# the compressed bytes of a gzip layer) before anything reads them.
# profile=off records and replays nothing.  A damaged profile is not used,
# and the next mount that reads replaces it.
. "$(dirname "$0")/lib.sh"
lfs_require_prog fincore
mkdir -p "$T/p" "$T/g"
for f in a b c d; do head -c 4M /dev/urandom >"$T/p/$f"; done
for f in x y z; do
	head -c 3M /dev/urandom | base64 >"$T/g/$f"
done
tar -C "$T/p" -cf "$T/plain.tar" .
tar -C "$T/g" -czf "$T/g.tar.gz" .
L=(--layer "$T/plain.tar" --layer "$T/g.tar.gz")
resident() { # FILE: bytes of it in the page cache
	fincore --bytes --noheadings --output RES "$1" | tr -d ' '
}
profile_line() { "$LAYERFS" stats "$1" | sed -n 's/^profile: //p'; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# The profile is saved as the daemon ends, after the unmount returns.
umount_wait() { # MNT
	local pid p

	for p in $(pgrep -x layerfs); do
		grep -sqzF -- "$1" "/proc/$p/cmdline" && pid=$p
	done
	fusermount3 -u "$1"
	for _ in $(seq 50); do
		kill -0 "${pid:-0}" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "the daemon of $1 did not end"
}

# Record: c, then y (below), then a.  prefetch=index: no copies, so the
# ahead-reads go to the layers' own files.
lfs_mount "" "$T/m1" -o prefetch=index "${L[@]}"
cat "$T/m1/c" "$T/m1/y" "$T/m1/a" >/dev/null
cat "$T/m1/c" >/dev/null
case $(profile_line "$T/m1") in
"3 files recorded; 0 of the last mount's 0 read ahead (0 bytes)") ;;
*) fail "recording: $(profile_line "$T/m1")" ;;
esac
umount_wait "$T/m1"
prof=$(ls "$T/cache/profile/"*.prof) || fail "no profile saved"
[ "$(stat -c %s "$prof")" = $((24 + 3 * 24)) ] || fail "profile size"

# Replay into a cold page cache.
cold
[ "$(resident "$T/plain.tar")" -lt $((1 << 20)) ] ||
	fail "plain.tar still cached after drop_caches"
lfs_mount "" "$T/m2" -o prefetch=index "${L[@]}"
for _ in $(seq 100); do
	case $(profile_line "$T/m2") in
	*"3 of the last mount's 3 read ahead"*) break ;;
	esac
	sleep 0.1
done
case $(profile_line "$T/m2") in
"0 files recorded; 3 of the last mount's 3 read ahead ("*) ;;
*) fail "replay: $(profile_line "$T/m2")" ;;
esac
for _ in $(seq 50); do
	[ "$(resident "$T/plain.tar")" -ge $((8 << 20)) ] && break
	sleep 0.1
done
[ "$(resident "$T/plain.tar")" -ge $((8 << 20)) ] ||
	fail "a and c not read ahead: $(resident "$T/plain.tar") bytes cached"
[ "$(resident "$T/plain.tar")" -lt $((12 << 20)) ] ||
	fail "more than a and c read ahead: $(resident "$T/plain.tar")"
[ "$(resident "$T/g.tar.gz")" -gt $((1 << 20)) ] ||
	fail "y's compressed bytes not read ahead: $(resident "$T/g.tar.gz")"
cmp "$T/m2/c" "$T/p/c" && cmp "$T/m2/y" "$T/g/y" || fail "wrong bytes"
umount_wait "$T/m2"
# That mount read c and y: they are the profile now.
[ "$(stat -c %s "$prof")" = $((24 + 2 * 24)) ] || fail "profile not replaced"

# profile=off: nothing read ahead, nothing recorded, the profile kept.
cold
lfs_mount "" "$T/m3" -o prefetch=index,profile=off "${L[@]}"
sleep 0.5
[ "$(profile_line "$T/m3")" = off ] || fail "off: $(profile_line "$T/m3")"
[ "$(resident "$T/plain.tar")" -lt $((1 << 20)) ] ||
	fail "profile=off read ahead: $(resident "$T/plain.tar")"
cat "$T/m3/b" >/dev/null
umount_wait "$T/m3"
[ "$(stat -c %s "$prof")" = $((24 + 2 * 24)) ] || fail "off replaced it"

# A damaged profile: not used; the next reading mount writes a good one.
head -c 100 /dev/urandom >"$prof"
lfs_mount "" "$T/m4" -o prefetch=index "${L[@]}"
case $(profile_line "$T/m4") in
"0 files recorded; 0 of the last mount's 0 read ahead (0 bytes)") ;;
*) fail "damaged: $(profile_line "$T/m4")" ;;
esac
cat "$T/m4/d" >/dev/null
umount_wait "$T/m4"
[ "$(stat -c %s "$prof")" = $((24 + 24)) ] || fail "damaged profile kept"
echo "ok"

#!/bin/bash
# kill -9 of the daemon while it indexes, or while it unpacks a layer into
# the cache, leaves nothing a later mount would trust: no index file, no
# named copy.  The next mount indexes (and unpacks) again and reads right.
. "$(dirname "$0")/lib.sh"
lfs_require_prog zstd gzip base64 truncate
cache=$T/cache
mkdir -p "$T/mnt" "$T/src"

# A layer that takes a few hundred ms to index: one 2 GiB file of zeros
# (the tar header from tar, the data straight from /dev/zero).
truncate -s 2G "$T/zero"
tar -C "$T" -cf - zero 2>/dev/null | head -c 512 >"$T/hdr" || true
{ cat "$T/hdr"; head -c 2G /dev/zero; head -c 1024 /dev/zero; } |
	zstd -1 -T0 -q >"$T/zeros.tar.zst"
rm -f "$T/zero"

# Start indexing in the foreground; stop the process as soon as it holds
# the layer's lock, before the index can be written.  Retried, since a
# fast machine may finish first (then the run proves nothing).
caught=
for try in $(seq 10); do
	rm -rf "$cache"
	"$LAYERFS" mount -f --cache-dir "$cache" --layer "$T/zeros.tar.zst" \
		"$T/mnt" 2>"$T/stderr" &
	pid=$!
	for i in $(seq 500); do
		compgen -G "$cache/index/*.lock" >/dev/null && break
		sleep 0.005
	done
	kill -STOP "$pid"
	if compgen -G "$cache/index/*.idx" >/dev/null ||
		mountpoint -q "$T/mnt"; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null || true
		lfs_unmount_all
		continue
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	caught=$try
	break
done
[ -n "$caught" ] || lfs_skip "indexing always finished before it could be stopped"
! compgen -G "$cache/index/*.idx" >/dev/null ||
	fail "an index file appeared after kill -9: $(ls "$cache/index")"
! mountpoint -q "$T/mnt" || fail "a mount was left"

# The next mount indexes again, keeps the index, and reads right.
lfs_mount "" "$T/mnt" --cache-dir "$cache" --layer "$T/zeros.tar.zst"
"$LAYERFS" stats "$T/mnt" | grep -q "^layers: 1 (0 indexes from the cache" ||
	fail "the next mount used an index: $("$LAYERFS" stats "$T/mnt")"
[ "$(stat -c %s "$T/mnt/zero")" = 2147483648 ] || fail "wrong size"
cmp -n 1M "$T/mnt/zero" /dev/zero || fail "wrong data"
fusermount3 -u "$T/mnt"
compgen -G "$cache/index/*.idx" >/dev/null || fail "no index kept"

# kill -9 while a copy is being made in the background.
head -c 48M /dev/urandom | base64 >"$T/src/text"
tar -C "$T/src" -cf - . | gzip -1 >"$T/text.tar.gz"
ucache=$T/ucache
"$LAYERFS" mount --cache-dir "$ucache" --layer "$T/text.tar.gz" \
	-o prefetch=unpack "$T/mnt" || fail "mount"
LFS_MOUNTS+=("$T/mnt")
pid=$(lfs_daemons)
running=
for i in $(seq 400); do
	if "$LAYERFS" stats "$T/mnt" | grep -q "copy running"; then
		running=1
		kill -KILL "$pid"
		break
	fi
	sleep 0.005
done
[ -n "$running" ] || lfs_skip "the copy was never seen running"
for i in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
fusermount3 -u "$T/mnt" || umount -l "$T/mnt"
! compgen -G "$ucache/unpacked/*.tar" >/dev/null ||
	fail "a named copy was left by a killed unpack: $(ls -l "$ucache/unpacked")"

# The next mount makes the copy and reads through it.
lfs_mount "" "$T/mnt" --cache-dir "$ucache" --layer "$T/text.tar.gz" \
	-o prefetch=unpack
for i in $(seq 600); do
	"$LAYERFS" stats "$T/mnt" | grep -q "copy complete" && break
	sleep 0.1
done
"$LAYERFS" stats "$T/mnt" | grep -q "copy complete" || fail "no copy"
cmp "$T/mnt/text" "$T/src/text" || fail "text differs"

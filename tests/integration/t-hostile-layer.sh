#!/bin/bash
# Broken layers and mount points: a one-line error naming the layer and the
# problem and nothing mounted; a full or read-only cache reported, and the
# mount working without it.  (Unsafe members and EIO: t-unsafe-paths.)
. "$(dirname "$0")/lib.sh"
lfs_require_prog zstd gzip xz truncate
mkdir -p "$T/src/dir"
echo hello >"$T/src/dir/file"
head -c 300000 /dev/urandom >"$T/src/dir/big"
tar -C "$T/src" -cf "$T/plain.tar" .
gzip -c "$T/plain.tar" >"$T/l.tar.gz"
zstd -q -c "$T/plain.tar" >"$T/l.tar.zst"
size=$(stat -c %s "$T/l.tar.gz")

expect() { # MSG-PART LAYER: mounting LAYER fails, saying MSG-PART
	lfs_mount_fails "" "$T/mnt" --layer "$2"
	grep -qF -- "$1" "$T/stderr" || fail "want \"$1\" in: $(cat "$T/stderr")"
	grep -qF -- "$2" "$T/stderr" || fail "layer not named: $(cat "$T/stderr")"
}
head -c $((size / 2)) "$T/l.tar.gz" >"$T/cut.tar.gz"
expect "truncated gzip stream" "$T/cut.tar.gz"
{ cat "$T/l.tar.gz"; echo junk; } >"$T/junk.tar.gz"
expect "trailing garbage after gzip stream" "$T/junk.tar.gz"
head -c $(($(stat -c %s "$T/l.tar.zst") / 2)) "$T/l.tar.zst" >"$T/cut.tar.zst"
expect "truncated zstd stream" "$T/cut.tar.zst"
cp "$T/l.tar.zst" "$T/bad.tar.zst"
printf '\377\377' | dd of="$T/bad.tar.zst" bs=1 seek=5 conv=notrunc status=none
expect "corrupt zstd stream" "$T/bad.tar.zst"
head -c 200000 "$T/plain.tar" >"$T/cut.tar"
expect "corrupt or truncated tar" "$T/cut.tar"
# Damage well past the first MiB of a gzip stream: the indexing pass
# reads every byte, so the mount fails naming the layer and the offset.
mkdir -p "$T/bigsrc"
head -c 4M /dev/urandom | base64 >"$T/bigsrc/text"
tar -C "$T/bigsrc" -cf - . | gzip >"$T/big.tar.gz"
printf '\377\377\377\377\377\377\377\377' |
	dd of="$T/big.tar.gz" bs=1 seek=3000000 conv=notrunc status=none
expect "corrupt gzip stream near byte" "$T/big.tar.gz"
at=$(sed -n 's/.*corrupt gzip stream near byte \([0-9]*\).*/\1/p' "$T/stderr")
[ "${at:-0}" -gt 1048576 ] || fail "damage reported at byte ${at:-?}"
xz -c "$T/plain.tar" >"$T/l.tar.xz"
expect "compressed with xz; image layers may only be" "$T/l.tar.xz"

# Mount points: one line with the reason, the same mounts as before (no
# layerfs mount, none over the tmpfs), and no directory made for it.
lfs_refuses "$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/plain.tar" \
	"$T/missing"
[ "$(cat "$T/stderr")" = "layerfs: mountpoint $T/missing: does not exist" ] ||
	fail "missing mountpoint: $(cat "$T/stderr")"
[ ! -e "$T/missing" ] || fail "layerfs made the missing mountpoint"
mkdir -p "$T/busy"
mount -t tmpfs -o size=1m tmpfs "$T/busy"
lfs_track_mount "$T/busy"
lfs_refuses "$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/plain.tar" \
	"$T/busy"
want="layerfs: mountpoint $T/busy: busy (something is already mounted"
want+=" there; unmount it first)"
[ "$(cat "$T/stderr")" = "$want" ] || fail "busy: $(cat "$T/stderr")"
[ "$(findmnt -n -o FSTYPE --mountpoint "$T/busy")" = tmpfs ] ||
	fail "something was mounted over the busy mountpoint"

# A full or read-only cache: the index cannot be saved, so the mount warns
# and works from the index it built in memory; reads stay right.
degraded_cache() { # CACHE-DIR WARNING
	mkdir -p "$T/mnt"
	"$LAYERFS" mount --cache-dir "$1" --layer "$T/l.tar.gz" "$T/mnt" \
		2>"$T/stderr" || fail "cache $1 ($2): mount failed: $(cat "$T/stderr")"
	lfs_track_mount "$T/mnt"
	grep -qF "$2" "$T/stderr" ||
		fail "cache $1: no warning: $(cat "$T/stderr")"
	cmp "$T/mnt/dir/big" "$T/src/dir/big" || fail "cache $1: wrong data"
	fusermount3 -u "$T/mnt"
}
mkdir -p "$T/tiny"
mount -t tmpfs -o size=64k tmpfs "$T/tiny"
lfs_track_mount "$T/tiny"
mkdir -p "$T/tiny/index" "$T/tiny/unpacked"
dd if=/dev/zero of="$T/tiny/filler" bs=4k status=none 2>/dev/null || true
degraded_cache "$T/tiny" \
	"cannot save its index in $T/tiny: No space left on device"
# layerfs index, which is there to keep the index, fails, saying why.
if "$LAYERFS" index --cache-dir "$T/tiny" --layer "$T/l.tar.gz" \
	2>"$T/stderr"; then
	fail "layerfs index succeeded with a full cache"
fi
want="layerfs: $T/l.tar.gz: its index could not be saved: cannot write"
want+=" it in $T/tiny: No space left on device"
[ "$(tail -n 1 "$T/stderr")" = "$want" ] ||
	fail "layerfs index, full cache: $(cat "$T/stderr")"
mkdir -p "$T/rocache"
mount -t tmpfs -o size=1m,ro tmpfs "$T/rocache"
lfs_track_mount "$T/rocache"
degraded_cache "$T/rocache" \
	"cache directory $T/rocache: Read-only file system; going on without"

# A cache that fills up while a layer is being indexed: the members'
# attributes wait in a file of the cache (index_log.c) until the disk is
# full, then in memory; the index is built and served from memory, with
# the warning, and the tree is the layer's.
"$MKDATA" tar "$T/many.tar" 30000 20 1 || fail "mkdata"
mkdir -p "$T/many" "$T/half"
tar -C "$T/many" -xf "$T/many.tar"
mount -t tmpfs -o size=1m tmpfs "$T/half"
lfs_track_mount "$T/half"
mkdir -p "$T/half/index" "$T/half/unpacked"
"$LAYERFS" mount --cache-dir "$T/half" --layer "$T/many.tar" "$T/mnt" \
	2>"$T/stderr" || fail "cache filling up: mount failed: $(cat "$T/stderr")"
lfs_track_mount "$T/mnt"
grep -qF "cannot save its index in $T/half: No space left on device" \
	"$T/stderr" || fail "cache filling up: no warning: $(cat "$T/stderr")"
# The root is implied by the layer (no "./" member): its mtime is ours.
assert_same_tree "$T/many" "$T/mnt" --no-mtime .
fusermount3 -u "$T/mnt"

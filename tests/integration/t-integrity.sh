#!/bin/bash
# A layer changed under a running mount is never served (docs/integrity.md).
# gzip: a byte changed where inflate cannot notice (stored blocks, whose
# CRC covers the whole member) fails the reads of its chunk with EIO and a
# log line naming the checksum; the rest of the layer reads right; the next
# mount indexes the layer again and refuses it.  (An unpacked copy refusing
# the bad chunk: tests/unit/test_stream.c.)  A plain tar read in place: a file only linked or
# chmod-ed keeps serving once its digest is verified again; one rewritten
# in place with its mtime put back serves nothing more, logged.  Two
# mounts of one image at once index it once.
. "$(dirname "$0")/lib.sh"
lfs_setup
lfs_require_prog python3 cmp touch

mkdir -p "$T/src"
python3 - "$T/src" <<'EOF'
import os, random, sys
r = random.Random(7)
d = sys.argv[1]
# Text-like data a few MiB long, with one marker to find in the blob.
for name, size in (("a", 3 << 20), ("b", 2 << 20)):
    body = bytes(r.choice(b"abcdefghij \n") for _ in range(size))
    if name == "b":
        body = body[:1000000] + b"MARKER-IN-B" + body[1000011:]
    with open(os.path.join(d, name), "wb") as f:
        f.write(body)
EOF
tar -C "$T/src" --sort=name -cf "$T/plain.tar" a b
# Level 0: stored blocks, so the marker's bytes are in the blob as they are.
python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.compress(open(sys.argv[1],"rb").read(), compresslevel=0))' \
	"$T/plain.tar" >"$T/l.tar.gz"

# flip FILE: change one byte of the marker in FILE, in place, and put its
# mtime back (as a careless or hostile writer might).
flip() {
	touch -r "$1" "$T/stamp"
	python3 - "$1" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    data = f.read()
    at = data.index(b"MARKER-IN-B") + 3
    f.seek(at)
    f.write(bytes([data[at] ^ 0x20]))
EOF
	touch -r "$T/stamp" "$1"
}

# mount_fg LAYER MNT LOG [ARGS]: a foreground mount, its log kept.
mount_fg() {
	local layer=$1 mnt=$2 log=$3

	shift 3
	mkdir -p "$mnt"
	lfs_track_mount "$mnt"
	"$LAYERFS" mount -f --cache-dir "$T/cache" "$@" --layer "$layer" \
		"$mnt" 2>"$log" &
	for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
	mountpoint -q "$mnt" || fail "mount of $layer did not come up: $(cat "$log")"
}

# read_fails FILE LOG WANT: reading FILE is EIO, and LOG says WANT.
read_fails() {
	local out

	if out=$(cat "$1" 2>&1 >/dev/null); then
		fail "$1 read after its layer changed"
	fi
	[[ $out == *"Input/output error"* ]] || fail "$1: not EIO: $out"
	for _ in $(seq 20); do grep -qF -- "$3" "$2" && return; sleep 0.1; done
	fail "$1: no \"$3\" in the log: $(cat "$2")"
}

# 1. gzip, read through access points: nothing is unpacked.
mount_fg "$T/l.tar.gz" "$T/gz" "$T/gz.log" -o prefetch=none
cmp "$T/gz/a" "$T/src/a" || fail "gzip: a before the change"
flip "$T/l.tar.gz"
echo 3 >/proc/sys/vm/drop_caches
read_fails "$T/gz/b" "$T/gz.log" "differ from the checksums recorded"
grep -qF "l.tar.gz: \"b\": data at offset" "$T/gz.log" ||
	fail "gzip: the file is not named: $(cat "$T/gz.log")"
cmp "$T/gz/a" "$T/src/a" || fail "gzip: a after the change"
# The chunks of b before the changed one still read right.
cmp -n 900000 "$T/gz/b" "$T/src/b" || fail "gzip: b's start"
fusermount3 -u "$T/gz"
wait

# 2. Mounted again after the change: the cached index is for another
# file (the ctime moved, though the mtime was put back), so the layer is
# indexed again, which reads every byte and finds the damage.
lfs_mount_fails "" "$T/gz2" --layer "$T/l.tar.gz"
grep -qF "l.tar.gz: corrupt gzip stream near byte" "$T/stderr" ||
	fail "remount: $(cat "$T/stderr")"

# 3. A plain tar read in place.
mount_fg "$T/plain.tar" "$T/pl" "$T/pl.log"
cmp "$T/pl/a" "$T/src/a" || fail "plain: a"
ln "$T/plain.tar" "$T/plain-link.tar"
chmod 600 "$T/plain.tar"
echo 3 >/proc/sys/vm/drop_caches
cmp "$T/pl/b" "$T/src/b" || fail "plain: b after a chmod and a link"
grep -qF "digest verified again: the same bytes" "$T/pl.log" ||
	fail "plain: no re-verification logged: $(cat "$T/pl.log")"
flip "$T/plain.tar"
echo 3 >/proc/sys/vm/drop_caches
read_fails "$T/pl/a" "$T/pl.log" "was rewritten since it was indexed"
read_fails "$T/pl/b" "$T/pl.log" "the layer's file changed since it was indexed"
fusermount3 -u "$T/pl"
wait
# 4. Two mounts of one image at once, on a cold cache: the layer's lock
# makes the second wait for the first's index and use it, so the layer is
# indexed once, and both serve it.
head -c 40M /dev/urandom | base64 -w 100 >"$T/src/c"
tar -C "$T/src" -cf - a b c | gzip -1 >"$T/two.tar.gz"
mkdir -p "$T/m1" "$T/m2"
lfs_track_mount "$T/m1"
lfs_track_mount "$T/m2"
"$LAYERFS" mount --cache-dir "$T/cache2" --layer "$T/two.tar.gz" "$T/m1" &
p1=$!
"$LAYERFS" mount --cache-dir "$T/cache2" --layer "$T/two.tar.gz" "$T/m2" &
p2=$!
wait "$p1" || fail "first concurrent mount failed"
wait "$p2" || fail "second concurrent mount failed"
built=0
for m in "$T/m1" "$T/m2"; do
	cmp "$m/a" "$T/src/a" || fail "$m: a"
	"$LAYERFS" stats "$m" | grep -q "built at mount" && built=$((built + 1))
done
[ "$built" -eq 1 ] || fail "the layer was indexed $built times, not once"
[ "$(find "$T/cache2/index" -name '*.idx' | wc -l)" -eq 1 ] ||
	fail "cache: $(ls "$T/cache2/index")"
fusermount3 -u "$T/m1"
fusermount3 -u "$T/m2"
echo "ok"

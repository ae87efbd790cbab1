#!/bin/bash
# Exit statuses by cause, as layerfs(1) lists them, from the commands a
# user runs, each with its one-line reason: a source that is not there or
# not an image (3), a digest or size that differs (4), a corrupt layer (5),
# a mountpoint that cannot take the mount (6), not allowed (7), and
# Ctrl-C while indexing (130, "interrupted", nothing mounted or kept).
# Bad usage (2) is t-cli's; FUSE refusing the mount (8) t-mount-ready's.
# On a terminal a mount ends with one closing line.
. "$(dirname "$0")/lib.sh"
lfs_setup
lfs_require_prog setpriv script python3
: "${FAULTFS:?}"
fx=$(lfs_fixture conformance)
chmod 0755 "$T"

# want STATUS WORDS CMD...: CMD exits STATUS with one line on stderr that
# holds WORDS, and prints nothing on stdout.
want() {
	local status=$1 words=$2 rc=0

	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	cat "$T/err" >&2
	[ "$rc" -eq "$status" ] || fail "$*: exit $rc, want $status: $(cat "$T/err")"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$*: want one line: $(cat "$T/err")"
	grep -qF -- "$words" "$T/err" || fail "$*: want \"$words\": $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$*: wrote to stdout: $(cat "$T/out")"
}
C=(--cache-dir "$T/cache")
mkdir -p "$T/mnt" "$T/up" "$T/wk"

# 3: no such source, or not an image; in every command that reads one.
want 3 "$T/nowhere" "$LAYERFS" mount "${C[@]}" "oci:$T/nowhere:x" "$T/mnt"
want 3 "$T/nowhere" "$LAYERFS" inspect "oci:$T/nowhere:x"
want 3 "$T/nowhere" "$LAYERFS" index "${C[@]}" "oci:$T/nowhere:x"
want 3 "$T/nowhere" "$LAYERFS" diff "${C[@]}" --upper "$T/up" \
	--from "oci:$T/nowhere:x"
want 3 "$T/nowhere" "$LAYERFS" commit "${C[@]}" --upper "$T/up" \
	--from "oci:$T/nowhere:x" "oci:$T/out:x"
want 3 "no image tagged" "$LAYERFS" inspect "oci:$fx/oci:no-such-tag"
tar -C "$T" -cf "$T/plain.tar" up
want 3 "--layer" "$LAYERFS" inspect "$T/plain.tar"

# 4: a digest or size that differs from what the image says.
cp -a "$fx/oci" "$T/img4"
cfg=$(python3 - "$T/img4" <<'PY'
import json, sys, os
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
e = [e for e in idx["manifests"]
     if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == "conf"][0]
m = json.load(open(os.path.join(d, "blobs", *e["digest"].split(":"))))
print(os.path.join(d, "blobs", *m["config"]["digest"].split(":")))
PY
)
sed -i 's/"os"/"OS"/' "$cfg"
want 4 "digest mismatch" "$LAYERFS" inspect "oci:$T/img4:conf"
want 4 "digest mismatch" "$LAYERFS" mount "${C[@]}" "oci:$T/img4:conf" "$T/mnt"
! mountpoint -q "$T/mnt" || fail "a mismatching image was mounted"

# 5: a layer that is not one (a gzip stream broken in the middle).
head -c 200000 /dev/urandom >"$T/rand"
tar -C "$T" -cf - rand | gzip -1 >"$T/bad.tar.gz"
python3 - "$T/bad.tar.gz" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 2, len(b) // 2 + 64):
    b[i] ^= 0x5a
open(p, "wb").write(b)
PY
want 5 "bad.tar.gz" "$LAYERFS" index "${C[@]}" --layer "$T/bad.tar.gz"
want 5 "bad.tar.gz" "$LAYERFS" mount "${C[@]}" --layer "$T/bad.tar.gz" "$T/mnt"

# 6: the mountpoint: missing, not a directory, busy.
tar -C "$T" -cf "$T/l.tar" rand
want 6 "$T/no-mnt" "$LAYERFS" mount "${C[@]}" --layer "$T/l.tar" "$T/no-mnt"
want 6 "not a directory" "$LAYERFS" mount "${C[@]}" --layer "$T/l.tar" "$T/l.tar"
lfs_mount "" "$T/busy" --layer "$T/l.tar"
want 6 "busy" "$LAYERFS" mount "${C[@]}" --layer "$T/l.tar" "$T/busy"
fusermount3 -u "$T/busy"

# 7: not allowed: a layer nobody may read.
cp "$T/l.tar" "$T/secret.tar"
chmod 0600 "$T/secret.tar"
want 7 "secret.tar" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$LAYERFS" inspect --layer "$T/secret.tar"

# ... and a mountpoint nobody may write to, said before any indexing
# (fusermount3 would refuse it only after): no cache made.
mkdir -p "$T/root-only"
want 7 "root-only" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$LAYERFS" mount --cache-dir "$T/cache-nobody" --layer "$T/l.tar" \
	"$T/root-only"
[ ! -e "$T/cache-nobody" ] || fail "indexed before refusing the mountpoint"

# 130: Ctrl-C while indexing a layer on a slow disk: "interrupted", and
# nothing mounted, nothing kept in the cache.
head -c 4000000 /dev/urandom >"$T/big"
tar -C "$T" -cf - big | gzip -1 >"$T/slow.img"
: >"$T/faults"
touch "$T/slow.tar.gz"
FAULTFS_DELAY_US=100000 "$FAULTFS" "$T/slow.img" "$T/faults" \
	"$T/slow.tar.gz" &
lfs_track_mount "$T/slow.tar.gz"
for _ in $(seq 50); do mountpoint -q "$T/slow.tar.gz" && break; sleep 0.1; done
mountpoint -q "$T/slow.tar.gz" || fail "faultfs did not come up"

"$LAYERFS" index --cache-dir "$T/cache-int" --layer "$T/slow.tar.gz" \
	>"$T/out" 2>"$T/err" &
pid=$!
sleep 0.5
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
cat "$T/err" >&2
[ "$rc" -eq 130 ] || fail "index, Ctrl-C: exit $rc, want 130"
[ "$(cat "$T/err")" = "layerfs: interrupted" ] || fail "index, Ctrl-C: $(cat "$T/err")"
[ -z "$(find "$T/cache-int" -name '*.idx' 2>/dev/null)" ] ||
	fail "an interrupted index was kept"

# A mount: Ctrl-C reaches the whole foreground group, the waiting parent
# and the indexing child; the parent relays the child's status.
set -m
"$LAYERFS" mount --cache-dir "$T/cache-int" --layer "$T/slow.tar.gz" \
	"$T/mnt" >"$T/out" 2>"$T/err" &
pid=$!
set +m
sleep 0.5
kill -INT -- "-$pid"
rc=0
wait "$pid" || rc=$?
cat "$T/err" >&2
[ "$rc" -eq 130 ] || fail "mount, Ctrl-C: exit $rc, want 130"
grep -qx "layerfs: interrupted" "$T/err" || fail "mount, Ctrl-C: $(cat "$T/err")"
! mountpoint -q "$T/mnt" || fail "an interrupted mount was mounted"
wait_gone() {
	for _ in $(seq 50); do
		[ -z "$(lfs_daemons)" ] && return 0
		sleep 0.1
	done
	fail "a layerfs process outlived the interrupted mount"
}
wait_gone

# On a terminal, the closing line; elsewhere, nothing.
script -qec "$LAYERFS mount --cache-dir $T/cache --layer $T/l.tar $T/mnt" \
	/dev/null >"$T/tty" || fail "mount on a terminal failed"
LFS_MOUNTS+=("$T/mnt")
grep -qE "^mounted $T/l.tar at $T/mnt \(1 layer, 2 entries, [0-9.]+ s\)" \
	"$T/tty" || fail "closing line: $(cat -v "$T/tty")"
fusermount3 -u "$T/mnt"
lfs_mount "" "$T/mnt" --layer "$T/l.tar" 2>"$T/err"
[ ! -s "$T/err" ] || fail "a mount not on a terminal said: $(cat "$T/err")"
fusermount3 -u "$T/mnt"

#!/bin/bash
# layerfs commit, as a user runs it, with umoci and skopeo as the oracles:
#   - a live writable mount committed into its own layout: umoci unpack of
#     the new tag is the tree the mount showed, skopeo copies it to a
#     docker-archive, layerfs mounts it and shows the tree too; the config
#     gains the layer's diff_id and a history entry, the old tag stays;
#   - the same upper committed unmounted gives the same layer blob (the
#     output depends only on the tree), and with SOURCE_DATE_EPOCH two
#     commits give the same manifest; --clamp-mtime clamps the layer's
#     mtimes;
#   - zstd and uncompressed layers, into another layout (the image's
#     blobs copied there), read back by layerfs and copied by skopeo;
#   - a live mount's changes wait while a commit reads its upper (reads
#     go on), and go on when it ends or dies;
#   - a docker-archive's mount committed into a new layout (its layers
#     copied out of the archive);
#   - refusals: a name starting with .wh., a read-only mount, a layer
#     list (no config), the new image inside the mount, bad destinations
#     and usage (exit 2).
# t-write-differential commits the upper of every write scenario.
. "$(dirname "$0")/lib.sh"
lfs_setup
lfs_require_prog umoci skopeo python3
fx=$(lfs_fixture conformance)

cp -a "$fx/oci" "$T/img"
src=oci:$T/img:conf
mkdir -p "$T/up" "$T/wk"
lfs_mount "$src" "$T/m" -o "upper=$T/up,work=$T/wk"
m=$T/m
echo hello >"$m/new-file"
mkdir -p "$m/new-dir/sub"
echo x >"$m/new-dir/sub/f"
ln "$m/new-dir/sub/f" "$m/new-dir/sub/f-link"
setfattr -n user.note -v kept "$m/new-dir/sub/f"
rm -r "$m/etc"
mkdir "$m/etc"
echo root:x:0:0::/root:/bin/sh >"$m/etc/passwd"
mv "$m/data/keepdir" "$m/data/moved"
echo more >>"$m/bin/busybox"
chmod 0700 "$m/usr"
mknod "$m/new-dev" c 1 3
mkfifo "$m/new-fifo"
ln -s ../etc/passwd "$m/new-dir/lnk"
"$DUMPTREE" "$m" >"$T/mount.dump" || fail "dumptree of the mount"

"$LAYERFS" commit -m "a test commit" "$m" "oci:$T/img:new" >"$T/out" \
	2>"$T/err" || fail "layerfs commit of the mount: $(cat "$T/err")"
cat "$T/out" >&2
grep -qE "^oci:$T/img:new: manifest sha256:[0-9a-f]{64}, layer sha256:" \
	"$T/out" || fail "commit's summary: $(cat "$T/out")"
[ ! -s "$T/err" ] || fail "commit said: $(cat "$T/err")"
# The mount goes on, its tree unchanged.
"$DUMPTREE" "$m" >"$T/after.dump" || fail "dumptree after the commit"
diff -u "$T/mount.dump" "$T/after.dump" >&2 || fail "the commit changed the mount"
fusermount3 -u "$m"

# umoci's tree of the new image is the mount's.
umoci raw unpack --image "$T/img:new" "$T/unp" >&2 || fail "umoci unpack"
"$DUMPTREE" "$T/unp" >"$T/unp.dump" || fail "dumptree of the unpack"
diff -u "$T/mount.dump" "$T/unp.dump" >&2 ||
	fail "umoci unpack of the commit differs from the mount (above)"

# The config and index: one more diff_id and history entry, the layer
# last in the manifest, both tags in index.json.
python3 - "$T/img" <<'PY' || fail "the committed image's documents"
import json, sys, os
d = sys.argv[1]
def blob(dg):
    return json.load(open(os.path.join(d, "blobs", *dg.split(":"))))
idx = json.load(open(os.path.join(d, "index.json")))
tags = {e.get("annotations", {}).get("org.opencontainers.image.ref.name"): e
        for e in idx["manifests"]}
assert "conf" in tags and "new" in tags, tags.keys()
old, new = blob(tags["conf"]["digest"]), blob(tags["new"]["digest"])
assert new["layers"][:-1] == old["layers"], "lower layers changed"
assert new["layers"][-1]["mediaType"].endswith("tar+gzip")
oc, nc = blob(old["config"]["digest"]), blob(new["config"]["digest"])
assert nc["rootfs"]["diff_ids"][:-1] == oc["rootfs"]["diff_ids"]
assert len(nc["rootfs"]["diff_ids"]) == len(new["layers"])
if "history" in oc:
    assert nc["history"][:-1] == oc["history"]
    h = nc["history"][-1]
    assert h["created_by"] == "layerfs commit", h
    assert h["comment"] == "a test commit", h
assert nc["created"] != oc.get("created")
assert tags["new"]["platform"]["os"] == nc["os"]
PY

# skopeo takes it, as a docker-archive too.
skopeo copy "oci:$T/img:new" "docker-archive:$T/new.tar:new:latest" >&2 ||
	fail "skopeo copy of the committed image"

# layerfs mounts the new image and shows the same tree.
lfs_mount "oci:$T/img:new" "$T/m2"
"$DUMPTREE" "$T/m2" >"$T/m2.dump" || fail "dumptree of the new image"
diff -u "$T/mount.dump" "$T/m2.dump" >&2 ||
	fail "layerfs mount of the commit differs (above)"
fusermount3 -u "$T/m2"

# Unmounted, the same upper makes the same layer blob.
layer_of() {
	python3 - "$1" "$2" <<'PY'
import json, sys, os
d, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(d, "index.json")))
e = [e for e in idx["manifests"]
     if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
m = json.load(open(os.path.join(d, "blobs", *e["digest"].split(":"))))
print(m["layers"][-1]["digest"], e["digest"])
PY
}
"$LAYERFS" commit --cache-dir "$T/cache" --upper "$T/up" --from "$src" \
	"oci:$T/img:again" >/dev/null || fail "commit --upper"
read -r l1 _ < <(layer_of "$T/img" new)
read -r l2 _ < <(layer_of "$T/img" again)
[ "$l1" = "$l2" ] || fail "the mount and its upper made other layers: $l1 $l2"

# SOURCE_DATE_EPOCH: two commits, one manifest.  --clamp-mtime: no mtime
# after it.
for t in e1 e2; do
	SOURCE_DATE_EPOCH=1700000000 "$LAYERFS" commit --cache-dir "$T/cache" \
		--upper "$T/up" --from "$src" --clamp-mtime "oci:$T/img:$t" \
		>/dev/null || fail "commit with SOURCE_DATE_EPOCH"
done
read -r _ m1 < <(layer_of "$T/img" e1)
read -r _ m2 < <(layer_of "$T/img" e2)
[ "$m1" = "$m2" ] || fail "SOURCE_DATE_EPOCH: two manifests: $m1 $m2"
read -r l1 _ < <(layer_of "$T/img" e1)
python3 - "$T/img/blobs/${l1/://}" <<'PY' || fail "--clamp-mtime"
import sys, tarfile
late = [m.name for m in tarfile.open(sys.argv[1]) if m.mtime > 1700000000]
assert not late, "mtimes after the epoch: %s" % late[:3]
PY

# zstd and plain layers, into another layout: the image's blobs are
# copied there; layerfs reads them back, skopeo copies the zstd one.
for c in zstd none; do
	"$LAYERFS" commit --cache-dir "$T/cache" --compression "$c" \
		--upper "$T/up" --from "$src" "oci:$T/other:$c" >/dev/null ||
		fail "commit --compression $c"
	lfs_mount "oci:$T/other:$c" "$T/m-$c"
	"$DUMPTREE" "$T/m-$c" >"$T/m-$c.dump" || fail "dumptree $c"
	diff -u "$T/mount.dump" "$T/m-$c.dump" >&2 ||
		fail "--compression $c: the new image differs (above)"
	fusermount3 -u "$T/m-$c"
done
skopeo copy "oci:$T/other:zstd" "oci:$T/copied:zstd" >&2 ||
	fail "skopeo copy of a zstd commit"

# A docker-archive's mount, committed into a new layout: its layers are
# copied out of the archive as blobs, its config extended, a manifest
# made; umoci unpacks the tree the mount showed.
mkdir -p "$T/up-da" "$T/wk-da"
lfs_mount "docker-archive:$fx/conf.docker.tar" "$T/m-da" \
	-o "upper=$T/up-da,work=$T/wk-da"
echo from-archive >"$T/m-da/new-file"
rm -r "$T/m-da/etc"
"$DUMPTREE" "$T/m-da" >"$T/da.dump" || fail "dumptree of the archive mount"
"$LAYERFS" commit "$T/m-da" "oci:$T/from-da:new" >/dev/null ||
	fail "commit of a docker-archive mount"
fusermount3 -u "$T/m-da"
umoci raw unpack --image "$T/from-da:new" "$T/unp-da" >&2 ||
	fail "umoci unpack of the docker-archive commit"
"$DUMPTREE" "$T/unp-da" >"$T/unp-da.dump" || fail "dumptree unp-da"
diff -u "$T/da.dump" "$T/unp-da.dump" >&2 ||
	fail "the docker-archive commit differs from its mount (above)"

# Quiescing: while a process holds the freeze (as commit's does), a
# change waits and a read does not; a commit then says the mount is
# busy; once the holder exits, the change goes through.  A commit lets
# the mount go on when it ends.
mkdir -p "$T/up4" "$T/wk4"
lfs_mount "$src" "$T/m4" -o "upper=$T/up4,work=$T/wk4"
"$LAYERFS" commit "$T/m4" "oci:$T/img:m4" >/dev/null || fail "commit of m4"
echo after-commit >"$T/m4/after" || fail "the mount stayed frozen"
python3 -c '
import os, sys, time
os.setxattr(sys.argv[1], "user.layerfs.freeze", b"1")
open(sys.argv[2], "w").close()
time.sleep(60)' "$T/m4" "$T/frozen" &
holder=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$T/frozen" ] && break
	sleep 0.1
done
[ -e "$T/frozen" ] || fail "the freeze was not taken"
(echo x >"$T/m4/data/while-frozen" && touch "$T/written") &
writer=$!
sleep 1
[ ! -e "$T/written" ] || fail "a change went through a freeze"
cat "$T/m4/etc/passwd" >/dev/null || fail "a read waited for the thaw"
lfs_refuses "$LAYERFS" commit "$T/m4" "oci:$T/img:busy"
grep -qF "another commit" "$T/stderr" || fail "busy: $(cat "$T/stderr")"
kill "$holder"
wait "$holder" 2>/dev/null || true
wait "$writer" || fail "the change failed after the thaw"
[ -e "$T/written" ] || fail "the change did not go through after the thaw"
fusermount3 -u "$T/m4"

# Refusals, one line each, exit 1, nothing tagged.
lfs_mount "$src" "$T/m3" -o "upper=$T/up,work=$T/wk"
touch "$T/m3/.wh.oops"
lfs_refuses "$LAYERFS" commit "$T/m3" "oci:$T/img:bad"
grep -qF '/.wh.oops' "$T/stderr" || fail ".wh. name: $(cat "$T/stderr")"
rm "$T/m3/.wh.oops"
fusermount3 -u "$T/m3"
lfs_mount "$src" "$T/ro"
lfs_refuses "$LAYERFS" commit "$T/ro" "oci:$T/img:bad"
grep -qF "read-only mount" "$T/stderr" || fail "read-only: $(cat "$T/stderr")"
tar -C "$T/up" -cf "$T/l.tar" .
mkdir -p "$T/up-l" "$T/wk-l"
lfs_mount "" "$T/m-l" --layer "$T/l.tar" -o "upper=$T/up-l,work=$T/wk-l"
touch "$T/m-l/x"
lfs_refuses "$LAYERFS" commit "$T/m-l" "oci:$T/img:bad"
grep -qF "no image config" "$T/stderr" || fail "layer list: $(cat "$T/stderr")"
fusermount3 -u "$T/m-l"
lfs_mount "$src" "$T/m5" -o "upper=$T/up4,work=$T/wk4"
lfs_refuses "$LAYERFS" commit "$T/m5" "oci:$T/m5/data/img:bad"
grep -qF "inside the mount" "$T/stderr" || fail "inside: $(cat "$T/stderr")"
fusermount3 -u "$T/m5"
! grep -q '"bad"' "$T/img/index.json" || fail "a refused commit tagged"

for args in "" "$T/ro" "$T/ro oci:$T/img" "$T/ro docker-archive:$T/x.tar" \
	"--upper $T/up oci:$T/img:x" "--compression xz $T/ro oci:$T/img:x" \
	"--clamp-mtime $T/ro oci:$T/img:x"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the arguments
	env -u SOURCE_DATE_EPOCH "$LAYERFS" commit $args >"$T/out" \
		2>"$T/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "layerfs commit $args: exit $rc, want 2"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "commit $args: $(cat "$T/err")"
done

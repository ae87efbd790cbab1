#!/bin/bash
# Members that would land outside the tree ('../', absolute paths, a
# symlinked parent) are skipped with a warning naming the layer and the
# member; the rest of the layer mounts, and nothing is written anywhere
# but the cache.  A read whose data disappeared after indexing answers EIO
# and the daemon logs why.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/d" "$T/outside"
echo bad >"$T/d/evil"
echo ok >"$T/d/good"
echo x >"$T/d/f"
ln -s "$T/outside" "$T/d/lnk"
tar -C "$T/d" -P --transform 's,^evil$,../evil,;s,^good$,/abs/good,' \
	-cf "$T/traversal.tar" evil good f
tar -C "$T/d" -P --transform 's,^f$,lnk/f,' -cf "$T/symlinked.tar" lnk f
tar -C "$T/d" -cf "$T/plain.tar" f good

lfs_track_mount "$T/mnt"
mkdir -p "$T/mnt"
"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/traversal.tar" \
	--layer "$T/symlinked.tar" "$T/mnt" 2>"$T/warnings" ||
	fail "mount failed: $(cat "$T/warnings")"
cat "$T/warnings" >&2
for w in "traversal.tar: entry \"../evil\" skipped: '..' component" \
	"traversal.tar: entry \"/abs/good\" skipped: absolute path" \
	"symlinked.tar: entry \"lnk/f\" skipped: its parent is not a directory"
do
	grep -qF -- "$w" "$T/warnings" || fail "no warning: $w"
done
[ "$(ls "$T/mnt")" = "$(printf 'f\nlnk')" ] || fail "tree: $(ls "$T/mnt")"
[ "$(readlink "$T/mnt/lnk")" = "$T/outside" ] || fail "symlink target"
[ -z "$(ls -A "$T/outside")" ] || fail "wrote through the symlink"
for p in "$T/evil" "$T/../evil" /abs/good "$T/abs"; do
	[ ! -e "$p" ] || fail "wrote $p"
done

# EIO: a plain tar is read in place; cut it short under a running mount.
lfs_track_mount "$T/eio"
mkdir -p "$T/eio"
"$LAYERFS" mount -f --cache-dir "$T/cache" --layer "$T/plain.tar" \
	"$T/eio" 2>"$T/eio.log" &
for _ in $(seq 50); do mountpoint -q "$T/eio" && break; sleep 0.1; done
mountpoint -q "$T/eio" || fail "foreground mount did not come up"
[ "$(cat "$T/eio/f")" = x ] || fail "read before the damage"
truncate -s 512 "$T/plain.tar"
if out=$(cat "$T/eio/good" 2>&1); then
	fail "read data that is gone: $out"
fi
[[ $out == *"Input/output error"* ]] || fail "not EIO: $out"
grep -q "plain.tar: \"good\": data at offset 0 unreadable: the layer" \
	"$T/eio.log" ||
	fail "EIO not logged: $(cat "$T/eio.log")"

#!/bin/bash
# Members named outside the tree ('../', absolute paths) land inside it,
# as umoci reads their names: "/abs/good" at abs/good, "../evil" at evil
# (decision 0023).  Members under a name cut short at a NUL are skipped
# with a warning naming the layer and the member; the rest of the layer
# mounts.  A member below a
# symlink, of its own layer or of a lower one, lands where the symlink
# leads inside the tree, as umoci and containerd extract it (decision
# 0018): an absolute target or a '..' chain never leads out.  Nothing is
# written anywhere but the cache.  A read whose data disappeared after
# indexing answers EIO and the daemon logs why.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/d" "$T/outside" "$T/up"
echo bad >"$T/d/evil"
echo ok >"$T/d/good"
echo x >"$T/d/f"
ln -s "$T/outside" "$T/d/lnk"
ln -s ../../../../../../etc "$T/d/etc-up"
tar -C "$T/d" -P --transform 's,^evil$,../evil,;s,^good$,/abs/good,' \
	-cf "$T/traversal.tar" evil good f etc-up
tar -C "$T/d" -P --transform 's,^f$,lnk/f,' -cf "$T/symlinked.tar" lnk f
# Through the lower layer's '../' symlink: no parent entry for etc-up.
echo pwned >"$T/up/passwd"
tar -C "$T/up" --transform 's,^,etc-up/,' -cf "$T/lower-link.tar" passwd
tar -C "$T/d" -cf "$T/plain.tar" f good

lfs_track_mount "$T/mnt"
mkdir -p "$T/mnt"
"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/traversal.tar" \
	--layer "$T/symlinked.tar" --layer "$T/lower-link.tar" "$T/mnt" \
	2>"$T/warnings" || fail "mount failed: $(cat "$T/warnings")"
cat "$T/warnings" >&2
top=${T#/}
top=${top%%/*}
[ "$(ls "$T/mnt")" = "$(printf 'abs\netc\netc-up\nevil\nf\nlnk\n%s' "$top")" ] ||
	fail "tree: $(ls "$T/mnt")"
[ "$(cat "$T/mnt/evil")" = bad ] || fail "../evil not at evil"
[ "$(cat "$T/mnt/abs/good")" = ok ] || fail "/abs/good not at abs/good"
[ "$(readlink "$T/mnt/lnk")" = "$T/outside" ] || fail "symlink target"
[ "$(cat "$T/mnt/$T/outside/f")" = x ] || fail "lnk/f not at $T/outside/f"
[ "$(readlink "$T/mnt/etc-up")" = ../../../../../../etc ] ||
	fail "etc-up target"
[ "$(cat "$T/mnt/etc/passwd")" = pwned ] || fail "etc-up/passwd not at etc"
[ -z "$(ls -A "$T/outside")" ] || fail "wrote through the symlink"
grep -q pwned /etc/passwd && fail "wrote /etc/passwd"
for p in "$T/evil" "$T/../evil" /abs/good "$T/abs"; do
	[ ! -e "$p" ] || fail "wrote $p"
done

# A NUL inside a long name: libarchive would hand over the name cut at
# the NUL, so an upper layer's "good\0XXX..." would replace the lower
# "good".  Such members are skipped.  Tar checksums cover header blocks,
# not the GNU long name or pax bodies patched here.
mkdir -p "$T/nul"
echo lower >"$T/nul/good"
echo lower2 >"$T/nul/good2"
tar -C "$T/nul" -cf "$T/lower.tar" good good2
long=$(printf 'X%.0s' $(seq 120))
echo EVIL >"$T/nul/good$long"
echo EVIL2 >"$T/nul/good2$long"
tar -C "$T/nul" --format=gnu -cf "$T/nul-gnu.tar" "good$long"
tar -C "$T/nul" --format=posix -cf "$T/nul-pax.tar" "good2$long"
# The GNU long name body is the block after the first header.
printf '\0' | dd of="$T/nul-gnu.tar" bs=1 seek=516 conv=notrunc status=none
at=$(grep -obUa "path=good2X" "$T/nul-pax.tar" | head -n1 | cut -d: -f1)
[ -n "$at" ] || fail "no pax path record in nul-pax.tar"
printf '\0' | dd of="$T/nul-pax.tar" bs=1 seek=$((at + 10)) conv=notrunc \
	status=none
lfs_track_mount "$T/nulmnt"
mkdir -p "$T/nulmnt"
"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/lower.tar" \
	--layer "$T/nul-gnu.tar" --layer "$T/nul-pax.tar" "$T/nulmnt" \
	2>"$T/nul.log" || fail "mount failed: $(cat "$T/nul.log")"
cat "$T/nul.log" >&2
for w in 'nul-gnu.tar: entry "good" skipped: name holds a NUL byte' \
	'nul-pax.tar: entry "good2" skipped: name holds a NUL byte'; do
	grep -qF -- "$w" "$T/nul.log" || fail "no warning: $w"
done
[ "$(cat "$T/nulmnt/good")" = lower ] || fail "good replaced through a NUL"
[ "$(cat "$T/nulmnt/good2")" = lower2 ] ||
	fail "good2 replaced through a NUL"
[ "$(ls "$T/nulmnt")" = "$(printf 'good\ngood2')" ] ||
	fail "tree: $(ls "$T/nulmnt")"

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

#!/bin/bash
# prefetch=unpack: the copy is made while a reader goes through the file
# again and again; its reads move from the compressed layer to the copy
# without a wrong byte, and the stats show both paths used.  prefetch=none
# makes no copy; prefetch=index none either.
. "$(dirname "$0")/lib.sh"
lfs_require_prog gzip base64 cmp
mkdir -p "$T/src"
head -c 48M /dev/urandom | base64 >"$T/src/text"
tar -C "$T/src" -cf - . | gzip -1 >"$T/text.tar.gz"

copy_state() {
	"$LAYERFS" stats "$1" | sed -n 's/^layer 1: .*, copy \([a-z-]*\) .*/\1/p'
}

lfs_mount "" "$T/mnt" --layer "$T/text.tar.gz" -o prefetch=unpack
rounds=0
while :; do
	state=$(copy_state "$T/mnt")
	echo 1 >/proc/sys/vm/drop_caches
	cmp "$T/mnt/text" "$T/src/text" || fail "round $rounds: wrong bytes"
	rounds=$((rounds + 1))
	[ "$state" = running ] || break
	[ $rounds -lt 200 ] || fail "the copy never completed"
done
[ "$(copy_state "$T/mnt")" = complete ] ||
	fail "copy: $(copy_state "$T/mnt")"
stats=$("$LAYERFS" stats "$T/mnt")
grep -q "^reads from unpacked copies: [1-9]" <<<"$stats" ||
	fail "the copy was never read: $stats"
fusermount3 -u "$T/mnt"

for mode in none index; do
	lfs_mount "" "$T/mnt-$mode" --layer "$T/text.tar.gz" \
		--cache-dir "$T/cache-$mode" -o prefetch=$mode
	cmp "$T/mnt-$mode/text" "$T/src/text" || fail "$mode: wrong bytes"
	[ "$(copy_state "$T/mnt-$mode")" = - ] ||
		fail "prefetch=$mode made a copy: $(copy_state "$T/mnt-$mode")"
	fusermount3 -u "$T/mnt-$mode"
done

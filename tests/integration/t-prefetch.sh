#!/bin/bash
# prefetch=unpack: the copy is made while a reader goes through the file
# again and again; its reads move from the compressed layer to the copy
# without a wrong byte, and the stats show both paths used.  prefetch=none
# makes no copy; prefetch=index none either; prefetch=auto (the default)
# copies a layer only once its reads are scattered.
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

# prefetch=auto, the default: a layer read in its own order is not copied.
# Read backwards, file by file, each read restarts inflating at the access
# point before it; once those restarts have inflated 8 MiB more than they
# returned, the layer is unpacked, and its reads move to the copy.  Every
# byte is right all along.
"$MKDATA" tar "$T/many.tar" 4000 10000 5 || fail "mkdata"
mkdir -p "$T/many"
tar -C "$T/many" -xf "$T/many.tar"
gzip -1 -c "$T/many.tar" >"$T/many.tar.gz"
sums() { # DIR [SORT-OPTION]: every file's md5, in that name order
	(cd "$1" && find . -type f | sort $2 | xargs md5sum)
}
lfs_mount "" "$T/mnt-auto" --layer "$T/many.tar.gz" --cache-dir "$T/cache-auto"
[ "$(sums "$T/mnt-auto")" = "$(sums "$T/many")" ] ||
	fail "auto, in order: wrong bytes"
[ "$(copy_state "$T/mnt-auto")" = - ] ||
	fail "auto: a layer read in order was copied: $(copy_state "$T/mnt-auto")"
echo 3 >/proc/sys/vm/drop_caches
[ "$(sums "$T/mnt-auto" -r)" = "$(sums "$T/many" -r)" ] ||
	fail "auto, backwards: wrong bytes"
for _ in $(seq 300); do
	[ "$(copy_state "$T/mnt-auto")" = complete ] && break
	sleep 0.1
done
stats=$("$LAYERFS" stats "$T/mnt-auto")
[ "$(copy_state "$T/mnt-auto")" = complete ] ||
	fail "auto: scattered reads did not unpack the layer: $stats"
grep -q "^bytes inflated: [0-9]* ([1-9][0-9]* of them to reach a read)" \
	<<<"$stats" || fail "auto: no restarts counted: $stats"
echo 3 >/proc/sys/vm/drop_caches
[ "$(sums "$T/mnt-auto" -r)" = "$(sums "$T/many" -r)" ] ||
	fail "auto, from the copy: wrong bytes"
grep -q "^reads from unpacked copies: [1-9]" <<<"$("$LAYERFS" stats "$T/mnt-auto")" ||
	fail "auto: the copy was never read"
fusermount3 -u "$T/mnt-auto"

#!/bin/bash
# A directory cache far too small for the tree (-o meta_cache=64K, the
# least accepted) changes nothing a reader can see: directories evicted and
# rebuilt from their numbers (docs/decisions/0010-numbers-are-names.md)
# give the same tree as the default mount, pass after pass, also after the
# kernel drops its caches and asks again.  And a listing read a few entries
# at a time, while lookups elsewhere evict it between two READDIRs, gives
# every entry exactly once: an offset means the same in a rebuilt listing.
. "$(dirname "$0")/lib.sh"
: "${READDIR_CHUNKS:?}"
lfs_require_prog tar
fx=$(lfs_fixture conformance)
small=meta_cache=64K

# A two-layer tree much bigger than 64 KiB of directory cache:
# - merged/: 64 directories both layers fill, with whiteouts (merged,
#   sorted listings), about 80 KiB listed;
# - big/: 1500 names less every seventh, plus 100 new ones, also merged:
#   about 36 KiB listed, which fits alone;
# - wide/: 512 empty directories of one layer, about 90 KiB unlisted, to
#   evict the rest by lookups alone (looking up a name in a directory of
#   one layer builds no listing, so "listings built" counts big/'s).
mkdir -p "$T"/l{1,2}/merged/m{000..063} "$T"/l{1,2}/big \
	"$T"/l1/wide/d{000..511}
touch "$T"/l1/merged/m{000..063}/a-file-with-a-longish-name-{00..39}
touch "$T"/l2/merged/m{000..063}/{another-file-with-a-long-name-0{0..7},.wh.a-file-with-a-longish-name-0{0..7}}
touch "$T"/l1/big/entry-{0000..1499}
(
	cd "$T/l2/big"
	# shellcheck disable=SC2046	# names without spaces
	touch $(seq -f '.wh.entry-%04g' 0 7 1499) \
		$(seq -f 'entry-%04g-new' 0 15 1499)
)
tar -C "$T/l1" -cf "$T/l1.tar" .
tar -C "$T/l2" -cf "$T/l2.tar" .
gen=(--layer "$T/l1.tar" --layer "$T/l2.tar")

stat_field() {	# stat_field MNT NAME: a count from "directory cache:"
	"$LAYERFS" stats "$1" | sed -n "s/^directory cache: .* \([0-9]*\) $2.*/\1/p"
}

# chunked MNT: read MNT/big 1 KiB at a time (about one READDIRPLUS reply),
# all of wide/ looked up in between; every name of the default mount's
# listing exactly once.
chunked() {
	local before after dups others=("$1"/wide/d*)	# lists wide/

	stat "$1/big" >/dev/null	# its lookup lists it (for its nlink)
	before=$(stat_field "$1" "listings built")
	"$READDIR_CHUNKS" 1024 "$1/big" "${others[@]}" >"$T/chunks" ||
		fail "readdir_chunks $1/big"
	after=$(stat_field "$1" "listings built")
	sort "$T/chunks" >"$T/chunks.sorted"
	dups=$(uniq -d "$T/chunks.sorted")
	[ -z "$dups" ] || fail "listed more than once: $(echo "$dups" | head)"
	diff -u "$T/big.want" "$T/chunks.sorted" >&2 ||
		fail "chunked listing of $1/big differs"
	# Only big/ was listed meanwhile: two builds or more means it was
	# evicted and rebuilt between two of its READDIRs.
	[ $((after - before)) -ge 2 ] ||
		fail "big/ listed from $((after - before)) listing(s): never evicted mid-read"
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

lfs_mount "" "$T/gen-def" "${gen[@]}"
{
	printf '.\n..\n'
	find "$T/gen-def/big" -mindepth 1 -printf '%f\n'
} | sort >"$T/big.want"
[ "$(wc -l <"$T/big.want")" -eq 1387 ] ||	# 1500 - 215 + 100, and . ..
	fail "big/ has $(wc -l <"$T/big.want") names"
"$DUMPTREE" "$T/gen-def" >"$T/want.gen"

# First thing on a fresh mount, so the kernel holds none of big/ yet.
lfs_mount "" "$T/gen-small" -o "$small" "${gen[@]}"
chunked "$T/gen-small"

# compare NAME MNT: three dumps of MNT equal the default mount's dump, the
# last after the kernel dropped its caches.
compare() {
	local pass

	for pass in 1 2 3; do
		[ "$pass" -ne 3 ] || drop_caches
		"$DUMPTREE" "$2" >"$T/got" || fail "dumptree $2"
		diff -u "$T/want.$1" "$T/got" >&2 ||
			fail "$1, pass $pass: meta_cache=64K shows another tree"
	done
}
evictions=$(stat_field "$T/gen-small" evictions)
compare gen "$T/gen-small"
[ "$(stat_field "$T/gen-small" evictions)" -gt "$evictions" ] ||
	fail "no evictions while dumping: the comparison proves nothing"
# Once more with nothing in the kernel's caches.
drop_caches
chunked "$T/gen-small"

# Every fixture image, the same way.
while read -r tag; do
	lfs_mount "oci:$fx/oci:$tag" "$T/def-$tag"
	"$DUMPTREE" "$T/def-$tag" >"$T/want.$tag"
	lfs_mount "oci:$fx/oci:$tag" "$T/small-$tag" -o "$small"
	compare "$tag" "$T/small-$tag"
done <"$fx/images"

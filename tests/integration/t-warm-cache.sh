#!/bin/bash
# Cold cache, warm cache, unpacked copies: every fixture image mounts as
# `umoci unpack` writes it whether its indexes are built at mount, mapped
# from the cache, or its layers are read from unpacked copies; the second
# mount really uses the cache (layerfs stats says so), and a zstd layer of
# one frame is served too.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci getfattr
fx=$(lfs_fixture conformance)

# stat_line MNT KEY: the line of `layerfs stats MNT` starting with KEY.
stat_line() {
	"$LAYERFS" stats "$1" | grep "^$2" || fail "layerfs stats $1: no $2"
}

# wait_unpacked MNT N: until N layers report a complete copy.
wait_unpacked() {
	local i

	for i in $(seq 600); do
		[ "$("$LAYERFS" stats "$1" | grep -c 'copy complete')" -ge "$2" ] &&
			return 0
		sleep 0.1
	done
	fail "$1: copies not complete after a minute: $("$LAYERFS" stats "$1")"
}

while read -r tag; do
	ref=$tag
	if [ -f "$fx/oracle/$tag" ]; then
		ref=$(cat "$fx/oracle/$tag")
	fi
	umoci unpack --image "$fx/oci:$ref" "$T/unpack-$tag" >&2 ||
		fail "umoci unpack $ref"
	lfs_nomtime "$fx" "$tag"
	cache=$T/cache-$tag
	n=$(umoci stat --image "$fx/oci:$tag" --json |
		grep -o '"diff_id"' | wc -l)

	# Cold: nothing in the cache yet.
	lfs_mount "oci:$fx/oci:$tag" "$T/cold-$tag" --cache-dir "$cache"
	stat_line "$T/cold-$tag" "layers: " | grep -q "(0 indexes from" ||
		fail "$tag: cold mount found indexes: $(stat_line "$T/cold-$tag" "layers: ")"
	assert_same_tree "$T/unpack-$tag/rootfs" "$T/cold-$tag" \
		"${LFS_NOMTIME[@]}"
	fusermount3 -u "$T/cold-$tag"
	ls "$cache/index/"*.idx >/dev/null || fail "$tag: no index kept"

	# Warm: every index from the cache.
	lfs_mount "oci:$fx/oci:$tag" "$T/warm-$tag" --cache-dir "$cache"
	line=$(stat_line "$T/warm-$tag" "layers: ")
	[[ $line == "layers: $n ($n indexes from the cache"* ]] ||
		fail "$tag: warm mount: $line (want $n from the cache)"
	assert_same_tree "$T/unpack-$tag/rootfs" "$T/warm-$tag" \
		"${LFS_NOMTIME[@]}"
	fusermount3 -u "$T/warm-$tag"

	# Unpacked: copies made in the background, then read from.
	lfs_mount "oci:$fx/oci:$tag" "$T/copy-$tag" --cache-dir "$cache" \
		-o prefetch=unpack
	c=$(stat_line "$T/copy-$tag" "layers: " |
		sed 's/.*, \([0-9]*\) compressed.*/\1/')
	wait_unpacked "$T/copy-$tag" "$c"
	assert_same_tree "$T/unpack-$tag/rootfs" "$T/copy-$tag" \
		"${LFS_NOMTIME[@]}"
	if [ "$c" -gt 0 ]; then
		stat_line "$T/copy-$tag" "reads from unpacked copies: " |
			grep -qv ': 0$' || fail "$tag: copies never read"
	fi
	fusermount3 -u "$T/copy-$tag"
done <"$fx/images"

# zstd layers of one frame (no access points): reads wait for the copy,
# cold and warm; the tree is conf's.
layers=$fx/layers/conf
args=()
for l in 01 02 03 04; do
	args+=(--layer "$layers/$l.tar.zst")
done
lfs_nomtime "$fx" conf
for round in cold warm; do
	lfs_mount "" "$T/zst-$round" --cache-dir "$T/cache-zst" "${args[@]}"
	assert_same_tree "$T/unpack-conf/rootfs" "$T/zst-$round" \
		"${LFS_NOMTIME[@]}"
	stat_line "$T/zst-$round" "layer 1: " | grep -q "copy complete" ||
		fail "zst $round: $(stat_line "$T/zst-$round" "layer 1: ")"
	fusermount3 -u "$T/zst-$round"
done

#!/bin/bash
# Every fixture image mounts exactly as `umoci unpack` writes it: names,
# types, modes, owners, mtimes, targets, hardlinks, xattrs, devices, data.
# The only mtimes skipped are those umoci sets to the unpack time (parents a
# layer creates implicitly), as listed by the fixture builder.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci
fx=$(lfs_fixture conformance)

bad=
while read -r tag; do
	ref=$tag	# a tag umoci cannot unpack names an equivalent one
	if [ -f "$fx/oracle/$tag" ]; then
		ref=$(cat "$fx/oracle/$tag")
	fi
	umoci unpack --image "$fx/oci:$ref" "$T/unpack-$tag" >&2 ||
		fail "umoci unpack $ref"
	lfs_mount "oci:$fx/oci:$tag" "$T/mnt-$tag"
	lfs_nomtime "$fx" "$tag"
	# In a subshell so one image's failure still lets the others run.
	(assert_same_tree "$T/unpack-$tag/rootfs" "$T/mnt-$tag" \
		"${LFS_NOMTIME[@]}") || bad="$bad $tag"
done <"$fx/images"

# Keep the fixture honest: the oracle must show the merge rules applied,
# or the comparison above proves less than it seems.
o=$T/unpack-conf/rootfs
for p in data/delete-me data/deldir data/recreated/old1 data/opq/x \
	data/opq/sub data/hl2/p data/dir2lnk/inner; do
	if [ -e "$o/$p" ] || [ -L "$o/$p" ]; then
		fail "oracle still has $p"
	fi
done
[ "$(ls -A "$o/data/opq")" = new ] || fail "oracle: opaque dir not applied"
[ -z "$(find "$o" -name '.wh.*')" ] || fail "oracle shows .wh. entries"

[ -z "$bad" ] || fail "differs from umoci unpack:$bad"

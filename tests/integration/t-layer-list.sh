#!/bin/bash
# --layer lists (tar, tar.gz, tar.zst and directory layers, mixed) mount the
# same tree as the OCI image made of the same layers.  The directory layers
# hold .wh. files exactly as the tar layers do.
. "$(dirname "$0")/lib.sh"
fx=$(lfs_fixture conformance)
l=$fx/layers/conf

lfs_mount "oci:$fx/oci:conf" "$T/oci"
lfs_mount "" "$T/list1" --layer "$l/01.tar" --layer "$l/02.tar.gz" \
	--layer "$l/03.tar.zst" --layer "$l/04.dir"
assert_same_tree "$T/oci" "$T/list1"
lfs_mount "" "$T/list2" --layer "$l/01.tar.zst" --layer "$l/02.dir" \
	--layer "$l/03.tar" --layer "$l/04.tar.gz"
assert_same_tree "$T/oci" "$T/list2"

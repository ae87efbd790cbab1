#!/bin/bash
# A docker-archive (skopeo's, layers stored uncompressed inside the outer
# tar) mounts the same tree as the OCI layout it was made from, by every
# spelling of the source; a name not in the archive is a clean error.
. "$(dirname "$0")/lib.sh"
fx=$(lfs_fixture conformance)
arc=$fx/conf.docker.tar

lfs_mount "oci:$fx/oci:conf" "$T/oci"
lfs_mount "docker-archive:$arc" "$T/plain"
assert_same_tree "$T/oci" "$T/plain"
# skopeo stores the name as docker.io/layerfs/conf:latest; docker load and
# skopeo both accept the short spelling too.
for ref in docker.io/layerfs/conf:latest layerfs/conf:latest @0; do
	lfs_mount "docker-archive:$arc:$ref" "$T/ref-${ref//[\/:@]/_}"
	assert_same_tree "$T/oci" "$T/ref-${ref//[\/:@]/_}"
done
lfs_mount "$arc" "$T/bare-file"
assert_same_tree "$T/oci" "$T/bare-file"

lfs_mount_fails "docker-archive:$arc:no/such:tag" "$T/missing"
lfs_mount_fails "docker-archive:$arc:@1" "$T/out-of-range"

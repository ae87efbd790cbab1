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

# Layers are read in place inside the archive.  A mount with a cache of
# its own, once every file has been read, has written one index per layer
# (index/KEY.idx; KEY is sha256-<hex> or, for a layer whose member name
# carries no digest, local-<16 hex>; the KEY.lock taken to build it is gone
# once it is built) and no copy of any layer: unpacked/ is empty, and the
# daemon holds no unnamed file there either; profile/ waits for the
# mount's end.
lfs_mount "docker-archive:$arc" "$T/own-cache" --cache-dir "$T/da-cache"
assert_same_tree "$T/oci" "$T/own-cache"
"$LAYERFS" inspect "docker-archive:$arc" >"$T/inspect" || fail "inspect"
nlayers=$(sed -n 's/^layers: *//p' "$T/inspect")
[ "${nlayers:-0}" -gt 0 ] || fail "inspect: $(cat "$T/inspect")"
c=$T/da-cache
[ "$(ls -A "$c")" = "$(printf 'index\nprofile\nunpacked')" ] ||
	fail "the cache holds: $(ls -A "$c")"
[ -z "$(ls -A "$c/unpacked")" ] ||
	fail "unpacked copies: $(ls -A "$c/unpacked")"
n=0
for f in "$c"/index/*.idx; do
	k=$(basename "$f" .idx)
	[[ $k =~ ^(sha256-[0-9a-f]{64}|local-[0-9a-f]{16})$ ]] ||
		fail "index/$k.idx: not a layer's key"
	n=$((n + 1))
done
[ "$n" -eq "$nlayers" ] || fail "$n indexes for $nlayers layers"
[ "$(find "$c/index" -mindepth 1 | wc -l)" -eq "$nlayers" ] ||
	fail "index/ holds more than indexes: $(ls -A "$c/index")"
pid=
for p in $(lfs_daemons); do
	if grep -sqzF -- "$T/da-cache" "/proc/$p/cmdline"; then
		pid=$p
	fi
done
[ -n "$pid" ] || fail "no daemon for the mount with its own cache"
for fd in /proc/"$pid"/fd/*; do
	link=$(readlink "$fd") || continue
	[[ $link != "$T/da-cache/unpacked/"* ]] ||
		fail "the daemon holds a file in unpacked/: $link"
done

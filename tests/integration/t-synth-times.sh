#!/bin/bash
# Directories no layer has an entry for (the mount's root, parents the
# layers only imply) get the image's time, never the epoch: the config's
# "created" time; without one (a list of layers, a config that has none or
# only Go's zero time), the newest mtime of the layers' files.  A directory
# a layer lists keeps its own time.
. "$(dirname "$0")/lib.sh"
mk=$LFS_SRCDIR/scripts/fixtures/mk-oci-layout
mkdir -p "$T/src/implied" "$T/src/listed"
echo hi >"$T/src/implied/file"
touch -d '2019-03-04 05:06:07 UTC' "$T/src/listed"
# No ./ member and no implied/ member: both are the layers' implications.
tar -C "$T/src" -cf "$T/a.tar" implied/file listed
tar -C "$T/src" -cf "$T/b.tar" implied/file
touch -d '2020-01-02 03:04:05 UTC' "$T/a.tar"
touch -d '2021-01-02 03:04:05 UTC' "$T/b.tar"

# want WHAT MNT TIME: the root and implied/ have TIME (s.ns), listed/ its own.
want() {
	local got
	got=$(stat -c '%.9Y' "$2" "$2/implied" "$2/listed" | paste -sd' ' -)
	[ "$got" = "$3 $3 1551675967.000000000" ] ||
		fail "$1: times $got; want $3 for the root and implied/," \
			"1551675967 for listed/"
}

# A list of layers: the newer file's time.
lfs_mount "" "$T/list" --layer "$T/a.tar" --layer "$T/b.tar"
want "--layer" "$T/list" 1609556645.000000000

# An OCI image whose config says when it was made: that time, to the
# microsecond, whatever the zone it is written in.
CREATED=2021-05-06T09:08:09.25+02:00 "$mk" "$T/img" v1 "$T/a.tar" "$T/b.tar"
lfs_mount "oci:$T/img:v1" "$T/oci"
want "created" "$T/oci" 1620284889.250000000

# Go's zero time stands for none: the blobs' newest mtime.
rm -rf "$T/img"
CREATED=0001-01-01T00:00:00Z "$mk" "$T/img" v1 "$T/a.tar" "$T/b.tar"
touch -d '2022-02-03 04:05:06 UTC' "$T"/img/blobs/sha256/*
lfs_mount "oci:$T/img:v1" "$T/zero"
want "zero time" "$T/zero" 1643861106.000000000

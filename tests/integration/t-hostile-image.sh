#!/bin/bash
# Broken images: each gets a one-line error naming the file and the
# problem, a non-zero exit, and no mount left behind (lfs_mount_fails).
. "$(dirname "$0")/lib.sh"
lfs_require_prog zstd gzip sha256sum
mk=$LFS_SRCDIR/scripts/fixtures/mk-oci-layout

mkdir -p "$T/l1" "$T/l2"
echo one >"$T/l1/one"
echo two >"$T/l2/two"
tar -C "$T/l1" -cf "$T/l1.tar" .
tar -C "$T/l2" -czf "$T/l2.tar.gz" .
"$mk" "$T/good" t "$T/l1.tar" "$T/l2.tar.gz"
lfs_mount "oci:$T/good:t" "$T/ok"	# the unbroken image mounts

# variant NAME: a fresh copy of the good layout to break.
variant() {
	rm -rf "${T:?}/$1"
	cp -a "$T/good" "$T/$1"
	echo "$T/$1"
}
blob() { # LAYOUT N: the path of layer N's blob (1 = bottom)
	local d

	d=$(sed 's/.*"layers"://' "$1/blobs/sha256/$(manifest "$1")" |
		grep -o 'sha256:[0-9a-f]\{64\}' | sed -n "$2p" | cut -c8-)
	echo "$1/blobs/sha256/$d"
}
manifest() { grep -o 'sha256:[0-9a-f]*' "$1/index.json" | cut -c8-; }
# rehash LAYOUT FILE: FILE's content changed; point index.json at its new
# digest (FILE must be the manifest, referenced from index.json).
rehash_manifest() {
	local old new

	old=$(manifest "$1")
	new=$(sha256sum "$2" | cut -d' ' -f1)
	mv "$2" "$1/blobs/sha256/$new"
	sed -i "s/$old/$new/; s/\"size\":[0-9]*/\"size\":$(stat -c %s \
		"$1/blobs/sha256/$new")/" "$1/index.json"
}
expect() { # MSG-PART SOURCE: mounting SOURCE fails, saying MSG-PART
	lfs_mount_fails "$2" "$T/mnt"
	grep -qF -- "$1" "$T/stderr" || fail "want \"$1\" in: $(cat "$T/stderr")"
}

expect "$T/nowhere: no such directory" "oci:$T/nowhere:t"
v=$(variant dir-index) && rm "$v/index.json" && mkdir "$v/index.json"
expect "index.json: not a regular file" "oci:$v:t"
v=$(variant bad-index) && echo '{"manifests": [' >"$v/index.json"
expect "index.json: malformed JSON" "oci:$v:t"
v=$(variant wrong-type) && sed -i 's/"size":[0-9]*/"size":"12"/' "$v/index.json"
expect "index.json: manifests[0].size: not an integer" "oci:$v:t"
v=$(variant no-tag)
expect "no image tagged \"nope\" (tags: t)" "oci:$v:nope"
v=$(variant bad-manifest)
echo '{"schemaVersion":2,"config":{}' >"$T/m" && rehash_manifest "$v" "$T/m"
expect "$v: blob sha256:$(manifest "$v"): malformed JSON: " "oci:$v:t"
v=$(variant manifest-digest) && echo " " >>"$v/blobs/sha256/$(manifest "$v")"
sed -i 's/"size":[0-9]*/"size":'"$(stat -c %s "$v/blobs/sha256/$(manifest "$v")")"'/' "$v/index.json"
expect "digest mismatch" "oci:$v:t"
v=$(variant missing-blob) && b=$(blob "$v" 2) && rm "$b"
d=$(basename "$b")
expect "$v layer 2/2 (sha256:${d:0:12}): blob sha256:$d: missing ($b)" \
	"oci:$v:t"
v=$(variant size) && echo x >>"$(blob "$v" 1)"
expect "size mismatch" "oci:$v:t"
# Same size, one byte of file data changed: only the digest can tell.
v=$(variant layer-digest) && b=$(blob "$v" 1) &&
	off=$(grep -abo one "$b" | tail -1 | cut -d: -f1) &&
	printf 'ONE' | dd of="$b" bs=1 seek="$off" conv=notrunc status=none
expect "digest mismatch: expected sha256:" "oci:$v:t"
v=$(variant corrupt-gzip) && b=$(blob "$v" 2) &&
	printf 'garbage!' | dd of="$b" bs=1 seek=20 conv=notrunc status=none
expect "corrupt gzip stream near byte" "oci:$v:t"
v=$(variant bad-mediatype) && sed -i 's/v1.tar+gzip/v1.tar+bzip2/' \
	"$v/blobs/sha256/$(manifest "$v")" && rehash_manifest "$v" \
	"$v/blobs/sha256/$(manifest "$v")"
expect "is not a layer type layerfs can apply" "oci:$v:t"
expect "not a readable tar archive" "docker-archive:$T/l1/one"
# docker-archives without a usable manifest.json, and a --layer file that
# is not there: the archive (or layer) and the problem, on one line.
mkdir -p "$T/da"
cp "$T/l1.tar" "$T/da/layer.tar"
echo '{"architecture":"amd64","os":"linux","rootfs":{}}' >"$T/da/config.json"
tar -C "$T/da" -cf "$T/no-manifest.tar" layer.tar config.json
expect "layerfs: $T/no-manifest.tar: member \"manifest.json\" is missing" \
	"docker-archive:$T/no-manifest.tar"
# The same file given as a bare path, and a compressed layer: most likely
# a layer given as an image, so the message says how to mount one.
expect "$T/no-manifest.tar: a tar without manifest.json, so not a docker-archive; to mount it as a layer, use --layer $T/no-manifest.tar" \
	"$T/no-manifest.tar"
gzip -c "$T/l1.tar" >"$T/l1.tar.gz"
expect "$T/l1.tar.gz: compressed (a docker-archive is a plain tar), so not a docker-archive; to mount it as a layer, use --layer $T/l1.tar.gz" \
	"$T/l1.tar.gz"
# An OCI layout spelled DIR:TAG or DIR/oci:TAG: the spelling that works.
v=$(variant spelled)
expect "$v:t: No such file or directory; did you mean oci:$v:t?" "$v:t"
expect "$v/oci:t: No such file or directory; did you mean oci:$v:t?" "$v/oci:t"
echo '[{"Config":"config.json","Layers":["layer.tar"]' >"$T/da/manifest.json"
tar -C "$T/da" -cf "$T/bad-manifest.tar" manifest.json layer.tar config.json
expect "layerfs: $T/bad-manifest.tar: manifest.json: malformed JSON: " \
	"docker-archive:$T/bad-manifest.tar"
lfs_mount_fails "" "$T/mnt" --layer "$T/l1.tar" --layer "$T/nope.tar"
want="layerfs: layer $T/nope.tar: No such file or directory"
[ "$(cat "$T/stderr")" = "$want" ] ||
	fail "missing --layer file: $(cat "$T/stderr")"

# Indexed once, then the blob changed in place (same size): the mount
# notices the file is not the one indexed, indexes again, and the digest
# check names the damage.  The cached index is never trusted for it.
v=$(variant changed-later)
lfs_mount "oci:$v:t" "$T/before"
fusermount3 -u "$T/before"
b=$(blob "$v" 1) && off=$(grep -abo one "$b" | tail -1 | cut -d: -f1) &&
	printf 'ONE' | dd of="$b" bs=1 seek="$off" conv=notrunc status=none
expect "digest mismatch: expected sha256:" "oci:$v:t"

# Only the config is broken: its blob is not JSON, and the manifest (and
# index.json) are rehashed to point at it, so every digest and size checks.
v=$(variant bad-config)
printf '{"architecture":"amd64","os":' >"$T/c"
c=$(sha256sum "$T/c" | cut -d' ' -f1)
cp "$T/c" "$v/blobs/sha256/$c"
sed 's/\("config":{[^}]*"digest":"sha256:\)[0-9a-f]*\("[^}]*"size":\)[0-9]*/\1'"$c"'\2'"$(stat -c %s "$T/c")"'/' \
	"$v/blobs/sha256/$(manifest "$v")" >"$T/m"
grep -qF "\"digest\":\"sha256:$c\"" "$T/m" || fail "config not replaced"
rehash_manifest "$v" "$T/m"
expect "config sha256:$c: malformed JSON" "oci:$v:t"

# An unreadable index.json (root's, 0600) read by another user: one line,
# "Permission denied", naming the file once.  The same for a --layer file.
lfs_require_prog setpriv
chmod 0755 "$T"	# nobody has to reach the layout first
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
# The build dir may be private to root; a copy in $T is not.
nobody_layerfs=$LAYERFS
if ! as_nobody test -x "$nobody_layerfs"; then
	cp "$LAYERFS" "$T/layerfs"
	nobody_layerfs=$T/layerfs
fi
# nobody_fails FILE COMMAND ARGS...: `layerfs COMMAND ARGS` as nobody fails
# with one line naming FILE once, "...FILE: Permission denied", prints
# nothing on stdout and leaves no mount (lfs_refuses).
nobody_fails() {
	local file=$1

	shift
	lfs_refuses as_nobody "$nobody_layerfs" "$@" >"$T/out"
	grep -qF "$file: Permission denied" "$T/stderr" ||
		fail "$*: want \"$file: Permission denied\""
	[ "$(grep -oF "$file" "$T/stderr" | wc -l)" -eq 1 ] ||
		fail "$*: $file named more than once"
	[ ! -s "$T/out" ] || fail "$* failed but printed: $(cat "$T/out")"
}
# nobody_mount_fails FILE ARGS...: the same through `layerfs mount ARGS
# MNT`, with a cache and a mountpoint nobody may use, so only FILE stops it.
mkdir -p "$T/nobody-cache" "$T/nobody-mnt"
chown 65534:65534 "$T/nobody-cache" "$T/nobody-mnt"
lfs_track_mount "$T/nobody-mnt"
nobody_mount_fails() {
	local file=$1

	shift
	nobody_fails "$file" mount --cache-dir "$T/nobody-cache" "$@" \
		"$T/nobody-mnt"
	! mountpoint -q "$T/nobody-mnt" || fail "nobody's mount is there"
}
v=$(variant unreadable) && chmod 0600 "$v/index.json"
nobody_fails "$v/index.json" inspect "oci:$v:t"
nobody_fails "$v/index.json" inspect "$v"
nobody_mount_fails "$v/index.json" "oci:$v:t"
chmod 0600 "$T/l1.tar"
nobody_fails "$T/l1.tar" inspect --layer "$T/l1.tar"
nobody_mount_fails "$T/l1.tar" --layer "$T/l1.tar"
cp "$T/bad-manifest.tar" "$T/private.tar" && chmod 0600 "$T/private.tar"
nobody_mount_fails "$T/private.tar" "docker-archive:$T/private.tar"
# A layout directory nobody may search: not "no index.json", but why not.
v=$(variant private) && chmod 0700 "$v"
nobody_fails "$v/index.json" inspect "$v"
nobody_fails "$v/index.json" inspect "oci:$v:t"
nobody_mount_fails "$v/index.json" "oci:$v:t"

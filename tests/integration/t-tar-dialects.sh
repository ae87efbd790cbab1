#!/bin/bash
# Layers in the tar dialects real tools write mount exactly as `umoci
# unpack` writes them: GNU tar's v7, ustar, oldgnu, gnu and posix formats
# (long names where the format has them, a symlink, a hardlink, a
# directory tree); and streams libarchive calls damaged but GNU tar, Go's
# archive/tar and umoci read: extension headers followed by the
# end-of-archive blocks (the end), or by nothing at all (the end, with a
# warning); old-GNU headers of plain members with junk in the fields
# only sparse members use; a pax ACL, which leaves the mode as it is;
# hardlinks to names a later member replaces, which keep what they named;
# names with a leading '/' and '..' components, cleaned inside the root;
# a stream that ends with its last member's data, unpadded (a warning);
# duplicates, directories after their children, "./" and trailing '/',
# pax path/linkpath/mtime records, times before 1970 and after 2038,
# base-256 fields and a name that is not UTF-8.  A pax global header
# (which umoci refuses, and containerd and docker ignore) and a GNU long
# link name are held to GNU tar's extraction.
# Extension headers followed by junk stay an error.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci tar python3

s=$T/src
mkdir -p "$s/d/sub" "$s/d/$(printf 'n%.0s' $(seq 90))"
echo hi >"$s/d/f"
ln -s f "$s/d/l"
ln "$s/d/f" "$s/d/hl"
echo x >"$s/d/sub/g"
long=$s/d/$(printf 'n%.0s' $(seq 90))/$(printf 'm%.0s' $(seq 60))
echo long >"$long"
touch -h -d @1600000000 "$s/d/f" "$s/d/l" "$s/d/sub/g" "$long" "$s/d/sub"

# same_as_umoci NAME TAR [WARNING [PATH...]]: an image of the one layer
# TAR mounts as umoci unpacks it; WARNING, if not empty, is in what the
# mount says; the PATHs' mtimes are left out (umoci stamps them with the
# time it unpacks).
same_as_umoci() {
	local o=$T/oci-$1 p
	local -a skip=()

	for p in "${@:4}"; do
		skip+=(--no-mtime "$p")
	done

	umoci init --layout "$o"
	umoci new --image "$o:i"
	umoci raw add-layer --image "$o:i" "$2"
	umoci unpack --image "$o:i" "$T/unpack-$1" >&2 ||
		fail "$1: umoci unpack"
	lfs_mount "oci:$o:i" "$T/mnt-$1" 2>"$T/log-$1"
	(assert_same_tree "$T/unpack-$1/rootfs" "$T/mnt-$1" "${skip[@]}") ||
		fail "$1: differs from umoci unpack"
	if [ -n "${3:-}" ]; then
		grep -qF -- "$3" "$T/log-$1" ||
			fail "$1: no warning \"$3\": $(cat "$T/log-$1")"
	fi
	fusermount3 -u "$T/mnt-$1"
}

# same_as_gnu_tar NAME TAR: the one layer TAR mounts as GNU tar extracts
# it (where umoci refuses the layer).
same_as_gnu_tar() {
	mkdir -p "$T/gnu-$1"
	tar -C "$T/gnu-$1" --numeric-owner -xpf "$2" || fail "$1: tar -x"
	lfs_mount "" "$T/mnt-$1" --layer "$2"
	(assert_same_tree "$T/gnu-$1" "$T/mnt-$1") ||
		fail "$1: differs from GNU tar's extraction"
	fusermount3 -u "$T/mnt-$1"
}

for fmt in v7 ustar oldgnu gnu posix; do
	ex=()
	# v7 holds names of 99 bytes at most, ustar of 255.
	[ "$fmt" = v7 ] && ex=(--exclude "./d/nnn*")
	tar -C "$s" --format=$fmt --numeric-owner "${ex[@]}" \
		-cf "$T/$fmt.tar" . || fail "tar --format=$fmt"
	same_as_umoci "$fmt" "$T/$fmt.tar"
done

# Layers GNU tar will not write (tests/tools/mkdialects says which).
"$LFS_SRCDIR/tests/tools/mkdialects" "$T" "$T/posix.tar" ||
	fail "mkdialects"
same_as_umoci gnujunk "$T/gnujunk.tar"
same_as_umoci acl "$T/acl.tar"
same_as_umoci relinked "$T/relinked.tar"
same_as_umoci dots "$T/dots.tar"
same_as_umoci nopad "$T/nopad.tar" \
	"without its padding or the end-of-archive blocks"
same_as_umoci misc "$T/misc.tar" "" .
same_as_gnu_tar global "$T/global.tar"
same_as_umoci end "$T/end.tar"
same_as_umoci cut "$T/cut.tar" \
	"ends after extension headers, without the end-of-archive blocks"
lfs_mount_fails "" "$T/mnt-junk" --layer "$T/junk.tar"
grep -qF "corrupt or truncated tar" "$T/stderr" ||
	fail "junk after extension headers: $(cat "$T/stderr")"

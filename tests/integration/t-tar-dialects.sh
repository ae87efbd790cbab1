#!/bin/bash
# Layers in many tar dialects, each mounted as the one layer of an image
# and held to three readers: `umoci unpack` (Go's archive/tar, the
# reference, decision 0023), GNU tar and bsdtar (libarchive).  Where the
# readers disagree, the test says exactly how (check's expectations),
# and decision 0023 says why, so a reader or layerfs that changes is
# caught either way.
#
# The layers: GNU tar's v7, ustar, oldgnu, gnu and posix formats (long
# names where the format has them, a symlink, a hardlink, a directory
# tree); and, written block by block by tests/tools/mkdialects, streams
# libarchive calls damaged but GNU tar, Go's archive/tar and umoci read
# (extension headers followed by the end-of-archive blocks, or by
# nothing: a warning); old-GNU headers of plain members with junk in the
# fields only sparse members use; a pax ACL, which leaves the mode as it
# is; hardlinks to names a later member replaces, which keep what they
# named; names with a leading '/' and '..' components, cleaned inside the
# root; a stream that ends with its last member's data, unpadded (a
# warning); duplicates, directories after their children, "./" and
# trailing '/', pax path/linkpath/mtime records, times before 1970 and
# after 2038, base-256 fields and a name that is not UTF-8; a pax global
# header and a GNU long link name; xattrs in every pax spelling
# (SCHILY.xattr, LIBARCHIVE.xattr, RHT.security.selinux, two spellings of
# one name) and names umoci never restores; GNU sparse members in every
# format, written by hand (maps GNU tar would not make, data after all
# the map names) and by GNU tar.  Extension headers followed by junk, and
# a sparse map past its file's size, are refused.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci tar bsdtar python3

# The listing of tree $1 (dumptree options after it), without SELinux
# labels, which come from the host's policy, not from the layer.
dump() {
	local dir=$1

	shift
	if [ -e /sys/fs/selinux/enforce ]; then
		set -- --exclude-xattr security.selinux "$@"
	fi
	"$DUMPTREE" "$@" "$dir"
}

# labels PATHS: the comma-separated PATHS, without "rht" and "selinux" on
# a host with SELinux, where dump() leaves labels out (those members of
# the xattrs layer differ by their labels alone).
labels() {
	if [ -e /sys/fs/selinux/enforce ]; then
		echo "$1" | tr , '\n' | grep -vx 'rht\|selinux' | paste -sd, -
	else
		echo "$1"
	fi
}

# ext_blocks TAR NAME: how many old-GNU sparse extension blocks member
# NAME of TAR has (none if it is not sparse, nothing if it is not there).
ext_blocks() {
	python3 -c '
import sys
t = open(sys.argv[1], "rb").read()
at = 0
while t[at:at + 1] not in (b"", b"\0"):
	h = t[at:at + 512]
	size = int(h[124:136].strip(b"\0 ") or b"0", 8)
	more = h[482] if h[156:157] == b"S" else 0
	blocks = 0
	at += 512
	while more:
		more = t[at + 504]
		blocks += 1
		at += 512
	if h[:100].rstrip(b"\0") == sys.argv[2].encode():
		print(blocks)
	at += (size + 511) // 512 * 512' "$1" "$2"
}

# The paths whose lines differ between listings $1 and $2, comma-separated
# in byte order; empty if none.
differing() {
	{ diff "$1" "$2" || true; } | sed -n 's/^[<>] //p' | cut -d' ' -f1 |
		LC_ALL=C sort -u | paste -sd, -
}

# unpack READER LAYOUT TAR DIR: READER's tree of the image LAYOUT:i (its
# one layer TAR) in DIR.  Fails where the reader refuses the layer.
# GNU tar and bsdtar restore all they can: owners, modes, xattrs, ACLs
# (bsdtar does as root unasked).
unpack() {
	case $1 in
	umoci)	umoci unpack --image "$2:i" "$4.bundle" >&2 &&
		mv "$4.bundle/rootfs" "$4" ;;
	gnu)	mkdir "$4" &&
		tar -C "$4" --numeric-owner --xattrs --xattrs-include='*' \
			--acls --selinux -xpf "$3" ;;
	bsd)	mkdir "$4" && bsdtar -C "$4" --numeric-owner -xpf "$3" ;;
	esac
}

# check NAME TAR UMOCI GNU BSD [WARNING]: TAR mounted as the one layer of
# an image, against what umoci unpack, GNU tar -x and bsdtar -x make of
# it.  UMOCI, GNU and BSD say what that reader must do: "=" write the
# same tree; "!" refuse the layer (exit non-zero); or PATH[,PATH...]
# write a tree that differs at exactly those paths.  WARNING, if not
# empty, is in what the mount says.  GNU tar and bsdtar extract into a
# directory made here (bsdtar never sets its mtime, GNU tar only from a
# "./" member): their comparison leaves the root's mtime out.  So does
# umoci's for a layer with no "./" member: umoci dates such a root 1970,
# layerfs the image's creation time (the config's, checked here).
check() {
	local name=$1 tar=$2 o=$T/oci-$1 r want got line=$1
	local -A expect=([umoci]=$3 [gnu]=$4 [bsd]=$5)
	local -a opts

	umoci init --layout "$o"
	umoci new --image "$o:i"
	umoci raw add-layer --image "$o:i" "$tar"
	# lfs_mount, but with what layerfs says kept for the WARNING.
	mkdir -p "$T/mnt-$name"
	LFS_MOUNTS+=("$T/mnt-$name")
	"$LAYERFS" mount --cache-dir "$T/cache" "oci:$o:i" "$T/mnt-$name" \
		2>"$T/log-$name" ||
		fail "$name: layerfs mount failed: $(cat "$T/log-$name")"
	if [ -n "${6:-}" ]; then
		grep -qF -- "$6" "$T/log-$name" ||
			fail "$name: no warning \"$6\": $(cat "$T/log-$name")"
	fi
	dump "$T/mnt-$name" >"$T/$name.layerfs"
	dump "$T/mnt-$name" --no-mtime . >"$T/$name.layerfs-root"
	local listed=yes created
	# (tar -t may fail on a stream cut short, after listing it)
	tar -tf "$tar" >"$T/list-$name" 2>/dev/null || true
	grep -qxE '\.?/?' "$T/list-$name" || listed=
	if [ -z "$listed" ]; then
		created=$(config_created "$o")
		[ "$(stat -c %Y "$T/mnt-$name")" = "$created" ] ||
			fail "$name: root mtime $(stat -c %Y "$T/mnt-$name")," \
				"not the config's $created"
	fi
	fusermount3 -u "$T/mnt-$name"
	for r in umoci gnu bsd; do
		want=${expect[$r]}
		opts=()
		[ "$r" = umoci ] && [ -n "$listed" ] || opts=(--no-mtime .)
		if ! unpack "$r" "$o" "$tar" "$T/$r-$name" 2>"$T/err-$r-$name"
		then
			got='!'
		else
			dump "$T/$r-$name" "${opts[@]}" >"$T/$name.$r"
			got=$(differing "$T/$name.layerfs${opts:+-root}" \
				"$T/$name.$r")
			got=${got:-=}
		fi
		if [ "$got" != "$want" ]; then
			[ "$got" = '!' ] && cat "$T/err-$r-$name" >&2
			[ "$got" = '!' ] ||
				diff -u "$T/$name.layerfs${opts:+-root}" \
					"$T/$name.$r" >&2 || true
			fail "$name: $r: want \"$want\", got \"$got\""
		fi
		line="$line $r:$got"
	done
	echo "oracles: $line" >&2
}

# config_created OCI: the image config's "created", in whole seconds.
config_created() {
	python3 - "$1" <<'PY'
import datetime, json, re, sys
d = sys.argv[1]
def blob(digest):
    return json.load(open(d + "/blobs/sha256/" + digest.split(":")[1]))
m = blob(json.load(open(d + "/index.json"))["manifests"][0]["digest"])
c = blob(m["config"]["digest"])["created"]
t = re.fullmatch(r"(.{19})(\.\d+)?(Z|[+-]\d\d:\d\d)", c)
z = "+00:00" if t.group(3) == "Z" else t.group(3)
print(int(datetime.datetime.fromisoformat(t.group(1) + z).timestamp()))
PY
}

# check_refused NAME TAR WHY UMOCI GNU BSD: layerfs refuses TAR, mount
# and `layerfs index` alike, in one line saying WHY.  UMOCI, GNU and BSD
# say what that reader does: "!" refuses it too (exit non-zero), "reads"
# extracts it (decision 0023 says how).
check_refused() {
	local name=$1 o=$T/oci-$1 r got line="$1 layerfs:!"
	local -A expect=([umoci]=$4 [gnu]=$5 [bsd]=$6)

	lfs_mount_fails "" "$T/mnt-$name" --layer "$2"
	grep -qF -- "$3" "$T/stderr" ||
		fail "$name: want \"$3\": $(cat "$T/stderr")"
	lfs_refuses "$LAYERFS" index --cache-dir "$T/cache" --layer "$2"
	grep -qF -- "$3" "$T/stderr" ||
		fail "$name: layerfs index: want \"$3\": $(cat "$T/stderr")"
	umoci init --layout "$o"
	umoci new --image "$o:i"
	umoci raw add-layer --image "$o:i" "$2"
	for r in umoci gnu bsd; do
		got=reads
		unpack "$r" "$o" "$2" "$T/$r-$name" 2>/dev/null || got='!'
		[ "$got" = "${expect[$r]}" ] ||
			fail "$name: $r: want \"${expect[$r]}\", got \"$got\""
		line="$line $r:$got"
	done
	echo "oracles: $line" >&2
}

s=$T/src
mkdir -p "$s/d/sub" "$s/d/$(printf 'n%.0s' $(seq 90))"
echo hi >"$s/d/f"
ln -s f "$s/d/l"
ln "$s/d/f" "$s/d/hl"
echo x >"$s/d/sub/g"
long=$s/d/$(printf 'n%.0s' $(seq 90))/$(printf 'm%.0s' $(seq 60))
echo long >"$long"
touch -h -d @1600000000 "$s/d/f" "$s/d/l" "$s/d/sub/g" "$long" "$s/d/sub"

for fmt in v7 ustar oldgnu gnu posix; do
	ex=()
	# v7 holds names of 99 bytes at most, ustar of 255.
	[ "$fmt" = v7 ] && ex=(--exclude "./d/nnn*")
	tar -C "$s" --format=$fmt --numeric-owner "${ex[@]}" \
		-cf "$T/$fmt.tar" . || fail "tar --format=$fmt"
	check "$fmt" "$T/$fmt.tar" = = =
done

# Layers GNU tar will not write (tests/tools/mkdialects says which).
# Where a reader differs, decision 0023 has the row.
"$LFS_SRCDIR/tests/tools/mkdialects" "$T" "$T/posix.tar" ||
	fail "mkdialects"
#     case     layer           umoci  GNU tar  bsdtar
check gnujunk  "$T/gnujunk.tar"  =      =        '!'
check acl      "$T/acl.tar"      =      acl      acl
check relinked "$T/relinked.tar" =      =        =
check dots     "$T/dots.tar"     =      '!'      '!'
check nopad    "$T/nopad.tar"    =      '!'      '!' \
	"without its padding or the end-of-archive blocks"
check misc     "$T/misc.tar"     .      dot      before1970-frac,just-before
check global   "$T/global.tar"   '!'    =        =
check end      "$T/end.tar"      =      =        '!'
check cut      "$T/cut.tar"      =      =        '!' \
	"ends after extension headers, without the end-of-archive blocks"
check xattrs   "$T/xattrs.tar"   =      "$(labels empty,ovl,percent,rht,selinux)" \
	"$(labels empty,libarchive,ovl,rht,schily-then-libarchive,selinux)"
check nfs4acl  "$T/nfs4acl.tar"  =      =        '!'
check_refused junk "$T/junk.tar" "corrupt or truncated tar" '!' '!' '!'

# GNU sparse members, in each format, as mkdialects writes them (maps
# GNU tar would not make: runs at odd offsets, a hole at the end with no
# map entry of length 0), and as GNU tar writes real sparse files.
[ "$(ext_blocks "$T/sparse-old.tar" many)" = 2 ] ||
	fail "mkdialects: many: want two extension blocks"
for fmt in 00 01 10; do
	check sparse-$fmt "$T/sparse-$fmt.tar" = end-hole-bare =
done
check sparse-old       "$T/sparse-old.tar"       '!' end-hole-bare =
check sparse-oddlen    "$T/sparse-oddlen.tar"    =   oddlen        =
check sparse-unordered "$T/sparse-unordered.tar" '!' =             =
check sparse-tail      "$T/sparse-tail.tar"      '!' =             \
	after-01,after-10,after-old,after-size,tail-01,tail-10,tail-size \
	"1 byte of its data after all its sparse map names"
check_refused sparse-past "$T/sparse-past.tar" \
	'entry "past": its sparse map reaches past the end of the file (byte 3100 of 3000); refusing the layer' \
	'!' reads '!'

sp=$T/sparse-src
mkdir -p "$sp"
printf 'data%.0s' $(seq 256) >"$sp/end-hole"		# 1 KiB, then a hole
truncate -s 70000 "$sp/end-hole"
truncate -s 8192 "$sp/end-data"
printf 'tail%.0s' $(seq 200) >>"$sp/end-data"
truncate -s 65536 "$sp/all-hole"
: >"$sp/empty"
# 30 runs, 8 KiB apart, so that the file system holds holes between
# them (GNU tar takes a file for sparse only then): two old-GNU
# extension blocks.
for i in $(seq 0 29); do
	printf 'run%.0s' $(seq 171) |
		dd of="$sp/many" bs=512 count=1 seek=$((16 * i)) \
			conv=notrunc status=none
done
touch -d @1600000000 "$sp"/*
for v in old 0.0 0.1 1.0; do
	opts=(--format=pax --sparse-version=$v)
	[ $v = old ] && opts=(--format=gnu)
	tar -C "$sp" --sparse --hole-detection=raw --numeric-owner \
		"${opts[@]}" -cf "$T/gnu-sparse-$v.tar" . ||
		fail "tar --sparse $v"
	# GNU tar wrote "many" as sparse (it does only for files with holes
	# on disk), with its 30 runs.
	case $v in
	old)	[ "$(ext_blocks "$T/gnu-sparse-$v.tar" ./many)" = 2 ] ;;
	0.0|0.1) grep -qa 'GNU.sparse.numblocks=30' "$T/gnu-sparse-$v.tar" ;;
	1.0)	# the map starts a block: its count of runs, a line
		tr '\0' '\n' <"$T/gnu-sparse-$v.tar" | grep -x 30 >/dev/null ;;
	esac || fail "GNU tar's $v layer has no sparse member of 30 runs"
	# umoci refuses old-GNU sparse members: Go hands them over as 'S'.
	umoci='='
	[ $v = old ] && umoci='!'
	check gnu-sparse-$v "$T/gnu-sparse-$v.tar" "$umoci" = =
done

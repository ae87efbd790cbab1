#!/bin/bash
# layerfs where fuse-overlayfs stands: its command line (`-o lowerdir=A:B,
# upperdir=U,workdir=W MNT`, the leftmost lower on top, as podman and
# buildah run a mount_program), over directory lowers as containers/storage
# lays them out for one (AUFS-style .wh.NAME and .wh..wh..opq files), and
# one lower with overlayfs's own whiteouts (a 0/0 character device,
# trusted.overlay.opaque=y).  The reference is fuse-overlayfs itself, or,
# where it is not installed, kernel overlayfs over copies of the lowers with
# the AUFS whiteouts made overlayfs's (as scripts/bench's overlay_whiteouts).
#  1. read-only: the two trees match (dumptree);
#  2. writable: the same shell operations on both (create, append to a
#     lower file, rm of a lower file, rm -rf of a lower dir and mkdir of it
#     again, chmod, chown, xattrs, mv of a file, ln -s, ln, mkfifo), then
#     the trees match but for the mtimes the operations set; a lower
#     directory moved with mv is renamed in place on layerfs (the same
#     inode number before and after; the reference may copy it), and the
#     trees match again; a remount over the same upper shows the same tree;
#  3. mount(8): `mount -t fuse.layerfs layerfs MNT -o lowerdir=...,
#     upperdir=...,workdir=...` (mount.fuse3 runs `layerfs layerfs MNT -o
#     ...`, found in its PATH) mounts the same tree, named "layerfs", and
#     writes reach the upper;
#  4. fuse-overlayfs's options: uidmapping=/gidmapping= (ids shown mapped,
#     65534 where no range maps, new and chowned owners stored mapped back),
#     squash_to_uid=/squash_to_gid=/squash_to_root, static_nlink,
#     noxattrs=1 (ENOTSUP, nothing copied up), xattr_permissions=2 (the
#     owner and mode in user.fuseoverlayfs.override_stat on the upper
#     file, never shown through the mount).
. "$(dirname "$0")/lib.sh"
lfs_require_prog getfattr setfattr mknod mkfifo mount.fuse3 unshare find
if command -v fuse-overlayfs >/dev/null; then
	REF=fuse-overlayfs
else
	grep -qw overlay /proc/filesystems || modprobe overlay ||
		lfs_skip "neither fuse-overlayfs nor overlayfs"
	REF=overlay
fi
echo "reference: $REF" >&2

# A check that the rest of the test can go on without: said, kept, and
# failed at the end, so one finding does not hide the next.
FAILED=()
bad() {
	echo "FAIL (going on): $*" >&2
	FAILED+=("$*")
}

# ---- the lowers, bottom (L1) to top (L4) ----
L=$T/lower
mkdir -p "$L"/1/{etc,dir/sub,gone,opq/old,dir2/old,movedir/a/b,olddir,owners,bin,tmp}
mkdir -p "$L"/2/{etc,opq,dir} "$L"/3/{dir,gone,etc} "$L"/4/{etc,dir2}
(
	cd "$L/1" || exit 1
	echo base >etc/conf
	setfattr -n user.foo -v bar etc/conf
	echo del >etc/deleted
	echo keep >etc/keep
	echo byovl >etc/byovl
	echo x >dir/sub/f
	ln -s ../etc/conf dir/link
	mkfifo dir/fifo2
	echo g >gone/g
	echo old >opq/old/o
	echo o2 >opq/keep
	echo o >dir2/old/f
	echo c >movedir/a/b/c
	echo f >movedir/f
	setfattr -n user.moved -v 1 movedir
	echo gone >olddir/x
	echo hl >hl1
	ln hl1 hl2
	setfattr -n user.hl -v 1 hl1
	mkfifo fifo
	for u in 1000 2005 3000; do
		echo "$u" >"owners/u$u"
		chown "$u:$u" "owners/u$u"
	done
	chown 1000:1000 owners
	echo suid >bin/suid
	chmod 4755 bin/suid
	chmod 1777 tmp
	ln -s dir lnkdir
)
(
	cd "$L/2" || exit 1
	: >etc/.wh.deleted
	echo over >etc/over
	: >.wh.gone
	: >opq/.wh..wh..opq
	echo new >opq/n
	: >dir/.wh.fifo2
	ln -s /abs/target abs
)
(
	cd "$L/3" || exit 1
	echo top >dir/top
	setfattr -n user.x -v 1 dir
	echo ng >gone/new
	echo keep3 >etc/keep
	echo p >pair1
	ln pair1 pair2
)
(
	cd "$L/4" || exit 1
	mknod etc/byovl c 0 0
	mknod olddir c 0 0
	setfattr -n trusted.overlay.opaque -v y dir2
	echo n >dir2/n
	echo t >top
)
LOWERS=$L/4:$L/3:$L/2:$L/1

# The reference's lowers: fuse-overlayfs reads these as they are; kernel
# overlayfs gets copies with the AUFS whiteouts made its own.
RLOWERS=$LOWERS
if [ "$REF" = overlay ]; then
	RLOWERS=
	for n in 4 3 2 1; do
		cp -a "$L/$n" "$T/klower$n"
		find "$T/klower$n" -name '.wh.*' -print0 |
			while IFS= read -r -d '' f; do
				dir=$(dirname "$f") base=$(basename "$f")
				rm -f "$f"
				if [ "$base" = .wh..wh..opq ]; then
					setfattr -n trusted.overlay.opaque -v y "$dir"
				else
					rm -rf "${dir:?}/${base#.wh.}"
					mknod "$dir/${base#.wh.}" c 0 0
				fi
			done
		# Changing them moved their directories' mtimes back.
		(cd "$L/$n" && find . -type d -print0) |
			while IFS= read -r -d '' d; do
				touch -r "$L/$n/$d" "$T/klower$n/$d"
			done
		RLOWERS=$RLOWERS${RLOWERS:+:}$T/klower$n
	done
fi

# lmount MNT OPTS: layerfs in fuse-overlayfs's form.
lmount() {
	mkdir -p "$1"
	lfs_track_mount "$1"
	"$LAYERFS" -o "$2,cache_dir=$T/cache" "$1" ||
		fail "layerfs -o $2 $1 failed"
	mountpoint -q "$1" || fail "layerfs returned but $1 is not mounted"
}

# rmount MNT [UPPER WORK]: the reference over the same lowers.
rmount() {
	local o=lowerdir=$RLOWERS

	[ $# -eq 1 ] || o=$o,upperdir=$2,workdir=$3
	mkdir -p "$1"
	lfs_track_mount "$1"
	case $REF in
	fuse-overlayfs)
		fuse-overlayfs -o "$o" "$1" 2>"$T/ref.err" ||
			fail "fuse-overlayfs -o $o $1: $(cat "$T/ref.err")" ;;
	overlay)
		[ $# -eq 1 ] || o=$o,redirect_dir=on,index=off
		mount -t overlay overlay -o "$o" "$1" ||
			fail "mount -t overlay -o $o $1" ;;
	esac
	mountpoint -q "$1" || fail "$REF returned but $1 is not mounted"
}

unmount() {
	local i

	case $(findmnt -n -o FSTYPE --mountpoint "$1") in
	fuse*) fusermount3 -u "$1" || fail "fusermount3 -u $1" ;;
	*) umount "$1" || fail "umount $1" ;;
	esac
	# The daemon ends by itself; a mount over the same upper next must
	# not race it.
	for ((i = 0; i < 50; i++)); do
		[ -n "$(lfs_daemons)" ] || return 0
		sleep 0.1
	done
	fail "layerfs daemon still running after unmount"
}

# ---- 1. read-only ----
lmount "$T/ro" "lowerdir=$LOWERS"
rmount "$T/ref-ro"
assert_same_tree "$T/ref-ro" "$T/ro"
# The merge was done, not skipped: what each kind of whiteout hides.
for p in etc/deleted etc/byovl gone/g opq/old opq/keep dir2/old olddir \
	dir/fifo2 .wh.gone etc/.wh.deleted opq/.wh..wh..opq; do
	[ ! -e "$T/ro/$p" ] && [ ! -L "$T/ro/$p" ] || fail "$p shows"
done
[ "$(cat "$T/ro/etc/keep")" = keep3 ] || fail "etc/keep is not L3's"
[ "$(getfattr --absolute-names --only-values -n user.foo "$T/ro/etc/conf")" = bar ] ||
	fail "user.foo of etc/conf"
[ "$(stat -c %i "$T/ro/hl1")" = "$(stat -c %i "$T/ro/hl2")" ] ||
	fail "hl1 and hl2 are not one file"
"$DUMPTREE" "$T/ro" >"$T/dump.ro"
unmount "$T/ro"
unmount "$T/ref-ro"

# ---- 2. writable ----
mkdir "$T"/{u,w,ru,rw}
# The root shows the upper dir's attributes: give the reference's the top
# lower root's, which layerfs gives a fresh upper's root itself.
chmod --reference="$L/4" "$T/ru"
chown --reference="$L/4" "$T/ru"
touch -r "$L/4" "$T/ru"
lmount "$T/rwm" "lowerdir=$LOWERS,upperdir=$T/u,workdir=$T/w"
rmount "$T/ref-rw" "$T/ru" "$T/rw"
assert_same_tree "$T/ref-rw" "$T/rwm"

ops() (
	cd "$1" || exit 1
	echo new >newfile
	echo more >>etc/conf
	rm etc/keep
	rm -rf dir
	mkdir dir
	echo again >dir/x
	mkfifo dir/ff
	chmod 600 top
	chmod 700 opq
	chown 1000:1000 gone/new
	mv etc/over etc/over.moved
	ln -s newfile sym
	ln dir2/n dir2/n-link
	mkdir -p nd/sub
	touch nd/sub/z
	rm fifo
	setfattr -n user.added -v 1 newfile
	setfattr -x user.foo etc/conf
	setfattr -n user.onlower -v 2 opq/n
	touch -d @1000000000 bin/suid
	touch -h -d @1000000001 abs
)
# Not in a || list, where set -e would not stop them: a failed operation
# ends the test with its own message.
echo "the operations, on layerfs" >&2
ops "$T/rwm"
echo "the operations, on $REF" >&2
ops "$T/ref-rw"
# The mtimes the operations set are the time they ran.
nomtime=()
for p in . etc etc/conf dir dir/x dir/ff newfile sym dir2 nd nd/sub nd/sub/z; do
	nomtime+=(--no-mtime "$p")
done
# fuse-overlayfs gives a directory it copies up (as the parent of what
# changed) the time of the copy; layerfs keeps the lower's mtime, as
# kernel overlayfs does: checked against the read-only tree instead.
copied_dirs=(bin gone opq)
if [ "$REF" = fuse-overlayfs ]; then
	for p in "${copied_dirs[@]}"; do
		nomtime+=(--no-mtime "$p")
	done
fi
assert_same_tree "$T/ref-rw" "$T/rwm" "${nomtime[@]}"
mtime_of() { # DUMP PATH
	awk -v p="$2" '$1 == p { for (i = 2; i <= NF; i++)
		if ($i ~ /^mtime=/) print $i }' "$1"
}
"$DUMPTREE" "$T/rwm" >"$T/dump.ops"
for p in "${copied_dirs[@]}"; do
	[ "$(mtime_of "$T/dump.ops" "$p")" = "$(mtime_of "$T/dump.ro" "$p")" ] ||
		fail "$p: copied up with $(mtime_of "$T/dump.ops" "$p"), the lower's is $(mtime_of "$T/dump.ro" "$p")"
done

# A lower directory moved: renamed in place, the same inode.
ino=$(stat -c %i "$T/rwm/movedir")
ino_a=$(stat -c %i "$T/rwm/movedir/a")
mv "$T/rwm/movedir" "$T/rwm/moved" || fail "mv of a lower directory"
[ "$(stat -c %i "$T/rwm/moved")" = "$ino" ] ||
	fail "mv copied the directory: inode $ino became $(stat -c %i "$T/rwm/moved")"
[ "$(stat -c %i "$T/rwm/moved/a")" = "$ino_a" ] ||
	fail "mv copied movedir/a: inode $ino_a became $(stat -c %i "$T/rwm/moved/a")"
[ ! -e "$T/rwm/movedir" ] || fail "movedir is still there"
mv "$T/ref-rw/movedir" "$T/ref-rw/moved" || fail "mv on $REF"
assert_same_tree "$T/ref-rw" "$T/rwm" "${nomtime[@]}"
"$DUMPTREE" "$T/rwm" >"$T/dump.rw"
unmount "$T/rwm"
unmount "$T/ref-rw"
[ -z "$(ls -A "$T/w/work")" ] || fail "W/work holds leftovers: $(ls -lA "$T/w/work")"
lmount "$T/rwm2" "lowerdir=$LOWERS,upperdir=$T/u,workdir=$T/w"
"$DUMPTREE" "$T/rwm2" >"$T/dump.rw2"
diff -u --label "before the remount" --label "after" "$T/dump.rw" \
	"$T/dump.rw2" >&2 || fail "the remount shows another tree"
unmount "$T/rwm2"

# ---- 4. fuse-overlayfs's options ----
# uidmapping: host 1000 shows as 0, host 2000+i as 1+i (i < 10).
maps=uidmapping=0:1000:1:1:2000:10,gidmapping=0:1000:1:1:2000:10
mkdir "$T/u4" "$T/w4"
lmount "$T/map" "lowerdir=$LOWERS,upperdir=$T/u4,workdir=$T/w4,$maps"
owner() { stat -c %u:%g "$1"; }
want_owner() { # PATH WANT WHAT
	[ "$(owner "$1")" = "$2" ] || fail "$3: $1 is $(owner "$1"), want $2"
}
want_owner "$T/map/owners/u1000" 0:0 "uidmapping"
want_owner "$T/map/owners/u2005" 6:6 "uidmapping"
want_owner "$T/map/owners/u3000" 65534:65534 "uidmapping (no range)"
want_owner "$T/map/owners" 0:0 "uidmapping"
want_owner "$T/map/etc/conf" 65534:65534 "uidmapping (host root)"
chown 0:0 "$T/map/owners/u2005" || fail "chown 0:0 through the mapping"
want_owner "$T/map/owners/u2005" 0:0 "after chown 0:0"
want_owner "$T/u4/owners/u2005" 1000:1000 "stored after chown 0:0"
chown 3:4 "$T/map/owners/u1000" || fail "chown 3:4 through the mapping"
want_owner "$T/map/owners/u1000" 3:4 "after chown 3:4"
want_owner "$T/u4/owners/u1000" 2002:2003 "stored after chown 3:4"
touch "$T/map/owners/new" || fail "create through the mapping"
want_owner "$T/map/owners/new" 0:0 "a file root made"
want_owner "$T/u4/owners/new" 1000:1000 "stored, a file root made"
mkdir "$T/map/newdir" || fail "mkdir through the mapping"
want_owner "$T/u4/newdir" 1000:1000 "stored, a directory root made"
unmount "$T/map"

owners_shown() { find "$1" -printf '%U:%G\n' | sort -u | paste -sd' ' -; }
lmount "$T/sq" "lowerdir=$LOWERS,squash_to_uid=5,squash_to_gid=7"
[ "$(owners_shown "$T/sq")" = 5:7 ] ||
	fail "squash_to_uid=5,squash_to_gid=7 shows $(owners_shown "$T/sq")"
unmount "$T/sq"
lmount "$T/sqr" "lowerdir=$LOWERS,squash_to_root"
[ "$(owners_shown "$T/sqr")" = 0:0 ] ||
	fail "squash_to_root shows $(owners_shown "$T/sqr")"
unmount "$T/sqr"

dir_nlinks() { find "$1" -type d -printf '%n\n' | sort -nu | paste -sd' ' -; }
lmount "$T/nl" "lowerdir=$LOWERS"
[ "$(dir_nlinks "$T/nl")" != 1 ] ||
	fail "without static_nlink every directory shows one link already"
unmount "$T/nl"
lmount "$T/snl" "lowerdir=$LOWERS,static_nlink"
[ "$(dir_nlinks "$T/snl")" = 1 ] ||
	fail "static_nlink: directories show $(dir_nlinks "$T/snl") links"
[ "$(stat -c %h "$T/snl/hl1")" = 2 ] || fail "static_nlink changed a file's links"
unmount "$T/snl"

mkdir "$T/u5" "$T/w5"
lmount "$T/nox" "lowerdir=$LOWERS,upperdir=$T/u5,workdir=$T/w5,noxattrs=1"
enotsup() { # CMD...: fails with ENOTSUP
	if "$@" 2>"$T/err"; then
		fail "noxattrs=1: $* succeeded"
	fi
	grep -qF "Operation not supported" "$T/err" ||
		fail "noxattrs=1: $*: $(cat "$T/err")"
}
enotsup getfattr -n user.foo "$T/nox/etc/conf"
enotsup getfattr -d -m - "$T/nox/etc/conf"
enotsup setfattr -n user.new -v 1 "$T/nox/etc/conf"
enotsup setfattr -x user.foo "$T/nox/etc/conf"
[ -z "$(ls -A "$T/u5")" ] || fail "noxattrs=1: copied up: $(ls -A "$T/u5")"
unmount "$T/nox"

# xattr_permissions=2: the owner and mode the mount sets, in an xattr.
mkdir "$T/u6" "$T/w6"
lmount "$T/xp" "lowerdir=$LOWERS,upperdir=$T/u6,workdir=$T/w6,xattr_permissions=2"
OVR=user.fuseoverlayfs.override_stat
# override PATH UID GID MODE: the record on the upper file says so (its
# mode may carry the file type, as fuse-overlayfs writes it on copy-up).
override() {
	local v u g m

	v=$(getfattr --absolute-names --only-values -n "$OVR" "$1" 2>/dev/null) ||
		fail "xattr_permissions=2: no $OVR on $1"
	IFS=: read -r u g m <<<"$v"
	[[ $m =~ ^[0-7]+$ ]] && [ "$u:$g" = "$2:$3" ] &&
		[ $((8#$m & 8#7777)) -eq $((8#$4)) ] ||
		fail "xattr_permissions=2: $OVR of $1 is '$v', want $2:$3:$4"
}
chmod 640 "$T/xp/top" || fail "chmod with xattr_permissions=2"
[ "$(stat -c %a "$T/xp/top")" = 640 ] || fail "xattr_permissions=2: mode shown"
override "$T/u6/top" 0 0 640
chown 7:8 "$T/xp/etc/conf" || fail "chown with xattr_permissions=2"
[ "$(owner "$T/xp/etc/conf")" = 7:8 ] || fail "xattr_permissions=2: owner shown"
override "$T/u6/etc/conf" 7 8 644
for p in top etc/conf; do
	getfattr --absolute-names -d -m - "$T/xp/$p" >"$T/xattrs" 2>&1 ||
		fail "getfattr -d -m - $p: $(cat "$T/xattrs")"
	! grep -q override_stat "$T/xattrs" ||
		fail "the mount shows the record: $(cat "$T/xattrs")"
	if getfattr -n "$OVR" "$T/xp/$p" >/dev/null 2>&1; then
		fail "getfattr -n $OVR through the mount answers"
	fi
done
grep -q user.foo "$T/xattrs" || fail "etc/conf lost its own xattrs"
unmount "$T/xp"

# ---- 3. mount(8) (last) ----
# mount.fuse3 runs helpers with a fixed PATH (/usr/local/sbin first): our
# layerfs goes there in a private mount namespace (as t-mount-helper).
# Last, as it may have to skip: what failed before is said first.
failed_so_far() {
	[ ${#FAILED[@]} -eq 0 ] ||
		fail "${#FAILED[@]} checks failed: $(printf '%s; ' "${FAILED[@]}")"
}
if [ ! -d /usr/local/sbin ]; then
	failed_so_far
	lfs_skip "no /usr/local/sbin to shadow (all but mount(8) passed)"
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
	failed_so_far
	lfs_skip "no private mount namespace here, a chroot? (all but mount(8) passed)"
fi
mkdir "$T/bin" "$T/m8" "$T/u8" "$T/w8"
ln -s "$LAYERFS" "$T/bin/layerfs"
lfs_track_mount "$T/m8"
# shellcheck disable=SC2016	# expanded by the inner sh
unshare --mount --propagation private sh -euc '
	mount --bind "$1/bin" /usr/local/sbin
	mount -t fuse.layerfs layerfs "$1/m8" \
		-o "lowerdir=$2,upperdir=$1/u8,workdir=$1/w8,cache_dir=$1/cache"
	findmnt -n -o FSTYPE,SOURCE --mountpoint "$1/m8" >"$1/m8.type"
	"$3" "$1/m8" >"$1/dump.m8"
	echo via mount8 >"$1/m8/via"
	fusermount3 -u "$1/m8"' sh "$T" "$LOWERS" "$DUMPTREE" ||
	fail "mount -t fuse.layerfs layerfs MNT -o lowerdir=... failed"
diff -u --label "layerfs -o lowerdir=" --label "mount -t fuse.layerfs" \
	"$T/dump.ro" "$T/dump.m8" >&2 || fail "mount(8): the tree differs"
[ "$(cat "$T/u8/via")" = "via mount8" ] || fail "mount(8): no write in the upper"
read -r fstype source <"$T/m8.type"
[ "$fstype" = fuse.layerfs ] || fail "mount(8) made a $fstype mount"
[ "$source" = layerfs ] ||
	bad "mount -t fuse.layerfs layerfs MNT -o lowerdir=...: the mount is named '$source', not 'layerfs'"

failed_so_far
echo "layerfs stands where $REF stands" >&2

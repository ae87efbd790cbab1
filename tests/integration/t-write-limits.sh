#!/bin/bash
# Writable mounts given bad input or pushed to their limits: each refusal
# is one line naming the problem, with nothing mounted and the upper and
# work directories as they were; each failed change is an errno reported
# to the caller, with the upper as it was before it.
#  - upper= and work=: on a file system without overlay xattrs (refused
#    before indexing), on two file systems (both named), a work dir holding
#    somebody else's file (named), inside the mountpoint, the same dir,
#    one inside the other, on a read-only file system, missing, or only
#    one of them given: refused.  overlayfs's own work dir (work/ with
#    leftovers, index/; a hand-made one and one kernel overlayfs used) is
#    accepted and its leftovers removed.  A second mount with a work dir
#    in use: refused, "in use".
#  - ENOSPC during copy-up (upper on an 8 MiB tmpfs, a 32 MiB lower file):
#    an append and a truncate fail with "No space left on device", the
#    file still reads as the lower one, no copy in the upper, W/work empty,
#    and a small write elsewhere works; a chmod succeeds (no data copied:
#    a metacopy file of no blocks), and the append after it fails the same
#    way without leaving the space taken.  The same after a remount.
#  - names of 256 bytes: ENAMETOOLONG (255 works); sizes past the upper's
#    limit (truncate, pwrite and fallocate at 17 TiB and near 2^63, on new
#    and lower files): what the upper's file system says for the same calls
#    on a plain directory (EFBIG on ext4), the files unchanged; a hardlink
#    out of the mount or into it: EXDEV.  (Not `dd seek=`: on ext4 itself
#    its lseek past the limit fails, EINVAL, where FUSE's lseek succeeds
#    and the write gets EFBIG.)
#  - an unknown -o option (mount and the fuse-overlayfs form): one line
#    naming it, nothing mounted.
. "$(dirname "$0")/lib.sh"
lfs_require_prog tar cmp truncate getfattr du
: "${OPSCRIPT:?}"
M=$T/mnt

mkdir -p "$T/src/d"
echo hello >"$T/src/f"
echo sub >"$T/src/d/x"
tar -C "$T/src" -cf "$T/layer.tar" .

# A check that the rest of the test can go on without: said, kept, and
# failed at the end, so one finding does not hide the next.
FAILED=()
bad() {
	echo "FAIL (going on): $*" >&2
	FAILED+=("$*")
}

# refused WANT... -- MOUNT-ARGS...: `layerfs mount --layer layer.tar
# MOUNT-ARGS $M` is refused with one line holding every WANT.
refused() {
	local -a wants=()
	local w

	while [ "$1" != -- ]; do
		wants+=("$1")
		shift
	done
	shift
	lfs_mount_fails "" "$M" --layer "$T/layer.tar" "$@"
	for w in "${wants[@]}"; do
		grep -qF -- "$w" "$T/stderr" ||
			fail "want \"$w\" in: $(cat "$T/stderr")"
	done
}

# fails_with MSG CMD...: CMD fails and its stderr says MSG (the errno's
# text, as the caller got it).
fails_with() {
	local want=$1

	shift
	if "$@" 2>"$T/err"; then
		fail "$* succeeded; want \"$want\""
	fi
	grep -qF -- "$want" "$T/err" ||
		fail "$*: want \"$want\", got: $(cat "$T/err")"
}

# unchanged DIR LISTING: DIR holds exactly LISTING (ls -A, one a line).
unchanged() {
	[ "$(ls -A "$1" | paste -sd' ' -)" = "$2" ] ||
		fail "$1 changed: $(ls -lA "$1")"
}

work_empty() { # WORK WHEN
	[ -d "$1/work" ] || fail "$1/work is missing $2"
	[ -z "$(ls -A "$1/work")" ] ||
		fail "$1/work holds leftovers $2: $(ls -lA "$1/work")"
}

wmount() { # UPPER WORK
	lfs_mount "" "$M" --layer "$T/layer.tar" -o "upper=$1,work=$2"
}

unmount() {
	fusermount3 -u "$M" || fail "fusermount3 -u $M"
	# The daemon ends by itself; the next mount over the same work dir
	# must not race it.
	for _ in $(seq 50); do
		[ -n "$(lfs_daemons)" ] || return 0
		sleep 0.1
	done
	fail "layerfs daemon still running after unmount"
}

# ---- upper= and work= ----
mkdir "$T/u" "$T/w"

mkdir "$T/fs1" "$T/fs2"
mount -t tmpfs -o size=1m tmpfs "$T/fs1" || fail "mount tmpfs"
lfs_track_mount "$T/fs1"
mount -t tmpfs -o size=1m tmpfs "$T/fs2" || fail "mount tmpfs"
lfs_track_mount "$T/fs2"
mkdir "$T/fs1/u" "$T/fs2/w"
refused "$T/fs1/u" "$T/fs2/w" "same file system" -- \
	-o "upper=$T/fs1/u,work=$T/fs2/w"
unchanged "$T/fs1/u" ""
unchanged "$T/fs2/w" ""

# A file system that cannot hold overlay xattrs (ramfs): said before the
# layer is indexed (no index is added to the cache), the upper and work
# directories untouched.
mkdir "$T/ram"
mount -t ramfs ramfs "$T/ram" || fail "mount ramfs"
lfs_track_mount "$T/ram"
mkdir "$T/ram/u" "$T/ram/w"
cp "$T/layer.tar" "$T/layer-ram.tar"
indexes() { find "$T/cache" -name '*.idx' 2>/dev/null | wc -l || true; }
before=$(indexes)
lfs_mount_fails "" "$M" --layer "$T/layer-ram.tar" \
	-o "upper=$T/ram/u,work=$T/ram/w"
grep -qF "cannot hold trusted.* xattrs" "$T/stderr" ||
	fail "ramfs: $(cat "$T/stderr")"
[ "$(indexes)" -eq "$before" ] ||
	fail "ramfs: the layer was indexed before the upper was refused"
unchanged "$T/ram/u" ""
unchanged "$T/ram/w" ""

mkdir "$T/wforeign"
echo mine >"$T/wforeign/notes.txt"
refused "$T/wforeign" notes.txt -- -o "upper=$T/u,work=$T/wforeign"
unchanged "$T/wforeign" notes.txt
[ "$(cat "$T/wforeign/notes.txt")" = mine ] || fail "foreign file changed"
unchanged "$T/u" ""

# overlayfs's work dir: work/ (with what a crashed mount left) and index/.
mkdir -p "$T/wovl/work/#2a" "$T/wovl/index"
echo left >"$T/wovl/work/#2a/f"
echo left >"$T/wovl/work/#2b"
wmount "$T/u" "$T/wovl"
work_empty "$T/wovl" "after a mount over overlayfs's work dir"
echo new >"$M/new" || fail "write to a mount over overlayfs's work dir"
unmount
[ "$(cat "$T/u/new")" = new ] || fail "the write did not reach the upper"
rm "$T/u/new"
# ... and one kernel overlayfs really used, with its own upper.
if grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null; then
	mkdir "$T/ku" "$T/kw" "$T/km"
	mount -t overlay overlay -o "lowerdir=$T/src,upperdir=$T/ku,workdir=$T/kw,index=on,redirect_dir=on" \
		"$T/km" || fail "mount -t overlay"
	lfs_track_mount "$T/km"
	echo kernel >>"$T/km/f"
	umount "$T/km" || fail "umount $T/km"
	[ -d "$T/kw/work" ] || fail "kernel overlayfs made no $T/kw/work"
	wmount "$T/ku" "$T/kw"
	[ "$(cat "$M/f")" = "$(printf 'hello\nkernel')" ] ||
		fail "kernel's upper misread: $(cat "$M/f")"
	work_empty "$T/kw" "after a mount over kernel overlayfs's work dir"
	unmount
fi

mkdir -p "$M/u" "$M/w"	# hidden by the mount: overlayfs refuses them
refused "$T/mnt/u" "inside the mountpoint" -- -o "upper=$T/mnt/u,work=$T/w"
refused "$T/mnt/w" "inside the mountpoint" -- -o "upper=$T/u,work=$T/mnt/w"
rmdir "$M/u" "$M/w"

refused "$T/u" "apart" -- -o "upper=$T/u,work=$T/u"
mkdir "$T/u/w"
refused "$T/u/w" "apart" -- -o "upper=$T/u,work=$T/u/w"
rmdir "$T/u/w"
mkdir "$T/w/u"
refused "$T/w/u" "apart" -- -o "upper=$T/w/u,work=$T/w"
rmdir "$T/w/u"

mkdir "$T/fs1/w"
mount -o remount,ro "$T/fs1" || fail "remount ro"
refused "$T/fs1/u" "read-only" -- -o "upper=$T/fs1/u,work=$T/fs1/w"
unchanged "$T/fs1/w" ""

refused "$T/nope" "does not exist" -- -o "upper=$T/nope,work=$T/w"
refused "$T/nope" "does not exist" -- -o "upper=$T/u,work=$T/nope"
[ ! -e "$T/nope" ] || fail "a refused mount made $T/nope"
# ... before the layers are indexed: a new cache stays unmade.
lfs_refuses "$LAYERFS" mount --cache-dir "$T/cache-early" \
	-o "upper=$T/nope,work=$T/w" --layer "$T/layer.tar" "$M"
grep -qF "does not exist" "$T/stderr" || fail "early: $(cat "$T/stderr")"
[ ! -e "$T/cache-early" ] || fail "indexed before checking the upper"
refused "upper=" "work=" -- -o "upper=$T/u"
refused "upper=" "work=" -- -o "work=$T/w"
refused "upper=" "work=" -- -o "upperdir=$T/u"
unchanged "$T/u" ""
unchanged "$T/w" ""

# One mount at a time per work dir.
wmount "$T/u" "$T/w"
mkdir "$T/u2" "$T/mnt2"
lfs_mount_fails "" "$T/mnt2" --layer "$T/layer.tar" -o "upper=$T/u2,work=$T/w"
grep -qF "in use" "$T/stderr" || fail "want \"in use\": $(cat "$T/stderr")"
grep -qF "$T/w" "$T/stderr" || fail "work dir not named: $(cat "$T/stderr")"
unchanged "$T/u2" ""
echo still >"$M/still" || fail "the first mount broke"
unmount
rm "$T/u/still"

# ---- an unknown -o option ----
refused bogus -- -o "upper=$T/u,work=$T/w,bogus"
refused no_such_key -- -o "no_such_key=1"
# libfuse's complaint, said once and whole: not in pieces.
! grep -qF '`;' "$T/stderr" || bad "the reason comes in pieces: $(cat "$T/stderr")"
mkdir -p "$M"
lfs_refuses "$LAYERFS" -o "lowerdir=$T/src,upperdir=$T/u,workdir=$T/w,frobnicate=1,cache_dir=$T/cache" "$M"
grep -qF frobnicate "$T/stderr" || fail "option not named: $(cat "$T/stderr")"
! mountpoint -q "$M" || fail "refused mount left $M mounted"
unchanged "$T/u" ""

# ---- ENOSPC during copy-up ----
mkdir -p "$T/bigsrc/dir"
head -c 32M /dev/urandom >"$T/bigsrc/big"
echo small >"$T/bigsrc/dir/small"
tar -C "$T/bigsrc" -cf "$T/big.tar" .
mkdir "$T/small"
mount -t tmpfs -o size=8m tmpfs "$T/small" || fail "mount tmpfs"
lfs_track_mount "$T/small"
SU=$T/small/u SW=$T/small/w
mkdir "$SU" "$SW"
append_x() { echo x >>"$1"; }
bmount() {
	lfs_mount "" "$M" --layer "$T/big.tar" -o "upper=$SU,work=$SW"
}
# after_enospc WHAT: the failed copy-up left nothing behind.
after_enospc() {
	cmp "$M/big" "$T/bigsrc/big" || fail "big reads wrong after $1"
	[ ! -e "$SU/big" ] || fail "$1 left a copy in the upper: $(ls -ls "$SU")"
	work_empty "$SW" "after $1"
	echo "after $1" >"$M/dir/note" || fail "a small write after $1 failed"
	[ "$(cat "$M/dir/note")" = "after $1" ] || fail "note after $1"
	rm "$M/dir/note"
}
bmount
# statfs tells the upper's space, which is what writes can take: the 8 MiB
# tmpfs, not the 32 MiB image.
[ "$(stat -f -c '%b %S %f %c' "$M")" = "$(stat -f -c '%b %S %f %c' "$SU")" ] ||
	fail "statfs: $(stat -f -c '%b %S %f %c' "$M") on the mount," \
		"$(stat -f -c '%b %S %f %c' "$SU") on the upper"
fails_with "No space left on device" append_x "$M/big"
after_enospc "a failed append"
fails_with "No space left on device" truncate -s 1 "$M/big"
after_enospc "a failed truncate"
[ "$(stat -c %s "$M/big")" -eq $((32 << 20)) ] || fail "big's size changed"

# A metadata change copies no data: it fits.
chmod 600 "$M/big" || fail "chmod of a file too big for the upper"
[ "$(stat -c %a "$M/big")" = 600 ] || fail "chmod lost"
cmp "$M/big" "$T/bigsrc/big" || fail "big reads wrong after the chmod"
[ -f "$SU/big" ] || fail "the chmod left no upper file"
getfattr -n trusted.overlay.metacopy "$SU/big" >/dev/null 2>&1 ||
	fail "the chmod copied data: no metacopy mark"
[ "$(du -k "$SU/big" | cut -f1)" -eq 0 ] ||
	fail "the metadata copy takes space: $(du -k "$SU/big")"
work_empty "$SW" "after the chmod"
# Its data fill fails the same way, and leaves the metadata copy as it was:
# marked, of no blocks (the space given back), mode kept.
fails_with "No space left on device" append_x "$M/big"
cmp "$M/big" "$T/bigsrc/big" || fail "big reads wrong after a failed fill"
[ "$(stat -c %a "$M/big")" = 600 ] || fail "mode lost by a failed fill"
getfattr -n trusted.overlay.metacopy "$SU/big" >/dev/null 2>&1 ||
	fail "a failed fill dropped the metacopy mark"
[ "$(du -k "$SU/big" | cut -f1)" -eq 0 ] ||
	bad "a failed fill kept $(du -k "$SU/big" | cut -f1) KiB in the upper (df: $(df -k "$T/small" | tail -n1))"
work_empty "$SW" "after a failed fill"
if echo fits >"$M/dir/note"; then
	rm "$M/dir/note"
else
	bad "a small write after a failed fill failed: the upper is full"
	rm -f "$M/dir/note"
fi
unmount
bmount
cmp "$M/big" "$T/bigsrc/big" || fail "big reads wrong after a remount"
[ "$(stat -c %a "$M/big")" = 600 ] || fail "mode lost after a remount"
[ "$(cat "$M/dir/small")" = small ] || fail "dir/small after a remount"
work_empty "$SW" "after a remount"
unmount

# ---- names and sizes past the limits; links across mounts ----
wmount "$T/u" "$T/w"
n255=$(printf 'n%.0s' $(seq 255))
fails_with "File name too long" touch "$M/${n255}x"
fails_with "File name too long" mkdir "$M/d/${n255}x"
fails_with "File name too long" mv "$M/f" "$M/${n255}x"
touch "$M/$n255" || fail "a 255-byte name refused"
[ -e "$T/u/$n255" ] || fail "the 255-byte name is not in the upper"
rm "$M/$n255"

# The upper's file system is the reference: the same calls on a plain
# directory there (copies of the lower files standing for the copy-up),
# through truncate(1) and opscript (pwrite, truncate, fallocate at 17 TiB,
# past ext4's limit, and next to 2^63, past every file system's).
mkdir "$T/plain"
cp -p "$T/src/f" "$T/plain/f"
mkdir "$T/plain/d"
cp -p "$T/src/d/x" "$T/plain/d/x"
t17=$((17 << 40))
cat >"$T/big.ops" <<EOF
create huge 0644
truncate huge $t17
create huge2 0644
write huge2 $t17 x
write huge2 9223372036854775806 xy
truncate f $t17
write d/x $t17 x
fallocate d/x $t17 4096
write d/x 9223372036854775806 xy
stat huge
stat huge2
stat f
stat d/x
read f
read d/x
EOF
"$OPSCRIPT" "$T/plain" <"$T/big.ops" >"$T/big.want" ||
	fail "opscript on a plain directory"
"$OPSCRIPT" "$M" <"$T/big.ops" >"$T/big.got" || fail "opscript on the mount"
cat "$T/big.want" >&2
diff -u --label "a plain directory on the upper's file system" \
	--label layerfs "$T/big.want" "$T/big.got" >&2 ||
	fail "sizes past the limit: layerfs answers otherwise"
want=$(truncate -s 17T "$T/plain/huge3" 2>&1) || true
got=$(truncate -s 17T "$M/huge3" 2>&1) || true
[ "${want//$T\/plain/@}" = "${got//$M/@}" ] ||
	fail "truncate -s 17T: want '$want', got '$got'"
[ "$(stat -c %s "$T/plain/huge3")" = "$(stat -c %s "$M/huge3")" ] ||
	fail "truncate -s 17T: size $(stat -c %s "$M/huge3")"
cmp "$M/f" "$T/src/f" || fail "f changed by a failed truncate"
cmp "$M/d/x" "$T/src/d/x" || fail "d/x changed by a failed write"
work_empty "$T/w" "after the failed size changes"

echo outside >"$T/outside"
fails_with "Invalid cross-device link" ln "$M/f" "$T/link-out"
fails_with "Invalid cross-device link" ln "$T/outside" "$M/link-in"
[ ! -e "$T/link-out" ] && [ ! -e "$M/link-in" ] || fail "a link was made"
unmount
[ ${#FAILED[@]} -eq 0 ] || fail "${#FAILED[@]} checks failed: $(printf '%s; ' "${FAILED[@]}")"
echo "all limits held" >&2

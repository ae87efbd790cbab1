#!/bin/bash
# A failing disk under the layers, and a daemon that dies
# (docs/decisions/0026).
#
# The layers live on an ext4 file system on a loop device whose backing
# file is served by tests/tools/faultfs, which fails reads of the byte
# ranges $T/faults lists with EIO: ext4 sees I/O errors from its block
# device on exactly the blocks of a file (found with filefrag), as on a
# disk with bad blocks.  (device-mapper's error target would do the same;
# the kernels these tests run on have no device-mapper, and FUSE they
# must have.  The test takes a few seconds.)
#
# A read that needs a bad block is EIO, for that read only, with one log
# line naming the layer, the file and the blob; everything else reads, and
# the same files read right once the disk answers again: a plain tar
# (spliced, where a read error used to come out as a short file), gzip
# through its access points, zstd by frames, a directory layer, an
# unpacked copy in the cache (which falls back to the compressed layer);
# the indexing pass fails the mount with one line (a tar layer's data, a
# directory layer's directory, which used to be indexed as empty); a
# background unpack fails, leaves nothing, and reads retry the layer; a
# copy-up fails with nothing left in the upper.  A daemon killed with SIGKILL leaves ENOTCONN;
# the next `layerfs mount` there clears the dead mount (root) or says how
# (another user); with -o auto_unmount, fusermount3 unmounts it.
. "$(dirname "$0")/lib.sh"
lfs_require_prog mkfs.ext4 filefrag setpriv gzip zstd split cmp dd tar \
	truncate
: "${FAULTFS:?}"
[ -e /dev/loop-control ] || lfs_skip "no loop devices"
MIB=1048576
BAD=$((3 * MIB / 2)) # inside every layer's f1, far from its f2

# ---- the layers -------------------------------------------------------
# Directories p, g, z and d, one per layer, each with f1 and f2 (3 MiB of
# noise each, so gzip stores them at about the same offsets) and small.
for l in p g z d; do
	mkdir -p "$T/src/$l"
	head -c $((3 * MIB)) /dev/urandom >"$T/src/$l/f1"
	head -c $((3 * MIB)) /dev/urandom >"$T/src/$l/f2"
	echo "small $l" >"$T/src/$l/small"
done
tarl() { tar -C "$T/src" --sort=name --owner=0 --group=0 -cf - "$1"; }

# ---- the disk ---------------------------------------------------------
# Sparse; big enough that an unpack leaves its reserve free (unpack.h).
truncate -s 400M "$T/disk.img"
mkfs.ext4 -q -F -b 4096 "$T/disk.img"
: >"$T/faults"
touch "$T/disk.dev"
"$FAULTFS" "$T/disk.img" "$T/faults" "$T/disk.dev" &
lfs_track_mount "$T/disk.dev"
for _ in $(seq 50); do mountpoint -q "$T/disk.dev" && break; sleep 0.1; done
mountpoint -q "$T/disk.dev" || fail "faultfs did not come up"
D=$T/disk
mkdir "$D"
# A loop device that goes when the file system is unmounted (autoclear).
mount -o loop "$T/disk.dev" "$D"
lfs_track_mount "$D"
tarl p >"$D/p.tar"
tarl g | gzip -1 >"$D/g.tar.gz"
# zstd in frames of 1 MiB of tar stream: access points at each.
tarl z | split -b $MIB --filter='zstd -q -c' >"$D/z.tar.zst"
mkdir "$D/dl"
cp -a "$T/src/d" "$D/dl/"
sync

# disk_offset FILE OFF: where byte OFF of FILE (on $D) lies in the disk
# image, to the block, from filefrag's extents (4 KiB blocks:
# "N: LOGICAL..END: PHYSICAL..END: LENGTH: ...").
disk_offset() {
	local blk=$(($2 / 4096)) l0 l1 p0

	while read -r l0 l1 p0; do
		if [ "$blk" -ge "$l0" ] && [ "$blk" -le "$l1" ]; then
			echo $(((p0 + blk - l0) * 4096))
			return
		fi
	done < <(filefrag -v "$1" | sed -n \
		's/^ *[0-9]*: *\([0-9]*\)\.\. *\([0-9]*\): *\([0-9]*\)\.\..*/\1 \2 \3/p')
	fail "$1: no extent holds byte $2"
}

# bad_at FILE OFF: the block holding byte OFF of FILE fails from now on.
bad_at() {
	echo "$(disk_offset "$1" "$2") 4096" >>"$T/faults"
}

# bad FILE...: the block holding byte $BAD of each FILE fails from now on.
# Its pages are dropped from the page cache, so reads reach the disk.
bad() {
	local f

	for f; do
		echo "$(disk_offset "$f" "$BAD") 4096" >>"$T/faults"
		dd if="$f" iflag=nocache count=0 status=none
	done
}

healed() {
	: >"$T/faults"
}

# fg_mount MNT LOG ARGS...: a foreground mount (its log in LOG), up.
fg_mount() {
	local mnt=$1 log=$2

	shift 2
	mkdir -p "$mnt"
	lfs_track_mount "$mnt"
	"$LAYERFS" mount -f "$@" "$mnt" 2>"$log" &
	for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
	mountpoint -q "$mnt" || fail "mount of $mnt did not come up: $(cat "$log")"
}

# must_fail_eio CMD...: CMD fails with "Input/output error".
must_fail_eio() {
	local out

	if out=$("$@" 2>&1 >/dev/null); then
		fail "$* succeeded on a bad block"
	fi
	[[ $out == *"Input/output error"* ]] || fail "$*: not EIO: $out"
}

# ---- a directory layer's directory, while it is indexed ---------------
# Its block must come from the disk: remount, so none is cached.
umount "$D"
mount -o loop "$T/disk.dev" "$D"
bad_at "$D/dl/d" 0
lfs_mount_fails "" "$T/i" --cache-dir "$T/icache" --layer "$D/dl"
grep -qx "layerfs: $D/dl: \"d\": Input/output error" "$T/stderr" ||
	fail "a directory that cannot be read: $(cat "$T/stderr")"
healed

# ---- reads, every kind of layer ---------------------------------------
M=$T/m
fg_mount "$M" "$T/m.log" --cache-dir "$T/cache" -o span=256K \
	--layer "$D/p.tar" --layer "$D/g.tar.gz" --layer "$D/z.tar.zst" \
	--layer "$D/dl"
bad "$D/p.tar" "$D/g.tar.gz" "$D/z.tar.zst" "$D/dl/d/f1"
for l in p g z d; do
	must_fail_eio cat "$M/$l/f1"
	# Not a short file: the size stands (a short reply would shrink it).
	[ "$(stat -c %s "$M/$l/f1")" -eq $((3 * MIB)) ] ||
		fail "$l/f1 shrank to $(stat -c %s "$M/$l/f1") bytes"
	cmp "$M/$l/f2" "$T/src/$l/f2" || fail "$l/f2 wrong while $l/f1 is bad"
	[ "$(cat "$M/$l/small")" = "small $l" ] || fail "$l/small wrong"
done
# The request for exactly the bad bytes (O_DIRECT reaches the daemon as
# asked), spliced from the plain tar.
must_fail_eio dd if="$M/p/f1" iflag=direct,skip_bytes skip=$((BAD - 1024)) \
	bs=64K count=1 status=none of=/dev/null
for want in "$D/p.tar: \"p/f1\": data at offset [0-9]* unreadable: reading $D/p.tar: Input/output error" \
	"$D/g.tar.gz: \"g/f1\": data at offset [0-9]* unreadable: reading $D/g.tar.gz: Input/output error" \
	"$D/z.tar.zst: \"z/f1\": data at offset [0-9]* unreadable: reading $D/z.tar.zst: Input/output error" \
	"$D/dl: \"d/f1\": data at offset [0-9]* unreadable: reading $D/dl/d/f1: Input/output error"; do
	grep -q "$want" "$T/m.log" || fail "not logged: $want; log: $(cat "$T/m.log")"
done
healed
for l in p g z d; do
	cmp "$M/$l/f1" "$T/src/$l/f1" || fail "$l/f1 wrong once the disk answers"
done

# ---- an unpacked copy in the cache on the bad disk --------------------
"$LAYERFS" index --unpack --cache-dir "$D/cache" -o span=256K \
	--layer "$D/g.tar.gz" >/dev/null
sync
copy=$(echo "$D"/cache/unpacked/*.tar)
[ -f "$copy" ] || fail "no unpacked copy in $D/cache"
bad "$copy"
fg_mount "$T/u" "$T/u.log" --cache-dir "$D/cache" --layer "$D/g.tar.gz"
cmp "$T/u/g/f1" "$T/src/g/f1" || fail "g/f1 wrong with a bad block in its copy"
grep -q "reading its unpacked copy in $D/cache: Input/output error" \
	"$T/u.log" || fail "the copy's read error not logged: $(cat "$T/u.log")"
healed

# ---- the indexing pass: one line, no mount ----------------------------
bad "$D/p.tar" "$D/g.tar.gz" "$D/z.tar.zst"
for l in p.tar g.tar.gz z.tar.zst; do
	lfs_mount_fails "" "$T/i" --cache-dir "$T/icache" --layer "$D/$l"
	grep -q "^layerfs: $D/$l: read error at byte [0-9]* of the stored layer: Input/output error$" \
		"$T/stderr" || fail "$l: $(cat "$T/stderr")"
done
healed

# ---- a background unpack that meets the bad block ---------------------
"$LAYERFS" index --cache-dir "$T/pcache" -o span=256K --layer "$D/g.tar.gz" \
	>/dev/null
bad "$D/g.tar.gz"
fg_mount "$T/pf" "$T/pf.log" --cache-dir "$T/pcache" -o prefetch=unpack \
	--layer "$D/g.tar.gz"
copy_state() {
	"$LAYERFS" stats "$1" | sed -n 's/^layer 1: .*, copy \([a-z-]*\) .*/\1/p'
}
for _ in $(seq 600); do
	[ "$(copy_state "$T/pf")" = failed ] && break
	sleep 0.1
done
[ "$(copy_state "$T/pf")" = failed ] || fail "unpack: $(copy_state "$T/pf")"
grep -q "cannot unpack it into $T/pcache: read error at byte [0-9]* of the stored layer: Input/output error; reads go on from the compressed layer" \
	"$T/pf.log" || fail "the failed unpack not logged: $(cat "$T/pf.log")"
[ -z "$(ls "$T/pcache/unpacked")" ] || fail "the failed copy left a file"
cmp "$T/pf/g/f2" "$T/src/g/f2" || fail "g/f2 wrong after the failed unpack"
must_fail_eio cat "$T/pf/g/f1"
healed
cmp "$T/pf/g/f1" "$T/src/g/f1" || fail "g/f1 wrong once the disk answers"
[ "$(copy_state "$T/pf")" = failed ] || fail "the copy was made after all"

# ---- copy-up from a bad lower -----------------------------------------
mkdir -p "$T/up" "$T/wk"
fg_mount "$T/w" "$T/w.log" --cache-dir "$T/cache" \
	-o "upper=$T/up,work=$T/wk" --layer "$D/p.tar"
bad "$D/p.tar"
must_fail_eio sh -c "echo x >>'$T/w/p/f1'"
[ ! -e "$T/up/p/f1" ] || fail "a failed copy-up left $T/up/p/f1"
[ -z "$(ls -A "$T/wk/work")" ] || fail "a failed copy-up left $(ls "$T/wk/work")"
grep -q "$D/p.tar: \"p/f1\": cannot copy it up: data at offset [0-9]* unreadable: reading $D/p.tar: Input/output error" \
	"$T/w.log" || fail "the failed copy-up not logged: $(cat "$T/w.log")"
cmp "$T/w/p/f2" "$T/src/p/f2" || fail "p/f2 wrong in the writable mount"
healed
echo x >>"$T/w/p/f1"
cmp "$T/w/p/f1" <(cat "$T/src/p/f1"; echo x) || fail "p/f1 after copy-up"
cmp "$T/up/p/f1" <(cat "$T/src/p/f1"; echo x) || fail "the upper's p/f1"

# ---- a daemon killed --------------------------------------------------
# daemon_of MNT: the pid of the layerfs daemon serving MNT.
daemon_of() {
	local pid

	for pid in $(lfs_daemons); do
		if tr '\0' '\n' <"/proc/$pid/cmdline" | tail -1 | grep -qxF -- "$1"; then
			echo "$pid"
			return
		fi
	done
	fail "no daemon serves $1"
}

K=$T/k
mkdir -p "$K"
chmod 755 "$T"
kill_daemon() {
	local out

	kill -KILL "$(daemon_of "$K")"
	# The kernel ends the connection as the process's files close (a
	# request it had sent then fails with ECONNABORTED).
	for _ in $(seq 50); do
		out=$(ls "$K" 2>&1) ||
			[[ $out != *"Transport endpoint is not connected"* ]] ||
			break
		sleep 0.1
	done
	[[ $out == *"Transport endpoint is not connected"* ]] ||
		fail "ls of a dead mount: $out"
}
lfs_mount "" "$K" --layer "$T/src"
kill_daemon
# Another user may not unmount it: one line says what to do.
lfs_refuses setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$LAYERFS" mount --cache-dir "$T/kcache" --layer "$T/src" "$K"
grep -qF "a layerfs mount there has lost its daemon and cannot be unmounted (Operation not permitted); unmount it with fusermount3 -u $K" \
	"$T/stderr" || fail "as nobody: $(cat "$T/stderr")"
# Root clears it, says so, and mounts.
"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/src" "$K" \
	2>"$T/k.err" || fail "mount over a dead mount: $(cat "$T/k.err")"
[ "$(cat "$T/k.err")" = "layerfs: mountpoint $K: a layerfs mount there had lost its daemon; unmounted it" ] ||
	fail "mount over a dead mount said: $(cat "$T/k.err")"
cmp "$K/p/f1" "$T/src/p/f1" || fail "the new mount over the dead one"
[ "$(findmnt -rn -o TARGET | grep -cxF -- "$K")" -eq 1 ] ||
	fail "not one mount at $K: $(findmnt -rn -o TARGET | grep -xF -- "$K")"
# With short timeouts the kernel forgets the root's attributes, and even
# a stat of the mountpoint fails: the same.
fusermount3 -u "$K"
lfs_mount "" "$K" --layer "$T/src" -o timeout=0
kill_daemon
must_enotconn=$(stat "$K" 2>&1) && fail "stat of a dead mount worked"
[[ $must_enotconn == *"not connected"* ]] || fail "stat: $must_enotconn"
"$LAYERFS" mount --cache-dir "$T/cache" --layer "$T/src" "$K" \
	2>"$T/k.err" || fail "mount over a dead mount: $(cat "$T/k.err")"
grep -q "had lost its daemon; unmounted it" "$T/k.err" ||
	fail "mount over a dead mount said: $(cat "$T/k.err")"
fusermount3 -u "$K"
# -o auto_unmount: libfuse's fusermount3 stays with the daemon and
# unmounts when it dies.
lfs_mount "" "$K" --layer "$T/src" -o auto_unmount
cmp "$K/p/f2" "$T/src/p/f2" || fail "auto_unmount mount reads wrong"
kill -KILL "$(daemon_of "$K")"
# fusermount3 acts when it sees the daemon gone; give a loaded machine
# time.
for _ in $(seq 200); do mountpoint -q "$K" || break; sleep 0.1; done
! mountpoint -q "$K" || fail "auto_unmount left the dead mount"
exit 0

#!/bin/bash
# Writable mounts against kernel overlayfs, the reference for write
# semantics.  Each script in tests/data/opscripts runs (tests/tools/opscript)
# on a fresh layerfs mount of the conf image with an empty upper dir, and on
# a fresh kernel overlayfs mount over `umoci unpack` of the same image; then:
#   1. the two outputs (every op's answer and what the reads read) match;
#   2. the two merged trees match (dumptree), but for mtimes that are the
#      time the op ran (see nomtime_args);
#   3. kernel overlayfs over layerfs's upper dir shows the tree layerfs
#      showed (the upper's on-disk format is overlayfs's);
#   4. layerfs mounted again over its own upper shows it too;
#   5. layerfs mounted over the kernel's upper dir (with a fresh work dir)
#      shows the tree kernel overlayfs showed (layerfs reads an upper that
#      kernel overlayfs wrote: its origin, impure and metacopy xattrs, its
#      relative redirects).
# A script with a NAME.expected file is one where kernel overlayfs is known
# to be wrong by a local file system's rules; layerfs's output is checked
# against that file instead of the kernel's, and step 2 is left out (the
# kernel's output is still printed next to it, for the log).
# Every scenario runs even after one fails; the failing ones are listed at
# the end.
#
# Known differences, allowed:
# - kernel overlayfs reports st_nlink 1 for a merged directory; neither
#   opscript's stat nor dumptree prints a directory's nlink.
# - kernel overlayfs without index=on copies up one name of a lower
#   hardlink alone: the link breaks (the other name keeps the old data,
#   the nlinks stay the lower's).  A local file system keeps one file, and
#   so does layerfs: hardlink.expected holds a local file system's answers
#   (checked at the end on a plain copy of the tree), and the hardlink
#   scenario is held to them.
# - a directory's mtime after a change to its entries, and a file's after
#   a write, are the time of the op: not compared in step 2 (steps 3 and 4
#   read one upper and compare every mtime).
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci findmnt
grep -qw overlay /proc/filesystems || modprobe overlay ||
	lfs_skip "no overlayfs"
: "${OPSCRIPT:?}"
fx=$(lfs_fixture conformance)
src=oci:$fx/oci:conf
ops=$LFS_SRCDIR/tests/data/opscripts
lfs_nomtime "$fx" conf

umoci unpack --image "$fx/oci:conf" "$T/unpack" >&2 || fail "umoci unpack"
lower=$T/unpack/rootfs
# Kernel overlayfs never writes to its lower dirs, so every scenario shares
# this one (reads may move its atimes, which nothing here looks at).

# The kernel's options: as layerfs keeps its upper (renamed directories
# redirected, metadata-only copy-up), and no index, which layerfs does not
# keep either; with index=on the kernel would also stamp the upper root
# with an origin, changing the upper under test.
kopts="redirect_dir=on,metacopy=on,index=off"

# After its unmount a daemon finishes by itself; the next mount over the
# same upper must not race it.
wait_daemons() {
	local n

	for ((n = 0; n < 50; n++)); do
		[ -n "$(lfs_daemons)" ] || return 0
		sleep 0.1
	done
	fail "layerfs daemon still running after unmount: $(lfs_daemons)"
}

unmount_one() {
	if mountpoint -q "$1"; then
		case $(findmnt -n -o FSTYPE --mountpoint "$1") in
		fuse*) fusermount3 -u "$1" || fail "fusermount3 -u $1" ;;
		*) umount "$1" || fail "umount $1" ;;
		esac
	fi
}

# dumptree options for step 2: the mtimes that are "when the op ran" on
# each side.  From the kernel's output (the reference), the ops that
# succeeded: a file's data written, or a name made, takes the time; a
# directory whose entries changed (a name made, removed or renamed) takes
# it too.  The root is no exception: the kernel's upper root was given the
# lower root's times above, and layerfs gives a fresh upper root the image
# root's attributes itself.  A rename moves the mark with the name (and its
# subtree); utimens with an explicit mtime clears it, with "now" sets it.
# Everything else (chmod, chown, xattrs, copy-up alone) keeps the mtime, on
# both sides, and is compared.  The paths a script writes are plain words
# (no escapes), so they are the paths dumptree prints.
nomtime_args() {
	awk '
	function dir(p) { return sub(/\/[^\/]*$/, "", p) ? p : "." }
	function move(a, b,   p, q, n) {
		for (p in m) if (p == b || index(p, b "/") == 1) delete m[p]
		for (p in m) if (p == a || index(p, a "/") == 1) {
			q = b substr(p, length(a) + 1); n[q] = 1; delete m[p]
		}
		for (q in n) m[q] = 1
	}
	function swap(a, b,   p, q, na, nb) {
		for (p in m) {
			if (p == a || index(p, a "/") == 1) {
				na[b substr(p, length(a) + 1)] = 1; delete m[p]
			} else if (p == b || index(p, b "/") == 1) {
				nb[a substr(p, length(b) + 1)] = 1; delete m[p]
			}
		}
		for (q in na) m[q] = 1
		for (q in nb) m[q] = 1
	}
	{ sep = index($0, " => "); if (substr($0, sep + 4, 1) != "0") next }
	$1 ~ /^(write|append|truncate|open_trunc|fallocate|mmap_write)$/ {
		m[$2] = 1
	}
	$1 == "copy_range" { m[$3] = 1 }
	# A descriptor in a slot is its path at the open.
	$1 == "open" {
		slot[$2] = $3
		if ($4 ~ /creat/) { m[$3] = 1; m[dir($3)] = 1 }
		if ($4 ~ /trunc/) m[$3] = 1
	}
	$1 ~ /^(fwrite|ftruncate)$/ { m[slot[$2]] = 1 }
	$1 ~ /^(create|open_creat|mkdir|mknod)$/ { m[$2] = 1; m[dir($2)] = 1 }
	$1 ~ /^(rmdir|unlink)$/ { m[dir($2)] = 1 }
	$1 == "symlink" { m[$3] = 1; m[dir($3)] = 1 }
	$1 == "link" { m[dir($3)] = 1 }
	$1 ~ /^rename(_noreplace)?$/ { m[dir($2)] = 1; m[dir($3)] = 1;
		move($2, $3) }
	$1 == "rename_exchange" { m[dir($2)] = 1; m[dir($3)] = 1;
		swap($2, $3) }
	# What ls_churn read, changed; a name that failed has a ":".
	$1 == "ls_churn" {
		m[$2] = 1
		n = split(substr($0, sep + 6), f, " ")
		for (i = 1; i <= n; i++) {
			if (f[i] ~ /:/) continue
			if ($4 == "create") m[$2 "/new-" f[i]] = 1
			else if ($4 == "rename") move($2 "/" f[i], $2 "/" f[i] "~")
		}
	}
	$1 == "utimens" {
		if ($5 == "now" || $6 == "now") m[$2] = 1
		else if ($5 != "omit" && $6 != "omit") delete m[$2]
	}
	END { for (p in m) print p }' "$1" | sort -u |
		while IFS= read -r p; do
			printf '%s\n' --no-mtime "$p"
		done
}

# A step that differs: said in the log and kept for the summary at the end.
differs() {
	echo "DIFF $*" | tee -a "$T/summary" >&2
}

# dump_to WHAT FILE [DUMPTREE-OPTIONS...] DIR: the listing of WHAT (for
# the log), into FILE.  A dumptree that fails (an EIO from the mount, say)
# is a difference too.
dump_to() {
	local what=$1 out=$2

	shift 2
	"$DUMPTREE" "${LFS_NOMTIME[@]}" "$@" >"$out" 2>"$out.err" && return 0
	cat "$out.err" >&2
	differs "$name: dumptree of $what failed: $(tail -n 1 "$out.err")"
	return 1
}

# same WHAT LABEL-A A LABEL-B B: A and B match, or the difference is shown
# and recorded.
same() {
	diff -u --label "$2" --label "$4" "$3" "$5" >&2 && return 0
	differs "$name: $1"
	return 1
}

# One scenario, in a subshell of its own (so a failure ends it and not the
# test); its mountpoints are recorded by the caller, so the EXIT trap sees
# them.  Exit status: 0 if every step matched.
run_scenario() {
	local name=$1 s=$T/s/$1 script=$ops/$1.ops bad=0 kfull
	local -a skip

	mkdir -p "$s"/{ku,kw,lu,lw,k2w,km,k2m,lkw}
	# overlayfs gives the root the upper dir's attributes: the lower
	# root's, as t-overlay-lower does.
	chmod --reference="$lower" "$s/ku"
	chown --reference="$lower" "$s/ku"
	touch -r "$lower" "$s/ku"
	mount -t overlay overlay \
		-o "lowerdir=$lower,upperdir=$s/ku,workdir=$s/kw,$kopts" \
		"$s/km" || fail "$name: kernel overlay mount"
	lfs_mount "$src" "$s/lm" -o "upper=$s/lu,work=$s/lw"

	"$OPSCRIPT" "$s/km" <"$script" >"$s/k.out" ||
		fail "$name: opscript on kernel overlayfs"
	"$OPSCRIPT" "$s/lm" <"$script" >"$s/l.out" ||
		fail "$name: opscript on layerfs"
	if [ -f "$ops/$name.expected" ]; then
		same "output, layerfs vs $name.expected" \
			"$name.expected" "$ops/$name.expected" \
			layerfs "$s/l.out" || bad=1
		diff -u --label "$name.expected" --label "kernel (known)" \
			"$ops/$name.expected" "$s/k.out" >&2 || true
	else
		same "output, layerfs vs kernel" \
			kernel "$s/k.out" layerfs "$s/l.out" || bad=1
		mapfile -t skip < <(nomtime_args "$s/k.out")
		if dump_to kernel "$s/k.dump" "${skip[@]}" "$s/km" &&
			dump_to layerfs "$s/l.dump" "${skip[@]}" "$s/lm"; then
			same "tree, layerfs vs kernel" \
				kernel "$s/k.dump" layerfs "$s/l.dump" || bad=1
		else
			bad=1
		fi
	fi
	# The same upper, read by both: every mtime compares.
	dump_to layerfs "$s/l.full" "$s/lm" || bad=1
	"$LAYERFS" diff "$s/lm" >"$s/l.diff" || {
		differs "$name: layerfs diff of the mount failed"
		bad=1
	}
	kfull=1
	dump_to kernel "$s/k.full" "$s/km" || { bad=1; kfull=; }
	unmount_one "$s/km"
	unmount_one "$s/lm"
	wait_daemons

	mount -t overlay overlay \
		-o "lowerdir=$lower,upperdir=$s/lu,workdir=$s/k2w,$kopts" \
		"$s/k2m" || fail "$name: kernel overlay over layerfs's upper"
	if dump_to "kernel over layerfs's upper" "$s/k2.full" "$s/k2m"; then
		same "tree, kernel over layerfs's upper" layerfs "$s/l.full" \
			"kernel over layerfs's upper" "$s/k2.full" || bad=1
	else
		bad=1
	fi
	unmount_one "$s/k2m"

	lfs_mount "$src" "$s/lm2" -o "upper=$s/lu,work=$s/lw"
	if dump_to "layerfs remounted" "$s/l2.full" "$s/lm2"; then
		same "tree, layerfs remounted over its upper" \
			layerfs "$s/l.full" "layerfs again" "$s/l2.full" || bad=1
	else
		bad=1
	fi
	unmount_one "$s/lm2"
	wait_daemons

	# The kernel's upper, read by layerfs: the same upper the kernel's
	# tree was read from (its root given the lower root's attributes
	# above), so every mtime compares.
	lfs_mount "$src" "$s/lk" -o "upper=$s/ku,work=$s/lkw"
	if dump_to "layerfs over the kernel's upper" "$s/lk.full" "$s/lk" &&
		[ -n "$kfull" ]; then
		same "tree, layerfs over the kernel's upper" kernel "$s/k.full" \
			"layerfs over the kernel's upper" "$s/lk.full" || bad=1
	else
		bad=1
	fi
	unmount_one "$s/lk"
	wait_daemons

	# What changed, listed from each upper: the mount's list, its upper's
	# read unmounted, and (but where the kernel is known wrong) the
	# kernel's upper's.
	if "$LAYERFS" diff --cache-dir "$T/cache" --upper "$s/lu" \
		--from "$src" >"$s/lu.diff"; then
		echo "$name: $(wc -l <"$s/lu.diff") changes" >&2
		same "diff, mounted vs unmounted upper" mounted "$s/l.diff" \
			unmounted "$s/lu.diff" || bad=1
	else
		differs "$name: layerfs diff --upper failed"
		bad=1
	fi
	if [ ! -f "$ops/$name.expected" ]; then
		if "$LAYERFS" diff --cache-dir "$T/cache" --upper "$s/ku" \
			--from "$src" >"$s/ku.diff"; then
			same "diff, layerfs's upper vs the kernel's" \
				layerfs "$s/lu.diff" kernel "$s/ku.diff" || bad=1
		else
			differs "$name: layerfs diff of the kernel's upper failed"
			bad=1
		fi
	fi
	commit_check "$name" "$s" || bad=1
	return $bad
}

# The upper of scenario NAME (in S) committed as a layer over the image,
# into a layout of its own, and unpacked by umoci: the tree the mount
# showed, but for what a layer cannot hold, which commit leaves out and
# says so: sockets, and xattrs in overlay.* namespaces.  A tree with a
# name that starts with ".wh." cannot be committed at all: commit must
# refuse it, naming it.
commit_check() {
	local name=$1 s=$2

	if grep -qE '(^|/)\.wh\.[^ /]* ' "$s/l.full"; then
		if "$LAYERFS" commit --cache-dir "$T/cache" --upper "$s/lu" \
			--from "$src" "oci:$s/out:new" 2>"$s/commit.err"; then
			differs "$name: commit of a .wh. name succeeded"
			return 1
		fi
		grep -qF '.wh.' "$s/commit.err" || {
			differs "$name: commit: $(cat "$s/commit.err")"
			return 1
		}
		return 0
	fi
	if ! "$LAYERFS" commit --cache-dir "$T/cache" --upper "$s/lu" \
		--from "$src" "oci:$s/out:new" >"$s/commit.out"; then
		differs "$name: layerfs commit failed"
		return 1
	fi
	# The rootfs only: `umoci unpack` would also read the image's
	# etc/passwd for its runtime config, which hangs where a scenario
	# made it a FIFO.
	if ! timeout 120 umoci raw unpack --image "$s/out:new" "$s/unp" >&2
	then
		differs "$name: umoci raw unpack of the commit failed"
		return 1
	fi
	dump_to "umoci unpack of the commit" "$s/c.full" "$s/unp" || return 1
	grep -v '^[^ ]* sock ' "$s/l.full" |
		sed -E 's/ xattr:(trusted|user)\.overlay\.[^ ]*//g' >"$s/l.layer"
	same "tree, committed and unpacked" layerfs "$s/l.layer" \
		"umoci unpack" "$s/c.full"
}

failed=
n=0
for script in "$ops"/*.ops; do
	name=$(basename "$script" .ops)
	n=$((n + 1))
	for m in km lm k2m lm2 lk; do
		lfs_track_mount "$T/s/$name/$m"
	done
	echo "== $name" >&2
	# In the background and waited for: a subshell on the left of || runs
	# with set -e off; this way a failed step ends the scenario there.
	(run_scenario "$name") &
	if ! wait $!; then
		failed="$failed $name"
		grep -qF "DIFF $name:" "$T/summary" 2>/dev/null ||
			echo "DIFF $name: stopped by a failed step (see above)" \
				>>"$T/summary"
	fi
	# Whatever a failed scenario left mounted goes before the next.
	lfs_unmount_all || fail "cannot unmount after $name"
	wait_daemons
done
[ "$n" -gt 0 ] || fail "no scripts in $ops"
# The .expected files are a local file system's answers: keep them honest
# by running their scripts on a plain copy of the lower tree.
for want in "$ops"/*.expected; do
	[ -e "$want" ] || continue
	name=$(basename "$want" .expected)
	rm -rf "$T/plain"
	cp -a "$lower" "$T/plain" || fail "cp -a $lower"
	"$OPSCRIPT" "$T/plain" <"$ops/$name.ops" >"$T/plain.out" ||
		fail "$name: opscript on a plain copy"
	diff -u --label "$name.expected" --label "a local file system" \
		"$want" "$T/plain.out" >&2 ||
		fail "$name.expected is not what a local file system does"
done
if [ -n "$failed" ]; then
	echo "== summary" >&2
	cat "$T/summary" >&2 || true
	fail "layerfs differs in:$failed"
fi
echo "all $n scenarios match" >&2

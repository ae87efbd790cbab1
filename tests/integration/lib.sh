# shellcheck shell=bash
# Shared setup for tests/integration/t-*.sh (sourced; bash).  Each test gets
# a private temp dir $T, skips (exit 77) when it cannot run here, and an EXIT
# trap that always unmounts what it mounted and stops leftover daemons, pass
# or fail, so one broken test cannot wedge the next.
#
# Environment (set by tests/integration/meson.build): LAYERFS, DUMPTREE,
# LFS_SRCDIR (source root), LFS_BUILDDIR (meson build dir).
set -euo pipefail
shopt -s inherit_errexit	# set -e inside $(...) too
umask 022	# umoci gives implicit parent dirs 0777 & ~umask

LFS_MOUNTS=()	# every mount made by this test, in mount order

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

lfs_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

lfs_require_prog() {
	local p

	for p in "$@"; do
		command -v "$p" >/dev/null || lfs_skip "$p not installed"
	done
}

# Unmount in reverse order (an overlay on a layerfs mount goes first).
lfs_unmount_all() {
	local i m ok=0

	for ((i = ${#LFS_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${LFS_MOUNTS[i]}
		mountpoint -q "$m" || continue
		case $(findmnt -n -o FSTYPE --mountpoint "$m") in
		fuse*) fusermount3 -u "$m" || umount -l "$m" || ok=1 ;;
		*) umount "$m" || umount -l "$m" || ok=1 ;;
		esac
	done
	return $ok
}

# A daemon of this test has $T in its command line (cache dir or mountpoint).
lfs_daemons() {
	local pids pid

	pids=$(pgrep -x layerfs) || [ $? -eq 1 ] || return
	for pid in $pids; do
		grep -sqzF -- "$T/" "/proc/$pid/cmdline" && echo "$pid"
	done
	return 0
}

# After their unmount, daemons exit on their own; give them 2 s, then TERM
# (and CONT, in case one is stopped), then KILL.  Any kill means a leak.
# Called with set +e: a daemon may exit between the look and the kill.
lfs_stop_daemons() {
	local -a pids
	local n

	for ((n = 1; n <= 20; n++)); do
		mapfile -t pids < <(lfs_daemons)
		[ ${#pids[@]} -gt 0 ] || return $((n > 10))
		case $n in
		10)	echo "lib.sh: stopping leftover layerfs: ${pids[*]}" >&2
			kill -TERM "${pids[@]}"
			kill -CONT "${pids[@]}" ;;
		15)	kill -KILL "${pids[@]}" ;;
		esac
		sleep 0.2
	done
	return 1
}

# Runs on every exit.  A test that passed but leaked a mount or a daemon
# fails: the next test would trip over it.
lfs_cleanup() {
	local rc=$? leak=0

	set +e
	lfs_unmount_all || leak=1
	lfs_stop_daemons || leak=1
	lfs_unmount_all || leak=1	# a killed daemon leaves its mount
	# The test's own background servers (faultfs, a foreground mount)
	# leave once unmounted; wait for them, a bounded while, so that a
	# sanitizer report they write at exit lands in $T and is seen.
	for _ in $(seq 50); do
		[ -z "$(jobs -pr)" ] && break
		sleep 0.1
	done
	if compgen -G "$T/sanitizer.*" >/dev/null; then
		echo "lib.sh: the daemon's sanitizer reports:" >&2
		cat "$T"/sanitizer.* >&2
		leak=1
	fi
	rm -rf --one-file-system "$T"
	[ "$rc" -ne 0 ] || rc=$leak
	exit "$rc"
}

lfs_setup() {
	[ "$(id -u)" -eq 0 ] || lfs_skip "needs root"
	[ -c /dev/fuse ] || lfs_skip "no /dev/fuse"
	lfs_require_prog fusermount3 mountpoint findmnt pgrep
	: "${LAYERFS:?}" "${DUMPTREE:?}" "${LFS_SRCDIR:?}" "${LFS_BUILDDIR:?}"
	# Under /tmp by default, not the build dir: t-readonly needs a path a
	# non-root user can traverse.
	local base=${LFS_TMPDIR:-${TMPDIR:-/tmp}}

	T=$(mktemp -d "$base/layerfs-$(basename "$0" .sh).XXXXXX")
	trap lfs_cleanup EXIT
	# A detached daemon's stderr is /dev/null: in a sanitizer build, have
	# it write its reports here, where the EXIT trap looks for them.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"
}

# lfs_mount SOURCE MNT [ARGS...]: mount and record MNT for the trap.  layerfs
# returns once the mount is ready.  The --layer form: lfs_mount "" MNT
# --layer A --layer B (an empty SOURCE is left out).
lfs_mount() {
	local src=$1 mnt=$2

	shift 2
	mkdir -p "$mnt"
	LFS_MOUNTS+=("$mnt")
	"$LAYERFS" mount --cache-dir "$T/cache" "$@" ${src:+"$src"} "$mnt" ||
		fail "layerfs mount $src $mnt failed"
	mountpoint -q "$mnt" || fail "layerfs returned but $mnt is not mounted"
}

# The mounts under $T, as the kernel lists them.  Only $T's: other tests
# and other users may be mounting elsewhere at the same time.
lfs_mounts_here() {
	findmnt -rn -o TARGET,FSTYPE | grep -F -- "$T/" || true
}

# lfs_refuses CMD...: CMD (a layerfs mount, perhaps as another user) must
# fail with a one-line reason on stderr (kept in $T/stderr) and leave the
# mounts under $T as they were: nothing new, nothing mounted over.
lfs_refuses() {
	local before

	before=$(lfs_mounts_here)
	if "$@" 2>"$T/stderr"; then
		fail "$* succeeded; it should have failed"
	fi
	cat "$T/stderr" >&2
	[ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "$*: want a one-line reason"
	[ "$(lfs_mounts_here)" = "$before" ] ||
		fail "$* failed but changed the mounts under $T: $(lfs_mounts_here)"
}

# lfs_mount_fails SOURCE MNT [ARGS...]: layerfs must refuse, with a one-line
# reason on stderr, and leave nothing mounted.
lfs_mount_fails() {
	local src=$1 mnt=$2

	shift 2
	mkdir -p "$mnt"
	LFS_MOUNTS+=("$mnt")
	lfs_refuses "$LAYERFS" mount --cache-dir "$T/cache" "$@" \
		${src:+"$src"} "$mnt"
	! mountpoint -q "$mnt" || fail "failed mount left $mnt mounted"
}

# lfs_track_mount MNT: record a mount made by other means (overlay, tmpfs).
lfs_track_mount() {
	LFS_MOUNTS+=("$1")
}

# lfs_track_mounts_here: record whatever is mounted under $T, for mounts
# a tool made there itself (podman's).
lfs_track_mounts_here() {
	local m

	while read -r m _; do
		lfs_track_mount "$m"
	done < <(lfs_mounts_here)
}

# The EXIT trap of a test whose tools mount under $T themselves
# (trap lfs_cleanup_here EXIT): those mounts are recorded, then cleaned
# up as lfs_cleanup cleans, with the test's exit status.
lfs_cleanup_here() {
	local rc=$?

	set +e
	lfs_track_mounts_here
	(exit $rc)
	lfs_cleanup
}

# lfs_fixture NAME: build scripts/fixtures/mk-NAME-images once per build dir
# (again when anything in scripts/fixtures changes) and print where it is.
# flock makes concurrent callers wait for one build.
lfs_fixture() {
	local dir=$LFS_BUILDDIR/fixtures/$1 src=$LFS_SRCDIR/scripts/fixtures
	local stamp

	lfs_require_prog umoci skopeo tar gzip zstd setfattr unshare flock
	mkdir -p "$LFS_BUILDDIR/fixtures"
	stamp=$(cat "$src"/* | sha256sum)
	(
		flock 9
		if [ ! -f "$dir/.stamp" ] ||
			[ "$(cat "$dir/.stamp")" != "$stamp" ]; then
			rm -rf "$dir" "$dir.new"
			"$src/mk-$1-images" "$dir.new" >&2
			echo "$stamp" >"$dir.new/.stamp"
			mv "$dir.new" "$dir"
		fi
	) 9>"$LFS_BUILDDIR/fixtures/.lock" || fail "building fixture $1 failed"
	echo "$dir"
}

# lfs_nomtime FIXTURE TAG: set LFS_NOMTIME to the dumptree options that skip
# the mtimes the fixture lists for TAG.
lfs_nomtime() {
	local p

	LFS_NOMTIME=()
	while IFS= read -r p; do
		LFS_NOMTIME+=(--no-mtime "$p")
	done <"$1/nomtime/$2"
}

# assert_same_tree A B [DUMPTREE-OPTIONS...]: the canonical listings match.
assert_same_tree() {
	local a=$1 b=$2

	shift 2
	# SELinux labels come from the host's policy, not from the image.
	if [ -e /sys/fs/selinux/enforce ]; then
		set -- --exclude-xattr security.selinux "$@"
	fi
	"$DUMPTREE" "$@" "$a" >"$T/dump.a" || fail "dumptree $a"
	"$DUMPTREE" "$@" "$b" >"$T/dump.b" || fail "dumptree $b"
	diff -u --label "$a" --label "$b" "$T/dump.a" "$T/dump.b" >&2 ||
		fail "trees differ: $a $b"
}

lfs_setup

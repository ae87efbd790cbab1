#!/bin/bash
# The kernel caches what layers never change: names (entry timeout),
# attributes (attr timeout), file pages (keep_cache) and directory listings
# (cache_readdir, with opendir answered ENOSYS).  A second pass over the
# same files sends the daemon no LOOKUP, GETATTR, READ or READDIR at all;
# the -d trace shows every request that reaches it.  Over the whole run the
# daemon sees at most one OPENDIR, answered ENOSYS, and no RELEASEDIR
# (docs/decisions/0015-no-opendir.md).
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/l/d"
for i in $(seq 20); do echo "file $i" >"$T/l/d/f$i"; done
head -c 2M /dev/urandom >"$T/l/big"
ln -s d/f1 "$T/l/sym"
tar -C "$T/l" -cf "$T/l.tar" .

lfs_track_mount "$T/mnt"
mkdir -p "$T/mnt"
"$LAYERFS" mount -d --cache-dir "$T/cache" --layer "$T/l.tar" "$T/mnt" \
	>"$T/trace" 2>&1 &
for _ in $(seq 50); do mountpoint -q "$T/mnt" && break; sleep 0.1; done
mountpoint -q "$T/mnt" || fail "mount did not come up: $(cat "$T/trace")"

pass() {
	ls -l "$T/mnt" "$T/mnt/d" >/dev/null
	stat "$T/mnt"/d/* "$T/mnt/big" >/dev/null
	cat "$T/mnt"/d/* "$T/mnt/big" "$T/mnt/sym" >/dev/null
	readlink "$T/mnt/sym" >/dev/null
}
count() { grep -c "opcode: $1 " "$T/trace" || true; }
ops="LOOKUP GETATTR READ READDIR READDIRPLUS READLINK"

pass
declare -A first
for op in $ops; do first[$op]=$(count "$op"); done
[ "${first[LOOKUP]}" -gt 0 ] && [ "${first[READ]}" -gt 0 ] ||
	fail "the first pass reached no daemon: $(tail -n 20 "$T/trace")"
pass
for op in $ops; do
	n=$(count "$op")
	[ "$n" = "${first[$op]}" ] ||
		fail "second pass sent $((n - ${first[$op]})) more $op"
done
cmp "$T/mnt/big" "$T/l/big" || fail "big differs"

# 0015: the first OPENDIR (if the kernel sends one before it knows) gets
# ENOSYS, after which the kernel opens directories itself and never sends
# OPENDIR or RELEASEDIR again.
n=$(count OPENDIR)
[ "$n" -le 1 ] || fail "$n OPENDIR requests; want at most one"
if [ "$n" -eq 1 ]; then
	id=$(sed -n 's/.*unique: \([0-9]*\), opcode: OPENDIR .*/\1/p' "$T/trace")
	grep -q "unique: $id, error: -38 " "$T/trace" ||
		fail "OPENDIR not answered ENOSYS: $(grep "unique: $id," "$T/trace")"
fi
[ "$(count RELEASEDIR)" -eq 0 ] || fail "RELEASEDIR reached the daemon"

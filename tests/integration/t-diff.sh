#!/bin/bash
# layerfs diff, as a user runs it: the changes of a writable mount, listed
# from the mount and from its upper once unmounted (the same list), as
# text and as JSON (layerfs.diff/1, parsed here); and its failures: a
# read-only mount, something that is not a layerfs mount, an image whose
# layers changed since the mount, bad usage.  t-write-differential holds
# the lists of every write scenario to those of kernel overlayfs's upper.
. "$(dirname "$0")/lib.sh"
lfs_setup
lfs_require_prog python3 tar

mkdir -p "$T/l/d" "$T/l/e" "$T/l/o" "$T/up" "$T/wk"
echo a >"$T/l/d/a"
echo b >"$T/l/d/b"
echo x >"$T/l/e/x"
echo g >"$T/l/o/gone"
echo f >"$T/l/f"
touch -d @1000000000 "$T"/l/*/* "$T"/l/* "$T/l"
tar -C "$T/l" -cf "$T/l.tar" .

lfs_mount "" "$T/m" --layer "$T/l.tar" -o "upper=$T/up,work=$T/wk"
m=$T/m
echo new >"$m/n"
mkdir -p "$m/d/sub"
ln -s target "$m/d/sub/s"
rm "$m/d/a"
mv "$m/e" "$m/e2"
rm -r "$m/o"
mkdir "$m/o"
echo F >>"$m/f"
mkfifo "$m/fifo"

cat >"$T/want" <<'EOF'
C /d
D /d/a
A /d/sub
A /d/sub/s
D /e
A /e2
A /e2/x
C /f
A /fifo
A /n
C /o
D /o/gone
EOF
"$LAYERFS" diff "$m" >"$T/live" 2>"$T/err" ||
	fail "layerfs diff of the mount: $(cat "$T/err")"
diff -u "$T/want" "$T/live" >&2 || fail "layerfs diff of the mount (above)"
[ ! -s "$T/err" ] || fail "layerfs diff said: $(cat "$T/err")"

# JSON: the same changes, with their types.
"$LAYERFS" diff --json "$m" >"$T/json" || fail "layerfs diff --json"
python3 - "$T/json" "$T/want" "$T/up" <<'PY' || fail "diff --json: $(cat "$T/json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "layerfs.diff/1", doc["schema"]
assert doc["upper"] == sys.argv[3], doc["upper"]
assert doc["source"].endswith("/l.tar"), doc["source"]
lines = ["%s %s" % (c["kind"], c["path"]) for c in doc["changes"]]
want = open(sys.argv[2]).read().split("\n")[:-1]
assert lines == want, lines
types = {c["path"]: c["type"] for c in doc["changes"]}
assert types["/d/sub"] == "directory" and types["/d/sub/s"] == "symlink"
assert types["/fifo"] == "fifo" and types["/n"] == "file"
assert types["/e"] == "directory" and types["/d/a"] == "file", types
PY

# Its image changed under the mount: the upper cannot be read over it.
cp "$T/l.tar" "$T/l.tar.orig"
echo other >"$T/l/f"
tar -C "$T/l" -cf "$T/l.tar" .
lfs_refuses "$LAYERFS" diff "$m"
grep -qF "has other layers now" "$T/stderr" || fail "stale image: $(cat "$T/stderr")"
mv "$T/l.tar.orig" "$T/l.tar"

fusermount3 -u "$m"
for ((i = 0; i < 50; i++)); do
	[ -n "$(lfs_daemons)" ] || break
	sleep 0.1
done

# The upper, unmounted: the same list.
"$LAYERFS" diff --cache-dir "$T/cache" --upper "$T/up" --layer "$T/l.tar" \
	>"$T/cold" || fail "layerfs diff --upper"
diff -u "$T/want" "$T/cold" >&2 || fail "layerfs diff --upper (above)"

# Failures: one line, exit 1; nothing on stdout.
lfs_mount "" "$T/ro" --layer "$T/l.tar"
lfs_refuses "$LAYERFS" diff "$T/ro"
grep -qF "read-only mount" "$T/stderr" || fail "read-only: $(cat "$T/stderr")"
lfs_refuses "$LAYERFS" diff "$T/l"
grep -qF "not a layerfs mount" "$T/stderr" || fail "plain dir: $(cat "$T/stderr")"
lfs_refuses "$LAYERFS" diff --upper "$T/nowhere" --layer "$T/l.tar"
grep -qF "$T/nowhere" "$T/stderr" || fail "no upper: $(cat "$T/stderr")"

# Bad usage: exit 2, one line.
for args in "" "--upper $T/up" "--from x $T/m" "--upper $T/up --from a --layer b" \
	"-o upper=x $T/m"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the arguments
	"$LAYERFS" diff $args >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "layerfs diff $args: exit $rc, want 2"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "layerfs diff $args: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "layerfs diff $args wrote to stdout"
done

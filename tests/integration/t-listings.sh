#!/bin/bash
# Listings with or without attributes (docs/decisions/0033): a walk that
# wants names only (`find`) soon gets listings without attributes, so the
# kernel builds no inode per entry; a walk that stats every entry (`find
# -printf` with sizes and modes) keeps attributes.  Whichever way a
# listing went, every name, type, size, mode, owner and mtime is what
# `tar -x` of the layer gives, and `layerfs stats` says which way the
# mount went.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/l"
for d in $(seq 80); do
	mkdir -p "$T/l/d$d/sub"
	for f in $(seq 24); do
		printf '%*s' $((d * f)) x >"$T/l/d$d/f$f"
	done
	chmod 0640 "$T/l/d$d/f3"
	ln -s f1 "$T/l/d$d/link"
done
tar -C "$T/l" --owner=7 --group=8 -czf "$T/l.tar.gz" .
mkdir -p "$T/x"
tar -C "$T/x" --same-owner -xzf "$T/l.tar.gz"

names() { (cd "$1" && find . | sort); }
attrs() { (cd "$1" && find . -printf '%p %y %s %m %U %G %Ts %l\n' | sort); }
listings() { "$LAYERFS" stats "$1" | sed -n 's/^directory listings: //p'; }

# find alone: names only after the first probes.
lfs_mount "" "$T/m1" --layer "$T/l.tar.gz"
[ "$(names "$T/m1")" = "$(names "$T/x")" ] || fail "find: other names"
l=$(listings "$T/m1")
case $l in
*"now names only") ;;
*) fail "find walked it and listings still carry attributes: $l" ;;
esac
[ "${l%% with attributes*}" -le 40 ] || fail "too many listings with attributes: $l"
# What the names-only listings left to lookups is right too.
[ "$(attrs "$T/m1")" = "$(attrs "$T/x")" ] ||
	fail "after names-only listings: $(diff <(attrs "$T/m1") <(attrs "$T/x") | head)"

# A fresh mount walked by a program that stats everything: attributes
# stay, but for one listing in sixteen (the probes).
lfs_mount "" "$T/m2" --layer "$T/l.tar.gz"
[ "$(attrs "$T/m2")" = "$(attrs "$T/x")" ] ||
	fail "stat walk: $(diff <(attrs "$T/m2") <(attrs "$T/x") | head)"
l=$(listings "$T/m2")
case $l in
*"0 switches, now with attributes") ;;
*) fail "a stat walk lost its attributes: $l" ;;
esac
only=$(sed 's/.* with attributes, \([0-9]*\) names only.*/\1/' <<<"$l")
[ "$only" -ge 1 ] && [ "$only" -le 20 ] || fail "probes: $l"
echo "ok: $(listings "$T/m1") / $l"

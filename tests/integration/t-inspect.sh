#!/bin/bash
# `layerfs inspect` reports each layer as the image describes it: the
# manifest's digests and media types, stored sizes equal to the blobs,
# uncompressed sizes equal to the decompressed tar streams, and entry and
# whiteout counts of what the layers hold.  A failure prints its reason on
# stderr and nothing on stdout, even when some layers were read first.
. "$(dirname "$0")/lib.sh"
lfs_require_prog zstd gzip
mk=$LFS_SRCDIR/scripts/fixtures/mk-oci-layout
mkdir -p "$T/a/etc" "$T/b/etc" "$T/c/usr"
echo 1 >"$T/a/etc/one"
echo 2 >"$T/a/etc/two"
touch "$T/b/etc/.wh.one" "$T/b/.wh..wh..opq"
# Big enough that the compressed and uncompressed sizes differ by far.
seq 100000 >"$T/c/usr/numbers"
tar -C "$T/a" -cf "$T/a.tar" .
tar -C "$T/b" -cf - . | zstd -q >"$T/b.tar.zst"
tar -C "$T/c" -cf - . | gzip >"$T/c.tar.gz"
"$mk" "$T/img" v1 "$T/a.tar" "$T/b.tar.zst" "$T/c.tar.gz"

"$LAYERFS" inspect "oci:$T/img:v1" >"$T/out" || fail "inspect failed"
cat "$T/out" >&2
m=$(grep -o 'sha256:[0-9a-f]*' "$T/img/index.json")
grep -q "^manifest:  $m$" "$T/out" || fail "manifest digest"
grep -q "^layers:    3$" "$T/out" || fail "layer count"
# #  COMPRESSION  STORED  UNCOMPRESSED  ENTRIES  WHITEOUTS  DIGEST  MEDIA
read -r n comp stored plain entries wh digest media < <(grep '^  1 ' "$T/out")
[ "$comp $stored $plain" = "none $(stat -c %s "$T/a.tar") $stored" ] ||
	fail "layer 1 sizes: $comp $stored $plain"
[ "$entries $wh" = "4 0" ] || fail "layer 1 counts: $entries $wh"
[ "$digest" = "sha256:$(sha256sum "$T/a.tar" | cut -d' ' -f1)" ] ||
	fail "layer 1 digest"
[ "$media" = application/vnd.oci.image.layer.v1.tar ] || fail "layer 1 type"
read -r n comp stored plain entries wh digest media < <(grep '^  2 ' "$T/out")
[ "$comp $stored" = "zstd $(stat -c %s "$T/b.tar.zst")" ] ||
	fail "layer 2: $comp $stored"
[ "$plain" = "$(zstd -dcq "$T/b.tar.zst" | wc -c)" ] ||
	fail "layer 2 uncompressed size: $plain"
[ "$entries $wh" = "2 2" ] || fail "layer 2 counts: $entries $wh"
[ "$media" = application/vnd.oci.image.layer.v1.tar+zstd ] || fail "type 2"
[ "$n" = 2 ] || fail "row number"
read -r n comp stored plain entries wh digest media < <(grep '^  3 ' "$T/out")
[ "$comp $stored" = "gzip $(stat -c %s "$T/c.tar.gz")" ] ||
	fail "layer 3: $comp $stored"
[ "$plain" = "$(gzip -dc "$T/c.tar.gz" | wc -c)" ] ||
	fail "layer 3 uncompressed size: $plain"
[ "$plain" -gt "$((stored * 2))" ] || fail "layer 3: $plain is not inflated"
[ "$entries $wh" = "3 0" ] || fail "layer 3 counts: $entries $wh"
[ "$media" = application/vnd.oci.image.layer.v1.tar+gzip ] || fail "type 3"
[ "$n" = 3 ] || fail "row number"

# The explicit-list form, and failures naming the problem.
"$LAYERFS" inspect --layer "$T/a.tar" --layer "$T/b" >/dev/null ||
	fail "inspect --layer"
# inspect_fails WANT ARGS...: inspect fails with one line on stderr that
# holds WANT, and prints nothing on stdout.
inspect_fails() {
	local want=$1

	shift
	if "$LAYERFS" inspect "$@" >"$T/out" 2>"$T/err"; then
		fail "inspect $* passed"
	fi
	cat "$T/err" >&2
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "inspect $*: want one line"
	grep -qF -- "$want" "$T/err" || fail "inspect $*: want \"$want\""
	[ ! -s "$T/out" ] || fail "inspect $* failed but printed: $(cat "$T/out")"
}
# Layer 1 reads fine; layer 2 is not a tar in any form.
echo garbage >"$T/bad.tar.gz"
inspect_fails "$T/bad.tar.gz" --layer "$T/a.tar" --layer "$T/bad.tar.gz"
# The same size, other bytes: the image opens, layers 1 and 2 are read,
# and layer 3's digest check fails.
b=$T/img/blobs/sha256/${digest#sha256:}
printf 'XXXXXXXX' | dd of="$b" bs=1 seek=100 conv=notrunc status=none
inspect_fails "layer 3/3" "oci:$T/img:v1"
echo x >>"$b"
inspect_fails "size mismatch" "oci:$T/img:v1"

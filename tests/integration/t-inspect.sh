#!/bin/bash
# `layerfs inspect` reports each layer as the image describes it: the
# manifest's digests and media types, stored sizes equal to the blobs, and
# entry and whiteout counts of what the layers hold.
. "$(dirname "$0")/lib.sh"
mk=$LFS_SRCDIR/scripts/fixtures/mk-oci-layout
mkdir -p "$T/a/etc" "$T/b/etc"
echo 1 >"$T/a/etc/one"
echo 2 >"$T/a/etc/two"
touch "$T/b/etc/.wh.one" "$T/b/.wh..wh..opq"
tar -C "$T/a" -cf "$T/a.tar" .
tar -C "$T/b" -cf - . | zstd -q >"$T/b.tar.zst"
"$mk" "$T/img" v1 "$T/a.tar" "$T/b.tar.zst"

"$LAYERFS" inspect "oci:$T/img:v1" >"$T/out" || fail "inspect failed"
cat "$T/out" >&2
m=$(grep -o 'sha256:[0-9a-f]*' "$T/img/index.json")
grep -q "^manifest:  $m$" "$T/out" || fail "manifest digest"
grep -q "^layers:    2$" "$T/out" || fail "layer count"
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
[ "$entries $wh" = "2 2" ] || fail "layer 2 counts: $entries $wh"
[ "$media" = application/vnd.oci.image.layer.v1.tar+zstd ] || fail "type 2"

# The explicit-list form, and a failure naming the problem.
"$LAYERFS" inspect --layer "$T/a.tar" --layer "$T/b" >/dev/null ||
	fail "inspect --layer"
echo x >>"$T/img/blobs/sha256/${digest#sha256:}"
if "$LAYERFS" inspect "oci:$T/img:v1" >/dev/null 2>"$T/err"; then
	fail "inspect passed a damaged blob"
fi
grep -q "size mismatch" "$T/err" || fail "inspect error: $(cat "$T/err")"
[ "$n" = 2 ] || fail "row number"

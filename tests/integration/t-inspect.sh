#!/bin/bash
# `layerfs inspect` reports each layer as the image describes it: the
# manifest's digests and media types, stored sizes equal to the blobs,
# uncompressed sizes equal to the decompressed tar streams, and entry and
# whiteout counts of what the layers hold.  A failure prints its reason on
# stderr and nothing on stdout, even when some layers were read first.
# Every tar layer has a real digest, whatever the source: a docker-archive
# layer's is its member's (the diff_id when the member is uncompressed), a
# --layer file's is its sha256; media types are only ever the source's.
# The report is the same cold, with a cache being filled, and from it.
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

# digests REPORT: the DIGEST column, one line per layer, bottom first.
digests() { awk '$1 ~ /^[0-9]+$/ { print $7 }' "$1"; }
# media_types REPORT: the MEDIA TYPE column, likewise.
media_types() { awk '$1 ~ /^[0-9]+$/ { print $8 }' "$1"; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# inspect_thrice OUT ARGS...: inspect with no cache, then twice with one
# (filling it, then reading it); the three reports must be the same, and
# the cache must then hold an index for each of the N tar layers, which a
# `layerfs index` takes from it (directory layers are never kept: it
# indexes them again).  The report goes to OUT.
inspect_thrice() {
	local out=$1 cache n all

	shift
	cache=$(mktemp -d "$T/cache.XXXXXX")
	"$LAYERFS" inspect "$@" >"$out" || fail "inspect $*"
	"$LAYERFS" inspect --cache-dir "$cache" "$@" >"$out.filling" ||
		fail "inspect --cache-dir (filling) $*"
	"$LAYERFS" inspect --cache-dir "$cache" "$@" >"$out.cached" ||
		fail "inspect --cache-dir (cached) $*"
	diff -u "$out" "$out.filling" >&2 || fail "inspect $*: the cache changed it"
	diff -u "$out" "$out.cached" >&2 || fail "inspect $*: cached differs"
	n=$(digests "$out" | awk '/^sha256:/ { n++ } END { print n + 0 }')
	all=$(digests "$out" | wc -l)
	[ "$(find "$cache/index" -name '*.idx' | wc -l)" -eq "$n" ] ||
		fail "inspect --cache-dir $*: $(ls "$cache/index")"
	"$LAYERFS" index --cache-dir "$cache" "$@" >"$out.index" ||
		fail "index $*"
	grep -qF "($((all - n)) indexed now, $n from the cache)" "$out.index" ||
		fail "the cache inspect kept does not serve index: $(cat "$out.index")"
}

# The explicit-list form: a file's digest is its sha256; a directory has
# none; no layer has a media type.
inspect_thrice "$T/list" --layer "$T/a.tar" --layer "$T/b.tar.zst" \
	--layer "$T/c.tar.gz" --layer "$T/b"
cat "$T/list" >&2
[ "$(digests "$T/list")" = "$(sha "$T/a.tar")
$(sha "$T/b.tar.zst")
$(sha "$T/c.tar.gz")
-" ] || fail "--layer digests: $(digests "$T/list")"
[ "$(media_types "$T/list" | sort -u)" = - ] ||
	fail "--layer media types: $(media_types "$T/list")"
# The OCI layout, cold and from a cache: the manifest's digests.
inspect_thrice "$T/oci" "oci:$T/img:v1"
[ "$(digests "$T/oci")" = "$(sha "$T/a.tar")
$(sha "$T/b.tar.zst")
$(sha "$T/c.tar.gz")" ] || fail "OCI digests: $(digests "$T/oci")"

# A docker-archive as docker (25 and later) writes it: members named
# blobs/sha256/<digest>, here one uncompressed (digest = diff_id) and one
# gzipped (digest = the gzip member's, not the diff_id).
da=$T/da
mkdir -p "$da/blobs/sha256"
blob() { cp "$1" "$da/blobs/sha256/$(sha256sum "$1" | cut -d' ' -f1)"; }
blob "$T/a.tar"
blob "$T/c.tar.gz"
plain_c=sha256:$(gzip -dc "$T/c.tar.gz" | sha256sum | cut -d' ' -f1)
printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' \
	"$(dpkg --print-architecture)" "$(sha "$T/a.tar")" "$plain_c" \
	>"$T/da-config"
blob "$T/da-config"
h() { sha "$1" | cut -d: -f2; }
printf '[{"Config":"blobs/sha256/%s","RepoTags":["t/da:1"],"Layers":["blobs/sha256/%s","blobs/sha256/%s"]}]' \
	"$(h "$T/da-config")" "$(h "$T/a.tar")" "$(h "$T/c.tar.gz")" \
	>"$da/manifest.json"
tar -C "$da" -cf "$T/da.tar" manifest.json blobs
inspect_thrice "$T/da.out" "docker-archive:$T/da.tar"
cat "$T/da.out" >&2
[ "$(digests "$T/da.out")" = "$(sha "$T/a.tar")
$(sha "$T/c.tar.gz")" ] || fail "docker-archive digests: $(digests "$T/da.out")"
[ "$(media_types "$T/da.out" | sort -u)" = - ] ||
	fail "docker-archive media types: $(media_types "$T/da.out")"

# Failures naming the problem.
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

# The docker-archive skopeo writes (the conformance fixture): members named
# <diff_id hex>.tar, uncompressed, so each layer's digest is its diff_id,
# as the archive's manifest.json and its config's rootfs.diff_ids say.
fx=$(lfs_fixture conformance)
arc=$fx/conf.docker.tar
inspect_thrice "$T/conf" "docker-archive:$arc"
cat "$T/conf" >&2
tar -xOf "$arc" manifest.json >"$T/conf.manifest"
layers=$(grep -o '"Layers":\[[^]]*\]' "$T/conf.manifest" |
	grep -o '[0-9a-f]\{64\}' | sed 's/^/sha256:/')
config=$(grep -o '"Config":"[^"]*"' "$T/conf.manifest" | cut -d'"' -f4)
diff_ids=$(tar -xOf "$arc" "$config" | grep -o '"diff_ids":\[[^]]*\]' |
	grep -o 'sha256:[0-9a-f]\{64\}')
[ "$(sed -n 's/^layers: *//p' "$T/conf")" -ge 2 ] || fail "conf: too few layers"
[ "$(digests "$T/conf")" = "$layers" ] ||
	fail "conf digests are not the manifest's: $(digests "$T/conf")"
[ "$(digests "$T/conf")" = "$diff_ids" ] ||
	fail "conf digests are not the diff_ids: $(digests "$T/conf")"

# `layerfs stats` counts each layer's entries and whiteouts as inspect does
# (members applied, whiteout and opaque markers apart), under the same names.
lfs_mount "docker-archive:$arc" "$T/conf-mnt"
"$LAYERFS" stats "$T/conf-mnt" >"$T/conf.stats" || fail "stats failed"
want=$(awk '$1 ~ /^[0-9]+$/ && NF >= 8 { print $1, $5, $6 }' "$T/conf")
got=$(sed -n 's/^layer \([0-9]*\): .*, \([0-9]*\) entries, \([0-9]*\) whiteouts, .*/\1 \2 \3/p' \
	"$T/conf.stats")
[ -n "$want" ] && [ "$got" = "$want" ] ||
	fail "stats counts \"$got\", inspect \"$want\""

# --json: the same report, as docs/json.md describes it (schema
# layerfs.inspect/1), and nothing else on stdout.
CREATED=2021-05-06T09:08:09.25+02:00 "$mk" "$T/jimg" v1 "$T/a.tar" \
	"$T/b.tar.zst" "$T/c.tar.gz"
"$LAYERFS" inspect "oci:$T/jimg:v1" >"$T/jtext" || fail "inspect failed"
"$LAYERFS" inspect --json "oci:$T/jimg:v1" >"$T/json" ||
	fail "inspect --json failed"
python3 - "$T/json" "$T/jtext" <<'PY' || fail "inspect --json: $(cat "$T/json")"
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().splitlines()
head = dict(l.split(":", 1) for l in text if l and not l.startswith(" "))
assert doc["schema"] == "layerfs.inspect/1", doc["schema"]
assert doc["source"] == head["source"].strip()
assert doc["transport"] == "oci"
assert doc["manifest"] == head["manifest"].strip()
assert doc["config"] == head["config"].strip()
assert doc["platform"] == head["platform"].strip()
assert doc["created"] == "2021-05-06T07:08:09.250000Z", doc["created"]
rows = [l.split() for l in text if l.strip()[:1].isdigit()]
assert len(doc["layers"]) == len(rows) == 3
for layer, row in zip(doc["layers"], rows):
    assert [str(layer["number"]), layer["compression"],
            str(layer["stored_size"]), str(layer["uncompressed_size"]),
            str(layer["entries"]), str(layer["whiteouts"]), layer["digest"],
            layer["media_type"]] == row, (layer, row)
PY
# A failure: nothing on stdout, as without --json.
"$LAYERFS" inspect --json --layer "$T/bad.tar.gz" >"$T/jbad" 2>/dev/null &&
	fail "inspect --json of a bad layer succeeded"
[ ! -s "$T/jbad" ] || fail "inspect --json printed on failure: $(cat "$T/jbad")"

# stats --json (schema layerfs.stats/1): the same counts as inspect --json,
# the same counters as the text, for a read-only mount no "writable".
"$LAYERFS" inspect --json "docker-archive:$arc" >"$T/conf.ijson" ||
	fail "inspect --json failed"
"$LAYERFS" stats --json "$T/conf-mnt" >"$T/conf.sjson" ||
	fail "stats --json failed"
"$LAYERFS" stats "$T/conf-mnt" >"$T/conf.stats2" || fail "stats failed"
python3 - "$T/conf.sjson" "$T/conf.ijson" "$T/conf.stats2" <<'PY' ||
import json, re, sys
s = json.load(open(sys.argv[1]))
i = json.load(open(sys.argv[2]))
text = open(sys.argv[3]).read()
assert s["schema"] == "layerfs.stats/1", s["schema"]
assert s["source"] == i["source"], (s["source"], i["source"])
assert [(l["number"], l["entries"], l["whiteouts"]) for l in s["layers"]] == \
    [(l["number"], l["entries"], l["whiteouts"]) for l in i["layers"]]
assert all(l["index"] in ("cache", "built") for l in s["layers"])
assert s["writable"] is None
assert s["memory"]["rss_bytes"] > 0
# Counters that do not move while nothing reads: as the text says them.
m = re.search(r"^layers: (\d+) \((\d+) indexes from the cache", text, re.M)
assert int(m.group(1)) == len(s["layers"])
assert int(m.group(2)) == sum(l["index"] == "cache" for l in s["layers"])
m = re.search(r"^bytes inflated: (\d+)", text, re.M)
assert int(m.group(1)) == s["bytes_inflated"], (m.group(1), s["bytes_inflated"])
PY
	fail "stats --json: $(cat "$T/conf.sjson")"

# A relative source is reported, and mounted, as its absolute canonical
# path (what /proc/mounts shows).
abs=$(realpath "$T/jimg")
(cd "$T" && "$LAYERFS" inspect oci:jimg:v1) >"$T/rel" || fail "inspect relative"
grep -qx "source:    oci:$abs:v1" "$T/rel" || fail "relative source: $(head -1 "$T/rel")"
mkdir -p "$T/rel-mnt"
LFS_MOUNTS+=("$T/rel-mnt")
(cd "$T" && "$LAYERFS" mount --cache-dir "$T/cache" oci:jimg:v1 rel-mnt) ||
	fail "mount of a relative source"
[ "$(findmnt -n -o SOURCE --mountpoint "$T/rel-mnt")" = "oci:$abs:v1" ] ||
	fail "mount table: $(findmnt -n -o SOURCE --mountpoint "$T/rel-mnt")"
fusermount3 -u "$T/rel-mnt"

#!/bin/bash
# Eight readers at random ranges of big files in one gzip layer, through a
# pool of three decompressors: every byte as in the source files (which
# the readers compare against), whole-file checksums right after the page
# cache is dropped, and the pool within its bound.
. "$(dirname "$0")/lib.sh"
lfs_require_prog gzip dd md5sum base64
mkdir -p "$T/src"
head -c 36M /dev/urandom | base64 >"$T/src/text" # compressible
head -c 24M /dev/urandom >"$T/src/random"
tar -C "$T/src" -cf - . | gzip -1 >"$T/big.tar.gz"
lfs_mount "" "$T/mnt" --layer "$T/big.tar.gz" -o handles=3,span=1M

# reader SEED: 40 random ranges of random files, each compared.
reader() {
	local i f size off len a b

	RANDOM=$1
	for i in $(seq 40); do
		if ((RANDOM % 2)); then f=text; else f=random; fi
		size=$(stat -c %s "$T/src/$f")
		off=$(((RANDOM * 32768 + RANDOM) % size))
		len=$((RANDOM * 8 % 262144 + 1))
		a=$(dd if="$T/mnt/$f" iflag=skip_bytes,count_bytes skip=$off \
			count=$len bs=64K status=none | md5sum)
		b=$(dd if="$T/src/$f" iflag=skip_bytes,count_bytes skip=$off \
			count=$len bs=64K status=none | md5sum)
		[ "$a" = "$b" ] || {
			echo "reader $1: $f at $off+$len differs" >&2
			return 1
		}
	done
}

pids=()
for r in $(seq 8); do
	reader "$r" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a reader saw wrong bytes"
done

sync
echo 3 >/proc/sys/vm/drop_caches
for f in text random; do
	cmp "$T/mnt/$f" "$T/src/$f" || fail "$f differs read whole"
done
line=$("$LAYERFS" stats "$T/mnt" | grep '^handle pool: ')
handles=$(echo "$line" | sed 's/handle pool: \([0-9]*\) handles.*/\1/')
[ "$handles" -ge 1 ] && [ "$handles" -le 3 ] ||
	fail "pool outside its bound: $line"

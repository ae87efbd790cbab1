#!/bin/bash
# Reads of bytes that lie in a plain file go to the kernel by splice: a
# plain tar layer read in place, a directory layer's file, a gzip layer's
# finished unpacked copy, the data runs of a sparse file.  Every byte is
# checked against the source, from a cold page cache, by whole-file
# reads and by O_DIRECT reads at odd offsets and sizes (which reach the
# daemon exactly as asked); the stats must show spliced reads.  A plain
# tar cut short under the mount answers EIO for the file whose data is
# gone, never short or invented bytes.  With -o nosplice the same bytes
# come by copy, and nothing is spliced.  A user's max_read= is kept (and
# the mount works: libfuse wants INIT to repeat it).
. "$(dirname "$0")/lib.sh"
lfs_require_prog gzip cmp dd truncate
mkdir -p "$T/plain" "$T/dir" "$T/gz" "$T/cut"
head -c 24M /dev/urandom >"$T/plain/big"
printf 'small\n' >"$T/plain/small"
truncate -s 8M "$T/plain/sparse"
head -c 300K /dev/urandom |
	dd of="$T/plain/sparse" bs=4K seek=256 conv=notrunc status=none
printf 'END' | dd of="$T/plain/sparse" bs=1 seek=$((8 * 1048576 - 3)) \
	conv=notrunc status=none
tar -C "$T/plain" -S -cf "$T/plain.tar" .
head -c 3M /dev/urandom >"$T/dir/dirfile"
head -c 10M /dev/urandom >"$T/gz/gzfile"
tar -C "$T/gz" -cf - . | gzip -1 >"$T/gz.tar.gz"
head -c 4M /dev/urandom >"$T/cut/cutfile"
tar -C "$T/cut" -cf "$T/cut.tar" .

# file-in-mount source-file pairs
files=(big "$T/plain/big" small "$T/plain/small" sparse "$T/plain/sparse"
	dirfile "$T/dir/dirfile" gzfile "$T/gz/gzfile")

stat_line() {
	"$LAYERFS" stats "$1" | sed -n "s/^$2//p"
}

# Whole files, then O_DIRECT reads at unaligned offsets and odd sizes.
check_bytes() {
	local mnt=$1 i name src size off len

	echo 3 >/proc/sys/vm/drop_caches
	for ((i = 0; i < ${#files[@]}; i += 2)); do
		name=${files[i]} src=${files[i + 1]}
		cmp "$mnt/$name" "$src" || fail "$mnt/$name: wrong bytes"
	done
	for name in big sparse dirfile gzfile; do
		src=$T/$(case $name in big | sparse) echo plain ;;
			dirfile) echo dir ;; gzfile) echo gz ;; esac)/$name
		size=$(stat -c %s "$src")
		for off in 0 1 4095 131073 $((size / 2 + 7)) $((size - 5000)); do
			for len in 1 4096 70000 1048576; do
				cmp <(dd if="$mnt/$name" iflag=direct,skip_bytes,count_bytes \
					skip="$off" count="$len" bs=1M status=none) \
					<(dd if="$src" iflag=skip_bytes,count_bytes \
					skip="$off" count="$len" bs=1M status=none) ||
					fail "$name: $len bytes at $off differ"
			done
		done
	done
}

lfs_mount "" "$T/mnt" --layer "$T/plain.tar" --layer "$T/dir" \
	--layer "$T/gz.tar.gz" --layer "$T/cut.tar" -o prefetch=unpack
for ((n = 0; n < 300; n++)); do
	[ "$(stat_line "$T/mnt" "layers: .*compressed, ")" = \
		"1 of them unpacked)" ] && break
	sleep 0.2
done
[ $n -lt 300 ] || fail "the gzip layer was never unpacked"
check_bytes "$T/mnt"
spliced=$(stat_line "$T/mnt" "file reads: " | cut -d' ' -f1)
copied=$(stat_line "$T/mnt" "file reads: " | sed 's/.*, \([0-9]*\) copied/\1/')
[ "$spliced" -gt 0 ] || fail "no read was spliced"
# Only reads that touch a sparse file's holes need a copy.
[ "$copied" -gt 0 ] || fail "no read of a hole was copied"
[ "$copied" -lt "$spliced" ] ||
	fail "more reads copied ($copied) than spliced ($spliced)"
stat_line "$T/mnt" "reads from unpacked copies: " | grep -q '^[1-9]' ||
	fail "the unpacked copy was never read"

# The plain tar cut short: its file's missing bytes are an error.
truncate -s 1M "$T/cut.tar"
echo 3 >/proc/sys/vm/drop_caches
if cat "$T/mnt/cutfile" >"$T/out" 2>"$T/err"; then
	fail "a file cut short read without an error"
fi
grep -q "Input/output error" "$T/err" || fail "not EIO: $(cat "$T/err")"
[ "$(stat -c %s "$T/out")" -lt 1048576 ] || fail "bytes past the cut"
cmp -n "$(stat -c %s "$T/out")" "$T/out" "$T/cut/cutfile" ||
	fail "wrong bytes before the cut"
fusermount3 -u "$T/mnt"

tar -C "$T/cut" -cf "$T/cut.tar" .
lfs_mount "" "$T/mnt-copy" --layer "$T/plain.tar" --layer "$T/dir" \
	--layer "$T/gz.tar.gz" --layer "$T/cut.tar" -o nosplice
check_bytes "$T/mnt-copy"
stat_line "$T/mnt-copy" "file reads: " | grep -q '^0 spliced' ||
	fail "nosplice spliced: $(stat_line "$T/mnt-copy" "file reads: ")"
fusermount3 -u "$T/mnt-copy"

lfs_mount "" "$T/mnt-128k" --layer "$T/plain.tar" --layer "$T/dir" \
	--layer "$T/gz.tar.gz" --layer "$T/cut.tar" -o max_read=131072
findmnt -n -o OPTIONS --mountpoint "$T/mnt-128k" | grep -q 'max_read=131072' ||
	fail "max_read=131072 not applied"
echo 3 >/proc/sys/vm/drop_caches
cmp "$T/mnt-128k/big" "$T/plain/big" || fail "max_read=131072: wrong bytes"
stat_line "$T/mnt-128k" "file reads: " | grep -q '^[1-9]' ||
	fail "max_read=131072: nothing spliced"
fusermount3 -u "$T/mnt-128k"

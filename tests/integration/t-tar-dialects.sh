#!/bin/bash
# Layers in the tar dialects real tools write mount exactly as `umoci
# unpack` writes them: GNU tar's v7, ustar, oldgnu, gnu and posix formats
# (long names where the format has them, a symlink, a hardlink, a
# directory tree); and streams libarchive calls damaged but GNU tar, Go's
# archive/tar and umoci read: extension headers followed by the
# end-of-archive blocks (the end), or by nothing at all (the end, with a
# warning); and old-GNU headers of plain members with junk in the fields
# only sparse members use.  Extension headers followed by junk stay an
# error.
. "$(dirname "$0")/lib.sh"
lfs_require_prog umoci tar python3

s=$T/src
mkdir -p "$s/d/sub" "$s/d/$(printf 'n%.0s' $(seq 90))"
echo hi >"$s/d/f"
ln -s f "$s/d/l"
ln "$s/d/f" "$s/d/hl"
echo x >"$s/d/sub/g"
long=$s/d/$(printf 'n%.0s' $(seq 90))/$(printf 'm%.0s' $(seq 60))
echo long >"$long"
touch -h -d @1600000000 "$s/d/f" "$s/d/l" "$s/d/sub/g" "$long" "$s/d/sub"

# same_as_umoci NAME TAR [WARNING]: an image of the one layer TAR mounts as
# umoci unpacks it; WARNING, if given, is in what the mount says.
same_as_umoci() {
	local o=$T/oci-$1

	umoci init --layout "$o"
	umoci new --image "$o:i"
	umoci raw add-layer --image "$o:i" "$2"
	umoci unpack --image "$o:i" "$T/unpack-$1" >&2 ||
		fail "$1: umoci unpack"
	lfs_mount "oci:$o:i" "$T/mnt-$1" 2>"$T/log-$1"
	(assert_same_tree "$T/unpack-$1/rootfs" "$T/mnt-$1") ||
		fail "$1: differs from umoci unpack"
	if [ -n "${3:-}" ]; then
		grep -qF -- "$3" "$T/log-$1" ||
			fail "$1: no warning \"$3\": $(cat "$T/log-$1")"
	fi
	fusermount3 -u "$T/mnt-$1"
}

for fmt in v7 ustar oldgnu gnu posix; do
	ex=()
	# v7 holds names of 99 bytes at most, ustar of 255.
	[ "$fmt" = v7 ] && ex=(--exclude "./d/nnn*")
	tar -C "$s" --format=$fmt --numeric-owner "${ex[@]}" \
		-cf "$T/$fmt.tar" . || fail "tar --format=$fmt"
	same_as_umoci "$fmt" "$T/$fmt.tar"
done

# end.tar: the posix layer, then a pax header and the end-of-archive
# blocks; cut.tar: the same with no end-of-archive blocks; junk.tar:
# junk after the pax header.
python3 - "$T/posix.tar" "$T" <<'EOF'
import sys

src, out = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    data = f.read()
# The posix layer without its end-of-archive blocks (and the zero
# blocks GNU tar pads its record with).
end = len(data)
while end >= 512 and data[end - 512:end] == bytes(512):
    end -= 512
body = data[:end]
record = b"14 path=after\n"
hdr = bytearray(512)
hdr[0:9] = b"PaxHeader"
hdr[100:108] = b"0000644\0"
hdr[124:136] = b"%011o\0" % len(record)
hdr[156:157] = b"x"
hdr[257:263] = b"ustar\0"
hdr[263:265] = b"00"
hdr[148:156] = b" " * 8
hdr[148:156] = b"%06o\0 " % sum(hdr)
ext = bytes(hdr) + record + bytes(512 - len(record))
for name, tail in (("end", bytes(1024)), ("cut", b""),
                   ("junk", b"j" * 512 + bytes(1024))):
    with open(f"{out}/{name}.tar", "wb") as f:
        f.write(body + ext + tail)
EOF
# gnujunk.tar: old-GNU headers of plain members (type '0') carrying a
# junk "realsize" and a junk sparse map, which only sparse members have.
python3 - "$T/gnujunk.tar" <<'EOF'
import sys


def member(name, data, realsize=0, sparse=None):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % len(data)
    h[136:148] = b"13000000000\0"
    h[156:157] = b"0"
    h[257:265] = b"ustar  \0"
    if realsize:
        h[483:495] = b"%011o\0" % realsize
    if sparse:
        h[386:398] = b"%011o\0" % sparse[0]
        h[398:410] = b"%011o\0" % sparse[1]
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h) + data + bytes((512 - len(data) % 512) % 512)


with open(sys.argv[1], "wb") as f:
    f.write(member(b"realsize", b"hello world\n", realsize=0o777777))
    f.write(member(b"map", b"mapped data\n", sparse=(4096, 12)))
    f.write(bytes(1024))
EOF
same_as_umoci gnujunk "$T/gnujunk.tar"
same_as_umoci end "$T/end.tar"
same_as_umoci cut "$T/cut.tar" \
	"ends after extension headers, without the end-of-archive blocks"
lfs_mount_fails "" "$T/mnt-junk" --layer "$T/junk.tar"
grep -qF "corrupt or truncated tar" "$T/stderr" ||
	fail "junk after extension headers: $(cat "$T/stderr")"

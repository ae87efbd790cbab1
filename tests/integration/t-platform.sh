#!/bin/bash
# index.json listing one image per platform, both tagged "latest" (as
# skopeo copy --all and buildx can write it): --platform picks the tree,
# with the tag or without; without --platform, the host's; a platform the
# layout lacks is a one-line error naming index.json and what is there
# (docs/decisions/0013).  Platform names are spelled as containerd
# normalises them, and an older arm variant runs on a newer one, the
# platform asked for winning wherever it stands (docs/decisions/0017).
. "$(dirname "$0")/lib.sh"
lfs_require_prog tar sha256sum

mt=application/vnd.oci.image

# blob LAYOUT FILE TYPE: store FILE; print the body of its descriptor.
blob() {
	local h

	h=$(sha256sum "$2" | cut -d' ' -f1)
	mkdir -p "$1/blobs/sha256"
	cp "$2" "$1/blobs/sha256/$h"
	printf '"mediaType":"%s","digest":"sha256:%s","size":%s' \
		"$3" "$h" "$(stat -c %s "$2")"
}

# image LAYOUT NAME ARCH [VARIANT]: a one-layer image holding /name (NAME)
# and /only-NAME, its config naming ARCH; print its index.json entry, tagged
# "latest", its platform naming ARCH and VARIANT.
image() {
	local l=$1 n=$2 a=$3 v=${4:-} s=$T/src-$2 layer config variant=

	mkdir -p "$s"
	echo "$n" >"$s/name"
	: >"$s/only-$n"
	tar --owner=0 --group=0 --mtime=@0 -C "$s" -cf "$s.tar" name "only-$n"
	layer=$(blob "$l" "$s.tar" "$mt.layer.v1.tar")
	printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers",%s}}' \
		"$a" "\"diff_ids\":[\"sha256:$(sha256sum <"$s.tar" | cut -d' ' -f1)\"]" \
		>"$s.config"
	config=$(blob "$l" "$s.config" "$mt.config.v1+json")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{%s},"layers":[{%s}]}' \
		"$mt.manifest.v1+json" "$config" "$layer" >"$s.manifest"
	[ -z "$v" ] || variant=",\"variant\":\"$v\""
	printf '{%s,"annotations":{"%s":"latest"},"platform":{"os":"linux","architecture":"%s"%s}}' \
		"$(blob "$l" "$s.manifest" "$mt.manifest.v1+json")" \
		org.opencontainers.image.ref.name "$a" "$variant"
}

# check MNT NAME: MNT holds image NAME's tree and nothing of another.
check() {
	local got

	got=$(cd "$1" && echo * && cat name)
	[ "$got" = "name only-$2"$'\n'"$2" ] ||
		fail "$1 holds: $got; want the $2 image"
}

L=$T/layout
mkdir -p "$L"
echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[%s,%s]}' \
	"$(image "$L" amd64 amd64)" "$(image "$L" s390x s390x)" >"$L/index.json"

lfs_mount "oci:$L:latest" "$T/mnt-s390x" --platform linux/s390x
check "$T/mnt-s390x" s390x
lfs_mount "oci:$L" "$T/mnt-amd64" --platform linux/amd64
check "$T/mnt-amd64" amd64
lfs_mount "oci:$L" "$T/mnt-x86_64" --platform linux/x86_64
check "$T/mnt-x86_64" amd64
if [ "$(uname -m)" = x86_64 ]; then
	lfs_mount "oci:$L" "$T/mnt-host"
	check "$T/mnt-host" amd64
fi

lfs_mount_fails "oci:$L:latest" "$T/mnt-none" --platform linux/riscv64
grep -qF "$L/index.json: no manifest for platform linux/riscv64 (available: linux/amd64, linux/s390x)" \
	"$T/stderr" || fail "the error should name index.json and the platforms"

# 32-bit arm, oldest first, the v7 image without a variant (arm means v7).
A=$T/arm
mkdir -p "$A"
printf '{"schemaVersion":2,"manifests":[%s,%s,%s]}' \
	"$(image "$A" v5 arm v5)" "$(image "$A" v6 arm v6)" \
	"$(image "$A" v7 arm)" >"$A/index.json"
# want ... image: what --platform takes.  arm/v8 (an armv8l host) and
# arm64 run v7 best; armhf is arm/v7 and armel arm/v6.
for want in arm/v8:v7 arm64:v7 aarch64:v7 arm/v7:v7 arm:v7 armhf:v7 \
	arm/v6:v6 armel:v6 arm/v5:v5; do
	p=linux/${want%:*}
	lfs_mount "oci:$A" "$T/mnt-arm-${p//\//_}" --platform "$p"
	check "$T/mnt-arm-${p//\//_}" "${want#*:}"
done
lfs_mount_fails "oci:$A" "$T/mnt-arm-v4" --platform linux/arm/v4
grep -qF "$A/index.json: no manifest for platform linux/arm/v4 (available: linux/arm/v5, linux/arm/v6, linux/arm)" \
	"$T/stderr" || fail "arm/v4 runs none of v5, v6, v7"

#!/bin/bash
# index.json listing one image per platform, both tagged "latest" (as
# skopeo copy --all and buildx can write it): --platform picks the tree,
# with the tag or without; without --platform, the host's; a platform the
# layout lacks is a one-line error naming index.json and what is there
# (docs/decisions/0013).
. "$(dirname "$0")/lib.sh"
lfs_require_prog tar sha256sum

L=$T/layout
mt=application/vnd.oci.image
mkdir -p "$L/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"

# blob FILE TYPE: store FILE; print the body of its descriptor.
blob() {
	local h

	h=$(sha256sum "$1" | cut -d' ' -f1)
	cp "$1" "$L/blobs/sha256/$h"
	printf '"mediaType":"%s","digest":"sha256:%s","size":%s' \
		"$2" "$h" "$(stat -c %s "$1")"
}

# image ARCH: a one-layer image holding /arch and /only-ARCH, its config
# naming ARCH; print its index.json entry.
image() {
	local a=$1 s=$T/src-$1 layer config

	mkdir -p "$s"
	echo "$a" >"$s/arch"
	: >"$s/only-$a"
	tar --owner=0 --group=0 --mtime=@0 -C "$s" -cf "$s.tar" arch "only-$a"
	layer=$(blob "$s.tar" "$mt.layer.v1.tar")
	printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers",%s}}' \
		"$a" "\"diff_ids\":[\"sha256:$(sha256sum <"$s.tar" | cut -d' ' -f1)\"]" \
		>"$s.config"
	config=$(blob "$s.config" "$mt.config.v1+json")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{%s},"layers":[{%s}]}' \
		"$mt.manifest.v1+json" "$config" "$layer" >"$s.manifest"
	printf '{%s,"annotations":{"%s":"latest"},"platform":{"os":"linux","architecture":"%s"}}' \
		"$(blob "$s.manifest" "$mt.manifest.v1+json")" \
		org.opencontainers.image.ref.name "$a"
}

printf '{"schemaVersion":2,"manifests":[%s,%s]}' \
	"$(image amd64)" "$(image s390x)" >"$L/index.json"

# check MNT ARCH: MNT holds ARCH's tree and nothing of the other image.
check() {
	local got

	got=$(cd "$1" && echo * && cat arch)
	[ "$got" = "arch only-$2"$'\n'"$2" ] ||
		fail "$1 holds: $got; want the $2 image"
}

lfs_mount "oci:$L:latest" "$T/mnt-s390x" --platform linux/s390x
check "$T/mnt-s390x" s390x
lfs_mount "oci:$L" "$T/mnt-amd64" --platform linux/amd64
check "$T/mnt-amd64" amd64
if [ "$(uname -m)" = x86_64 ]; then
	lfs_mount "oci:$L" "$T/mnt-host"
	check "$T/mnt-host" amd64
fi

lfs_mount_fails "oci:$L:latest" "$T/mnt-none" --platform linux/riscv64
grep -qF "$L/index.json: no manifest for platform linux/riscv64 (available: linux/amd64, linux/s390x)" \
	"$T/stderr" || fail "the error should name index.json and the platforms"

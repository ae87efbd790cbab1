#!/bin/bash
# A writable mount as a container's root file system, for real:
#  1. runc runs a bundle whose rootfs is a writable layerfs mount of a
#     small Debian-based image, and the container installs a package
#     with Debian's dpkg (its files, its postinst, dpkg's database);
#     after unmount and remount, all of it is there, from the upper;
#  2. podman, with layerfs as its overlay mount_program (where
#     fuse-overlayfs usually stands), loads the image as a docker-archive
#     and runs a container (with runc) that installs the package and
#     writes; the container's root is a layerfs mount, its writes are in
#     podman's upper (diff) directory, and a restart sees them.
. "$(dirname "$0")/lib.sh"
lfs_require_prog runc podman skopeo umoci python3 dpkg-deb
fx=$(lfs_fixture dpkg)

# podman's mounts (under $T) are not made by lfs_mount.
trap lfs_cleanup_here EXIT

install='/usr/bin/dpkg -i /pkg/hello-layerfs.deb >/dev/null &&
	/usr/bin/dpkg-query -W -f "\${Status}\n" hello-layerfs &&
	cat /usr/share/hello/msg /var/lib/hello-layerfs.postinst &&
	echo written >/root/note && grep " / " /proc/self/mountinfo'
want_install='install ok installed
hello from a package
postinst ran'

# ---- runc over a writable mount ----
b=$T/bundle
mkdir -p "$b" "$T/upper" "$T/work"
lfs_mount "oci:$fx/oci:dpkg" "$b/rootfs" \
	-o "upper=$T/upper,work=$T/work,suid,dev"
(cd "$b" && runc spec)
python3 - "$b/config.json" "$install" <<'EOF'
import json
import sys

path, script = sys.argv[1], sys.argv[2]
with open(path) as f:
    c = json.load(f)
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", script]
c["root"]["readonly"] = False
with open(path, "w") as f:
    json.dump(c, f)
EOF
id=lfs-$$
out=$(runc run -b "$b" "$id") || fail "runc run failed: $out"
runc delete -f "$id" 2>/dev/null || true
printf '%s\n' "$out" >&2
[ "$(head -3 <<<"$out")" = "$want_install" ] ||
	fail "runc: the package did not install as expected"
grep -q ' fuse\.layerfs ' <<<"$out" ||
	fail "runc: the container's root is not the layerfs mount"
fusermount3 -u "$b/rootfs"
# What the container wrote is in the upper, in files of their own...
[ "$(cat "$T/upper/usr/share/hello/msg")" = "hello from a package" ] ||
	fail "the package's file is not in the upper"
grep -q '^Package: hello-layerfs$' "$T/upper/var/lib/dpkg/status" ||
	fail "dpkg's database in the upper does not list the package"
# ... and the mount shows it again after a remount.
lfs_mount "oci:$fx/oci:dpkg" "$b/rootfs" -o "upper=$T/upper,work=$T/work"
[ "$(cat "$b/rootfs/root/note")" = written ] || fail "remount: /root/note"
[ "$(cat "$b/rootfs/var/lib/hello-layerfs.postinst")" = "postinst ran" ] ||
	fail "remount: the postinst's file"
chroot "$b/rootfs" /usr/bin/dpkg-query -W hello-layerfs >/dev/null ||
	fail "remount: dpkg does not know the package"
fusermount3 -u "$b/rootfs"

# ---- podman with layerfs as its mount program ----
# Limits a container may not raise past this machine's hard ones, and no
# network or systemd: what this machine's podman can use.
limits="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=1024:1024"
pod() {
	podman --root "$T/podman" --runroot "$T/podman-run" \
		--storage-driver overlay \
		--storage-opt "overlay.mount_program=$LAYERFS" \
		--cgroup-manager cgroupfs --events-backend file \
		--runtime runc "$@"
}
pod load -i "$fx/dpkg.docker.tar" >&2 || fail "podman load"
# shellcheck disable=SC2086
out=$(pod run --name c1 --network none $limits localhost/layerfs-dpkg:1 \
	/bin/sh -c "$install") || fail "podman run failed: $out"
printf '%s\n' "$out" >&2
[ "$(head -3 <<<"$out")" = "$want_install" ] ||
	fail "podman: the package did not install as expected"
grep -q ' fuse\.layerfs ' <<<"$out" ||
	fail "podman: the container's root is not a layerfs mount"
# The writes are in the container's upper (podman's diff directory).
diff=$(pod inspect --format '{{.GraphDriver.Data.UpperDir}}' c1)
[ "$(cat "$diff/root/note")" = written ] ||
	fail "podman: /root/note is not in the upper $diff"
# A restart mounts the same upper again.
out=$(pod start -a c1) || fail "podman start failed: $out"
grep -q '^install ok installed$' <<<"$out" ||
	fail "podman: the restarted container lost the package"
pod rm -f c1 >&2
pod rmi -af >&2 || true
[ -z "$(lfs_mounts_here)" ] || fail "podman left mounts: $(lfs_mounts_here)"

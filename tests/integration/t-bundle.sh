#!/bin/bash
# Running an image from a layerfs mount as users do, with the image's
# config applied (command, environment, user, working directory):
#   1. inspect --json gives the config's run settings, as umoci set them;
#   2. layerfs bundle makes a runc bundle, writable (what the container
#      writes lands in the upper) and read-only (writes fail), and runc
#      runs the image's command as its user, in its directory, with its
#      environment; a command given after -- replaces it;
#   3. the README's podman recipe: podman run --rootfs MNT:O over a
#      read-only mount (writes go to podman's own overlay) and --rootfs
#      MNT over a writable one (writes land in the upper), with the flags
#      a wrapper makes from inspect --json;
#   4. refusals: an image that names no command (before mounting), a user
#      the image does not list (the mount undone), bad usage.
. "$(dirname "$0")/lib.sh"
lfs_setup
lfs_require_prog runc podman umoci python3
fx=$(lfs_fixture conformance)

# podman's mounts (under $T) are not made by lfs_mount.
trap lfs_cleanup_here EXIT

# The conformance image, with the mount points a read-only root needs
# (made with commit), and a config that says how to run it.
cp -a "$fx/oci" "$T/img"
mkdir -p "$T/u0" "$T/w0"
lfs_mount "oci:$T/img:conf" "$T/m0" -o "upper=$T/u0,work=$T/w0"
mkdir "$T/m0/proc" "$T/m0/sys" "$T/m0/dev"
"$LAYERFS" commit "$T/m0" "oci:$T/img:base" >/dev/null || fail "commit base"
fusermount3 -u "$T/m0"
script='id -u; id -g; pwd; echo "$GREETING"; echo w >/tmp/w 2>/dev/null && echo wrote || echo read-only'
umoci config --image "$T/img:base" --tag run \
	--config.entrypoint /bin/sh --config.cmd -c --config.cmd "$script" \
	--config.env GREETING=hello --config.user nobody \
	--config.workingdir /data >&2 || fail "umoci config"
src=oci:$T/img:run

# 1. The run settings.
"$LAYERFS" inspect --json "$src" >"$T/json" || fail "inspect --json"
python3 - "$T/json" "$script" <<'PY' || fail "inspect --json run: $(cat "$T/json")"
import json, sys
r = json.load(open(sys.argv[1]))["run"]
assert r["entrypoint"] == ["/bin/sh"], r
assert r["cmd"] == ["-c", sys.argv[2]], r
assert "GREETING=hello" in r["env"], r
assert r["user"] == "nobody" and r["working_dir"] == "/data", r
PY
"$LAYERFS" inspect "$src" >"$T/text" || fail "inspect"
grep -qx "user:      nobody" "$T/text" || fail "inspect: $(cat "$T/text")"
grep -q "^command:   /bin/sh -c 'id -u; " "$T/text" || fail "inspect: $(cat "$T/text")"

want_rw='65534
65534
/data
hello
wrote'

# 2. runc, writable: the writes are in the upper.
b=$T/bundle
mkdir -p "$T/u1" "$T/w1"
LFS_MOUNTS+=("$b/rootfs")
"$LAYERFS" bundle --cache-dir "$T/cache" -o "upper=$T/u1,work=$T/w1" \
	"$src" "$b" >"$T/out" || fail "layerfs bundle (writable)"
grep -qF "writable root" "$T/out" || fail "bundle said: $(cat "$T/out")"
mountpoint -q "$b/rootfs" || fail "bundle: rootfs not mounted"
out=$(runc run -b "$b" "lfs-b1-$$") || fail "runc run: $out"
runc delete -f "lfs-b1-$$" 2>/dev/null || true
[ "$out" = "$want_rw" ] || fail "runc, writable: $out"
[ "$(cat "$T/u1/tmp/w")" = w ] || fail "the container's write is not in the upper"
fusermount3 -u "$b/rootfs"

# runc, read-only, and a command of our own after --.
"$LAYERFS" bundle --cache-dir "$T/cache" "$src" "$b" -- \
	/bin/sh -c "$script; echo given" >/dev/null ||
	fail "layerfs bundle (read-only)"
out=$(runc run -b "$b" "lfs-b2-$$") || fail "runc run: $out"
runc delete -f "lfs-b2-$$" 2>/dev/null || true
[ "$out" = "${want_rw%wrote}read-only
given" ] || fail "runc, read-only: $out"
python3 - "$b/config.json" <<'PY' || fail "config.json"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["root"] == {"path": "rootfs", "readonly": True}, c["root"]
assert c["process"]["user"] == {"uid": 65534, "gid": 65534}
assert c["process"]["cwd"] == "/data"
assert any(e.startswith("PATH=") for e in c["process"]["env"])
PY
fusermount3 -u "$b/rootfs"

# 3. podman, as the README says: flags from inspect --json.
limits="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=1024:1024"
pod() {
	podman --root "$T/podman" --runroot "$T/podman-run" \
		--storage-driver overlay --cgroup-manager cgroupfs \
		--events-backend file --runtime runc "$@"
}
mapfile -t flags < <(python3 - "$T/json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["run"]
if r["entrypoint"]:
    print("--entrypoint"); print(json.dumps(r["entrypoint"]))
for e in r["env"]:
    print("--env"); print(e)
if r["user"]:
    print("--user"); print(r["user"])
if r["working_dir"]:
    print("--workdir"); print(r["working_dir"])
PY
)
lfs_mount "$src" "$T/pm"
# shellcheck disable=SC2086
out=$(pod run --rm --network none $limits "${flags[@]}" \
	--rootfs "$T/pm:O" -c "$script") || fail "podman run --rootfs :O: $out"
[ "$out" = "$want_rw" ] || fail "podman, read-only mount: $out"
[ ! -e "$T/pm/tmp/w" ] || fail "podman wrote through to a read-only mount"
fusermount3 -u "$T/pm"
mkdir -p "$T/u2" "$T/w2"
lfs_mount "$src" "$T/pm" -o "upper=$T/u2,work=$T/w2"
# shellcheck disable=SC2086
out=$(pod run --rm --network none $limits "${flags[@]}" --rootfs "$T/pm" \
	-c "$script") || fail "podman run --rootfs: $out"
[ "$out" = "$want_rw" ] || fail "podman, writable mount: $out"
[ "$(cat "$T/u2/tmp/w")" = w ] || fail "podman's write is not in the upper"
fusermount3 -u "$T/pm"
lfs_track_mounts_here

# 4. Refusals.
lfs_refuses "$LAYERFS" bundle --cache-dir "$T/cache" "oci:$T/img:conf" \
	"$T/b3"
grep -qF "names no command" "$T/stderr" || fail "no command: $(cat "$T/stderr")"
! mountpoint -q "$T/b3/rootfs" || fail "a refused bundle left its mount"
umoci config --image "$T/img:run" --tag ghost --config.user ghost >&2 ||
	fail "umoci config ghost"
LFS_MOUNTS+=("$T/b4/rootfs")
lfs_refuses "$LAYERFS" bundle --cache-dir "$T/cache" "oci:$T/img:ghost" \
	"$T/b4"
grep -qF 'user "ghost"' "$T/stderr" || fail "unknown user: $(cat "$T/stderr")"
! mountpoint -q "$T/b4/rootfs" || fail "a refused bundle left its mount"
rc=0
"$LAYERFS" bundle "$src" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || fail "bundle without DIR: exit $rc"

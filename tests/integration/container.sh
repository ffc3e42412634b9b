#!/bin/sh
# SPDX-License-Identifier: MIT
#
# container.sh: runs arbord as PID 1 of a real OCI container (runc), for
# tests/integration/test-container.c. The test points the harness at this
# script ($ARBOR_TEST_ARBORD), so the harness runs
#
#     container.sh [-c @TMP@/arbor.ini] --log-format json [-- command...]
#
# and this script becomes `runc run` of a container whose process is
# `/sbin/arbord ARGS...`: arbord's stdio are the harness's (terminal: false,
# runc passes them through), signals sent to this process are forwarded by
# runc to arbord, and runc exits with arbord's status (128+N if a signal
# killed it).
#
# Environment (set by the test through the harness):
#   ARBOR_CONTAINER_DIR   the test's @TMP@: the bundle goes in @TMP@/bundle, and
#                         @TMP@ is bind-mounted at the same path (the INI, the
#                         control socket, files services write)
#   ARBOR_CONTAINER_ID    the container's id (for `runc kill`, `runc exec`)
#   ARBOR_CONTAINER_ARBORD  the arbord binary to install as /sbin/arbord
#   ARBOR_CONTAINER_HELPERS the helper programs' directory, bind-mounted
#                         read-only at the same path
#
# The root filesystem: busybox (static) with every applet as a symlink, arbord
# and the libraries `ldd` lists for it and the helpers, the dynamic loader
# included. The spec is `runc spec`'s, edited: the process, terminal false, a
# writable root, the two bind mounts, and no linux.resources (cgroup limits
# are not what is tested, and hybrid cgroup hierarchies reject some of them).

set -eu

die() {
        echo "container.sh: $*" >&2
        exit 125
}

: "${ARBOR_CONTAINER_DIR:?}" "${ARBOR_CONTAINER_ID:?}" "${ARBOR_CONTAINER_ARBORD:?}" "${ARBOR_CONTAINER_HELPERS:?}"
command -v runc >/dev/null || die "runc is not installed"
command -v python3 >/dev/null || die "python3 is needed to edit config.json"
busybox=$(command -v busybox) || die "busybox is not installed"

bundle=$ARBOR_CONTAINER_DIR/bundle
rootfs=$bundle/rootfs
mkdir -p "$rootfs"
for d in bin sbin proc sys dev tmp run etc; do
        mkdir -p "$rootfs/$d"
done

cp "$busybox" "$rootfs/bin/busybox"
"$rootfs/bin/busybox" --install -s "$rootfs/bin" 2>/dev/null || true
# --install -s links to the busybox it runs as, by absolute host path: make them relative
for l in "$rootfs"/bin/*; do
        [ -L "$l" ] && ln -sf busybox "$l"
done
[ -L "$rootfs/bin/sh" ] || die "busybox --install gave no /bin/sh"

cp "$ARBOR_CONTAINER_ARBORD" "$rootfs/sbin/arbord"
for bin in "$ARBOR_CONTAINER_ARBORD" "$ARBOR_CONTAINER_HELPERS"/*; do
        [ -x "$bin" ] && [ -f "$bin" ] || continue
        ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true
done | sort -u | while read -r lib; do
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
done
[ -n "$(ls "$rootfs"/lib64/ld-linux* "$rootfs"/lib/ld-linux* 2>/dev/null)" ] || die "no dynamic loader in the rootfs"

rm -f "$bundle/config.json"
runc spec --bundle "$bundle"
python3 - "$bundle/config.json" "$ARBOR_CONTAINER_DIR" "$ARBOR_CONTAINER_HELPERS" "$@" <<'EOF'
import json, sys

path, tmp, helpers, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with open(path) as f:
    c = json.load(f)
c["process"]["args"] = ["/sbin/arbord"] + args
c["process"]["terminal"] = False
c["process"]["cwd"] = "/"
c["root"]["readonly"] = False
c["hostname"] = "arbor-test"
c["linux"].pop("resources", None)
c["mounts"] += [
    {"destination": tmp, "type": "bind", "source": tmp, "options": ["bind", "rw"]},
    {"destination": helpers, "type": "bind", "source": helpers, "options": ["bind", "ro"]},
]
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF

# runc run deletes the container when it ends (no --keep); the test still runs `runc delete -f` in case runc was killed.
exec runc run --bundle "$bundle" "$ARBOR_CONTAINER_ID"

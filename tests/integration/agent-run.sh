#!/bin/bash
# ctest driver for agent.sh: the agent image (guest-image/build --agent) goes
# into the level-1 host shared from this host (run-in-l1 --share-host), never
# copied into its RAM; its tree is fingerprinted here before and after, so a
# guest that wrote through the read-only root would show.
# Usage: agent-run.sh IMAGE_DIR [nested_run_script options]... -- [agent.sh args]
# IMAGE_DIR holds rootfs and manifest.lock (links into the image cache).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/lib.sh"

image=$1
shift
opts=()
while (($#)) && [[ $1 != -- ]]; do
	opts+=("$1")
	shift
done
[[ ${1:-} == -- ]] && shift

if [[ ! -d $image/rootfs/usr || ! -f $image/manifest.lock ]]; then
	echo "FAIL: the agent image is not built in $image: run guest-image/build --agent $image"
	exit 1
fi
# The cache directory that really holds the tree: shared at the same path.
rootfs=$(realpath -e "$image/rootfs")
imgdir=$(dirname "$rootfs")
if [[ $(realpath -e "$image/manifest.lock") != "$imgdir/manifest.lock" ]]; then
	echo "FAIL: $image/rootfs and $image/manifest.lock are not in one directory"
	exit 1
fi
if nested_needs_l1 && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: this host's KVM ($(nested_kvm_kind)) cannot boot Linux and qemu-system-x86_64" \
		"(the level-1 harness) is not installed: run scripts/install-deps" >&2
	exit 77
fi

# Every entry's path, type, mode, owner, size, mtime and link target: a
# write, chmod, chown, delete or new file anywhere in the tree changes it.
fingerprint() {
	(cd "$rootfs" && find . -printf '%p|%y|%m|%U:%G|%s|%T@|%l\n' | LC_ALL=C sort | sha256sum | cut -c1-64)
}
before=$(fingerprint)
echo "agent: image $imgdir ($(du -sh --apparent-size "$rootfs" | cut -f1), fingerprint ${before:0:16})"
echo "agent: host KVM is $(nested_kvm_kind);" \
	"$(nested_needs_l1 && echo 'running in the level-1 harness' || echo 'running directly')"

nested_run_script --share-host "$imgdir" "${opts[@]}" "$here/agent.sh" "$imgdir" "$@"
status=$?

after=$(fingerprint)
if [[ $after == "$before" ]]; then
	echo "PASS: the image tree on the host is unchanged by every run (fingerprint of all entries)"
else
	echo "FAIL: the image tree on the host changed: ${before:0:16} -> ${after:0:16}"
	status=1
fi
exit "$status"

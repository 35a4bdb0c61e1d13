#!/bin/bash
# ctest driver for the freestanding-guest tests (test_platform.sh,
# test_sandbox.sh): runs SCRIPT on this host when its /dev/kvm opens (PVM
# included: these guests need no Linux), and inside the level-1 host
# (tests/nested/run-in-l1, QEMU TCG with nested SVM) when it does not: no
# /dev/kvm, no access, or a device that is not KVM.
# Usage: run-kvm-test.sh SCRIPT ARG... (arguments that name existing files
# travel into the level-1 host and are renamed there).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/lib.sh"

script=$1
shift
if nested_kvm_usable; then
	echo "kvm: host KVM is $(nested_kvm_kind); running on this host"
	exec bash "$script" "$@"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: this host has no usable /dev/kvm ($(nested_kvm_kind)) and qemu-system-x86_64" \
		"(the level-1 harness) is not installed: run scripts/install-deps" >&2
	exit 77
fi
echo "kvm: host KVM is $(nested_kvm_kind); running in the level-1 harness"

# The scripts are bash and use util-linux's setpriv, unshare and script and procps' pgrep
# (busybox's lack their options); each file argument goes to /l1/test/.
l1_args=(--file "$script:/l1/test/$(basename "$script")" --file "$here/lib.sh:/l1/test/lib.sh"
	--file /bin/bash:/bin/bash)
for tool in setpriv unshare script pgrep; do
	path=$(command -v "$tool") && l1_args+=(--file "$path:/usr/bin/$tool")
done
args=()
for a in "$@"; do
	if [[ -f $a ]]; then
		l1_args+=(--file "$a:/l1/test/$(basename "$a")")
		args+=("/l1/test/$(basename "$a")")
	else
		args+=("$a")
	fi
done
# The environment does not reach the level-1 host: the knobs the scripts read go as arguments of env.
exec "$nested_repo/tests/nested/run-in-l1" "${l1_args[@]}" -- \
	env MICROVMM_SANITIZED="${MICROVMM_SANITIZED:-0}" \
	bash "/l1/test/$(basename "$script")" "${args[@]}"

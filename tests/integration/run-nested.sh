#!/bin/bash
# ctest driver for integration scripts that boot real Linux guests: runs the
# script directly on hosts with VMX/SVM KVM, and in the level-1 harness
# (tests/nested/run-in-l1) everywhere else: PVM, no /dev/kvm at all (the
# harness is QEMU with TCG, which needs none), or an unknown KVM.
# Usage: run-nested.sh [--with-qemu] SCRIPT [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/lib.sh"

if nested_needs_l1 && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: this host's KVM ($(nested_kvm_kind)) cannot boot Linux and qemu-system-x86_64" \
		"(the level-1 harness) is not installed: run scripts/install-deps" >&2
	exit 77
fi
# The minimal-kernel variants (integration.minimal.*) need the image scripts/test builds.
if [[ ${MICROVMM_GUEST_DIR:-} == */guest-minimal && ! -f $MICROVMM_GUEST_DIR/initrd.img ]]; then
	echo "SKIP: no minimal-kernel guest image in $MICROVMM_GUEST_DIR: build it with" \
		"guest-image/build --kernel minimal $MICROVMM_GUEST_DIR (scripts/test does)" >&2
	exit 77
fi
echo "integration: host KVM is $(nested_kvm_kind);" \
	"$(nested_needs_l1 && echo 'running in the level-1 harness' || echo 'running directly')"
nested_run_script "$@"

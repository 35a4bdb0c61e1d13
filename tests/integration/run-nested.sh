#!/bin/bash
# ctest driver for integration scripts that boot real Linux guests: runs the
# script directly on hosts with VMX/SVM KVM, and in the level-1 harness
# (tests/nested/run-in-l1) where /dev/kvm cannot boot a stock kernel.
# Usage: run-nested.sh [--with-qemu] SCRIPT [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/lib.sh"

if [ ! -e /dev/kvm ]; then
	echo "SKIP: no /dev/kvm on this host; the level-1 harness needs it too" >&2
	exit 77
fi
if nested_needs_l1 && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: this host's KVM ($(nested_kvm_kind)) cannot boot Linux and qemu-system-x86_64" \
		"(the level-1 harness) is not installed: run scripts/install-deps" >&2
	exit 77
fi
echo "integration: host KVM is $(nested_kvm_kind);" \
	"$(nested_needs_l1 && echo 'running in the level-1 harness' || echo 'running directly')"
nested_run_script "$@"

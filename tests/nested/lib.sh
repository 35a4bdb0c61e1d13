# shellcheck shell=bash
# tests/nested/lib.sh: helpers for tests that boot real Linux guests.
# Source it from bash:  . "$repo/tests/nested/lib.sh"
#
# Real KVM (kvm_intel or kvm_amd loaded): the test runs here, directly.
# Anything else (kvm_pvm, which cannot boot a stock kernel, or no KVM at all):
# the test runs inside a level-1 host with nested KVM, via run-in-l1.

nested_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# nested_kvm_kind: prints vmx, svm, pvm, none or unknown: what /dev/kvm is
# here, as microvmm itself decides it from /dev/kvm (`microvmm --version`:
# it opens the device and asks a throwaway vCPU). Without a built microvmm,
# a guess from /dev/kvm's presence and /sys/module.
nested_kvm_kind() {
	local bin=${MICROVMM_BIN:-$nested_repo/build/microvmm} kind
	if [[ ! -c /dev/kvm ]]; then
		echo none
		return
	fi
	if [[ -x $bin ]]; then
		kind=$("$bin" --version 2>/dev/null | sed -n 's/.*(KVM: \([a-z]*\).*/\1/p')
		case $kind in
		vmx | svm | pvm | none) echo "$kind" ;;
		*) echo unknown ;;
		esac
	elif [[ -d /sys/module/kvm_intel ]]; then
		echo vmx
	elif [[ -d /sys/module/kvm_amd ]]; then
		echo svm
	elif [[ -d /sys/module/kvm_pvm ]]; then
		echo pvm
	else
		echo unknown
	fi
}

# nested_needs_l1: true when Linux guests must run in a level-1 host here:
# no /dev/kvm, PVM, or anything but VMX/SVM KVM.
nested_needs_l1() {
	case $(nested_kvm_kind) in
	vmx | svm) return 1 ;;
	*) return 0 ;;
	esac
}

# nested_kvm_usable: true when freestanding test guests can run here (any
# KVM that opens, PVM included); else they go to the level-1 host too.
nested_kvm_usable() {
	case $(nested_kvm_kind) in
	vmx | svm | pvm) [[ -r /dev/kvm && -w /dev/kvm ]] ;;
	*) return 1 ;;
	esac
}

# nested_run_script [--with-qemu] [--file SRC:DST]... [--share-host DIR]... SCRIPT [ARGS...]
# Runs SCRIPT (POSIX sh: in the level-1 host it is busybox ash; lib.sh from
# its directory goes along to the same place) with $GUEST
# set to a directory holding vmlinuz and initrd.img and microvmm on PATH, in
# a level-1 host when nested_needs_l1, else directly. Returns the script's
# status; 3 means the level-1 host failed three times (not a microvmm
# failure), 4 that the script printed nothing for 10 minutes in a live host.
# --with-qemu, --file and --share-host only matter for the level-1 case
# (here the host's own QEMU, files and directories are already reachable).
nested_run_script() {
	local l1_args=() script
	while [[ $# -gt 0 ]]; do
		case $1 in
		--with-qemu)
			l1_args+=("$1")
			shift
			;;
		--file | --share-host)
			l1_args+=("$1" "$2")
			shift 2
			;;
		*) break ;;
		esac
	done
	script=$1
	shift
	# The scripts' shared helpers (tests/integration/lib.sh) travel beside them.
	if [[ -f $(dirname "$script")/lib.sh ]]; then
		l1_args+=(--file "$(dirname "$script")/lib.sh:/l1/test/lib.sh")
	fi
	if nested_needs_l1; then
		"$nested_repo/tests/nested/run-in-l1" "${l1_args[@]}" \
			--file "$script:/l1/test/$(basename "$script")" \
			-- sh "/l1/test/$(basename "$script")" "$@"
	else
		local guest_dir=${MICROVMM_GUEST_DIR:-$nested_repo/build/guest}
		local bin=${MICROVMM_BIN:-$nested_repo/build/microvmm}
		if [[ -z ${MICROVMM_GUEST_DIR:-} || ! -f $guest_dir/initrd.img ]]; then
			"$nested_repo/guest-image/build" "$guest_dir" >&2 || return 2
		fi
		GUEST=$guest_dir KERNEL=$guest_dir/${MICROVMM_GUEST_KERNEL:-vmlinuz} \
			PATH=$(dirname "$bin"):$PATH sh "$script" "$@"
	fi
}

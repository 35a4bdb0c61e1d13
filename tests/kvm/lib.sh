# shellcheck shell=bash
# Helpers shared by the freestanding-guest scripts (test_faults.sh, test_soak.sh): sourced
# from the script's directory (tests/kvm/ here, /l1/test/ in the level-1 host, where
# run-kvm-test.sh puts it beside them).
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

# need_kvm_and_helpers VIRTIOFSD PASST: skips (77) without an accessible /dev/kvm or without
# the helpers; puts passt's directory first on PATH (microvmm finds passt there).
need_kvm_and_helpers() {
	if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is missing or not accessible; these tests need KVM" >&2
		exit 77
	fi
	local tool
	for tool in "$1" "$2"; do
		if [ ! -x "$tool" ]; then
			echo "SKIP: $tool is missing (run scripts/install-deps)" >&2
			exit 77
		fi
	done
	PATH=$(dirname "$2"):$PATH
	export PATH
}

# A run with a share and --net user: the freestanding guest ignores both, but microvmm starts
# and wires virtiofsd and passt for them as for any guest.
# helper_args VIRTIOFSD SHARE_DIR
helper_args() {
	echo --virtiofsd "$1" --share "$2:/workspace" --net user
}

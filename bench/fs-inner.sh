#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host, as root): the
# guest scenario fs-bench over virtio-fs, RUNS times each, interleaved, under
# microvmm (--share, its own virtiofsd) and QEMU q35 (vhost-user-fs-pci with
# a virtiofsd started here), same kernel, initrd, command line and daemon
# binary. Prints "BENCH <vmm> status=.. mb=.. files=.. write_s=.. read_s=..
# create_s=.. stat_s=.." per boot. Needs microvmm and qemu-system-x86_64 on
# PATH, $GUEST. Env: BENCH_FS_MB (256), BENCH_FS_FILES (2000),
# BENCH_VIRTIOFSD (/usr/lib/qemu/virtiofsd).
set -u
runs=${1:-3}
mb=${BENCH_FS_MB:-256}
files=${BENCH_FS_FILES:-2000}
vfsd=${BENCH_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
k=$GUEST/vmlinuz
i=$GUEST/initrd.img
cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on quiet microvmm.test=fs-bench microvmm.fs_mb=$mb microvmm.fs_files=$files"
w=$(mktemp -d /tmp/fs-bench.XXXXXX) || exit 1
trap 'rm -rf "$w"' EXIT
# The same daemon options microvmm gives the C virtiofsd for --share (cache=auto,
# no xattr). sandbox=chroot where / is the initramfs (the level-1 host):
# pivot_root(2), which the default namespace sandbox needs, refuses rootfs.
sandbox=
[ "$(awk '$2 == "/" {t = $3} END {print t}' /proc/self/mounts)" = rootfs ] && sandbox="-o sandbox=chroot"

# shellcheck source=bench/inner-lib.sh
. "$(dirname "$0")/inner-lib.sh"
report() { report_scenario fs "$@"; }

n=1
while [ $n -le "$runs" ]; do
	rm -rf "$w/m" && mkdir "$w/m"
	microvmm --kernel "$k" --initrd "$i" --mem 512M --share "$w/m:/fsbench" \
		--cmdline "$cmdline microvmm.fstag=microvmm0" </dev/null >"$w/out" 2>&1
	report microvmm $? "$w/out"

	rm -rf "$w/q" "$w/q.sock" && mkdir "$w/q"
	# shellcheck disable=SC2086 # $sandbox is empty or two words
	"$vfsd" --socket-path="$w/q.sock" -o source="$w/q" -o cache=auto -o no_xattr \
		-o log_level=err $sandbox </dev/null >"$w/vfsd.log" 2>&1 &
	vpid=$!
	t=0
	while [ ! -S "$w/q.sock" ] && [ $t -lt 100 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp 1 -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-chardev socket,id=fs,path="$w/q.sock" -device vhost-user-fs-pci,chardev=fs,tag=benchfs \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel "$k" -initrd "$i" \
		-append "$cmdline microvmm.fstag=benchfs" </dev/null >"$w/out" 2>&1
	st=$?
	# virtiofsd ends by itself when QEMU closes the connection.
	reap_helper $vpid
	[ $st = 0 ] || sed 's/^/  virtiofsd | /' "$w/vfsd.log" >&2
	report qemu-q35 $st "$w/out"
	n=$((n + 1))
done

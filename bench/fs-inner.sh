#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host, as root): the
# guest scenario fs-bench over virtio-fs, RUNS times each, interleaved, under
# microvmm (--share, its own virtiofsd) and QEMU q35 (vhost-user-fs-pci with
# a virtiofsd started here), same kernel, initrd, command line and daemon
# binary. Prints "BENCH <vmm> status=.. mb=.. files=.. write_s=.. read_s=..
# create_s=.. stat_s=.." per boot. Needs microvmm and qemu-system-x86_64 on
# PATH, $GUEST. Env: BENCH_FS_MB (256), BENCH_FS_FILES (2000),
# BENCH_VIRTIOFSD (/usr/lib/qemu/virtiofsd), BENCH_FS_PERF (1: also print
# "PERF <vmm> EVENT=COUNT" lines, host-wide KVM and scheduler counts over the
# stat phase; needs perf on PATH).
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
# perf reads the kvm: tracepoints through tracefs (the level-1 host mounts none).
[ "${BENCH_FS_PERF:-}" = 1 ] && ! [ -d /sys/kernel/tracing/events ] &&
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null

# The KVM exits, interrupts and CPU time behind the stat rate, host-wide.
perf_events=kvm:kvm_exit,kvm:kvm_mmio,kvm:kvm_pio,kvm:kvm_msr,kvm:kvm_msi_set_irq,kvm:kvm_inj_virq
perf_events=$perf_events,kvm:kvm_emulate_insn,kvm:kvm_vcpu_wakeup,kvm:kvm_userspace_exit
perf_events=$perf_events,context-switches,task-clock
# perf_stat_phase SHARE NAME: counts from the last small file's creation (the
# create loop is done) to the first removal of the first or last file (rm -rf
# after the stat loop), so the window is the stat phase plus sync and
# drop_caches. Runs in the background beside the VM, which creates $w/done
# when it ends (a VM that fails early leaves no window).
perf_stat_phase() {
	[ "${BENCH_FS_PERF:-}" = 1 ] || return 0
	f=$1/small/f$((files - 1))
	while [ ! -e "$f" ] && [ ! -e "$w/done" ]; do sleep 0.1; done
	[ -e "$w/done" ] && return 0
	perf stat -a -x, -e "$perf_events" -o "$w/perf" &
	pp=$!
	while [ -e "$f" ] && [ -e "$1/small/f0" ] && [ ! -e "$w/done" ]; do sleep 0.1; done
	kill -INT $pp
	wait $pp
	awk -F, -v n="$2" 'NF > 3 && $1 !~ /^#/ { printf "PERF %s %s=%s\n", n, $3, $1 }' "$w/perf"
}

n=1
while [ $n -le "$runs" ]; do
	rm -rf "$w/m" "$w/done" && mkdir "$w/m"
	perf_stat_phase "$w/m" microvmm &
	pw=$!
	microvmm --kernel "$k" --initrd "$i" --mem 512M --share "$w/m:/fsbench" \
		--cmdline "$cmdline microvmm.fstag=microvmm0" </dev/null >"$w/out" 2>&1
	st=$?
	touch "$w/done"
	wait $pw
	report microvmm $st "$w/out"

	rm -rf "$w/q" "$w/q.sock" "$w/done" && mkdir "$w/q"
	# shellcheck disable=SC2086 # $sandbox is empty or two words
	"$vfsd" --socket-path="$w/q.sock" -o source="$w/q" -o cache=auto -o no_xattr \
		-o log_level=err $sandbox </dev/null >"$w/vfsd.log" 2>&1 &
	vpid=$!
	t=0
	while [ ! -S "$w/q.sock" ] && [ $t -lt 100 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	perf_stat_phase "$w/q" qemu-q35 &
	pw=$!
	qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp 1 -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-chardev socket,id=fs,path="$w/q.sock" -device vhost-user-fs-pci,chardev=fs,tag=benchfs \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel "$k" -initrd "$i" \
		-append "$cmdline microvmm.fstag=benchfs" </dev/null >"$w/out" 2>&1
	st=$?
	touch "$w/done"
	wait $pw
	# virtiofsd ends by itself when QEMU closes the connection.
	reap_helper $vpid
	[ $st = 0 ] || sed 's/^/  virtiofsd | /' "$w/vfsd.log" >&2
	report qemu-q35 $st "$w/out"
	n=$((n + 1))
done

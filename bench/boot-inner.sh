#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host): boots the same
# kernel and initrd with microvmm, QEMU -M microvm and QEMU -M q35, RUNS times
# each, interleaved, and prints one "BENCH <vmm> <timer fields>" line per boot.
# Needs boot_timer, microvmm and qemu-system-x86_64 on PATH and $GUEST.
set -u
runs=${1:-5}
cpus=${BENCH_CPUS:-1}
mem=${BENCH_MEM:-512M}
cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on quiet microvmm.test=report microvmm.bootmark=1"
k=$GUEST/vmlinuz
i=$GUEST/initrd.img
# Guest RAM from a shared memfd in all three, so RssShmem is guest RAM and
# RssAnon+RssFile is each VMM's own memory.
qemu_common="-accel kvm -cpu host -smp $cpus -m $mem -object memory-backend-memfd,id=ram,size=$mem,share=on -nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $k -initrd $i"

n=1
while [ $n -le "$runs" ]; do
	echo "BENCH microvmm $(boot_timer MICROVMM-INIT-START -- microvmm --kernel "$k" --initrd "$i" --cpus "$cpus" --mem "$mem" --cmdline "$cmdline")"
	# shellcheck disable=SC2086
	echo "BENCH qemu-microvm $(boot_timer MICROVMM-INIT-START -- qemu-system-x86_64 -M microvm,acpi=on,pit=off,pic=off,rtc=off,memory-backend=ram $qemu_common -append "$cmdline")"
	# shellcheck disable=SC2086
	echo "BENCH qemu-q35 $(boot_timer MICROVMM-INIT-START -- qemu-system-x86_64 -M q35,memory-backend=ram $qemu_common -append "$cmdline")"
	n=$((n + 1))
done

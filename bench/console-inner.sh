#!/bin/sh
# Runs inside the level-1 host (or on a VMX/SVM host): for microvmm and QEMU
# q35 with virtio-serial, the time from exec to the guest's command start and
# the guest->host throughput of 64 MiB through a virtio console port.
# Prints "BENCH <vmm> start_ms=.. dd_seconds=.." lines. Needs boot_timer.
set -u
runs=${1:-3}
k=$GUEST/vmlinuz
i=$GUEST/initrd.img
cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on quiet microvmm.test=console-bench"
n=1
while [ $n -le "$runs" ]; do
	# Both VMMs send the 64 MiB to their stdout, drained by the same fast reader (tr).
	t=$(boot_timer MICROVMM-CMD-START -- sh -c "microvmm --kernel $k --initrd $i --mem 512M --cmdline '$cmdline' </dev/null | tr -d '\\000'")
	echo "BENCH microvmm $(echo "$t" | grep -o 'init_ms=[0-9.]*') $(echo "$t" | grep -o 'dd_seconds=[0-9.]*')"
	t=$(boot_timer MICROVMM-CMD-START -- sh -c "qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp 1 -m 512M \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $k -initrd $i \
		-device virtio-serial-pci,max_ports=4 -chardev file,id=out,path=/proc/self/fd/1 \
		-device virtserialport,chardev=out,name=microvmm.stdout -append '$cmdline' </dev/null | tr -d '\\000'")
	echo "BENCH qemu-q35 $(echo "$t" | grep -o 'init_ms=[0-9.]*') $(echo "$t" | grep -o 'dd_seconds=[0-9.]*')"
	n=$((n + 1))
done

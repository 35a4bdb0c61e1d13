#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host): boots the same kernel and
# initrd with microvmm and QEMU, RUNS times each, interleaved, and prints one
# "BENCH <vmm>/<cmdline> <timer fields>" line per boot. Two command lines, the same words for
# every VMM: "default" (microvmm's own default, vmm/config/config.h) and "plain" (what a user
# writes: console, quiet, panic). Each VMM runs in its best plain configuration: QEMU with its
# own anonymous RAM (a memfd backend would put its guest on 4 KiB pages, docs/benchmarks.md),
# q35 for both command lines and microvm for the default one. With $GUEST/vmlinux (the same
# kernel uncompressed) a third pair, "plain-vmlinux": microvmm enters its startup_64 directly,
# QEMU boots the same ELF through its PVH entry (the kernel has CONFIG_PVH).
# With $MINIMAL (default /minimal: microvmm's minimal kernel and its initrd) two more pairs, "plain-minimal"
# (bzImage) and "plain-minimal-vmlinux" (PVH for both).
# Needs boot_timer, microvmm and qemu-system-x86_64 on PATH and $GUEST.
set -u
runs=${1:-5}
cpus=${BENCH_CPUS:-1}
mem=${BENCH_MEM:-512M}
# The guest init prints the /init marker and its timeline report with microvmm.bootmark.
guest_words="microvmm.test=report microvmm.bootmark=1"
default_cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on i8042.noaux i8042.nokbd quiet $guest_words"
plain_cmdline="console=ttyS0 quiet panic=-1 $guest_words"
k=$GUEST/vmlinuz
i=$GUEST/initrd.img
mdir=${MINIMAL:-/minimal}
qemu="qemu-system-x86_64 -accel kvm -cpu host -smp $cpus -m $mem -nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $k -initrd $i"

# One group of boots each; every round starts with a different group (the first boot of a
# round ran measurably slower: whatever the level-1 host does after the round before is then
# shared out instead of landing on one row).
group_stock() { # default and plain command lines, bzImage
	for line in default plain; do
		eval "c=\$${line}_cmdline"
		echo "BENCH microvmm/$line $(boot_timer MICROVMM-INIT-START -- microvmm --boot-timeline --kernel "$k" --initrd "$i" --cpus "$cpus" --mem "$mem" --cmdline "$c")"
		# shellcheck disable=SC2086 # $qemu is words
		echo "BENCH qemu-q35/$line $(boot_timer MICROVMM-INIT-START -- $qemu -M q35 -append "$c")"
		if [ $line = default ]; then
			# shellcheck disable=SC2086
			echo "BENCH qemu-microvm/$line $(boot_timer MICROVMM-INIT-START -- $qemu -M microvm,acpi=on,pit=off,pic=off,rtc=off -append "$c")"
		fi
	done
}
group_command() {
	# microvmm's own job: `-- true` (its default command line, the run configuration in the
	# initrd); the command column is when the init starts `true`. No QEMU peer runs it. A
	# command's run shows the guest console only in --console-log: here, boot_timer's pipe.
	echo "BENCH microvmm/command-true $(boot_timer MICROVMM-INIT-START -- microvmm --boot-timeline --console-log /dev/stdout --kernel "$k" --initrd "$i" --cpus "$cpus" --mem "$mem" --append microvmm.bootmark=1 -- true)"
}
group_vmlinux() {
	[ -f "$GUEST/vmlinux" ] || return 0
	c=$plain_cmdline
	echo "BENCH microvmm/plain-vmlinux $(boot_timer MICROVMM-INIT-START -- microvmm --boot-timeline --kernel "$GUEST/vmlinux" --initrd "$i" --cpus "$cpus" --mem "$mem" --cmdline "$c")"
	# shellcheck disable=SC2086
	echo "BENCH qemu-q35/plain-vmlinux $(boot_timer MICROVMM-INIT-START -- $(echo "$qemu" | sed "s|-kernel $k|-kernel $GUEST/vmlinux|") -M q35 -append "$c")"
}
group_minimal() {
	# microvmm's minimal kernel (guest-image/build --kernel minimal, staged at /minimal by
	# bench/boot when built) with its own initrd (no modules): the bzImage and the vmlinux
	# through PVH, for both VMMs, the plain command line.
	[ -f "$mdir/vmlinuz" ] || return 0
	c=$plain_cmdline
	for mk in vmlinuz vmlinux; do
		row=plain-minimal
		[ $mk = vmlinux ] && row=plain-minimal-vmlinux
		echo "BENCH microvmm/$row $(boot_timer MICROVMM-INIT-START -- microvmm --boot-timeline --kernel "$mdir/$mk" --initrd "$mdir/initrd.img" --cpus "$cpus" --mem "$mem" --cmdline "$c")"
		# shellcheck disable=SC2086
		echo "BENCH qemu-q35/$row $(boot_timer MICROVMM-INIT-START -- $(echo "$qemu" | sed "s|-kernel $k -initrd $i|-kernel $mdir/$mk -initrd $mdir/initrd.img|") -M q35 -append "$c")"
	done
}

groups="stock command vmlinux minimal"
n=1
while [ $n -le "$runs" ]; do
	for g in $groups; do "group_$g"; done
	# The next round starts one group later.
	set -- $groups
	first=$1
	shift
	groups="$* $first"
	n=$((n + 1))
done

#!/bin/sh
# Shared by the report scenarios: one MICROVMM-REPORT line per fact.
report() {
	memtotal=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
	echo "MICROVMM-REPORT nproc=$(nproc) memtotal_kb=$memtotal cmdline=$(cat /proc/cmdline)"
	memline=$(dmesg | grep -m1 'Memory: ' | sed 's/^\[[^]]*\] *//')
	echo "MICROVMM-REPORT dmesg-memory=$memline"
	# boot_params.hdr.type_of_loader (boot.rst, offset 0x210): 0xff from microvmm's own
	# zero page, 0xb0 when Linux built it from a PVH start info (init_pvh_bootparams).
	loader=$(od -An -tx1 -j 528 -N 1 /sys/kernel/boot_params/data 2>/dev/null | tr -d ' ')
	echo "MICROVMM-REPORT loader=${loader:-unknown}"
	# Kernel warnings (WARN_ON splats) during boot, and the first one's text. Not counted: the
	# XSAVE size check, which fails under any VMM in the level-1 test host (its nested KVM,
	# itself on QEMU's TCG, reports a stale CPUID 0xD size; QEMU's guests there warn alike).
	# One line per warning: the line before each "WARNING: CPU:" (its message, or "cut here").
	warned=$(dmesg | grep -B1 'WARNING: CPU:' | grep -v -e 'WARNING: CPU:' -e '^--$' |
		grep -v 'XSAVE consistency problem')
	warnings=0
	[ -z "$warned" ] || warnings=$(printf '%s\n' "$warned" | wc -l)
	first=$(printf '%s\n' "$warned" | head -n1 | sed 's/^\[[^]]*\] *//')
	echo "MICROVMM-REPORT kernel_warnings=$warnings first_warning=$first"
	# Seconds since the kernel started, when the scenario ran (boot time).
	echo "MICROVMM-REPORT uptime=$(cut -d' ' -f1 /proc/uptime)"
}

#!/bin/sh
# Shared by the report scenarios: one MICROVMM-REPORT line per fact.
report() {
	memtotal=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
	echo "MICROVMM-REPORT nproc=$(nproc) memtotal_kb=$memtotal cmdline=$(cat /proc/cmdline)"
	memline=$(dmesg | grep -m1 'Memory: ' | sed 's/^\[[^]]*\] *//')
	echo "MICROVMM-REPORT dmesg-memory=$memline"
	# Seconds since the kernel started, when the scenario ran (boot time).
	echo "MICROVMM-REPORT uptime=$(cut -d' ' -f1 /proc/uptime)"
}

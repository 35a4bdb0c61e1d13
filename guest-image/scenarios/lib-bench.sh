#!/bin/sh
# Shared by the benchmark scenarios (fs-bench, net-bench): the kernel command
# line's microvmm.* knobs, times from /proc/uptime, and the error report.
# $bench_kind names the report: "MICROVMM-REPORT $bench_kind ...".

# arg NAME-REGEX: the value of NAME=VALUE on the kernel command line.
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }
now() { cut -d' ' -f1 /proc/uptime; }
# since T: seconds from uptime T to now, 10 ms steps.
since() { echo "$1 $(now)" | awk '{printf "%.2f", $2 - $1}'; }
# fail WHAT: the error report, then power off.
fail() {
	echo "MICROVMM-REPORT ${bench_kind:-bench} error=$1"
	poweroff -f
	exit 1
}

#!/bin/sh
# Scenario "panic": crash the kernel on purpose (sysrq "c").
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
# Not reached unless the trigger failed.
echo "MICROVMM-REPORT panic-trigger-failed"
poweroff -f

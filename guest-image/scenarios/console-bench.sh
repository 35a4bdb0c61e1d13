#!/bin/sh
# Scenario "console-bench": time to here, then 64 MiB through the virtio port
# named microvmm.stdout (bench/console runs it under microvmm and QEMU alike).
echo MICROVMM-CMD-START
port=
for d in /sys/class/virtio-ports/*; do
	[ "$(cat "$d/name" 2>/dev/null)" = microvmm.stdout ] && port=/dev/$(basename "$d")
done
if [ -n "$port" ]; then
	start=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/zero of="$port" bs=65536 count=1024 2>/dev/null
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "MICROVMM-REPORT dd_seconds=$(echo "$end $start" | awk '{print $1 - $2}')"
else
	echo "MICROVMM-REPORT no-port"
fi
poweroff -f

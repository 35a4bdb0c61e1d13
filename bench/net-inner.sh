#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host, as root, in
# its own network namespace): the guest scenario net-bench RUNS times for
# each of microvmm and QEMU q35 (virtio-net-pci) on two back-ends, interleaved,
# same kernel, initrd, command line and MAC:
#   passt  microvmm --net user --allow 10.0.2.50; QEMU -netdev stream on the
#          socket of a passt started here with the options microvmm gives its
#          own. The guest talks to 10.0.2.50, a second address of the host's
#          uplink: not to the gateway 10.0.2.2, because passt sends the
#          guest's pings out through ping sockets to the address as given,
#          and nothing answers at 10.0.2.2.
#   tap    an existing tap with 192.168.60.1/24 on the host side: microvmm
#          --net tap=tapb; QEMU -netdev tap,ifname=tapb,vhost=off.
# Prints "BENCH <vmm>-<backend> status=.. mb=.. rtt_ms=.. rx_s=.. tx_s=.."
# per boot: rx host -> guest (the guest's wget from busybox httpd here), tx
# guest -> host (wget here from the guest's busybox httpd on port 8080:
# directly on the tap, through the forwarded port 8081 with passt). Needs
# microvmm, qemu-system-x86_64, passt, busybox httpd and wget, iproute2
# (/l1/bin/ip in the level-1 host), $GUEST built with the net-bench scenario.
# Env: BENCH_NET_MB (256), BENCH_NET_TIMEOUT (seconds per boot, 600),
# BENCH_NET_ONLY (names to run, e.g. "microvmm-tap qemu-q35-tap"; all).
set -u
runs=${1:-3}
mb=${BENCH_NET_MB:-256}
limit=${BENCH_NET_TIMEOUT:-600}
only=${BENCH_NET_ONLY:-}
if [ ! -d /l1 ] && [ -z "${NET_BENCH_ISOLATED:-}" ]; then
	# Leave the machine's own networking alone.
	NET_BENCH_ISOLATED=1 exec unshare --net --mount --propagation private sh "$0" "$@"
fi
IP=ip
[ -x /l1/bin/ip ] && IP=/l1/bin/ip
k=$GUEST/vmlinuz
i=$GUEST/initrd.img
mac=52:54:00:12:34:56
mem=1G # the guest keeps the tx file in a tmpfs
cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on quiet microvmm.test=net-bench microvmm.nb_mb=$mb"
w=$(mktemp -d /tmp/net-bench.XXXXXX) || exit 1
servers=
cleanup() {
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$servers" ] || kill $servers 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT

# passt's world: an uplink with a default route (passt copies 10.0.2.15/24
# and the gateway 10.0.2.2 to the guest) and the address the guest talks to.
# passt's ICMP goes through ping sockets as "nobody": allow those.
$IP link set lo up
$IP link add up0 type dummy
$IP addr add 10.0.2.15/24 dev up0
$IP addr add 10.0.2.50/24 dev up0
$IP link set up0 up
$IP route add default via 10.0.2.2 dev up0
if [ -n "${NET_BENCH_ISOLATED:-}" ]; then
	echo "nameserver 10.0.2.15" >"$w/resolv.conf"
	mount --bind "$w/resolv.conf" /etc/resolv.conf
else
	echo "nameserver 10.0.2.15" >/etc/resolv.conf
fi
echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range
# The tap's world.
$IP tuntap add dev tapb mode tap
$IP addr add 192.168.60.1/24 dev tapb
$IP link set tapb up

# passt binds its socket after dropping to nobody: a directory it may write.
mkdir -p "$w/www" "$w/p"
chmod 0755 "$w"
chown 65534:65534 "$w/p"
head -c $((mb * 1048576)) /dev/zero >"$w/www/net-bench"
httpd -f -p 8000 -h "$w/www" &
servers="$servers $!"

# shellcheck source=bench/inner-lib.sh
. "$(dirname "$0")/inner-lib.sh"
now() { cut -d' ' -f1 /proc/uptime; }
# kvm_counts: KVM's exit, interrupt and halt counts of the one VM running
# (debugfs; nothing where it is not mounted). The guest's work per frame
# shows in them: each interrupt costs the nested guest several exits.
kvm_counts() {
	for d in /sys/kernel/debug/kvm/*-*; do
		[ -r "$d/exits" ] || continue
		echo "$(cat "$d/exits") $(cat "$d/irq_injections") $(cat "$d/halt_exits")"
		return
	done
}
# fetch_tx URL OUT PID: once the guest (PID, console in OUT) says it serves,
# time the download of URL/net-bench and hand the seconds back to the guest;
# before that, the VM's KVM counts over its receive part go to stderr.
fetch_tx() {
	j=0
	until grep -q 'net-bench: rtt' "$2" 2>/dev/null; do
		alive "$3" || break
		sleep 0.05
	done
	k0=$(kvm_counts)
	until grep -q 'net-bench: serving' "$2" 2>/dev/null; do
		alive "$3" || return
		sleep 0.2
		j=$((j + 1))
		[ $j -lt $((limit * 5)) ] || return
	done
	k1=$(kvm_counts)
	if [ -n "$k0" ] && [ -n "$k1" ]; then
		echo "$k0 $k1" | awk -v name="$name" '{printf "  %s | kvm during rx: exits=%d interrupts=%d halts=%d\n", name, $4 - $1, $5 - $2, $6 - $3}' >&2
	fi
	t0=$(now)
	if timeout "$limit" wget -q -O /dev/null "$1/net-bench"; then
		secs=$(echo "$t0 $(now)" | awk '{printf "%.2f", $2 - $1}')
	else
		secs=failed
	fi
	timeout 20 wget -q -O /dev/null "$1/cgi-bin/done?tx_s=$secs"
}
# boot NAME TX-URL COMMAND...: one boot in the background, with the tx fetch (NAME: for the reader).
boot() {
	name=$1
	url=$2
	shift 2
	rm -f "$w/out"
	"$@" </dev/null >"$w/out" 2>&1 &
	vpid=$!
	fetch_tx "$url" "$w/out" $vpid
	wait $vpid
	st=$?
}
say() { echo "net-inner: $*" >&2; }
want() {
	case " ${only:-$1} " in *" $1 "*) return 0 ;; esac
	return 1
}
# The tap's counters: frames the kernel could not queue for the VMM, and the
# frames and bytes it handed the VMM (their sizes: GSO frames of up to 64 KiB).
tap_drops() {
	$IP -s link show tapb | awk '/TX:/ {getline; printf "tap-tx-dropped=%s tap-tx-packets=%s tap-tx-bytes=%s ", $4, $2, $1}'
	awk '/^Tcp:/ {if (h) print "host-retrans=" $13; h = 1}' /proc/net/snmp
}
report() {
	report_scenario net "$@"
	tr -d '\r' <"$3" | grep -a 'microvmm: info: net: tx' | sed "s/^/  $1 | /" >&2
}
qemu() {
	timeout "$limit" qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp 1 -m $mem \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$k" -initrd "$i" "$@"
}

# KVM's per-VM counters, for kvm_counts.
[ -d /sys/kernel/debug/kvm ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
n=1
while [ $n -le "$runs" ]; do
	say "run $n of $runs"
	passt_line="$cmdline microvmm.nb_host=10.0.2.50"
	tap_line="$cmdline microvmm.nb_host=192.168.60.1 microvmm.nb_ip=192.168.60.2/24"

	if want microvmm-passt; then
		boot microvmm-passt http://127.0.0.1:8081 timeout "$limit" microvmm --verbose \
			--kernel "$k" --initrd "$i" --mem $mem --mac $mac --net user \
			--allow 10.0.2.50 --publish 8081:8080 --cmdline "$passt_line"
		report microvmm-passt $st "$w/out"
	fi

	if want qemu-q35-passt; then
		rm -f "$w/p/passt.sock"
		passt --foreground --quiet --one-off --runas 65534:65534 --no-map-gw \
			--dns-forward 169.254.1.53 --tcp-ports 8081:8080 --socket "$w/p/passt.sock" \
			</dev/null >"$w/passt.log" 2>&1 &
		ppid_=$!
		t=0
		while [ ! -S "$w/p/passt.sock" ] && [ $t -lt 100 ]; do
			sleep 0.1
			t=$((t + 1))
		done
		boot qemu-q35-passt http://127.0.0.1:8081 qemu \
			-netdev stream,id=n0,server=off,addr.type=unix,addr.path="$w/p/passt.sock" \
			-device virtio-net-pci,netdev=n0,mac=$mac,romfile= -append "$passt_line"
		reap_helper $ppid_
		[ $st = 0 ] || sed 's/^/  passt | /' "$w/passt.log" >&2
		report qemu-q35-passt $st "$w/out"
	fi

	if want microvmm-tap; then
		$IP neigh flush dev tapb 2>/dev/null
		d0=$(tap_drops)
		boot microvmm-tap http://192.168.60.2:8080 timeout "$limit" microvmm --verbose \
			--kernel "$k" --initrd "$i" --mem $mem --mac $mac --net tap=tapb \
			--cmdline "$tap_line"
		report microvmm-tap $st "$w/out"
		say "microvmm-tap: before $d0, after $(tap_drops)"
	fi

	if want qemu-q35-tap; then
		$IP neigh flush dev tapb 2>/dev/null
		d0=$(tap_drops)
		boot qemu-q35-tap http://192.168.60.2:8080 qemu \
			-netdev tap,id=n0,ifname=tapb,script=no,downscript=no,vhost=off \
			-device virtio-net-pci,netdev=n0,mac=$mac,romfile= -append "$tap_line"
		report qemu-q35-tap $st "$w/out"
		say "qemu-q35-tap: before $d0, after $(tap_drops)"
	fi
	n=$((n + 1))
done

#!/bin/sh
# Networking: --net user (passt), --net tap=, --net bridge=, --ip and DHCP,
# --allow-host-loopback[=PORT], --publish, the --allow egress rules (addresses and
# names taught by DNS) and their log lines, a hostile guest pushing garbage
# frames through AF_PACKET, and the failure statuses (125, one line, nothing
# left behind). POSIX sh (busybox ash in the level-1 host); runs as root.
#
# The world it builds (level-1 host only; elsewhere in a private network and
# mount namespace, see below):
#   up0      dummy uplink 10.0.2.15/24 (+ .50 and .51), default via 10.0.2.2:
#            passt copies 10.0.2.15/24 and the gateway to the guest; and
#            198.51.100.7/32, a public address (for the filter) of the host
#   dnsmasq  on 10.0.2.15:53, the only resolver in /etc/resolv.conf (passt
#            forwards the guest's 169.254.1.53 there): allowed.test ->
#            10.0.2.50, denied.test -> 10.0.2.51
#   httpd    on *:8000, *:8001, *:8002 serving a 32 MiB file and others
#   peer     network namespace 192.168.50.1/24 on veth vpeer, whose other end
#            is on bridge br0 with tap0; dnsmasq there serves DHCP
#            (192.168.50.100-199) and httpd serves the same files
# Needs: microvmm on PATH, $GUEST with vmlinuz and initrd.img, passt,
# dnsmasq, iproute2 (/l1/bin/ip in the level-1 host: busybox's ip applet
# would win), busybox httpd/nc/wget/timeout, and net_hostile (a static
# program, tests/integration/net_hostile.c) at /l1/bin/net-hostile or given
# as NET_HOSTILE=PATH.
# Usage: net.sh [NET_HOSTILE=PATH]
set -u
for a in "$@"; do
	case $a in
	NET_HOSTILE=*) export "${a?}" ;;
	*)
		echo "usage: net.sh [NET_HOSTILE=PATH]" >&2
		exit 2
		;;
	esac
done
lib_name=net
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: net.sh needs root (taps, bridges, network namespaces)" >&2
	exit 77
fi
# Outside the (throwaway) level-1 host the script changes nothing of the
# machine's own networking: it runs again in new network and mount namespaces.
if [ ! -d /l1 ] && [ -z "${NET_TEST_ISOLATED:-}" ]; then
	if ! command -v unshare >/dev/null; then
		echo "SKIP: net.sh needs unshare (util-linux) outside the level-1 host" >&2
		exit 77
	fi
	NET_TEST_ISOLATED=1 exec unshare --net --mount --propagation private sh "$0" "$@"
fi

# busybox ash runs its own applets before PATH: iproute2 goes by full path.
IP=ip
[ -x /l1/bin/ip ] && IP=/l1/bin/ip
hostile=${NET_HOSTILE:-}
[ -x /l1/bin/net-hostile ] && hostile=/l1/bin/net-hostile
missing=$(missing_tools microvmm passt dnsmasq httpd nc wget timeout sha256sum)
$IP -V 2>&1 | grep -q iproute2 || missing="$missing iproute2"
[ -n "$hostile" ] && [ -x "$hostile" ] || missing="$missing net_hostile"
if [ -n "$missing" ]; then
	echo "FAIL: missing:$missing"
	exit 1
fi
mvm=$(command -v microvmm)

t=$(mktemp -d /tmp/net-test.XXXXXX) || exit 1
chmod 0755 "$t"
servers=
cleanup() {
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$servers" ] || kill $servers 2>/dev/null
	$IP netns del peer 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

vm() { microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M "$@"; }
# shellcheck disable=SC2016 # expanded in the guest
guest_lib=$guest_lib'
addr() { ip -4 addr show dev eth0 | sed -n "s/^ *inet \([0-9.]*\/[0-9]*\).*/\1/p" | head -n 1; }
get() { # NAME URL SECS: R NAME ok SHA | R NAME fail
	if timeout "$3" wget -q -O "/tmp/$1" "$2" 2>/dev/null; then
		echo "R $1 ok $(sha256sum <"/tmp/$1" | cut -c1-64)"
	else
		echo "R $1 fail"
	fi
}
'
passt_left() { pidof passt 2>/dev/null; }
# vm_pids PID: the VM process(es) under supervisor PID.
vm_pids() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
# loop_policy PID: the scheduling policy (/proc stat field 41: 0 normal, 3
# SCHED_BATCH) of the "devices" thread in the VM process under supervisor PID.
loop_policy() {
	for c in $(vm_pids "$1"); do
		for d in /proc/"$c"/task/*; do
			[ "$(cat "$d/comm" 2>/dev/null)" = devices ] || continue
			# Fields after the command name, which ends with ") ": policy is field 41.
			sed 's/.*) //' "$d/stat" | awk '{print $39}'
			return
		done
	done
}
mvmm_taps() { $IP -o link show 2>/dev/null | sed -n 's/^[0-9]*: \(mvmm[0-9]*\)[:@].*/\1/p' | tr '\n' ' '; }
# clean WHAT: no passt and no tap of ours outlives microvmm.
clean() {
	p=$(passt_left)
	if [ -z "$p" ]; then ok "$1: no passt left running"; else
		bad "$1: passt still running (pid $p)"
		# shellcheck disable=SC2086 # a list of pids
		kill -9 $p 2>/dev/null
	fi
	m=$(mvmm_taps)
	if [ -z "$m" ]; then ok "$1: no mvmm tap left"; else bad "$1: taps left behind: $m"; fi
}
# unexpected ERRFILE: microvmm's lines other than egress and info logs, on one line.
unexpected() { grep '^microvmm: ' "$1" | grep -v '^microvmm: info: \|^microvmm: warn: net: egress: ' | head -n 5 | tr '\n' '|'; }
# egress_count ERRFILE REGEX: lines of microvmm's egress log matching REGEX.
egress_count() { grep -cE "net: egress: $2" "$1"; }
# res OUTFILE NAME: what the guest's `get NAME` said ("ok SHA" or "fail").
res() { sed -n "s/^R $2 //p" "$1"; }

# --- the world: uplink, DNS, web servers, peer namespace, bridge, tap -------

echo "net: setting up under $t"
$IP link set lo up
$IP link add up0 type dummy
$IP addr add 10.0.2.15/24 dev up0
$IP addr add 10.0.2.50/24 dev up0
$IP addr add 10.0.2.51/24 dev up0
$IP addr add 198.51.100.7/32 dev up0
$IP link set up0 up
$IP route add default via 10.0.2.2 dev up0
if [ -n "${NET_TEST_ISOLATED:-}" ]; then
	echo "nameserver 10.0.2.15" >"$t/resolv.conf"
	mount --bind "$t/resolv.conf" /etc/resolv.conf
else
	echo "nameserver 10.0.2.15" >/etc/resolv.conf
fi

mkdir -p "$t/www"
big_mb=32
head -c $((big_mb * 1048576)) /dev/urandom >"$t/www/big"
big_sum=$(sha256sum <"$t/www/big" | cut -c1-64)
head -c 262144 /dev/urandom >"$t/www/small" # a few hundred packets per fetch
small_sum=$(sha256sum <"$t/www/small" | cut -c1-64)
cp "$hostile" "$t/www/net-hostile"

dnsmasq -k -C /dev/null --no-resolv --no-hosts --local=/test/ --listen-address=10.0.2.15 \
	--bind-interfaces --address=/allowed.test/10.0.2.50 --address=/denied.test/10.0.2.51 \
	--user=root --pid-file="$t/dns.pid" --log-facility="$t/dns.log" --log-queries &
servers="$servers $!"
for port in 8000 8001 8002; do
	httpd -f -p $port -h "$t/www" &
	servers="$servers $!"
done

$IP netns add peer
$IP link add br0 type bridge
$IP link set br0 up
$IP link add vbr type veth peer name vpeer netns peer
$IP link set vbr master br0 up
$IP -n peer link set lo up
$IP -n peer addr add 192.168.50.1/24 dev vpeer
$IP -n peer link set vpeer up
$IP tuntap add dev tap0 mode tap
$IP link set tap0 master br0 up
$IP netns exec peer dnsmasq -k -C /dev/null --no-resolv --no-hosts --port=0 --interface=vpeer \
	--bind-interfaces --dhcp-range=192.168.50.100,192.168.50.199,255.255.255.0,1h \
	--dhcp-leasefile="$t/peer.leases" --user=root --pid-file="$t/peerdns.pid" \
	--log-facility="$t/peerdns.log" --log-dhcp &
servers="$servers $!"
$IP netns exec peer httpd -f -p 8000 -h "$t/www" &
servers="$servers $!"

i=0
until nslookup allowed.test 10.0.2.15 2>/dev/null | grep -q 10.0.2.50 &&
	timeout 5 wget -q -O /dev/null http://127.0.0.1:8000/small 2>/dev/null &&
	$IP netns exec peer timeout 5 wget -q -O /dev/null http://192.168.50.1:8000/small 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 40 ]; then
		bad "the test's DNS and web servers did not come up: $(cat "$t/dns.log" "$t/peerdns.log" 2>&1 | tail -n 5 | tr '\n' '|')"
		echo "$pass passed, $fail failed"
		exit 1
	fi
	sleep 0.25
done
ok "servers up: DNS on 10.0.2.15, httpd on :8000-8002, peer 192.168.50.1 with DHCP"

# --- 1. failures before the guest runs: 125, one line, nothing left ---------

# passt missing: microvmm looks on PATH, then at /usr/bin/passt.
nopath=/usr/sbin:/usr/bin:/sbin:/bin
if PATH=$nopath command -v passt >/dev/null || [ -x /usr/bin/passt ]; then
	echo "SKIP: 'passt not installed' check: passt is in $nopath here (the level-1 host has it in /l1/bin only)"
else
	PATH=$nopath timeout 120 "$mvm" --kernel "$KERNEL" --initrd "$GUEST/initrd.img" \
		--net user -- true </dev/null >"$t/f.out" 2>"$t/f.err"
	expect_status "--net user without passt installed" 125 $?
	if [ "$(grep -c . "$t/f.err")" = 1 ] && grep -q 'passt is not installed' "$t/f.err"; then
		ok "without passt: one line: $(cat "$t/f.err")"
	else
		bad "without passt: want one line 'passt is not installed', stderr: $(tr '\n' '|' <"$t/f.err")"
	fi
	clean "without passt"
fi
fails "--net tap=nope (no such tap)" "nope" --net tap=nope
fails "--net bridge=nobr (no such bridge)" "nobr" --net bridge=nobr
fails "--net tap=br0 (not a tap)" "br0" --net tap=br0
# Without CAP_NET_ADMIN (an unprivileged user): no tap on a bridge, and not a
# tap that belongs to root. Only where /dev/kvm may be opened by anyone (it is
# made so in the throwaway level-1 host, with /dev/net/tun as udev makes it on
# a real host).
[ -d /l1 ] && chmod 0666 /dev/kvm /dev/net/tun
# util-linux's setpriv: busybox has an applet of that name without --reuid.
SETPRIV=/usr/bin/setpriv
[ -x /l1/bin/setpriv ] && SETPRIV=/l1/bin/setpriv
if [ -x "$SETPRIV" ] && [ "$(stat -c %a /dev/kvm)" = 666 ]; then
	$IP tuntap add dev taproot mode tap user 0
	for what in "bridge=br0:CAP_NET_ADMIN" "tap=taproot:no permission to use tap taproot"; do
		$SETPRIV --reuid 65534 --regid 65534 --clear-groups timeout 120 "$mvm" --kernel "$KERNEL" \
			--initrd "$GUEST/initrd.img" --net "${what%%:*}" -- true </dev/null >"$t/f.out" 2>"$t/f.err"
		expect_status "--net ${what%%:*} as an unprivileged user" 125 $?
		if [ "$(grep -c . "$t/f.err")" = 1 ] && grep -qF -- "${what#*:}" "$t/f.err"; then
			ok "... one line naming '${what#*:}': $(cat "$t/f.err")"
		else
			bad "... want one line naming '${what#*:}', stderr: $(tr '\n' '|' <"$t/f.err")"
		fi
		clean "--net ${what%%:*} as an unprivileged user"
	done
	$IP link del taproot
else
	echo "SKIP: unprivileged bridge/tap checks: no setpriv, or /dev/kvm is not open to everyone"
fi
fails "--net user with a bad --allow rule" "bad_rule!" --net user --allow 'bad_rule!'
fails "--net user with --allow 10.0.0.0/33" "10.0.0.0/33" --net user --allow 10.0.0.0/33
fails "--net bridge=br0 with a bad --allow rule" "host:99999" --net bridge=br0 --allow host:99999
fails "--allow-host-loopback=0 (not a port)" "is not a port" --net user --allow-host-loopback=0
fails "--allow-host-loopback 8000 (a port goes after =)" "'8000'" --net user --allow-host-loopback 8000

# --- 2. --net user with --allow-host-loopback: the uplink's address, 32 MiB, hostile frames --

# shellcheck disable=SC2016 # expanded in the guest
guest_a=$guest_lib'
eq "eth0 has the address of the host uplink, given to passt and the init by microvmm (no DHCP)" "$(addr)" 10.0.2.15/24
# The init sets the mask with SIOCSIFNETMASK, which fills in the broadcast address; udhcpc
# (its script runs "ip addr add ADDR/N") would have left none.
eq "the init set the address itself, not a DHCP client" "$(ip -4 addr show dev eth0 | sed -n "s/.* brd \([0-9.]*\).*/\1/p")" 10.0.2.255
eq "eth0 has the MTU passt hands out" "$(cat /sys/class/net/eth0/mtu)" 65520
eq "the default route goes to the host gateway" "$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")" 10.0.2.2
eq "the resolver is the passt DNS forwarder" "$(sed -n "s/^nameserver //p" /etc/resolv.conf | head -n 1)" 169.254.1.53
t0=$(cut -d" " -f1 /proc/uptime)
got=$(timeout 120 wget -q -O - http://10.0.2.2:8000/big | sha256sum | cut -c1-64)
t1=$(cut -d" " -f1 /proc/uptime)
echo "BIG-SECONDS $(echo "$t1 $t0" | awk "{print \$1 - \$2}")"
eq "the 32 MiB file from the host loopback httpd (via 10.0.2.2) arrives intact" "$got" "$1"
# Every port of the host loopback; no --allow rule, so public addresses pass.
get gw8002 http://10.0.2.2:8002/small 60
get public http://198.51.100.7:8002/small 60
if timeout 30 wget -q -O /tmp/hostile http://10.0.2.2:8000/net-hostile && chmod 0755 /tmp/hostile; then
	/tmp/hostile eth0 20
	eq "net_hostile at MTU $(cat /sys/class/net/eth0/mtu) ran" $? 0
	if ip link set eth0 mtu 65535 2>/dev/null; then
		/tmp/hostile eth0 5
		eq "net_hostile at MTU 65535 ran" $? 0
		ip link set eth0 mtu 65520
	else
		echo "note: the guest refuses MTU 65535"
	fi
else
	F "could not fetch net_hostile from the host"
fi
eq "after the garbage: 32 MiB again, intact" "$(timeout 120 wget -q -O - http://10.0.2.2:8000/big | sha256sum | cut -c1-64)" "$1"
eq "after the garbage: DNS through passt still answers" "$(nslookup allowed.test 2>/dev/null | sed -n "s/^Address: *\(10\.[0-9.]*\).*/\1/p" | head -n 1)" 10.0.2.50
echo G-END
'
echo "net: user mode, --allow-host-loopback (32 MiB transfer, then garbage frames)"
start=$(now)
tvm 300 --net user --allow-host-loopback --user root -- sh -c "$guest_a" sh "$big_sum" \
	</dev/null >"$t/a.out" 2>"$t/a.err"
st=$?
secs=$(($(now) - start))
expect_status "user mode VM with the 32 MiB transfer and the hostile guest (${secs}s)" 0 $st
guest_results "$t/a.out" user
eq "bare --allow-host-loopback: every port of the host's loopback (10.0.2.2:8002)" "$(res "$t/a.out" gw8002)" "ok $small_sum"
eq "bare --allow-host-loopback, no --allow: a public address (198.51.100.7) still passes" "$(res "$t/a.out" public)" "ok $small_sum"
grep '^net_hostile:\|^note:' "$t/a.out" | sed 's/^/net: /'
# The garbage is logged, but at most 10 lines a second (plus one summary).
n=$(grep -c 'net: egress' "$t/a.err")
if [ "$n" -ge 1 ] && [ "$n" -le $((11 * secs + 11)) ]; then
	ok "the garbage frames were logged, rate-limited: $n egress lines in ${secs}s"
else
	bad "$n egress lines in ${secs}s: want 1 to $((11 * secs + 11))"
fi
grep 'net: egress' "$t/a.err" | head -n 4 | sed 's/^/net:   /'
bs=$(sed -n 's/^BIG-SECONDS //p' "$t/a.out")
[ -z "$bs" ] || echo "net: 32 MiB in ${bs}s (guest clock) = $(echo "$bs" | awk -v mb=$big_mb '$1 > 0 {printf "%.1f MiB/s", mb / $1}')"
e=$(unexpected "$t/a.err")
if [ -z "$e" ]; then ok "microvmm logged nothing but egress lines"; else bad "microvmm logged: $e"; fi
clean "user mode"

# --- 3. --net user: --allow rules, DNS-taught names, logs, --publish ---------

# Without --allow-host-loopback. Rules: 10.0.2.50:8000 by address,
# allowed.test:8001 by name (10.0.2.50 once DNS said so), and 10.0.2.2:8000,
# which the filter lets out but passt does not map to the host's loopback
# (--no-map-gw), so the loopback httpd stays out of reach.
# shellcheck disable=SC2016 # expanded in the guest
guest_b=$guest_lib'
mkdir -p /www/cgi-bin
seq 1 20000 >/www/known
head -c 8388608 /dev/urandom >/www/big
echo "BIGSUM $(sha256sum </www/big | cut -c1-64)"
{ echo "#!/bin/sh"; echo "touch /tmp/published"; echo "echo Content-Type: text/plain"; echo echo; echo "echo done"; } >/www/cgi-bin/done
chmod 0755 /www/cgi-bin/done
httpd -f -p 80 -h /www &
echo "SERVING"
# What passes by address (twice: one log line), and what must not, at once.
get ip8000a http://10.0.2.50:8000/small 60
get ip8000b http://10.0.2.50:8000/small 60
get ip8001 http://10.0.2.50:8001/small 8 & p1=$!
get denied http://denied.test:8001/small 8 & p2=$!
get ip8002 http://10.0.2.50:8002/small 8 & p3=$!
get gw8000 http://10.0.2.2:8000/small 8 & p4=$!
wait $p1 $p2 $p3 $p4
# The name rule: the DNS answer teaches 10.0.2.50 for port 8001.
get name8001 http://allowed.test:8001/small 60
get ip8001after http://10.0.2.50:8001/small 60
get name8002 http://allowed.test:8002/small 8
# The host fetches /known through --publish 8080:80, then /cgi-bin/done.
i=0
while [ ! -e /tmp/published ] && [ $i -lt 240 ]; do sleep 0.5; i=$((i + 1)); done
[ -e /tmp/published ] && P "the host reached the guest httpd through --publish" || F "the host never fetched /cgi-bin/done through --publish"
echo G-END
'
echo "net: user mode with --allow rules and --publish 8080:80"
start=$(now)
(exec "$mvm" --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M --verbose \
	--net user --allow 10.0.2.50:8000 --allow allowed.test:8001 --allow 10.0.2.2:8000 \
	--publish 8080:80 --user root -- sh -c "$guest_b" </dev/null >"$t/b.out" 2>"$t/b.err") &
pid=$!
# Fetch through the published port until the guest's httpd answers.
i=0
got=
while [ $i -lt 240 ] && alive $pid; do
	if grep -q '^SERVING' "$t/b.out" && timeout 10 wget -q -O "$t/known" http://127.0.0.1:8080/known 2>/dev/null; then
		got=$(sha256sum <"$t/known" | cut -c1-64)
		break
	fi
	sleep 0.5
	i=$((i + 1))
done
eq "--publish 8080:80: the host fetches the guest's file from 127.0.0.1:8080" "$got" "$(seq 1 20000 | sha256sum | cut -c1-64)"
# passt relays every frame: the device loop keeps the normal policy (docs/network.md).
eq "user mode: the device loop runs with the normal scheduling policy" "$(loop_policy $pid)" 0
# Guest -> host in bulk: 8 MiB through passt and the filter's inbound flow.
got=$(timeout 120 wget -q -O - http://127.0.0.1:8080/big 2>/dev/null | sha256sum | cut -c1-64)
eq "--publish: 8 MiB from the guest arrive intact" "$got" "$(sed -n 's/^BIGSUM //p' "$t/b.out")"
timeout 10 wget -q -O /dev/null http://127.0.0.1:8080/cgi-bin/done 2>/dev/null
wait_exit $pid 120
wait $pid
st=$?
secs=$(($(now) - start))
expect_status "user mode VM with --allow and --publish (${secs}s)" 0 $st
guest_results "$t/b.out" allow
r() { sed -n "s/^R $1 //p" "$t/b.out"; }
eq "10.0.2.50:8000 (--allow 10.0.2.50:8000) is reachable" "$(r ip8000a)" "ok $small_sum"
eq "10.0.2.50:8000 a second time" "$(r ip8000b)" "ok $small_sum"
eq "10.0.2.50:8001 before any lookup of allowed.test is not" "$(r ip8001)" "fail"
eq "denied.test:8001 (10.0.2.51) is not" "$(r denied)" "fail"
eq "10.0.2.50:8002 (no rule for the port) is not" "$(r ip8002)" "fail"
eq "10.0.2.2:8000 without --allow-host-loopback is not (passt does not map the gateway)" "$(r gw8000)" "fail"
eq "allowed.test:8001 (--allow allowed.test:8001) is reachable" "$(r name8001)" "ok $small_sum"
eq "10.0.2.50:8001 by address once DNS taught it" "$(r ip8001after)" "ok $small_sum"
eq "allowed.test:8002 (the name's rule is for 8001) is not" "$(r name8002)" "fail"
# One log line per destination and verdict, however many packets went there.
eq "one 'allowed' line for 10.0.2.50:8000 (two fetches)" "$(egress_count "$t/b.err" 'allowed tcp 10\.0\.2\.50:8000 \(rule 10\.0\.2\.50:8000\)$')" 1
eq "one 'dropped' line for 10.0.2.50:8001 (SYN retries)" "$(egress_count "$t/b.err" 'dropped tcp 10\.0\.2\.50:8001( |$)')" 1
eq "one 'allowed' line for 10.0.2.50:8001 by the name rule (two fetches)" "$(egress_count "$t/b.err" 'allowed tcp 10\.0\.2\.50:8001 \(rule allowed\.test:8001\)$')" 1
eq "one 'dropped' line for denied.test (10.0.2.51:8001)" "$(egress_count "$t/b.err" 'dropped tcp 10\.0\.2\.51:8001( |$)')" 1
eq "one 'dropped' line for 10.0.2.50:8002 (by address and by name)" "$(egress_count "$t/b.err" 'dropped tcp 10\.0\.2\.50:8002( |$)')" 1
eq "one 'allowed' line for 10.0.2.2:8000" "$(egress_count "$t/b.err" 'allowed tcp 10\.0\.2\.2:8000 ')" 1
dropped=$(egress_count "$t/b.err" 'dropped')
echo "net: egress log of that VM: $(grep -c 'net: egress' "$t/b.err") lines ($dropped dropped)"
grep 'net: egress' "$t/b.err" | sed 's/^/net:   /'
clean "user mode with rules"

# --- 3b. --allow-host-loopback=PORT without --allow, and --net-log ---------

# Ports 8000 and 8001 of the host's loopback only. The exception is not an
# --allow rule: a public address (198.51.100.7, the host's httpd) still
# passes, private ones do not. Without --verbose the allowed destinations go
# to --net-log only, stderr gets the drops.
# shellcheck disable=SC2016 # expanded in the guest
guest_c=$guest_lib'
get gw8000 http://10.0.2.2:8000/small 60
get gw8001 http://10.0.2.2:8001/small 60
get gw8002 http://10.0.2.2:8002/small 8 & p1=$!
get private http://10.0.2.50:8000/small 8 & p2=$!
get public http://198.51.100.7:8002/small 60
wait $p1 $p2
echo G-END
'
echo "net: user mode, --allow-host-loopback=8000 and =8001, no --allow, --net-log"
start=$(now)
tvm 300 --net user --allow-host-loopback=8000 --allow-host-loopback=8001 --net-log "$t/c.netlog" \
	--user root -- sh -c "$guest_c" </dev/null >"$t/c.out" 2>"$t/c.err"
expect_status "user mode VM with --allow-host-loopback=PORT ($(($(now) - start))s)" 0 $?
guest_results "$t/c.out" "loopback ports"
eq "10.0.2.2:8000 (--allow-host-loopback=8000) reaches the host's loopback httpd" "$(res "$t/c.out" gw8000)" "ok $small_sum"
eq "10.0.2.2:8001 (--allow-host-loopback=8001) too" "$(res "$t/c.out" gw8001)" "ok $small_sum"
eq "10.0.2.2:8002 (a port not given) does not" "$(res "$t/c.out" gw8002)" fail
eq "198.51.100.7:8002 passes: the exception is not an --allow rule" "$(res "$t/c.out" public)" "ok $small_sum"
eq "10.0.2.50:8000 (private) still does not" "$(res "$t/c.out" private)" fail
# netlog REGEX: lines of --net-log (after the UTC timestamp) matching REGEX.
netlog() { grep -cE "^[0-9T:.-]+Z egress: $1\$" "$t/c.netlog"; }
eq "--net-log: one 'allowed' line for 10.0.2.2:8000 (host loopback)" "$(netlog 'allowed tcp 10\.0\.2\.2:8000 \(host loopback\)')" 1
eq "--net-log: ... and one for 10.0.2.2:8001" "$(netlog 'allowed tcp 10\.0\.2\.2:8001 \(host loopback\)')" 1
eq "--net-log: one 'allowed' line for 198.51.100.7:8002 (no rules: where the guest went)" "$(netlog 'allowed tcp 198\.51\.100\.7:8002')" 1
eq "--net-log: one 'dropped' line for 10.0.2.2:8002" "$(netlog 'dropped tcp 10\.0\.2\.2:8002 \(host loopback: port not allowed\)')" 1
eq "--net-log: one 'dropped' line for 10.0.2.50:8000" "$(netlog 'dropped tcp 10\.0\.2\.50:8000 \(private or link-local address\)')" 1
eq "stderr without --verbose: no 'allowed' line" "$(egress_count "$t/c.err" allowed)" 0
eq "stderr: the 'dropped' line for 10.0.2.2:8002" "$(egress_count "$t/c.err" 'dropped tcp 10\.0\.2\.2:8002 ')" 1
e=$(unexpected "$t/c.err")
if [ -z "$e" ]; then ok "loopback ports: microvmm logged nothing but egress lines"; else bad "loopback ports: microvmm logged: $e"; fi
sed 's/^/net:   --net-log: /' "$t/c.netlog"
clean "user mode with --allow-host-loopback=PORT"

# --- 4. tap= and bridge=, static and DHCP, with the peer namespace ----------

# The guest pings the peer, sends it 30000 lines, then listens for 40000
# lines from the peer; the host pings the guest and sends from the peer.
# $1: the address to expect ("dhcp": any 192.168.50.100-199/24), $2: run net_hostile first.
# shellcheck disable=SC2016 # expanded in the guest
guest_l2=$guest_lib'
a=$(addr)
echo "ADDR $a"
case $1 in
dhcp) case $a in 192.168.50.1[0-9][0-9]/24) P "eth0 got $a by DHCP from the peer" ;; *) F "eth0 has [$a], want a DHCP lease in 192.168.50.100-199/24" ;; esac ;;
*) eq "eth0 has the --ip address" "$a" "$1" ;;
esac
if [ "$2" = hostile ]; then
	if timeout 30 wget -q -O /tmp/hostile http://192.168.50.1:8000/net-hostile && chmod 0755 /tmp/hostile; then
		/tmp/hostile eth0 20
		eq "net_hostile ran" $? 0
	else
		F "could not fetch net_hostile from the peer"
	fi
fi
ping -c 3 -w 15 192.168.50.1 >/tmp/ping 2>&1 && P "the guest pings the peer" || F "the guest cannot ping the peer: $(tail -n 2 /tmp/ping)"
# The unprivileged agent pings too: an ICMP datagram socket (ping_group_range), no raw socket.
if busybox su agent -c "id -u; /usr/local/bin/ping -c 2 -w 15 192.168.50.1" >/tmp/aping 2>&1 &&
	[ "$(head -n 1 /tmp/aping)" = 1000 ]; then
	P "the agent user (uid 1000) pings the peer"
else
	F "the agent user cannot ping the peer: $(tr "\n" "|" </tmp/aping)"
fi
seq 1 30000 | timeout 20 nc 192.168.50.1 5001
eq "guest -> peer TCP: nc exits cleanly" $? 0
# busybox nc exits when the other side half-closes: the listener keeps its
# sending side open (stdin that does not end) until the peer is done.
sleep 100 | timeout 90 nc -l -p 5002 >/tmp/frompeer &
np=$!
echo "LISTENING ${a%/*} READY"
wait $np
eq "peer -> guest TCP: 40000 lines arrive" "$(sha256sum </tmp/frompeer | cut -c1-64)" "$(seq 1 40000 | sha256sum | cut -c1-64)"
echo G-END
'
# tap_fd_flags PID: the open flags (octal) of /dev/net/tun in the VM process under supervisor PID.
tap_fd_flags() {
	for c in $(vm_pids "$1"); do
		for f in /proc/"$c"/fd/*; do
			[ "$(readlink "$f")" = /dev/net/tun ] || continue
			sed -n 's/^flags:[[:space:]]*//p' "/proc/$c/fdinfo/${f##*/}"
			return
		done
	done
}
# l2 NAME EXPECT HOSTILE MICROVMM-ARGS...
l2() {
	name=$1 expect=$2 hostile_arg=$3
	shift 3
	echo "net: $name"
	# The VM's redirection truncates l2.out only once its background shell
	# runs: remove the last VM's output first, or wait_out may find its
	# LISTENING line (seen on a loaded machine).
	rm -f "$t/fromguest" "$t/hold" "$t/l2.out" "$t/l2.err"
	# A stdin that stays open until we close it (see the guest's listener).
	mkfifo "$t/hold"
	$IP netns exec peer timeout 120 nc -l -p 5001 <"$t/hold" >"$t/fromguest" &
	lp=$!
	exec 9>"$t/hold"
	start=$(now)
	(exec "$mvm" --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M --verbose \
		--user root "$@" -- sh -c "$guest_l2" sh "$expect" "$hostile_arg" \
		</dev/null >"$t/l2.out" 2>"$t/l2.err") &
	pid=$!
	# The console is a byte stream: wait for the whole line, not its start.
	if wait_out '^LISTENING .* READY' "$t/l2.out" $pid 150; then
		gip=$(sed -n 's/^LISTENING \(.*\) READY.*/\1/p' "$t/l2.out")
		if $IP netns exec peer ping -c 3 -w 15 "$gip" >"$t/ping" 2>&1; then
			ok "$name: the peer pings the guest at $gip"
		else
			bad "$name: the peer cannot ping the guest at $gip: $(tail -n 2 "$t/ping" | tr '\n' '|')"
		fi
		case $name in
		*tap=tap0*)
			# io_uring hands I/O on a blocking tap to worker threads, one hop per frame.
			flags=$(tap_fd_flags "$pid")
			case $flags in
			*[4567]???) ok "$name: the tap fd is O_NONBLOCK (flags $flags)" ;;
			*) bad "$name: the tap fd of the VM process is not O_NONBLOCK: flags [$flags]" ;;
			esac
			# The tap is ours while the VM runs: a second VM on it fails cleanly.
			tvm 120 --net tap=tap0 -- true </dev/null >"$t/f.out" 2>"$t/f.err"
			expect_status "$name: a second VM on the busy tap0" 125 $?
			eq "$name: ... with one line" "$(grep -c . "$t/f.err")" 1
			echo "net:   $(cat "$t/f.err")"
			# A tap's frames should not preempt the guest one by one (docs/network.md).
			eq "$name: the device loop runs as SCHED_BATCH" "$(loop_policy $pid)" 3
			;;
		*bridge=br0*)
			tap=$(sed -n 's/.*created tap \(mvmm[0-9]*\) on bridge br0.*/\1/p' "$t/l2.err")
			if [ -n "$tap" ] && $IP -o link show "$tap" | grep -q 'master br0'; then
				ok "$name: microvmm created $tap on br0"
			else
				bad "$name: no mvmm tap on br0 while the VM runs: [$tap] $(mvmm_taps)"
			fi
			eq "$name: the device loop runs as SCHED_BATCH" "$(loop_policy $pid)" 3
			;;
		esac
		j=0
		until seq 1 40000 | $IP netns exec peer timeout 20 nc "$gip" 5002 2>/dev/null; do
			j=$((j + 1))
			[ $j -lt 10 ] || break
			sleep 0.5
		done
		if [ $j -lt 10 ]; then
			ok "$name: peer -> guest TCP: nc exits cleanly"
		else
			bad "$name: the peer cannot connect to the guest's port 5002"
		fi
	else
		bad "$name: the guest never listened: $(tail -n 5 "$t/l2.out" "$t/l2.err" | tr '\n' '|')"
	fi
	wait_exit $pid 120
	wait $pid
	st=$?
	secs=$(($(now) - start))
	expect_status "$name: the VM exits (${secs}s)" 0 $st
	guest_results "$t/l2.out" "$name"
	exec 9>&-
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	eq "$name: guest -> peer TCP: 30000 lines arrive" "$(sha256sum <"$t/fromguest" | cut -c1-64)" "$(seq 1 30000 | sha256sum | cut -c1-64)"
	e=$(unexpected "$t/l2.err")
	if [ -z "$e" ]; then ok "$name: microvmm logged nothing unexpected"; else bad "$name: microvmm logged: $e"; fi
	if [ -n "${tap:-}" ]; then
		if $IP link show "$tap" >/dev/null 2>&1; then bad "$name: $tap still exists after exit"; else ok "$name: $tap is gone after exit"; fi
	fi
	tap=
	clean "$name"
}
l2 "--net tap=tap0 --ip 192.168.50.2/24" 192.168.50.2/24 hostile --net tap=tap0 --ip 192.168.50.2/24
l2 "--net tap=tap0 with DHCP" dhcp no --net tap=tap0
l2 "--net bridge=br0 with DHCP" dhcp no --net bridge=br0
l2 "--net bridge=br0 --ip 192.168.50.3/24" 192.168.50.3/24 no --net bridge=br0 --ip 192.168.50.3/24
eq "tap0 (not ours) is still there" "$($IP -o link show tap0 >/dev/null 2>&1 && echo yes)" yes

echo "$pass passed, $fail failed"
[ $fail = 0 ]

#!/bin/sh
# Scenario "net-bench": network latency and TCP throughput between the guest
# and its host (bench/net runs it under microvmm and QEMU alike, on passt and
# on a tap). The VMM provides a virtio-net card; this script configures eth0
# itself: microvmm.nb_ip=A/N on the kernel command line gives a static
# address, else DHCP (udhcpc with the image's hook, as microvmm's init does).
# Against microvmm.nb_host=ADDR, as root:
#   rtt  ping -c 20 -i 0.2, the average round trip in ms
#   rx   wget -O /dev/null http://ADDR:8000/net-bench (host -> guest), timed
#        here
#   tx   the host fetches /net-bench from this guest's busybox httpd on port
#        8080 (guest -> host; the host reaches it directly or through a
#        forwarded port), times it itself and reports the seconds back by
#        fetching /cgi-bin/done?tx_s=SECONDS; "net-bench: serving" on the
#        console tells the host when to start
# with microvmm.nb_mb MiB each way (default 256; the host serves a file of
# that size; the guest keeps its own in a tmpfs, so give it RAM), and prints
# "MICROVMM-REPORT net mb=.. rtt_ms=.. rx_s=.. tx_s=.." (seconds from
# /proc/uptime, 10 ms steps) or "MICROVMM-REPORT net error=WHAT", then
# powers off.
echo MICROVMM-CMD-START
# shellcheck disable=SC2034 # read by lib-bench
bench_kind=net
# shellcheck source=/dev/null # lib-bench.sh, installed beside this script
. /usr/share/microvmm/tests/lib-bench
host=$(arg 'microvmm\.nb_host')
addr=$(arg 'microvmm\.nb_ip')
mb=$(arg 'microvmm\.nb_mb')
mb=${mb:-256}
[ -n "$host" ] || fail no-microvmm.nb_host

ip link set lo up
ip link set eth0 up 2>/dev/null || fail no-eth0
if [ -n "$addr" ]; then
	ip addr add "$addr" dev eth0 || fail "address-$addr"
else
	udhcpc -i eth0 -f -q -n -t 20 -T 1 -s /usr/share/microvmm/udhcpc.script >/dev/null 2>&1 || fail dhcp
fi
echo "net-bench: eth0 $(ip -4 addr show dev eth0 | sed -n 's/^ *inet \([0-9./]*\).*/\1/p'), host $host"
ping -c 1 -w 20 "$host" >/dev/null 2>&1 || fail "no-answer-from-$host"

rtt_ms=$(ping -c 20 -i 0.2 "$host" 2>/dev/null | sed -n 's|^round-trip min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
[ -n "$rtt_ms" ] || fail ping

echo "net-bench: rtt $rtt_ms ms; host -> guest"
t=$(now)
wget -q -O /dev/null "http://$host:8000/net-bench" || fail rx
rx_s=$(since "$t")

echo "net-bench: guest -> host"
mkdir -p /srv
mount -t tmpfs -o size=$((mb + 16))m tmpfs /srv || fail tmpfs
mkdir -p /srv/cgi-bin
dd if=/dev/zero of=/srv/net-bench bs=1M count="$mb" 2>/dev/null || fail "tmpfs-$mb-MiB"
# shellcheck disable=SC2016 # the CGI script's own text
printf '%s\n' '#!/bin/sh' 'echo "$QUERY_STRING" >/tmp/tx-result' \
	'printf "Content-Type: text/plain\r\n\r\nok\n"' >/srv/cgi-bin/done
chmod 0755 /srv/cgi-bin/done
httpd -p 8080 -h /srv || fail httpd
echo "net-bench: serving"
i=0
while [ ! -s /tmp/tx-result ] && [ $i -lt 1200 ]; do
	sleep 0.5
	i=$((i + 1))
done
tx_s=$(sed -n 's/^tx_s=\([0-9.]*\)$/\1/p' /tmp/tx-result 2>/dev/null)
[ -n "$tx_s" ] || fail "tx-$(cat /tmp/tx-result 2>/dev/null)"

echo "MICROVMM-REPORT net mb=$mb rtt_ms=$rtt_ms rx_s=$rx_s tx_s=$tx_s"
poweroff -f

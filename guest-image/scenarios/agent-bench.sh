#!/bin/sh
# Scenario "agent-bench": an agent's start from a read-only root tree (bench/agent
# runs it under microvmm and QEMU alike, with the same kernel command line).
# The VMM provides a virtio-fs device serving the tree, tag microvmm.ab_tag=TAG,
# and a NIC on passt. As root, this script does what microvmm's init does for
# --rootfs (guest-image/init/rootfs.c), in the same order:
#   network  eth0 with the address microvmm.ab_ip names, as the init does in
#            user mode (passt was given the same), else by DHCP
#   root     the tree read-only at /ab/lower, a tmpfs of microvmm.ab_scratch
#            (default 1G) with the upper and work directories, an overlay of
#            the two with the init's options, /dev /proc /sys /run bound into
#            it, the hostname and its /etc/hosts line
#   agent    chroot into the overlay and run, in /workspace as root,
#              claude -p "create hello.txt containing hi" --dangerously-skip-permissions
#            with ANTHROPIC_BASE_URL=microvmm.ab_url (e.g. http://10.0.2.2:8090,
#            the gateway, which passt maps to the host's loopback), a dummy
#            ANTHROPIC_API_KEY, IS_SANDBOX=1 (root) and
#            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, stdin /dev/null
# Right before the agent it asks the mock for /microvmm-bench/agent-exec
# (the host-clock stamp of the agent's exec); then checks /workspace/hello.txt and prints "MICROVMM-REPORT agent
# up_s=.. claude_s=.." (up_s: the guest's uptime when claude was
# started; claude_s: its run; /proc/uptime, 10 ms steps) or "MICROVMM-REPORT
# agent error=WHAT", then powers off.
echo MICROVMM-CMD-START
# shellcheck disable=SC2034 # read by lib-bench
bench_kind=agent
# shellcheck source=/dev/null # lib-bench.sh, installed beside this script
. /usr/share/microvmm/tests/lib-bench
tag=$(arg 'microvmm\.ab_tag')
url=$(arg 'microvmm\.ab_url')
scratch=$(arg 'microvmm\.ab_scratch')
scratch=${scratch:-1G}
[ -n "$tag" ] || fail no-microvmm.ab_tag
[ -n "$url" ] || fail no-microvmm.ab_url

# The network first, as the init does (its busybox is the initramfs's).
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
# microvmm.ab_ip=ADDR/PREFIX@GATEWAY: the address the VMM gave passt, set as
# microvmm's init does in user mode (passt's MTU, no DHCP); without it, DHCP.
ab_ip=$(arg 'microvmm\.ab_ip')
if [ -n "$ab_ip" ]; then
	case $ab_ip in */*@*) ;; *) fail bad-microvmm.ab_ip ;; esac
	ip link set eth0 mtu 65520 2>/dev/null
	ip link set eth0 up 2>/dev/null || fail no-eth0
	ip addr add "${ab_ip%@*}" dev eth0 || fail static-address
	ip route add default via "${ab_ip#*@}" || fail static-route
	echo "nameserver 169.254.1.53" >/etc/resolv.conf
else
	ip link set eth0 up 2>/dev/null || fail no-eth0
	udhcpc -i eth0 -f -q -n -t 30 -T 1 -s /usr/share/microvmm/udhcpc.script >/dev/null 2>&1 || fail dhcp
fi

# The root: the same layers and overlay options as rootfs.c.
l=/ab/lower
s=/ab/scratch
r=/ab/root
mkdir -p $l $s $r
mount -t virtiofs -o ro "$tag" $l || fail "mount-$tag"
mount -t tmpfs -o "size=$scratch,mode=0755" scratch $s || fail scratch
mkdir $s/upper $s/work || fail scratch-dirs
chmod 0700 $s/work || fail scratch-dirs
# The merged root directory shows the upper one's owner and mode: keep the tree's.
chown "$(stat -c %u:%g $l)" $s/upper || fail upper-owner
chmod "$(stat -c %a $l)" $s/upper || fail upper-mode
mount -t overlay -o "lowerdir=$l,upperdir=$s/upper,workdir=$s/work,index=off,xino=off,metacopy=off,redirect_dir=off" \
	overlay $r || fail overlay
# Bound, not moved, so that this script keeps its own /proc; the same mounts either way.
for d in dev proc sys run; do
	mkdir -p $r/$d || fail "mkdir-$d"
	mount --rbind /$d $r/$d || fail "mount-$d"
done
[ -d $r/tmp ] || { mkdir $r/tmp && chmod 1777 $r/tmp; }
hostname microvmm
grep -q microvmm $r/etc/hosts 2>/dev/null || printf '127.0.1.1\tmicrovmm\n' >>$r/etc/hosts
mkdir -p $r/workspace

# The moment before the agent's exec, on the host's clock: the mock logs
# this request's arrival on the clock bench/agent starts the VMM by, so
# exec -> the agent's exec is read without trusting the guest's clock. It
# costs both VMMs the same one HTTP request. (timeout(1), not wget -T:
# busybox 1.35's wget crashes on -T.)
timeout 5 wget -q -O /dev/null "$url/microvmm-bench/agent-exec" 2>/dev/null
# The agent, with the environment microvmm's init gives a command (as root).
t=$(now)
chroot $r /usr/bin/env -i -C /workspace PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	USER=root LOGNAME=root HOME=/root SHELL=/bin/bash TERM=dumb \
	ANTHROPIC_BASE_URL="$url" ANTHROPIC_API_KEY=sk-ant-agent-bench-dummy IS_SANDBOX=1 \
	CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	claude -p "create hello.txt containing hi" --dangerously-skip-permissions </dev/null
st=$?
claude_s=$(since "$t")
[ $st = 0 ] || fail "claude-status-$st"
[ "$(cat $r/workspace/hello.txt 2>/dev/null)" = hi ] || fail no-hello.txt
echo "MICROVMM-REPORT agent up_s=$t claude_s=$claude_s"
poweroff -f

#!/bin/sh
# Runs inside the level-1 host (or directly on a VMX/SVM host, as root, in its
# own network namespace): Claude Code's start from the agent tree, RUNS times
# per row, cold page cache (this host's caches dropped first) then warm (right
# after), the rows' order rotated each round. Rows (BENCH_AGENT_ROWS):
#   microvmm         the agent-bench scenario: --share TREE:ro (tag microvmm0,
#                    --share-cache always), --net user --allow-host-loopback
#   qemu-q35         the same scenario and kernel command line: q35 with
#                    vhost-user-fs-pci (tag microvmm0) on a virtiofsd started
#                    here as microvmm starts its own (read-only bind mount in
#                    a private mount namespace, cache=always, no_xattr), and
#                    virtio-net-pci on a passt started here with microvmm's
#                    options (gateway mapped to this host's loopback)
#   microvmm-rootfs  the product path: microvmm --rootfs TREE --net user
#                    --allow-host-loopback --env ... -- bash -c STAMP claude -p
#                    TASK ... (as the tree's agent user, in its home; bash asks
#                    for the exec stamp over /dev/tcp, then execs claude)
#   microvmm-agent   the launcher (opt-in): microvmm-agent --image IMAGE
#                    --api-base http://127.0.0.1:PORT TASK in a scratch workspace
# Each VM runs `claude -p "create hello.txt containing hi"
# --dangerously-skip-permissions` against tests/agent/mock-api.py on this
# host's loopback (the guest reaches it at the gateway, 10.0.2.2). Timestamps
# come from this host's wall clock, like the mock's log times: t0 right before
# the VMM is started (for QEMU before its virtiofsd and passt: microvmm starts
# its own), the first request the mock logs after t0, the VMM's exit.
# Prints "BENCH <row>-<cold|warm> status=.. first_s=.. exit_s=.. requests=..
# [up_s=.. claude_s=..]" per boot, or with error=WHAT.
# Needs: microvmm and qemu-system-x86_64 on PATH, passt, iproute2
# (/l1/bin/ip in the level-1 host), $GUEST built with the agent-bench
# scenario, BENCH_AGENT_TREE (the tree), a Python 3 for the mock.
# Env: BENCH_AGENT_TREE, BENCH_AGENT_ROWS ("microvmm qemu-q35 microvmm-rootfs"),
# BENCH_AGENT_MODES ("cold warm"), BENCH_AGENT_MEM (2G), BENCH_AGENT_CPUS (1),
# BENCH_AGENT_SCRATCH (1G), BENCH_AGENT_TIMEOUT (seconds per boot, 600),
# BENCH_AGENT_PORT (8090), BENCH_AGENT_MOCK (mock-api.py beside this script,
# else tests/agent/), BENCH_PYTHON (python3), BENCH_VIRTIOFSD
# (/usr/lib/qemu/virtiofsd), BENCH_AGENT_LAUNCHER and BENCH_AGENT_IMAGE (for
# the microvmm-agent row).
set -u
runs=${1:-3}
tree=${BENCH_AGENT_TREE:?BENCH_AGENT_TREE names the agent tree}
rows=${BENCH_AGENT_ROWS:-microvmm qemu-q35 microvmm-rootfs}
modes=${BENCH_AGENT_MODES:-cold warm}
mem=${BENCH_AGENT_MEM:-2G}
cpus=${BENCH_AGENT_CPUS:-1}
scratch=${BENCH_AGENT_SCRATCH:-1G}
limit=${BENCH_AGENT_TIMEOUT:-600}
port=${BENCH_AGENT_PORT:-8090}
python=${BENCH_PYTHON:-python3}
vfsd=${BENCH_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
here=$(cd "$(dirname "$0")" && pwd)
mock=${BENCH_AGENT_MOCK:-}
[ -n "$mock" ] || { [ -f "$here/mock-api.py" ] && mock=$here/mock-api.py; } || mock=$here/../tests/agent/mock-api.py
if [ ! -d /l1 ] && [ -z "${AGENT_BENCH_ISOLATED:-}" ]; then
	# Leave the machine's own networking alone.
	AGENT_BENCH_ISOLATED=1 exec unshare --net --mount --propagation private sh "$0" "$@"
fi
IP=ip
[ -x /l1/bin/ip ] && IP=/l1/bin/ip
# The same kernel file for every row: the bzImage, or (BENCH_AGENT_KERNEL=vmlinux)
# the ELF that both VMMs enter through PVH.
k=$GUEST/${BENCH_AGENT_KERNEL:-vmlinuz}
i=$GUEST/initrd.img
mac=52:54:00:12:34:56
task="create hello.txt containing hi"
key=sk-ant-agent-bench-dummy
# The uplink this script gives the host (below), which passt copies for the guest: microvmm
# hands it to passt and its init itself; QEMU's passt and the scenario get it spelled out.
up_addr=10.0.2.15
up_prefix=24
up_gw=10.0.2.2
url=http://$up_gw:$port
# microvmm's default command line (vmm/config/config.h) and "quiet", plus the scenario.
cmdline="console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on i8042.noaux i8042.nokbd quiet microvmm.test=agent-bench microvmm.ab_tag=microvmm0 microvmm.ab_url=$url microvmm.ab_scratch=$scratch microvmm.ab_ip=$up_addr/$up_prefix@$up_gw"
w=$(mktemp -d /tmp/agent-bench.XXXXXX) || exit 1
chmod 0755 "$w"
servers=
cleanup() {
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$servers" ] || kill $servers 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
trap 'exit 143' TERM

# shellcheck source=bench/inner-lib.sh
. "$here/inner-lib.sh"
say() { echo "agent-inner: $*" >&2; }

# The wall clock in seconds with microseconds (busybox date has no %N).
case $(date +%N) in
[0-9]*) stamp() { date +%s.%N; } ;;
*) stamp() { adjtimex | awk '/time.tv_sec/ {s = $2} /time.tv_usec/ {u = $2} END {printf "%d.%06d\n", s, u}'; } ;;
esac
# epoch SECONDS: the mock's "2026-12-04T04:09:39.290Z" as seconds since the epoch.
epoch() {
	d=${1%Z}
	printf '%s.%s\n' "$(date -u -d "$(echo "${d%.*}" | tr T ' ')" +%s)" "${d##*.}"
}

# passt's world, as in bench/net: an uplink with a default route; the mock on loopback.
$IP link set lo up
$IP link add up0 type dummy
$IP addr add "$up_addr/$up_prefix" dev up0
$IP link set up0 up
$IP route add default via "$up_gw" dev up0
if [ -n "${AGENT_BENCH_ISOLATED:-}" ]; then
	echo "nameserver 10.0.2.15" >"$w/resolv.conf"
	mount --bind "$w/resolv.conf" /etc/resolv.conf
else
	echo "nameserver 10.0.2.15" >/etc/resolv.conf
fi
# passt binds its socket after dropping to nobody: a directory it may write.
mkdir -p "$w/p"
chown 65534:65534 "$w/p"
log=$w/mock.log
env -i "$(command -v "$python")" -I -S "$mock" --port "$port" --log "$log" --workdir /workspace \
	>"$w/mock.out" 2>&1 &
servers="$servers $!"
t=0
until grep -q 'listening' "$w/mock.out" 2>/dev/null; do
	sleep 0.2
	t=$((t + 1))
	if [ $t -gt 600 ]; then
		say "the mock API did not start: $(cat "$w/mock.out")"
		exit 1
	fi
done

# The same daemon options microvmm gives the C virtiofsd (vmm/host/virtiofsd.c):
# sandbox=chroot only where / is the initramfs (pivot_root refuses rootfs).
sandbox=
[ "$(awk '$2 == "/" {t = $3} END {print t}' /proc/self/mounts)" = rootfs ] && sandbox="-o sandbox=chroot"

qemu_q35() {
	rm -f "$w/q.sock" "$w/p/passt.sock"
	# Read-only the way microvmm does it: a private mount namespace in which
	# the tree is a read-only bind mount of itself.
	# shellcheck disable=SC2016,SC2086 # expanded by the inner shell; $sandbox is empty or two words
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" "$1" &&
		mount -o remount,bind,ro "$1" && shift 3 && exec "$@"' sh "$tree" x x \
		"$vfsd" --socket-path="$w/q.sock" -o source="$tree" -o cache=always -o no_xattr \
		-o log_level=err $sandbox </dev/null >"$w/vfsd.log" 2>&1 &
	vpid=$!
	passt --foreground --quiet --one-off --runas 65534:65534 --dns-forward 169.254.1.53 \
		--mtu 65520 --address "$up_addr" --netmask "$up_prefix" --gateway "$up_gw" \
		--socket "$w/p/passt.sock" </dev/null >"$w/passt.log" 2>&1 &
	ppid_=$!
	t=0
	while { [ ! -S "$w/q.sock" ] || [ ! -S "$w/p/passt.sock" ]; } && [ $t -lt 500 ]; do
		sleep 0.02
		t=$((t + 1))
	done
	timeout "$limit" qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp "$cpus" -m "$mem" \
		-object memory-backend-memfd,id=mem,size="$mem",share=on -numa node,memdev=mem \
		-chardev socket,id=fs,path="$w/q.sock" -device vhost-user-fs-pci,chardev=fs,tag=microvmm0 \
		-netdev stream,id=n0,server=off,addr.type=unix,addr.path="$w/p/passt.sock" \
		-device virtio-net-pci,netdev=n0,mac=$mac,romfile= \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$k" -initrd "$i" -append "$cmdline"
}
# After the clock stops: the helpers end with their VM (virtiofsd on the hang-up, passt --one-off).
qemu_q35_reap() {
	reap_helper "$vpid"
	reap_helper "$ppid_"
}
microvmm_scenario() {
	timeout "$limit" microvmm --kernel "$k" --initrd "$i" --cpus "$cpus" --mem "$mem" \
		--share "$tree:/agent-bench:ro" --share-cache always --virtiofsd "$vfsd" \
		--net user --allow-host-loopback --mac $mac --cmdline "$cmdline" --boot-timeline
}
# The command stamps its start as the scenario does, one request the mock logs
# right before claude's exec, but with bash's /dev/tcp: no process of its own.
stamp_then_exec='exec 3<>/dev/tcp/'$up_gw/$port' && printf "GET /microvmm-bench/agent-exec HTTP/1.0\r\nHost: '$up_gw'\r\n\r\n" >&3 && read -r _ <&3; exec 3<&-; exec "$@"'
microvmm_rootfs() {
	timeout "$limit" microvmm --kernel "$k" --initrd "$i" --cpus "$cpus" --mem "$mem" \
		--rootfs "$tree" --scratch "$scratch" --virtiofsd "$vfsd" \
		--net user --allow-host-loopback --env ANTHROPIC_BASE_URL="$url" \
		--env ANTHROPIC_API_KEY=$key --env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		--boot-timeline -- bash -c "$stamp_then_exec" bash claude -p "$task" --dangerously-skip-permissions
}
microvmm_agent() {
	rm -rf "$w/ws" "$w/audit" && mkdir -p "$w/ws" "$w/audit"
	# The launcher gives microvmm no kernel: in the level-1 host, microvmm
	# looks for its default guest image beside itself.
	[ ! -d /l1/bin ] || [ -e /l1/bin/guest ] || ln -s "$GUEST" /l1/bin/guest
	(cd "$w/ws" && ANTHROPIC_API_KEY=$key timeout "$limit" "${BENCH_AGENT_LAUNCHER:-microvmm-agent}" \
		--image "${BENCH_AGENT_IMAGE:-$(dirname "$tree")}" --cpus "$cpus" --mem "$mem" \
		--audit-dir "$w/audit" --api-base "http://127.0.0.1:$port" "$task")
}

# one ROW MODE: one boot, its BENCH line.
one() {
	[ "$2" = warm ] || {
		sync
		echo 3 >/proc/sys/vm/drop_caches
	}
	n0=$(wc -l <"$log")
	t0=$(stamp)
	case $1 in
	microvmm) microvmm_scenario ;;
	qemu-q35) qemu_q35 ;;
	microvmm-rootfs) microvmm_rootfs ;;
	microvmm-agent) microvmm_agent ;;
	esac </dev/null >"$w/out" 2>&1
	st=$?
	t1=$(stamp)
	[ "$1" != qemu-q35 ] || qemu_q35_reap
	# The scenario's stamp of the agent's exec (agent-bench.sh) apart from the agent's requests.
	sed -n "$((n0 + 1)),\$p" "$log" >"$w/boot.log"
	grep -v '"path": "/microvmm-bench/agent-exec"' "$w/boot.log" >"$w/run.log"
	exec_at=$(grep '"path": "/microvmm-bench/agent-exec"' "$w/boot.log" |
		sed -n 's/^{"time": "\([^"]*\)".*/\1/p' | head -n 1)
	first=
	# shellcheck disable=SC2013 # one word per line
	for tm in $(sed -n 's/^{"time": "\([^"]*\)".*/\1/p' "$w/run.log"); do
		e=$(epoch "$tm")
		first=$(echo "$first $e" | awk '{print ($2 != "" && ($1 == "" || $2 < $1)) ? $2 : $1}')
	done
	requests=$(grep -c . "$w/run.log")
	line="status=$st exit_s=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}') requests=$requests"
	[ -z "$first" ] || line="$line first_s=$(echo "$t0 $first" | awk '{printf "%.3f", $2 - $1}')"
	[ -z "$exec_at" ] || line="$line exec_s=$(echo "$t0 $(epoch "$exec_at")" | awk '{printf "%.3f", $2 - $1}')"
	# microvmm's own set-up: main() to the first KVM_RUN (--boot-timeline, printed at exit).
	timeline=$(tr -d '\r' <"$w/out" | grep -a 'boot timeline:' | tail -n 1)
	run_ms=$(echo "$timeline" | sed -n 's/.* first_run_ms=+\([0-9.]*\).*/\1/p')
	[ -z "$run_ms" ] || line="$line first_run_s=$(echo "$run_ms" | awk '{printf "%.3f", $1 / 1000}')"
	case $1 in
	microvmm | qemu-q35)
		r=$(tr -d '\r' <"$w/out" | grep -a "MICROVMM-REPORT agent " | tail -n 1 | sed "s/.*MICROVMM-REPORT agent //")
		line="$line ${r:-error=no-report}"
		;;
	*) grep -q '"tool_result": true' "$w/run.log" || line="$line error=no-tool-result" ;;
	esac
	[ -n "$first" ] || line="$line error=no-request"
	echo "BENCH $1-$2 $line"
	# microvmm's stages before the kernel, for reading where its set-up goes.
	[ -z "$timeline" ] || echo "  $1-$2 | $timeline" >&2
	case "$st $line" in
	"0 "*error=*) ;;
	0*) return ;;
	esac
	tr -d '\r' <"$w/out" | grep -av '^\[' | tail -n 15 | sed "s/^/  $1 | /" >&2
	[ "$1" != qemu-q35 ] || sed 's/^/  virtiofsd, passt | /' "$w/vfsd.log" "$w/passt.log" >&2
}

say "tree $tree; rows: $rows; $runs runs, $cpus vCPU, $mem, mock on 127.0.0.1:$port"
# shellcheck disable=SC2086 # a list of names
set -- $rows
nrows=$#
n=1
while [ $n -le "$runs" ]; do
	say "round $n of $runs"
	# Each round starts with another row, so that no row is always first.
	for row in $(echo "$rows" | awk -v r=$(((n - 1) % nrows)) '{for (j = 0; j < NF; j++) printf "%s ", $((j + r) % NF + 1)}'); do
		for mode in $modes; do
			one "$row" "$mode"
		done
	done
	n=$((n + 1))
done

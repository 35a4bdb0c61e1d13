#!/bin/sh
# A hostile root program in the stock-kernel guest (tests/integration/hostile.c,
# static, at /l1/bin/hostile or given as HOSTILE=PATH) attacks every
# virtio-pci device but the console and virtio-fs (by default) through their
# BARs from several vCPUs, moves BARs, sweeps I/O ports and the PCI hole, in a
# VM with a --share and --net user. Checks: microvmm stays up and the guest
# still reports its status through the console; the VM's host memory
# (VmHWM of every microvmm process, read from /proc here) stays under guest
# RAM + $bound_mib; at most 10 "virtio-...: queue N broken:" lines in any
# second of microvmm's stderr; the share still serves a file written after the
# attack; microvmm exits within 120 s of the attack's end; no virtiofsd or
# passt left. HOSTILE_ALL=1 (the slow variant) attacks the console and
# virtio-fs too: microvmm must then end with the guest's status, 0 (the guest
# stopped while the command ran), or 125 and
# its "broke its virtio console" line, or 124 from --timeout, never hang.
# Usage: hostile.sh [HOSTILE=PATH] [HOSTILE_SECONDS=N] [HOSTILE_ALL=1]
set -u
for a in "$@"; do
	case $a in
	HOSTILE=* | HOSTILE_SECONDS=[0-9]* | HOSTILE_ALL=[01]) export "${a?}" ;;
	*)
		echo "usage: hostile.sh [HOSTILE=PATH] [HOSTILE_SECONDS=N] [HOSTILE_ALL=1]" >&2
		exit 2
		;;
	esac
done
secs=${HOSTILE_SECONDS:-30}
all=${HOSTILE_ALL:-0}
mem_mib=256
bound_mib=256 # device buffers, thread stacks, the binary; guest RAM is counted apart
lib_name=hostile
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: hostile.sh needs root (virtiofsd)" >&2
	exit 77
fi
hostile=${HOSTILE:-}
[ -x /l1/bin/hostile ] && hostile=/l1/bin/hostile
missing=$(missing_tools microvmm passt timeout sha256sum)
[ -n "$hostile" ] && [ -x "$hostile" ] || missing="$missing hostile"
if [ -n "$missing" ]; then
	echo "FAIL: missing:$missing"
	exit 1
fi

t=$(mktemp -d /tmp/hostile-test.XXXXXX) || exit 1
chmod 0755 "$t"
trap 'rm -rf "$t"' EXIT
mkdir "$t/share"
cp "$hostile" "$t/share/hostile"
chmod 0755 "$t/share" "$t/share/hostile"
passt_uplink
shares_baseline
passt_base=$(pidof passt 2>/dev/null)

hostile_args="--seconds $secs"
[ "$all" = 1 ] && hostile_args="$hostile_args --all"
# The guest: the attack, then a file the host writes only after it (the share
# must still serve new data), then a status only the control channel carries.
guest='echo "G-START"; /workspace/hostile '"$hostile_args"'; echo "HOSTILE-EXIT $?"
i=0; while [ ! -e /workspace/after ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
echo "AFTER $(sha256sum </workspace/after | cut -c1-64)"; echo G-END; exit 7'
start=$(now)
tvm $((secs + 1500)) --cpus 2 --mem ${mem_mib}M --timeout $((secs + 900)) --user root \
	--share "$t/share:/workspace" --net user -- sh -c "$guest" \
	</dev/null >"$t/out" 2>"$t/err" &
pid=$!

# While it runs: the VM's memory and the broken-queue log rate, once a second.
hwm=0 rss=0 maxrate=0 prev=0 wrote=0 attack_end=
while alive $pid; do
	for p in $(pidof microvmm 2>/dev/null); do
		h=$(awk '/^VmHWM:/ {print $2}' /proc/$p/status 2>/dev/null)
		r=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status 2>/dev/null)
		[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
		[ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
	done
	n=$(grep -c 'virtio-[a-z]*: queue [0-9]* broken:' "$t/err")
	[ $((n - prev)) -gt "$maxrate" ] && maxrate=$((n - prev))
	prev=$n
	if [ $wrote = 0 ] && grep -q '^HOSTILE-EXIT' "$t/out"; then
		head -c 100000 /dev/urandom >"$t/share/after.tmp" # whole, then seen
		mv "$t/share/after.tmp" "$t/share/after"
		wrote=1
		attack_end=$(now)
	fi
	sleep 1
	i=$(($(now) - start))
	[ $((i % 60)) = 0 ] && echo "hostile: ... ${i}s; guest: $(tail -n 1 "$t/out" | cut -c1-100)"
done
wait $pid
status=$?
end=$(now)
broken=$(grep -c 'virtio-[a-z]*: queue [0-9]* broken:' "$t/err")
echo "hostile: guest output:"
grep '^hostile: \|^HOSTILE-EXIT\|^AFTER' "$t/out" | sed 's/^/  /'
echo "hostile: microvmm stderr (first lines):"
head -n 15 "$t/err" | cut -c1-200 | sed 's/^/  /'
echo "hostile: FIGURES VmHWM ${hwm} kB, VmRSS max ${rss} kB (guest RAM ${mem_mib} MiB)," \
	"${broken} broken-queue lines, at most ${maxrate} in one second," \
	"run $((end - start)) s, exit $((end - ${attack_end:-$end})) s after the attack"

if [ "$all" = 1 ]; then
	case $status in
	7) ok "--all: the console survived; the guest's status arrived (exit 7)" ;;
	# The guest reset or powered off while the command ran (its choice: main.c).
	0) ok "--all: the guest stopped while the command ran (exit 0)" ;;
	124) ok "--all: microvmm ended at --timeout (exit 124)" ;;
	125)
		if grep -q 'broke its virtio console' "$t/err"; then
			ok "--all: exit 125 naming the broken console"
		else
			bad "--all: exit 125 without the console line: $(grep '^microvmm: ' "$t/err" | tail -n 3 | tr '\n' '|')"
		fi
		;;
	*) bad "--all: exit $status, want 7, 0, 124 or 125" ;;
	esac
else
	expect_status "the guest's status still comes over the console" 7 $status
	grep -q '^HOSTILE-EXIT 0$' "$t/out" && ok "the hostile program ran its course" ||
		bad "the hostile program: $(grep -e '^HOSTILE-EXIT' -e '^hostile: ' "$t/out" | tail -n 3 | tr '\n' '|')"
	want=$(sha256sum <"$t/share/after" | cut -c1-64)
	eq "the share serves a file written after the attack" "$(sed -n 's/^AFTER //p' "$t/out")" "$want"
	if [ -n "$attack_end" ] && [ $((end - attack_end)) -le 120 ]; then
		ok "microvmm ended $((end - attack_end)) s after the attack"
	else
		bad "microvmm ended $((end - ${attack_end:-$start})) s after the attack (or it never ended)"
	fi
fi
if [ "$hwm" -gt 0 ] && [ "$hwm" -le $(((mem_mib + bound_mib) * 1024)) ]; then
	ok "VmHWM ${hwm} kB <= guest RAM + ${bound_mib} MiB"
else
	bad "VmHWM ${hwm} kB (bound $(((mem_mib + bound_mib) * 1024)) kB)"
fi
[ "$maxrate" -le 10 ] && ok "at most 10 broken-queue lines a second ($maxrate)" ||
	bad "$maxrate broken-queue lines in one second"
shares_clean "after the hostile run"
p=
for q in $(pidof passt 2>/dev/null); do
	case " $passt_base " in *" $q "*) ;; *) p="$p $q" ;; esac
done
[ -z "$p" ] && ok "no passt left running" || bad "passt left running:$p"

echo "hostile: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/sh
# Faults and soak with the stock kernel (in the level-1 host where this host's KVM cannot boot
# Linux), every VM with a share (virtiofsd) and --net user (passt):
#  - SIGKILL of the supervisor, the VM process, virtiofsd or passt, FAULT_ROUNDS times each,
#    in each of KILL_MODES (comma-separated): `synced`, a random moment after the guest wrote
#    and synced a file (the host must have it), and `boot`, a random moment of the boot; each
#    run ends with its documented status (137: the supervisor was the one killed; 125 and one
#    line naming what stopped) and leaves no process, socket or temporary entry;
#  - a guest panic with a share: 123, nothing left;
#  - a full disk under a share: the guest's write fails with ENOSPC, the command goes on,
#    a later write lands, microvmm ends with the command's status;
#  - soak: SOAK_RUNS sequential runs (file handles, processes and shared memory of the host
#    must not grow) and CONCURRENT VMs of 256 MiB at once, each with its own share and status.
# Usage: faults.sh [FAULT_ROUNDS=N] [KILL_MODES=synced,boot] [SOAK_RUNS=N] [CONCURRENT=N]
#        (defaults 1, synced, 2, 4)
set -u
for a in "$@"; do
	case $a in
	FAULT_ROUNDS=[0-9]* | SOAK_RUNS=[0-9]* | CONCURRENT=[0-9]* | KILL_MODES=*) export "${a?}" ;;
	*)
		echo "usage: faults.sh [FAULT_ROUNDS=N] [KILL_MODES=synced,boot] [SOAK_RUNS=N] [CONCURRENT=N]" >&2
		exit 2
		;;
	esac
done
rounds=${FAULT_ROUNDS:-1}
kill_modes=$(echo "${KILL_MODES:-synced}" | tr , ' ')
soak_runs=${SOAK_RUNS:-2}
concurrent=${CONCURRENT:-4}
lib_name=faults
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: faults.sh needs root (virtiofsd, a tmpfs for the full disk)" >&2
	exit 77
fi
missing=$(missing_tools microvmm passt timeout)
if [ -n "$missing" ]; then
	echo "FAIL: missing:$missing"
	exit 1
fi
t=$(mktemp -d /tmp/faults-test.XXXXXX) || exit 1
chmod 0755 "$t"
trap 'umount "$t/full" 2>/dev/null; rm -rf "$t"' EXIT
mkdir "$t/share"
passt_uplink
shares_baseline

# random N: 0..N-1 (busybox ash may lack $RANDOM).
random() { echo $(($(od -An -N2 -tu2 /dev/urandom) % $1)); }
# children PID [NAMES]: the children of PID (named one of NAMES, by /proc/PID/stat).
children() {
	for s in /proc/[0-9]*/stat; do
		read -r cpid ccomm _ cppid _ 2>/dev/null <"$s" || continue
		[ "$cppid" = "$1" ] || continue
		ccomm=${ccomm#(}
		case " ${2:-$ccomm} " in *" ${ccomm%)} "*) echo "$cpid" ;; esac
	done
}
# descendant ROOT NAMES: the first process named one of NAMES below ROOT (two levels: the VM
# process's helpers), waiting up to 20 s for it.
descendant() {
	i=0
	while [ $i -lt 80 ]; do
		vmp=$(children "$1" microvmm | head -n 1)
		if [ "$2" = microvmm ]; then
			[ -n "$vmp" ] && echo "$vmp" && return 0
		elif [ -n "$vmp" ]; then
			d=$(children "$vmp" "$2" | head -n 1)
			[ -n "$d" ] && echo "$d" && return 0
		fi
		sleep 0.25
		i=$((i + 1))
	done
	return 1
}
nothing_left() { # WHAT
	# A killed supervisor's VM process and helpers die with it, but not in the same instant.
	i=0
	while [ -n "$(pidof microvmm virtiofsd passt passt.avx2 2>/dev/null)" ] && [ $i -lt 20 ]; do
		sleep 0.25
		i=$((i + 1))
	done
	shares_clean "$1"
	p=$(pidof microvmm passt passt.avx2 2>/dev/null)
	[ -z "$p" ] && ok "$1: no microvmm or passt left" || {
		bad "$1: left running: $(vfs_ps $p)"
		kill -9 $p 2>/dev/null
	}
}

# --- SIGKILL of each process -----------------------------------------------------------------
kill_run() { # ROUND VICTIM MODE(synced|boot)
	r=$1 v=$2 mode=$3 name="SIGKILL of the $2 ($3, round $1)"
	data="data-$r-$v-$mode-$(random 100000)"
	# shellcheck disable=SC2016 # expanded in the guest
	microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 256M \
		--share "$t/share:/workspace" --net user -- \
		sh -c 'echo "$1" >/workspace/synced && sync && echo SYNCED && sleep 600' sh "$data" \
		</dev/null >"$t/out" 2>"$t/err" &
	sup=$!
	case $v in
	supervisor) target=$sup want=137 pattern= ;;
	vm) target=$(descendant $sup microvmm) want=125 pattern="VM process was killed" ;;
	virtiofsd) target=$(descendant $sup virtiofsd) want=125 pattern=virtiofsd ;;
	passt) target=$(descendant $sup "passt passt.avx2") want=125 pattern=passt ;;
	esac
	if [ -z "$target" ]; then
		bad "$name: no $v process appeared: $(tr '\n' '|' <"$t/err")"
		kill -9 $sup 2>/dev/null
		wait $sup
		nothing_left "$name"
		return
	fi
	if [ "$mode" = synced ]; then
		wait_out '^SYNCED' "$t/out" $sup 120 || bad "$name: the guest never synced"
		sleep "0.$(random 10)"
	else
		sleep "$(random 3).$(random 10)"
	fi
	kill -9 "$target" 2>/dev/null
	wait_exit $sup 30
	wait $sup
	st=$?
	expect_status "$name" $want $st
	if [ -n "$pattern" ]; then
		grep -q -- "$pattern" "$t/err" && ok "$name: stderr names what stopped" ||
			bad "$name: no '$pattern' in stderr: $(tr '\n' '|' <"$t/err")"
	fi
	if [ "$mode" = synced ]; then
		eq "$name: the file the guest synced is on the host" "$(cat "$t/share/synced" 2>&1)" "$data"
	fi
	rm -f "$t/share/synced"
	nothing_left "$name"
}
r=1
while [ $r -le "$rounds" ]; do
	for v in supervisor vm virtiofsd passt; do
		for mode in $kill_modes; do
			kill_run $r $v $mode
		done
	done
	r=$((r + 1))
done

# --- a guest panic with a share --------------------------------------------------------------
tvm 300 --share "$t/share:/workspace" --net user -- sh -c 'sync; echo c >/proc/sysrq-trigger' \
	</dev/null >"$t/out" 2>"$t/err"
expect_status "guest panic with a share and --net user" 123 $?
grep -q 'guest kernel panicked' "$t/err" && ok "the panic is named" ||
	bad "no panic line: $(tr '\n' '|' <"$t/err")"
nothing_left "after the panic"

# --- a full disk under a share ---------------------------------------------------------------
mkdir "$t/full"
mount -t tmpfs -o size=4m,mode=0755 faults-full "$t/full" || bad "cannot mount a 4 MiB tmpfs"
tvm 300 --share "$t/full:/workspace" -- sh -c '
	dd if=/dev/zero of=/workspace/big bs=1M count=16 2>&1; echo "DD $?"
	rm -f /workspace/big; echo after >/workspace/small && sync && echo "SMALL $?"; exit 3' \
	</dev/null >"$t/out" 2>"$t/err"
expect_status "a full disk under the share: microvmm ends with the command's status" 3 $?
grep -q 'No space left on device' "$t/out" && ok "the guest's write failed with ENOSPC" ||
	bad "no ENOSPC in the guest: $(tr '\n' '|' <"$t/out")"
grep -q '^SMALL 0' "$t/out" && eq "a write after the disk filled lands on the host" \
	"$(cat "$t/full/small" 2>&1)" after || bad "the later write failed: $(tr '\n' '|' <"$t/out")"
grep -q '^microvmm: ' "$t/err" && bad "microvmm complained: $(tr '\n' '|' <"$t/err")" ||
	ok "microvmm itself reports nothing about the full disk"
umount "$t/full"
nothing_left "after the full disk"

# --- soak: sequential runs -------------------------------------------------------------------
host_fds() { cut -f1 /proc/sys/fs/file-nr; }
# User processes only: the kernel starts and retires its worker threads as it likes.
host_procs() {
	n=0
	for p in /proc/[0-9]*; do readlink "$p/exe" >/dev/null 2>&1 && n=$((n + 1)); done
	echo $n
}
host_shmem() { awk '/^Shmem:/ {print $2}' /proc/meminfo; }
fds0=$(host_fds) procs0=$(host_procs) shmem0=$(host_shmem)
i=1 failed=0 start=$(now)
while [ $i -le "$soak_runs" ]; do
	tvm 300 --mem 256M --share "$t/share:/workspace" --net user -- \
		sh -c 'echo "soak $1" >/workspace/soak && cat /workspace/soak' sh $i </dev/null >"$t/out" 2>"$t/err"
	st=$?
	if [ $st != 0 ] || ! grep -q "^soak $i\$" "$t/out" || [ "$(cat "$t/share/soak")" != "soak $i" ]; then
		failed=$((failed + 1))
		echo "soak run $i: exit $st: $(tail -n 3 "$t/err" | tr '\n' '|')"
	fi
	i=$((i + 1))
done
fds1=$(host_fds) procs1=$(host_procs) shmem1=$(host_shmem)
echo "faults: FIGURES soak: $soak_runs runs in $(($(now) - start)) s; file handles $fds0 -> $fds1," \
	"processes $procs0 -> $procs1, Shmem $shmem0 -> $shmem1 KiB"
[ $failed = 0 ] && ok "soak: $soak_runs sequential runs, each status 0 and its file on the host" ||
	bad "soak: $failed of $soak_runs runs failed"
[ $((fds1 - fds0)) -le 16 ] && ok "soak: host file handles did not grow" ||
	bad "soak: host file handles grew by $((fds1 - fds0))"
[ $((procs1 - procs0)) -le 2 ] && ok "soak: host processes did not grow" ||
	bad "soak: host processes grew by $((procs1 - procs0))"
[ $((shmem1 - shmem0)) -le 16384 ] && ok "soak: host shared memory did not grow" ||
	bad "soak: Shmem grew by $((shmem1 - shmem0)) KiB"
nothing_left "after the sequential soak"

# --- soak: concurrent VMs --------------------------------------------------------------------
i=1 pids= start=$(now)
while [ $i -le "$concurrent" ]; do
	mkdir -p "$t/c$i"
	tvm 1200 --mem 256M --share "$t/c$i:/workspace" --net user -- \
		sh -c 'echo "vm $1" >/workspace/id && exit $((10 + $1))' sh $i \
		</dev/null >"$t/c$i.out" 2>"$t/c$i.err" &
	pids="$pids $!"
	i=$((i + 1))
done
i=1 failed=0
for p in $pids; do
	wait "$p"
	st=$?
	if [ $st != $((10 + i)) ] || [ "$(cat "$t/c$i/id" 2>&1)" != "vm $i" ]; then
		failed=$((failed + 1))
		echo "concurrent VM $i: exit $st, id '$(cat "$t/c$i/id" 2>&1)': $(tail -n 3 "$t/c$i.err" | tr '\n' '|')"
	fi
	i=$((i + 1))
done
echo "faults: FIGURES $concurrent concurrent VMs of 256 MiB ended in $(($(now) - start)) s"
[ $failed = 0 ] && ok "$concurrent concurrent VMs of 256 MiB with shares and --net user: each its own status and file" ||
	bad "$failed of $concurrent concurrent VMs failed"
nothing_left "after the concurrent VMs"

echo "faults: $pass passed, $fail failed"
[ "$fail" = 0 ]

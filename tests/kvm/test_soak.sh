#!/bin/bash
# Soak: RUNS sequential runs of the freestanding test guest, each with a share (virtiofsd) and
# --net user (passt), each powering off with 0 and printing its command line. Host-wide file
# handles, processes and shared memory (guest RAM with a share is a memfd) are read after a
# warm-up and at the end, and must not grow beyond the noise other jobs on the host make: a
# leak of one fd, process or guest RAM per run would show RUNS times over.
# Usage: test_soak.sh MICROVMM GUEST VIRTIOFSD PASST [RUNS]   (RUNS default 100)
set -u
MICROVMM=$1
GUEST=$2
VIRTIOFSD=$3
PASST=$4
RUNS=${5:-100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
need_kvm_and_helpers "$VIRTIOFSD" "$PASST"
mkdir -p "$tmp/share" "$tmp/run"
export XDG_RUNTIME_DIR=$tmp/run

one_run() { # run number
	# shellcheck disable=SC2046 # words on purpose
	timeout 30 "$MICROVMM" --kernel "$GUEST" --mem 64M --cmdline "p soak $1" \
		$(helper_args "$VIRTIOFSD" "$tmp/share") </dev/null >"$tmp/out" 2>&1
	local st=$?
	[ "$st" = 0 ] && grep -q "cmdline=p soak $1\$" "$tmp/out" && return 0
	echo "run $1: status $st"
	sed 's/^/    /' "$tmp/out"
	return 1
}
# Host-wide figures: allocated file handles, processes, Shmem (KiB).
host_fds() { cut -f1 /proc/sys/fs/file-nr; }
host_procs() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
host_shmem() { awk '/^Shmem:/ {print $2}' /proc/meminfo; }

for i in 1 2 3 4 5; do one_run "warm-up-$i" >/dev/null; done
fds0=$(host_fds) procs0=$(host_procs) shmem0=$(host_shmem)
failed=0
start=$(date +%s%N)
for i in $(seq 1 "$RUNS"); do
	one_run "$i" || failed=$((failed + 1))
done
ms=$((($(date +%s%N) - start) / 1000000))
# The lowest of 20 samples over 2 s: the last run's helpers are reaped and its io_uring and
# KVM files released (the kernel tears rings down in a work queue), and a burst of another
# job's files does not count.
fds1=$(host_fds) procs1=$(host_procs) shmem1=$(host_shmem)
for _ in $(seq 20); do
	sleep 0.1
	f=$(host_fds) p=$(host_procs) m=$(host_shmem)
	[ "$f" -lt "$fds1" ] && fds1=$f
	[ "$p" -lt "$procs1" ] && procs1=$p
	[ "$m" -lt "$shmem1" ] && shmem1=$m
done
echo "soak: $RUNS runs in $ms ms ($((ms / RUNS)) ms each); file handles $fds0 -> $fds1," \
	"processes $procs0 -> $procs1, Shmem $shmem0 -> $shmem1 KiB"

[ "$failed" = 0 ] && ok "$RUNS sequential runs with a share and --net user: all powered off with 0" ||
	bad "$failed of $RUNS runs failed"
# The figures are host-wide, so other jobs move them too: a leak of one file handle or process
# per run shows as RUNS, so growth up to a quarter of that (at least 64 and 8) is their noise.
fd_noise=$((RUNS / 4 > 64 ? RUNS / 4 : 64))
proc_noise=$((RUNS / 4 > 8 ? RUNS / 4 : 8))
[ $((fds1 - fds0)) -le $fd_noise ] && ok "host file handles did not grow ($fds0 -> $fds1)" ||
	bad "host file handles grew by $((fds1 - fds0)) over $RUNS runs"
[ $((procs1 - procs0)) -le $proc_noise ] && ok "host processes did not grow ($procs0 -> $procs1)" ||
	bad "host processes grew by $((procs1 - procs0)) over $RUNS runs: $(ps -eo pid,comm | tail -20)"
[ $((shmem1 - shmem0)) -le 16384 ] && ok "host shared memory (guest RAM memfds) did not grow" ||
	bad "Shmem grew by $((shmem1 - shmem0)) KiB over $RUNS runs"
[ -z "$(find "$tmp/run" -mindepth 1)" ] && ok "nothing left in the runtime directory" ||
	bad "left in the runtime directory: $(find "$tmp/run" -mindepth 1)"
echo "soak: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# The sandbox around microvmm (docs/security.md), with the freestanding test
# guest on any /dev/kvm: while a VM runs, the VM process is jailed (seccomp on
# every thread, no_new_privs, a non-root uid, an empty root, only its own fds);
# a forbidden system call from each thread class kills it with SIGSYS; the
# debugging switches warn. Runs as root (the jail drops to its own uid).
set -u
MICROVMM=$1
HOOKED=$2
GUEST=$3
pass=0
fail=0
tmp=$(mktemp -d)
sup=
cleanup() {
	[ -n "$sup" ] && kill -KILL "$sup" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible; these tests need KVM" >&2
	exit 77
fi
if [ "${MICROVMM_SANITIZED:-0}" = 1 ]; then
	echo "SKIP: sanitizer builds run seccomp in log mode (docs/security.md); nothing is killed" >&2
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the jail checks need root (the jail drops to its own uid)" >&2
	exit 77
fi

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

# --- a running, jailed VM ------------------------------------------------------
"$MICROVMM" --kernel "$GUEST" --mem 64M --cpus 2 --cmdline s </dev/null >"$tmp/out" 2>&1 &
sup=$!
vmm=
for _ in $(seq 100); do
	vmm=$(pgrep -P "$sup" | head -1)
	[ -n "$vmm" ] && [ "$(ls /proc/"$vmm"/task | wc -l)" -ge 4 ] && break
	sleep 0.05
done
if [ -z "$vmm" ]; then
	bad "the supervisor started no VM process"; cat "$tmp/out"
else
	sleep 0.3
	threads=0 filtered=0
	for t in /proc/"$vmm"/task/*; do
		threads=$((threads + 1))
		grep -q '^Seccomp:[[:space:]]*2' "$t/status" && filtered=$((filtered + 1))
	done
	[ "$threads" -ge 4 ] && [ "$filtered" = "$threads" ] &&
		ok "all $threads threads of the VM process run under a seccomp filter (Seccomp: 2)" ||
		bad "$filtered of $threads threads filtered"
	grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$vmm"/status && ok "NoNewPrivs: 1" || bad "no_new_privs not set"
	# The address-space limit: what was mapped at the jail (64M of guest RAM included)
	# plus a bounded headroom, so a guest cannot grow microvmm into a host OOM.
	as=$(awk '/^Max address space/ {print $4}' /proc/"$vmm"/limits)
	vsz=$(awk '/^VmSize:/ {print $2 * 1024}' /proc/"$vmm"/status)
	if [ "$as" != unlimited ] && [ -n "$as" ] && [ "$as" -gt "$vsz" ] &&
		[ "$as" -le $((vsz + 1024 * 1024 * 1024)) ]; then
		ok "the VM process's address space is limited to $((as >> 20)) MiB (now $((vsz >> 20)) MiB)"
	else
		bad "address-space limit '$as' for a VmSize of $vsz"
	fi
	uid=$(awk '/^Uid:/ {print $2}' /proc/"$vmm"/status)
	[ -n "$uid" ] && [ "$uid" != 0 ] && ok "the VM process runs as uid $uid, not root" || bad "VM process uid '$uid'"
	entries=$(ls -A /proc/"$vmm"/root/ 2>&1 | wc -l)
	[ "$entries" = 0 ] && ok "/proc/<pid>/root of the VM process is an empty directory" ||
		bad "the VM's root has $entries entries: $(ls -A /proc/"$vmm"/root/ | head -5 | tr '\n' ' ')"
	# Only what the VM needs: stdio, /dev/kvm-backed fds, eventfds, the ring, guest RAM.
	others=$(for f in /proc/"$vmm"/fd/*; do readlink "$f"; done |
		grep -v -e '^anon_inode:' -e '^/dev/null$' -e "^$tmp/out\$" -e '^/memfd:microvmm-guest-ram' \
			-e '^/dev/kvm$' -e "^${MICROVMM_BOOT_LOG:-/nonexistent}\$" | sort -u)
	[ -z "$others" ] && ok "the VM process holds only its own fds (KVM, eventfds, io_uring, guest RAM, stdio)" ||
		bad "unexpected fds: $others"
	grep -q '^Seccomp:[[:space:]]*2' /proc/"$sup"/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$sup"/status &&
		ok "the supervisor is seccomp-filtered and no_new_privs" || bad "supervisor not filtered"
	! ls -l /proc/"$sup"/fd | grep -q -e kvm -e 'anon_inode:kvm' &&
		ok "the supervisor holds no KVM fd" || bad "supervisor holds KVM fds"
	kill -TERM "$sup"
	wait "$sup"
	st=$?
	sup=
	[ "$st" = 143 ] && ok "SIGTERM to the supervisor stops the jailed VM (143)" || bad "SIGTERM gave $st"
fi

# --- a forbidden system call per thread class ------------------------------------
for cls in vcpu devices main; do
	MICROVMM_TEST_FORBIDDEN=$cls timeout 60 "$HOOKED" --kernel "$GUEST" --mem 64M --cmdline p \
		</dev/null >"$tmp/out" 2>&1
	st=$?
	if [ "$st" = 125 ] && grep -q 'seccomp filter forbids' "$tmp/out"; then
		ok "a forbidden call from the $cls thread kills the VM process by SIGSYS (exit 125, reported)"
	else
		bad "forbidden call from $cls: exit $st: $(cat "$tmp/out")"
	fi
done
# Its own file: the orphaned VM process may still write while it dies (PDEATHSIG).
MICROVMM_TEST_FORBIDDEN=supervisor timeout 60 "$HOOKED" --kernel "$GUEST" --mem 64M --cmdline p \
	</dev/null >"$tmp/out.supervisor" 2>&1
st=$?
[ "$st" = $((128 + 31)) ] && ok "a forbidden call from the supervisor kills it by SIGSYS (159)" ||
	bad "forbidden call from the supervisor: exit $st"

# A VM process killed on a terminal: the supervisor restores the terminal and reports.
if command -v script >/dev/null; then
	MICROVMM_TEST_FORBIDDEN=vcpu timeout 60 script -qec "stty -echo; '$HOOKED' --kernel '$GUEST' \
		--mem 64M --cmdline s; echo EXIT=\$?; stty -a" /dev/null </dev/null >"$tmp/out.tty" 2>&1
	grep -q 'EXIT=125' "$tmp/out.tty" && grep -q 'seccomp filter forbids' "$tmp/out.tty" &&
		ok "on a terminal, a killed VM process is reported and the supervisor survives to restore the terminal" ||
		bad "terminal case: $(tr -d '\r' <"$tmp/out.tty" | head -5)"
fi

# --- debugging switches ------------------------------------------------------------
MICROVMM_TEST_FORBIDDEN=vcpu timeout 60 "$HOOKED" --seccomp=log --kernel "$GUEST" --mem 64M \
	--cmdline p </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 0 ] && grep -q 'warn: sandbox: --seccomp=log' "$tmp/out" &&
	ok "--seccomp=log logs instead of killing, with a loud warning" || bad "--seccomp=log: exit $st: $(cat "$tmp/out")"
timeout 60 "$MICROVMM" --no-sandbox --kernel "$GUEST" --mem 64M --cmdline p </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 0 ] && grep -q 'warn: sandbox: --no-sandbox' "$tmp/out" &&
	ok "--no-sandbox runs, with a loud warning" || bad "--no-sandbox: exit $st"
timeout 60 "$MICROVMM" --jail-user 0 --kernel "$GUEST" --cmdline p </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 125 ] && grep -q -- '--jail-user' "$tmp/out" && ok "--jail-user 0 is refused" || bad "--jail-user 0: $st"
timeout 60 "$MICROVMM" --jail-user 4242:4343 --kernel "$GUEST" --mem 64M --cmdline p </dev/null >"$tmp/out" 2>&1
st=$?
[ "$st" = 0 ] && ok "--jail-user 4242:4343 runs the VM" || bad "--jail-user 4242:4343: exit $st: $(cat "$tmp/out")"

echo "sandbox: $pass passed, $fail failed"
[ "$fail" = 0 ]

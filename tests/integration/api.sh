#!/bin/sh
# --api-socket with the stock kernel, driven by curl --unix-socket (and api-raw for the
# requests curl will not send), in one level-1 boot:
#  - a command that counts on stdout: state booting -> running; GET /vm's pid and config;
#    counters that move with its output; pause (the counter and the output stand still),
#    resume (they move again); PUT /vm/signal reaches its trap; 100 malformed requests each
#    answered 4xx while it keeps running; an events stream that saw every state; shutdown:
#    its TERM trap exits 0, so does microvmm, and the socket is gone;
#  - PUT /vm/kill: 137; shutdown of a command that does not trap TERM: 143; a command that
#    ends by itself; a killed supervisor's socket replaced by the next VM; a bad kernel: 125;
#    after each, no socket file is left;
#  - libmicrovmm: the example launcher (examples/parallel.c) runs 4 VMs at once and reports
#    each one's exit status.
# Usage: api.sh API_RAW=PATH PARALLEL=PATH (tests/integration/api_raw.c, examples/parallel.c)
set -u
for a in "$@"; do
	case $a in
	API_RAW=*) api_raw=${a#API_RAW=} ;;
	PARALLEL=*) parallel=${a#PARALLEL=} ;;
	*)
		echo "usage: api.sh API_RAW=PATH PARALLEL=PATH" >&2
		exit 2
		;;
	esac
done
[ -x /l1/bin/api-raw ] && api_raw=/l1/bin/api-raw
[ -x /l1/bin/microvmm-parallel ] && parallel=/l1/bin/microvmm-parallel
lib_name=api
. "$(dirname "$0")/lib.sh"

missing=$(missing_tools microvmm curl timeout)
[ -x "${api_raw:-}" ] || missing="$missing api-raw"
[ -x "${parallel:-}" ] || missing="$missing microvmm-parallel"
if [ -n "$missing" ]; then
	echo "FAIL: missing:$missing"
	exit 1
fi
t=$(mktemp -d /tmp/api-test.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
sock=$t/api.sock

# api METHOD PATH [BODY]: the body of the answer; $t/code holds the status.
api() {
	if [ $# -gt 2 ]; then
		curl -s -o "$t/body" -w '%{http_code}' --unix-socket "$sock" -X "$1" \
			-H 'Content-Type: application/json' -d "$3" "http://vm$2" >"$t/code"
	else
		curl -s -o "$t/body" -w '%{http_code}' --unix-socket "$sock" -X "$1" "http://vm$2" >"$t/code"
	fi
	cat "$t/body"
}
# field NAME: the first "NAME": value of the last answer, unquoted.
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$t/body" | head -n 1; }
state() { api GET /vm >/dev/null && field state; }
# stdout_bytes: what the command has written to its stdout port, by the counters.
stdout_bytes() {
	api GET /vm/counters | tr -d ' \n' | sed -n 's/.*"stdout":{"bytes_from_guest":\([0-9]*\).*/\1/p'
}
# wait_state WANT SECS
wait_state() {
	i=0
	while [ $i -lt $(($2 * 4)) ]; do
		[ "$(state)" = "$1" ] && return 0
		sleep 0.25
		i=$((i + 1))
	done
	return 1
}
wait_socket() {
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 80 ]; do sleep 0.25; i=$((i + 1)); done
	[ -S "$sock" ]
}
gone() { # NAME: the socket file is gone
	if [ -e "$sock" ]; then bad "$1: $sock is still there"; else ok "$1: the socket file is gone"; fi
}

# --- one VM through every state ---------------------------------------------------------
# shellcheck disable=SC2016 # the guest's shell expands these
counter='trap "echo got-usr1" USR1; trap "echo bye; exit 0" TERM; i=0
while :; do i=$((i + 1)); echo "tick $i"; sleep 0.2; done'
tvm 600 --api-socket "$sock" -- sh -c "$counter" >"$t/out" 2>"$t/err" &
vm=$!
if ! wait_socket; then
	bad "the API socket did not appear: $(tr '\n' '|' <"$t/err")"
	exit 1
fi
eq "the socket is mode 0600" "$(stat -c %a "$sock")" 600
curl -sN --unix-socket "$sock" http://vm/vm/events >"$t/events" 2>/dev/null &
events=$!
first=$(state)
case $first in
booting | running) ok "state at start: $first" ;;
*) bad "state at start: '$first' ($(cat "$t/code"))" ;;
esac
if wait_state running 300; then ok "state: running once the command started"; else bad "never running: $(cat "$t/body")"; fi
api GET /vm >/dev/null
eq "GET /vm: 200" "$(cat "$t/code")" 200
eq "GET /vm: pid is microvmm's" "$(cat "/proc/$(field pid)/comm" 2>/dev/null)" microvmm
eq "GET /vm: config.api_socket" "$(field api_socket)" "$sock"
grep -q '"exit_status": null' "$t/body" && ok "GET /vm: exit_status null while running" ||
	bad "GET /vm: exit_status: $(grep exit_status "$t/body")"
c1=$(stdout_bytes)
sleep 1.5
c2=$(stdout_bytes)
[ "${c2:-0}" -gt "${c1:-0}" ] && ok "counters: stdout bytes move with the output ($c1 -> $c2)" ||
	bad "counters: stdout bytes did not move ($c1 -> $c2)"

api PUT /vm/pause >/dev/null
eq "PUT /vm/pause: 204" "$(cat "$t/code")" 204
eq "state: paused" "$(state)" paused
p1=$(stdout_bytes)
s1=$(wc -c <"$t/out")
sleep 2
p2=$(stdout_bytes)
s2=$(wc -c <"$t/out")
eq "paused: the counter stands still" "$p2" "$p1"
eq "paused: the command's output stands still" "$s2" "$s1"
api PUT /vm/resume >/dev/null
eq "PUT /vm/resume: 204" "$(cat "$t/code")" 204
eq "state: running again" "$(state)" running
sleep 1.5
r1=$(stdout_bytes)
[ "${r1:-0}" -gt "${p2:-0}" ] && ok "resumed: the counter moves again ($p2 -> $r1)" ||
	bad "resumed: the counter did not move ($p2 -> $r1)"

api PUT /vm/signal '{"signal": "USR1"}' >/dev/null
eq "PUT /vm/signal USR1: 204" "$(cat "$t/code")" 204
if wait_out got-usr1 "$t/out" "$vm" 30; then ok "the command's USR1 trap ran"; else bad "no got-usr1 in the output"; fi
api PUT /vm/signal '{"signal": "NOPE"}' >/dev/null
eq "PUT /vm/signal with an unknown name: 400" "$(cat "$t/code")" 400
api GET /vm/nothing >/dev/null
eq "GET an unknown path: 404" "$(cat "$t/code")" 404
api DELETE /vm >/dev/null
eq "DELETE /vm: 405" "$(cat "$t/code")" 405

# 100 malformed requests: bad methods, huge headers, truncated bodies, bad JSON, bad framing.
long=$(printf '%9000s' x)
path=$(printf '%300s' x | tr ' ' a)
n=0
fourxx=0
while [ $n -lt 100 ]; do
	case $((n % 10)) in
	0) req='FOO\r\n\r\n' ;;
	1) req='GET /vm HTTP/1.1\r\nX-Long: '"$long"'\r\n\r\n' ;;
	2) req='PUT /vm/signal HTTP/1.1\r\nContent-Length: 60\r\n\r\n{"signal": ' ;;
	3) req='PUT /vm/signal HTTP/1.1\r\nContent-Length: 9\r\n\r\n{"signal"' ;;
	4) req='PUT /vm/shutdown HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]' ;;
	5) req='GET /vm HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n' ;;
	6) req='GET /'"$path"' HTTP/1.1\r\n\r\n' ;;
	7) req='GET /vm HTTP/1.1\r\nBad Header: x\r\n\r\n' ;;
	8) req='GET /vm HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' ;;
	9) req='get /vm HTTP/1.1\r\n\r\n' ;;
	esac
	answer=$(printf "$req" | "$api_raw" "$sock")
	case $answer in
	"HTTP/1.1 4"*) fourxx=$((fourxx + 1)) ;;
	*) bad "malformed request $n ($(printf %.40s "$req")): answered '$answer'" ;;
	esac
	n=$((n + 1))
done
eq "100 malformed requests, each answered 4xx" "$fourxx" 100
eq "after them the VM still runs" "$(state)" running
m1=$(stdout_bytes)
sleep 1
m2=$(stdout_bytes)
[ "${m2:-0}" -gt "${m1:-0}" ] && ok "after them the command still writes" || bad "the command stopped writing ($m1 -> $m2)"

api PUT /vm/shutdown '{"timeout_s": 30}' >/dev/null
eq "PUT /vm/shutdown: 204" "$(cat "$t/code")" 204
wait_exit "$vm" 120
wait "$vm"
expect_status "shutdown: the TERM trap's status" 0 $?
grep -q '^bye$' "$t/out" && ok "shutdown: the command's TERM trap ran" || bad "shutdown: no 'bye' in the output"
gone "after shutdown"
sleep 0.5
kill "$events" 2>/dev/null
states=$(sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' "$t/events" | uniq | tr '\n' ' ')
case $states in
*"running paused running stopping stopped "*) ok "events: $states" ;;
*) bad "events: got '$states', want ... running paused running stopping stopped" ;;
esac
grep -q '"state": "stopped", "exit_status": 0' "$t/events" && ok "events: the last line has exit_status 0" ||
	bad "events: no stopped line with exit_status 0: $(tail -n 1 "$t/events")"

# --- every other way out leaves no socket -------------------------------------------------
tvm 300 --api-socket "$sock" -- sleep 1000 >"$t/out" 2>"$t/err" &
vm=$!
wait_socket && wait_state running 300
api PUT /vm/kill >/dev/null
eq "PUT /vm/kill: 204" "$(cat "$t/code")" 204
wait_exit "$vm" 60
wait "$vm"
expect_status "kill" 137 $?
gone "after kill"

tvm 300 --api-socket "$sock" -- sleep 1000 >"$t/out" 2>"$t/err" &
vm=$!
wait_socket && wait_state running 300
api PUT /vm/shutdown >/dev/null
wait_exit "$vm" 120
wait "$vm"
expect_status "shutdown of a command without a TERM trap" 143 $?
gone "after that shutdown"

# A supervisor killed outright cannot remove the file: the next microvmm replaces it.
microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 256M --api-socket "$sock" \
	-- sleep 1000 >"$t/out" 2>"$t/err" &
vm=$!
wait_socket
kill -9 "$vm"
wait "$vm" 2>/dev/null
sleep 1
[ -S "$sock" ] && ok "a SIGKILLed supervisor leaves its socket file" || bad "no stale socket to replace"
tvm 300 --api-socket "$sock" -- true >"$t/out" 2>"$t/err"
expect_status "a command that ends by itself, on a stale socket's path" 0 $?
gone "after the command ended"

tvm 60 --kernel /nonexistent --api-socket "$sock" -- true >"$t/out" 2>"$t/err"
expect_status "a bad kernel with --api-socket" 125 $?
gone "after a failed start"

# --- libmicrovmm: four VMs at once from the example launcher ------------------------------
# In the level-1 host the library is in /l1/lib (the build tree's path may be hidden there).
[ -e /l1/lib/libmicrovmm.so.0 ] && LD_LIBRARY_PATH=/l1/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} &&
	export LD_LIBRARY_PATH
timeout 600 "$parallel" 4 kernel="$KERNEL" initrd="$GUEST/initrd.img" mem=256M >"$t/par" 2>&1
expect_status "microvmm-parallel 4: every VM ended with its own status" 0 $?
for i in 0 1 2 3; do
	grep -q "^vm $i: exit status $i\$" "$t/par" && ok "microvmm-parallel: vm $i reported exit status $i" ||
		bad "microvmm-parallel: vm $i: $(grep "^vm $i:" "$t/par" | tr '\n' '|') (output: $(head -c 300 "$t/par" | tr '\n' '|'))"
done
leftover=$(ls -d /tmp/microvmm-?????? "${XDG_RUNTIME_DIR:-/nonexistent}"/microvmm-?????? 2>/dev/null)
eq "microvmm-parallel: no private directory left behind" "$leftover" ""

echo "api: $pass passed, $fail failed"
[ "$fail" = 0 ]

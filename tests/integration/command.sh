#!/bin/sh
# Runs commands in the stock-kernel guest through microvmm and checks what
# the host gets back: exit statuses, exact bytes on stdout/stderr, stdin,
# environment, timeout and signals. POSIX sh (busybox ash in the level-1 host).
# Needs: microvmm on PATH, $GUEST with vmlinuz and initrd.img.
# MICROVMM_BIG_BYTES sets the size of the binary-output check (default 50 MB).
set -u
# The kernel to boot: the level-1 harness names it; by hand it is $GUEST/vmlinuz.
KERNEL=${KERNEL:-$GUEST/vmlinuz}
pass=0
fail=0
t=/tmp/cmdtest
mkdir -p $t
big=${MICROVMM_BIG_BYTES:-50000000}

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
vm() { microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M "$@"; }
expect_status() { # name want got
	[ "$3" = "$2" ] && ok "$1 (exit $3)" || bad "$1: exit $3, want $2"
}

vm --boot-timeline -- sh -c 'exit 42' </dev/null 2>$t/timeline; expect_status "exit 42 passes through" 42 $?
# --boot-timeline: the command's start (the init's "ready") falls between the first KVM_RUN and
# the guest's stop.
stages=$(sed -n 's/.* first_run_ms=+\([0-9.]*\) command_ms=+\([0-9.]*\) guest_stopped_ms=+\([0-9.]*\).*/\1 \2 \3/p' $t/timeline)
echo "$stages" | awk 'NF == 3 && $1 < $2 && $2 < $3 {ok = 1} END {exit !ok}' &&
	ok "--boot-timeline: first KVM_RUN < command started < guest stopped ($stages ms)" ||
	bad "--boot-timeline: $(cat $t/timeline)"
vm -- sh -c 'kill -9 $$' </dev/null; expect_status "killed by SIGKILL is 137" 137 $?
vm -- /nonexistent </dev/null 2>$t/err; expect_status "a missing command is 127" 127 $?
grep -q 'nonexistent' $t/err && ok "the not-found message names the command" || bad "no message: $(cat $t/err)"
vm -- /etc/passwd </dev/null 2>/dev/null; expect_status "a non-executable file is 126" 126 $?

# Arguments: spaces, quotes, newlines, UTF-8, empty, leading dashes arrive byte for byte.
nl='
'
vm -- printf '%s\n' "two words" "it's \"quoted\"" "line1${nl}line2" "héllo wörld ✓" "" "--dash" '$HOME' \
	</dev/null >$t/args.out
printf '%s\n' "two words" "it's \"quoted\"" "line1${nl}line2" "héllo wörld ✓" "" "--dash" '$HOME' >$t/args.want
cmp -s $t/args.out $t/args.want && ok "arguments arrive byte-identical" || bad "arguments differ: $(od -c $t/args.out | head)"

# Binary output: the host's checksum of stdout equals the guest's own.
start=$(date +%s)
vm --cpus 2 -- sh -c "head -c $big /dev/urandom >/tmp/r && sha256sum </tmp/r >&2 && cat /tmp/r" \
	</dev/null 2>$t/guestsum | sha256sum >$t/hostsum
secs=$(($(date +%s) - start))
g=$(tr -d ' -' <$t/guestsum | head -c 64)
h=$(tr -d ' -' <$t/hostsum | head -c 64)
[ -n "$g" ] && [ "$g" = "$h" ] && ok "$big random bytes arrive intact (${secs}s)" || bad "checksums differ: guest '$g' host '$h'"

# Lines: seq output is complete and in order.
vm -- seq 1 500000 </dev/null >$t/seq.out
seq 1 500000 >$t/seq.want
cmp -s $t/seq.out $t/seq.want && ok "seq 1 500000 arrives complete" || bad "seq output differs ($(wc -l <$t/seq.out) lines)"

# stdin: bytes in, end of input reaches the command.
out=$(printf 'abc' | vm -- cat)
[ "$out" = "abc" ] && ok "stdin reaches cat and ends" || bad "cat printed '$out'"
head -c 300000 /dev/urandom >$t/in.bin
vm -- sha256sum <$t/in.bin >$t/in.guest
[ "$(cut -c1-64 $t/in.guest)" = "$(sha256sum <$t/in.bin | cut -c1-64)" ] && ok "300 KB of binary stdin arrive intact" || bad "stdin checksum differs"

# stderr is a stream of its own.
vm -- sh -c 'echo out; echo err >&2' </dev/null >$t/o 2>$t/e
[ "$(cat $t/o)" = out ] && [ "$(cat $t/e)" = err ] && ok "stdout and stderr stay separate" || bad "stdout '$(cat $t/o)' stderr '$(cat $t/e)'"

# Environment: --env NAME=VALUE and NAME alone; none of it on the kernel command line or console.
# The command compares the secret itself and never prints it, so any copy of it in the console
# log (which microvmm writes from the guest's console and the command's stdout and stderr) is
# a leak; the command's own output line there shows the log is this run's.
export MICROVMM_TEST_SECRET=hostvalue
rm -f $t/console.log
vm --env FOO=bar --env MICROVMM_TEST_SECRET --env UNSET_VARIABLE_X --console-log $t/console.log \
	-- sh -c 'echo "FOO=$FOO SECRET=$([ "$MICROVMM_TEST_SECRET" = hostvalue ] && echo same || echo differs) UNSET=${UNSET_VARIABLE_X-unset}"; cat /proc/cmdline >&2' \
	</dev/null >$t/env.out 2>$t/env.err
[ "$(cat $t/env.out)" = "FOO=bar SECRET=same UNSET=unset" ] && ok "--env values reach the command" || bad "env: $(cat $t/env.out)"
if grep -q 'hostvalue\|FOO=bar' $t/env.err; then bad "--env leaked into /proc/cmdline"; else ok "/proc/cmdline has no --env values"; fi
if [ ! -s $t/console.log ]; then
	bad "--console-log $t/console.log is missing or empty"
elif ! grep -q 'FOO=bar SECRET=same' $t/console.log; then
	bad "the console log lacks the command's output: $(tail -n 3 $t/console.log | tr '\n' '|')"
elif grep -q 'hostvalue' $t/console.log; then
	bad "the --env secret is in the console log"
else
	ok "the console log holds the command's output and no --env value"
fi
vm --env HOME -- sh -c 'echo $HOME' </dev/null >$t/home.out
[ "$(cat $t/home.out)" = "$HOME" ] && ok "--env HOME takes the host's value" || bad "HOME is '$(cat $t/home.out)', host '$HOME'"

# The command runs as agent by default, as root with --user root.
[ "$(vm -- id -u </dev/null)" = 1000 ] && ok "the command runs as uid 1000 (agent)" || bad "agent uid"
[ "$(vm --user root -- id -u </dev/null)" = 0 ] && ok "--user root runs as root" || bad "root uid"

# --timeout stops the command with 124, in about the time asked for.
start=$(date +%s)
vm --timeout 5 -- sleep 60 </dev/null; st=$?
secs=$(($(date +%s) - start))
expect_status "--timeout 5 -- sleep 60" 124 $st
[ $secs -lt 45 ] && ok "--timeout ended the VM after ${secs}s" || bad "--timeout took ${secs}s"

# SIGTERM to microvmm reaches the command (143); the command may trap it.
# (exec, so that $! is microvmm itself and not a subshell)
(exec microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	-- sh -c 'echo started; sleep 60' </dev/null >$t/sig.out) &
pid=$!
i=0
while [ $i -lt 120 ] && ! grep -q started $t/sig.out; do sleep 0.5; i=$((i + 1)); done
kill -TERM $pid
wait $pid; expect_status "SIGTERM is forwarded to the command" 143 $?
(exec microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	-- sh -c 'trap "echo caught; exit 7" TERM; echo started; while :; do sleep 1; done' \
	</dev/null >$t/trap.out) &
pid=$!
i=0
while [ $i -lt 120 ] && ! grep -q started $t/trap.out; do sleep 0.5; i=$((i + 1)); done
kill -TERM $pid
wait $pid; st=$?
[ $st = 7 ] && grep -q caught $t/trap.out && ok "a command that traps SIGTERM exits its own way (7)" || bad "trap: exit $st, out '$(cat $t/trap.out)'"

echo "$pass passed, $fail failed"
[ $fail = 0 ]

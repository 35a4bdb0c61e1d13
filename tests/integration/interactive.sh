#!/bin/sh
# Drives an interactive microvmm session under tmux, as a person would: the
# shell prompt appears, a command runs, the window size and TERM reach the
# guest, Ctrl-] ends the VM, and the terminal is back in cooked mode.
# POSIX sh; needs tmux, microvmm on PATH and $GUEST.
set -u
# The kernel to boot: the level-1 harness names it; by hand it is $GUEST/vmlinuz.
KERNEL=${KERNEL:-$GUEST/vmlinuz}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); tmux capture-pane -p -t t 2>/dev/null | sed 's/^/    | /'; }

if ! command -v tmux >/dev/null; then
	echo "SKIP: tmux is not installed (scripts/install-deps installs it)" >&2
	exit 77
fi
export TERMINFO_DIRS=/lib/terminfo:/usr/share/terminfo
# tmux needs a UTF-8 locale; C.UTF-8 comes with libc (copied into the level-1 host).
export LC_ALL=C.UTF-8
export HOME=${HOME:-/root}

# wait_for PATTERN SECONDS: until the pane shows PATTERN.
wait_for() {
	i=0
	while [ $i -lt $(($2 * 4)) ]; do
		# A person reads before typing on: give the shell a moment after a match.
		tmux capture-pane -p -t t 2>/dev/null | grep -q -- "$1" && sleep 0.5 && return 0
		sleep 0.25
		i=$((i + 1))
	done
	return 1
}

# -u: the level-1 host has no locales; tmux refuses to start without UTF-8 otherwise.
alias tmux='tmux -u -f /dev/null'
tmux new-session -d -s t -x 100 -y 30 \
	"microvmm --kernel $KERNEL --initrd $GUEST/initrd.img --mem 512M; echo EXIT=\$?; stty -a | grep -o -- '-*icanon' | sed 's/^/MODE=/'; sleep 600" ||
	{ echo "FAIL: tmux could not start a session"; exit 1; }

# (capture-pane drops trailing spaces: the prompt line reads "~ $")
wait_for '~ \$' 120 && ok "the guest shell prompt appears" || bad "no shell prompt"
tmux send-keys -t t 'echo answer-$((6*7))' Enter
wait_for 'answer-42' 30 && ok "a typed command runs" || bad "command output missing"
term=$(tmux show -gv default-terminal)
tmux send-keys -t t 'echo "size=$(stty size) term=$TERM user=$(id -un)"' Enter
wait_for "size=30 100 term=$term user=agent" 30 && ok "window size, TERM and user reach the guest" || bad "size/TERM/user"
tmux send-keys -t t 'sleep 1000 &' Enter 'jobs' Enter
wait_for 'Running' 30 && ok "the shell has job control" || bad "no job control"
tmux send-keys -t t C-]
wait_for 'EXIT=130' 60 && ok "Ctrl-] ends the VM (exit 130)" || bad "Ctrl-] did not end the VM"
wait_for 'MODE=icanon' 10 && ok "the terminal is back in cooked mode" || bad "terminal still raw"
tmux kill-server 2>/dev/null

echo "$pass passed, $fail failed"
[ $fail = 0 ]

# shellcheck shell=sh
# Helpers shared by the integration scripts that boot many VMs (net.sh,
# shares.sh, rootfs.sh). Sourced from the script's own directory: tests/integration/ on
# a VMX/SVM host, /l1/test/ in the level-1 host (nested_run_script copies it
# there). POSIX sh: busybox ash in the level-1 host. $lib_name (the script's
# name) labels the progress lines.
pass=0
fail=0
# The kernel the scripts boot: the level-1 harness names it (the image's bzImage,
# or its vmlinux for the PVH-entry runs); by hand it is $GUEST/vmlinuz.
KERNEL=${KERNEL:-$GUEST/vmlinuz}

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
expect_status() { # NAME WANT GOT
	if [ "$3" = "$2" ]; then ok "$1 (exit $3)"; else bad "$1: exit $3, want $2"; fi
}
now() { date +%s; }

# alive PID: running and not a zombie.
alive() {
	pstate=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$pstate" ] && [ "$pstate" != Z ]
}
# progress I FILE: every 30 s of waiting (I counts quarter seconds), the
# guest's last line, so that a long run is never silent (run-in-l1 takes a
# command silent for 600 s for stuck).
progress() {
	[ "$1" -gt 0 ] && [ $(($1 % 120)) = 0 ] &&
		echo "${lib_name:-test}: ... $(($1 / 4))s; guest's last line: $(tail -n 1 "$2" 2>/dev/null | cut -c1-100)"
}
# wait_out PATTERN FILE PID SECS: until FILE has PATTERN, PID ended or SECS passed.
wait_out() {
	i=0
	while [ $i -lt $(($4 * 4)) ]; do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		alive "$3" || break
		sleep 0.25
		i=$((i + 1))
		progress $i "$2"
	done
	grep -q -- "$1" "$2" 2>/dev/null
}
# wait_exit PID SECS [FILE]: until PID ended; kills it (and says so) after SECS.
wait_exit() {
	i=0
	while alive "$1" && [ $i -lt $(($2 * 4)) ]; do
		sleep 0.25
		i=$((i + 1))
		[ $# -lt 3 ] || progress $i "$3"
	done
	if alive "$1"; then
		bad "microvmm (pid $1) still running after ${2}s; killing it"
		kill -9 "$1" 2>/dev/null
	fi
}
# guest_results FILE [WHAT]: the guest's own checks (G-PASS:/G-FAIL: lines)
# as ours, prefixed with WHAT; G-END closes them.
guest_results() {
	what=${2:+$2: }
	while IFS= read -r line; do
		case $line in
		G-PASS:*) ok "${what}guest:${line#G-PASS:}" ;;
		G-FAIL:*) bad "${what}guest:${line#G-FAIL:}" ;;
		esac
	done <"$1"
	if grep -q '^G-END$' "$1"; then
		ok "${what}the guest script ran to its end"
	else
		bad "${what}the guest script did not finish; its output: $(tail -n 8 "$1" | tr '\n' '|')"
	fi
}

# tvm SECS ARGS...: microvmm ($mvm, else the one on PATH) with the guest
# image, under a watchdog (SIGTERM after SECS: exit 143).
tvm() {
	secs=$1
	shift
	timeout "$secs" "${mvm:-microvmm}" --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M "$@"
}
# fails NAME WORD ARGS...: exit 125 and exactly one "microvmm: " line on
# stderr naming WORD, within $fails_secs (120); then the script's own
# `clean NAME` checks that nothing was left behind. $t is the script's scratch
# directory.
# shellcheck disable=SC2154 # t is set by the sourcing script
fails() {
	name=$1 word=$2
	shift 2
	tvm "${fails_secs:-120}" "$@" -- true </dev/null >"$t/f.out" 2>"$t/f.err"
	expect_status "$name" 125 $?
	if [ "$(grep -c . "$t/f.err")" = 1 ] && grep -q '^microvmm: ' "$t/f.err" && grep -qF -- "$word" "$t/f.err"; then
		ok "$name: one line naming '$word': $(cat "$t/f.err")"
	else
		bad "$name: want one 'microvmm: ' line naming '$word', stderr: $(tr '\n' '|' <"$t/f.err")"
	fi
	clean "$name"
}

# snapshot DIR: every entry's name, type, mode, owner, size, mtime and link
# target, and every file's sha256: equal snapshots mean an unchanged tree.
snapshot() {
	(cd "$1" && find . -exec stat -c '%n|%F|%a|%u:%g|%s|%Y|%N' {} + | sort &&
		find . -type f -exec sha256sum {} + | sort)
}

# What must not outlive microvmm (scripts that start virtiofsd): virtiofsd
# processes, and sockets and microvmm* entries in the usual temporary places
# (microvmm binds its vhost-user socket in a private directory and unlinks it
# at once). shares_baseline records what is there now (in $t);
# `shares_clean WHEN`, right after microvmm has exited, reports what is new
# (such scripts make it their `clean`). tmux's own socket is ignored.
scan_dirs="/tmp /run /dev/shm ${XDG_RUNTIME_DIR:-} ${TMPDIR:-}"
fs_state() {
	for d in $scan_dirs; do
		[ -d "$d" ] && find "$d" -maxdepth 3 \( -type s -o -name 'microvmm*' \) 2>/dev/null
	done | grep -v '/tmux-' | sort -u
}
shares_baseline() {
	fs_state >"$t/state.base"
	echo "#baseline" >>"$t/state.base" # busybox grep -v -f with no patterns prints nothing
	vfs_base=" $(pidof virtiofsd 2>/dev/null) "
}
new_vfs() { # virtiofsd processes that were not there at shares_baseline
	for p in $(pidof virtiofsd 2>/dev/null); do
		case $vfs_base in *" $p "*) ;; *) printf '%s ' "$p" ;; esac
	done
}
new_state() { fs_state | grep -vxF -f "$t/state.base"; }
# vfs_ps PID...: those processes, for messages.
vfs_ps() {
	ps -o pid,args 2>/dev/null | awk -v pids=" $* " 'index(pids, " " $1 " ") {printf "%s; ", $0}'
}
shares_clean() {
	p=$(new_vfs)
	if [ -z "$p" ]; then
		ok "$1: no virtiofsd left running"
	else
		# shellcheck disable=SC2086 # a list of pids
		bad "$1: virtiofsd still running after microvmm exited: $(vfs_ps $p)"
		# shellcheck disable=SC2086 # a list of pids
		kill -9 $p 2>/dev/null
	fi
	s=$(new_state)
	if [ -z "$s" ]; then
		ok "$1: no socket or microvmm-* temporary entry left"
	else
		bad "$1: left behind: $(echo "$s" | tr '\n' ' ')"
		echo "$s" >>"$t/state.base" # report each leftover once
	fi
}

# missing_tools TOOL...: those not on PATH, each after a space (nothing when all are there).
missing_tools() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null || printf ' %s' "$tool"
	done
}

# passt_uplink: passt needs an uplink and the level-1 host has none, so a dummy one there
# (iproute2 by full path: busybox ash runs its own ip applet first); nothing elsewhere.
passt_uplink() {
	[ -d /l1 ] && ! ip route 2>/dev/null | grep -q '^default' || return 0
	IP=ip
	[ -x /l1/bin/ip ] && IP=/l1/bin/ip
	$IP link add up0 type dummy && $IP link set up0 up &&
		$IP addr add 10.0.2.15/24 dev up0 && $IP route add default via 10.0.2.2 dev up0 ||
		echo "${lib_name:-test}: no dummy uplink for passt"
}

# Helpers for the guest scripts (busybox ash in the guest); scripts append
# their own. G-FAIL stays on one line.
# shellcheck disable=SC2016,SC2034 # expanded in the guest; used by the sourcing script
guest_lib='
set -u
P() { echo "G-PASS: $1"; }
F() { printf "G-FAIL: %s\n" "$(printf %s "$1" | tr "\n" "|")"; }
eq() { if [ "$2" = "$3" ]; then P "$1"; else F "$1: got [$2], want [$3]"; fi; }
# nowrite WHO WHAT COMMAND: COMMAND, as root or as agent (su), must fail with
# EROFS or EACCES: WHAT is a write to something read-only.
nowrite() {
	if [ "$1" = root ]; then
		out=$(sh -c "$3" 2>&1)
	else
		out=$(su agent -s /bin/sh -c "$3" 2>&1)
	fi
	st=$?
	if [ $st -eq 0 ]; then
		F "$1: $2 succeeded on a read-only tree"
	elif echo "$out" | grep -q -e "Read-only file system" -e "Permission denied"; then
		P "$1: $2 fails: $(echo "$out" | head -n 1)"
	else
		F "$1: $2 failed (status $st) but not with EROFS or EACCES: $out"
	fi
}
'

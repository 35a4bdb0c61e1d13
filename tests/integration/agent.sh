#!/bin/sh
# microvmm-agent end to end with the agent image (guest-image/build --agent)
# and the real agent CLIs, no internet: a mock of the three vendors' APIs
# (tests/agent/mock-api.py) listens on this host's loopback and each CLI,
# pointed at it with --api-base, writes a file in the workspace through its
# own tool. Checks: the image's toolbox runs (CLIs, git, compilers, sudo, git
# commit without setup), each agent's file lands in the host workspace owned
# by its owner, the audit trail (session.log, network.log, summary.json),
# the API key reached the mock and is in no file, log or output, secrets
# (/run/secrets, redacted from the session log), the network modes (none has
# no NIC, filtered drops and logs what full reaches), the root is ephemeral
# (files deleted and a package installed with sudo dpkg -i are gone in the
# next run), a symlink planted in --audit-dir is not followed, and bad input
# (one line, 125, nothing left running).
# POSIX sh (busybox ash in the level-1 host); runs as root.
# Usage: agent.sh IMAGE_DIR (rootfs and manifest.lock in it).
# Needs: microvmm and microvmm-agent on PATH (the entry script and the guest
# image where microvmm-agent and microvmm look for them), python3, virtiofsd,
# passt, iproute2's ip.
set -u
img=$1
owner=1234 # the workspace owner the agent must become
lib_name=agent
fails_secs=300
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
IP=ip
[ -x /l1/bin/ip ] && IP=/l1/bin/ip
mock=$here/mock-api.py
[ -f "$mock" ] || mock=$here/../agent/mock-api.py

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: agent.sh needs root (virtiofsd, passt, workspaces owned by another user)" >&2
	exit 77
fi
for tool in microvmm microvmm-agent python3 passt; do
	command -v $tool >/dev/null || {
		echo "FAIL: $tool is not on PATH"
		exit 1
	}
done

# In the level-1 host microvmm runs from /l1/bin and looks for its default
# guest image in /l1/share/microvmm/guest (installed layout).
if [ -d /l1/bin ] && [ ! -e /l1/share/microvmm/guest ]; then
	mkdir -p /l1/share/microvmm
	ln -s "$GUEST" /l1/share/microvmm/guest
fi

t=$(mktemp -d /tmp/agent-test.XXXXXX) || exit 1
chmod 0755 "$t"
mpid=
hpid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
	$IP link del up0 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
begin=$(now)

# --- the world around the VMs -------------------------------------------------

# An uplink for passt (it copies the host's address and default route): a
# dummy device, so nothing leaves this host. 203.0.113.10 is a server that is
# neither private nor loopback: --net full reaches it, --net filtered not.
$IP link add up0 type dummy
$IP addr add 10.0.2.15/24 dev up0
$IP addr add 203.0.113.10/32 dev up0
$IP link set up0 up
$IP route add default via 10.0.2.2 dev up0
mkdir -p "$t/www"
echo "reached the local server" >"$t/www/index.html"
httpd -f -p 203.0.113.10:8080 -h "$t/www" &
hpid=$!

port=18080
python3 "$mock" --port $port --bind 127.0.0.1 --log "$t/mock.log" >"$t/mock.out" 2>&1 &
mpid=$!
i=0
until grep -q "listening on $port" "$t/mock.out" 2>/dev/null || [ $i -ge 120 ]; do
	sleep 0.25
	i=$((i + 1))
done
grep -q "listening on $port" "$t/mock.out" && ok "the API mock listens on 127.0.0.1:$port" ||
	bad "the API mock did not start: $(cat "$t/mock.out")"
api=http://127.0.0.1:$port

# Keys: values no file, log or output may ever show.
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ANTHROPIC_API_KEY=sk-ant-test-$(rnd)
OPENAI_API_KEY=sk-test-$(rnd)
GEMINI_API_KEY=AIza-test-$(rnd)
secret_value=secret-$(rnd)
export ANTHROPIC_API_KEY OPENAI_API_KEY GEMINI_API_KEY
export XDG_STATE_HOME=$t/state
printf '%s\n' "$secret_value" >"$t/secret.txt"
secret_sum=$(sha256sum <"$t/secret.txt" | cut -c1-64)
mkdir -p "$XDG_STATE_HOME/microvmm/runs"
shares_baseline
clean() { # NAME: nothing of a run left behind
	shares_clean "$1"
	left=$(pidof microvmm passt 2>/dev/null)
	[ -z "$left" ] && ok "$1: no microvmm or passt left running" || bad "$1: still running: $left"
}

newws() { # NAME: an empty workspace owned by $owner
	mkdir -p "$t/$1"
	chown "$owner:$owner" "$t/$1"
	echo "$t/$1"
}
# latest_run: the newest run directory of the audit trail.
latest_run() { ls -1td "$XDG_STATE_HOME"/microvmm/runs/*/ 2>/dev/null | head -n 1; }
# no_key WHAT PLACES...: none of the keys or the secret appears in PLACES.
no_key() {
	what=$1
	shift
	found=$(grep -rlF -e "$ANTHROPIC_API_KEY" -e "$OPENAI_API_KEY" -e "$GEMINI_API_KEY" \
		-e "$secret_value" "$@" 2>/dev/null | head -n 3)
	[ -z "$found" ] && ok "$what: no key or secret value in any of it" || bad "$what: a key shows in $found"
}
# agent_shell NAME OUT ARGS... <SCRIPT: the script in a login shell in the VM.
agent_shell() {
	name=$1 out=$2
	shift 2
	start=$(now)
	timeout 900 microvmm-agent --image "$img" --shell "$@" >"$out" 2>"$out.err"
	st=$?
	echo "agent: $name took $(($(now) - start))s"
	return $st
}

# --- 1. the toolbox, sudo, git, secrets -------------------------------------------

ws=$(newws ws-tools)
{
	echo "secret_sum=$secret_sum"
	cat <<'EOF'
P() { echo "G-PASS: $1"; }
F() { printf 'G-FAIL: %s\n' "$(printf %s "$1" | tr '\n' '|')"; }
for c in "claude --version" "gemini --version" "codex --version" "git --version" "gh --version" \
	"node --version" "python3 --version" "cc --version" "go version" "cargo --version" \
	"rg --version" "fd --version" "jq --version"; do
	if out=$($c 2>&1 </dev/null); then P "$c: $(echo "$out" | head -n 1)"; else F "$c failed: $out"; fi
done
[ "$(id -un)" = agent ] && [ "$(id -u)" = 1234 ] && P "the agent user has the workspace owner's uid" || F "id: $(id)"
sudo -n true && P "sudo -n true works for agent" || F "sudo -n true failed"
cd /workspace && git init -q && echo x >f && git add f && git commit -q -m first &&
	P "git commit in /workspace without setup, as $(git log -1 --format='%an <%ae>')" || F "git commit failed"
[ "$(stat -c '%a %U' /run/secrets/token 2>&1)" = "400 agent" ] && P "/run/secrets/token is 0400, owned by agent" ||
	F "/run/secrets/token: $(stat -c '%a %U' /run/secrets/token 2>&1)"
mount | grep -q ' /run/secrets type tmpfs' && P "/run/secrets is a tmpfs" || F "/run/secrets: $(mount | grep secrets)"
[ "$(sha256sum </run/secrets/token | cut -c1-64)" = "$secret_sum" ] &&
	P "/run/secrets/token holds the --secret file's content" || F "/run/secrets/token differs"
echo "SECRET-ECHO $(cat /run/secrets/token)"
echo G-END
EOF
} >"$t/tools.sh"
agent_shell "the toolbox" "$t/tools.out" --net none --workspace "$ws" --secret "token=$t/secret.txt" <"$t/tools.sh"
expect_status "a login shell with a script on stdin" 0 $?
guest_results "$t/tools.out" tools
[ -d "$ws/.git/objects" ] && [ -n "$(ls "$ws/.git/refs/heads" 2>/dev/null)" ] &&
	ok "the guest's git repository and commit are in the host workspace" || bad "no .git with a branch in $ws"
eq "the committed file belongs to the workspace owner" "$(stat -c %u:%g "$ws/f" 2>&1)" "$owner:$owner"
grep -q "SECRET-ECHO" "$t/tools.out" && ! grep -qF "$secret_value" "$t/tools.out" &&
	ok "the secret the guest printed is redacted in the live output too" ||
	bad "the live output: $(grep SECRET-ECHO "$t/tools.out" | head -c 200)"
run=$(latest_run)
if [ -n "$run" ] && [ -f "$run/session.log" ]; then
	ok "the run has an audit directory: $run"
	grep -q 'SECRET-ECHO' "$run/session.log" && ok "session.log has what the VM printed" ||
		bad "session.log lacks the VM's output: $(head -c 300 "$run/session.log")"
	# The guest printed the secret: the user sees it, the audit trail must not.
	no_key "the audit trail of a run that printed the secret" "$run"
else
	bad "no audit directory with session.log under $XDG_STATE_HOME/microvmm/runs"
fi
clean "the toolbox run"

# --- 2. each agent writes a file through the mock -----------------------------------

for a in claude codex gemini; do
	case $a in
	claude) key=$ANTHROPIC_API_KEY vendor=anthropic ;;
	codex) key=$OPENAI_API_KEY vendor=openai ;;
	gemini) key=$GEMINI_API_KEY vendor=gemini ;;
	esac
	ws=$(newws "ws-$a")
	: >"$t/mock.log"
	start=$(now)
	(cd "$ws" && exec timeout 900 microvmm-agent --image "$img" --agent $a --api-base "$api" \
		"create hello.txt containing hi") </dev/null >"$t/$a.out" 2>"$t/$a.err"
	st=$?
	echo "agent: $a took $(($(now) - start))s"
	expect_status "$a: the task ends with the agent's status" 0 $st
	if [ "$st" != 0 ]; then
		# Why, for whoever reads the log: the launcher's own lines and the
		# session's end (a guest panic names itself there).
		tail -n 15 "$t/$a.err" | sed "s/^/    $a stderr | /"
		run=$(latest_run)
		[ -z "$run" ] || tail -n 40 "$run/session.log" 2>/dev/null | sed "s/^/    $a session | /"
	fi
	eq "$a: hello.txt in the host workspace says hi" "$(cat "$ws/hello.txt" 2>&1)" hi
	eq "$a: hello.txt belongs to the workspace owner" "$(stat -c %u:%g "$ws/hello.txt" 2>&1)" "$owner:$owner"
	sum=$(printf %s "$key" | sha256sum | cut -c1-64)
	grep "\"vendor\": *\"$vendor\"" "$t/mock.log" | grep -q "\"auth_sha256\": *\"$sum\"" &&
		ok "$a: the CLI called the mock with the key from the host's environment" ||
		bad "$a: no $vendor request with the key in the mock's log: $(head -c 400 "$t/mock.log")"
	run=$(latest_run)
	for f in session.log network.log summary.json; do
		[ -n "$run" ] && [ -f "$run/$f" ] && ok "$a: the audit trail has $f" || bad "$a: no $f in '$run'"
	done
	if [ -n "$run" ] && [ -f "$run/summary.json" ]; then
		for k in task agent agent_version image start end exit_status files_changed; do
			grep -q "\"$k\"" "$run/summary.json" || bad "$a: summary.json lacks $k: $(cat "$run/summary.json")"
		done
		grep -q '"exit_status": *0' "$run/summary.json" && grep -q "\"agent\": *\"$a\"" "$run/summary.json" &&
			grep -q 'hello.txt' "$run/summary.json" &&
			ok "$a: summary.json names the agent, status 0 and hello.txt as changed" ||
			bad "$a: summary.json: $(cat "$run/summary.json")"
		# The allowed API destination, from microvmm itself.
		grep -q "allowed tcp .*:$port" "$run/network.log" && ok "$a: network.log has the allowed API connection" ||
			bad "$a: network.log: $(head -n 5 "$run/network.log" | tr '\n' '|')"
	fi
	no_key "$a: the audit trail, workspace and output" "$XDG_STATE_HOME" "$ws" "$t/$a.out" "$t/$a.err" "$t/mock.log"
	clean "$a"
done

# --- 3. network modes -------------------------------------------------------------

ws=$(newws ws-net)
echo 'ls /sys/class/net | tr "\n" " "; echo' >"$t/ifs.sh"
agent_shell "--net none" "$t/none.out" --net none --workspace "$ws" <"$t/ifs.sh"
expect_status "--net none runs" 0 $?
eq "--net none: the guest has no NIC, only lo" "$(tr -d '\r' <"$t/none.out" | grep -v '^$' | tail -n 1)" "lo "

echo 'curl -s -m 10 http://203.0.113.10:8080/index.html; echo "curl=$?"' >"$t/curl.sh"
agent_shell "--net filtered" "$t/filtered.out" --workspace "$ws" <"$t/curl.sh"
expect_status "--net filtered runs" 0 $?
grep -q 'reached the local server' "$t/filtered.out" && bad "--net filtered reached 203.0.113.10:8080" ||
	ok "--net filtered (the default) does not reach a server outside the allowlist"
run=$(latest_run)
grep -q 'dropped tcp 203\.0\.113\.10:8080' "$run/network.log" 2>/dev/null &&
	ok "the dropped destination is in network.log: $(grep -m1 '203\.0\.113\.10' "$run/network.log")" ||
	bad "network.log lacks the drop: $(head -n 5 "$run/network.log" 2>&1 | tr '\n' '|')"
agent_shell "--net full" "$t/full.out" --net full --workspace "$ws" <"$t/curl.sh"
expect_status "--net full runs" 0 $?
grep -q 'reached the local server' "$t/full.out" && ok "--net full reaches the same server" ||
	bad "--net full did not reach 203.0.113.10:8080: $(tail -n 3 "$t/full.out" | tr '\n' '|')"
clean "network modes"

# --- 4. the root is ephemeral ------------------------------------------------------

# The image's own files, as the host sees them (the driver also fingerprints all of it).
snap_before=$(ls -la "$img/rootfs/usr/share/doc/git" 2>&1 | sha256sum)
cat >"$t/spoil.sh" <<'EOF'
set -e
sudo rm -rf /usr/share/doc/git
mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/share/mvtest
printf 'Package: mvtest\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' >/tmp/pkg/DEBIAN/control
echo planted >/tmp/pkg/usr/share/mvtest/file
dpkg-deb --build /tmp/pkg /tmp/mvtest.deb >/dev/null
sudo dpkg -i /tmp/mvtest.deb >/dev/null
dpkg -s mvtest >/dev/null && [ ! -e /usr/share/doc/git ] && echo SPOILED
EOF
agent_shell "spoiling the root" "$t/spoil.out" --net none --workspace "$ws" <"$t/spoil.sh"
st=$?
grep -q SPOILED "$t/spoil.out" && ok "run 1 deleted /usr/share/doc/git and installed a .deb with sudo dpkg -i" ||
	bad "run 1 (exit $st): $(tail -n 5 "$t/spoil.out.err" | tr '\n' '|')"
echo 'dpkg -s mvtest >/dev/null 2>&1 && echo PKG-THERE; [ -e /usr/share/doc/git/copyright ] && echo DOC-THERE' >"$t/look.sh"
# This run names the guest's kernel and initrd itself (--kernel, --initrd: the image's own).
agent_shell "looking again" "$t/look.out" --net none --workspace "$ws" \
	--kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" <"$t/look.sh"
expect_status "a run with --kernel and --initrd" 0 $?
grep -q PKG-THERE "$t/look.out" && bad "run 2 still has the package" || ok "run 2 does not have the package"
grep -q DOC-THERE "$t/look.out" && ok "run 2 has /usr/share/doc/git again" || bad "run 2 lacks /usr/share/doc/git"
eq "the host's /usr/share/doc/git is untouched" "$(ls -la "$img/rootfs/usr/share/doc/git" 2>&1 | sha256sum)" "$snap_before"
[ ! -e "$img/rootfs/usr/share/mvtest" ] && ok "the package's files are not in the host tree" || bad "mvtest in the host tree"
clean "ephemeral root"

# --- 5. --audit-dir in the workspace, with a planted symlink ----------------------

ws=$(newws ws-audit)
mkdir -p "$t/victim"
ln -s "$t/victim" "$ws/.agent"
echo 'true' >"$t/true.sh"
agent_shell "--audit-dir on a planted symlink" "$t/audit.out" --net none --workspace "$ws" \
	--audit-dir "$ws/.agent" <"$t/true.sh"
st=$?
eq "nothing was written through the planted symlink (exit $st)" "$(ls -A "$t/victim" | wc -l)" 0
rm -f "$ws/.agent"
agent_shell "--audit-dir in the workspace" "$t/audit2.out" --net none --workspace "$ws" \
	--audit-dir "$ws/.agent" <"$t/true.sh"
expect_status "--audit-dir .agent in the workspace" 0 $?
ls "$ws"/.agent/*/session.log >/dev/null 2>&1 || [ -f "$ws/.agent/session.log" ] &&
	ok "--audit-dir DIR holds the run's session.log" || bad "--audit-dir: $(find "$ws/.agent" | head -n 5 | tr '\n' ' ')"
clean "--audit-dir"

# --- 6. bad input: one line, 125, nothing left ------------------------------------

ws=$(newws ws-bad)
echo "not a directory" >"$t/file"
agent_fails() { # NAME WORD ARGS...
	name=$1 word=$2
	shift 2
	runs_before=$(ls "$XDG_STATE_HOME/microvmm/runs" 2>/dev/null | wc -l)
	(cd "$ws" && exec timeout 120 "$@") </dev/null >"$t/f.out" 2>"$t/f.err"
	expect_status "$name" 125 $?
	if [ "$(grep -c . "$t/f.err")" = 1 ] && grep -q '^microvmm-agent: ' "$t/f.err" && grep -qF -- "$word" "$t/f.err"; then
		ok "$name: one line naming '$word': $(cat "$t/f.err")"
	else
		bad "$name: want one 'microvmm-agent: ' line naming '$word', stderr: $(tr '\n' '|' <"$t/f.err")"
	fi
	eq "$name: no audit directory for a run that never started" \
		"$(ls "$XDG_STATE_HOME/microvmm/runs" 2>/dev/null | wc -l)" "$runs_before"
	clean "$name"
}
agent_fails "an unknown agent" "nope" microvmm-agent --image "$img" --agent nope "task"
agent_fails "a missing key variable" "ANTHROPIC_API_KEY" env -u ANTHROPIC_API_KEY -u CLAUDE_CODE_OAUTH_TOKEN \
	microvmm-agent --image "$img" "task"
agent_fails "a missing --secret file" "$t/none" microvmm-agent --image "$img" --secret "x=$t/none" "task"
agent_fails "--api-base that is not http(s)" "ftp://x" microvmm-agent --image "$img" --api-base ftp://x "task"
agent_fails "a TASK with --shell" "--shell" microvmm-agent --image "$img" --shell "task"
agent_fails "an image that is not built" "$t/noimage" microvmm-agent --image "$t/noimage" "task"
agent_fails "a workspace that is not a directory" "$t/file" microvmm-agent --image "$img" --workspace "$t/file" "task"
agent_fails "a --kernel that is not a file" "$t/nokernel" microvmm-agent --image "$img" \
	--kernel "$t/nokernel" --initrd "$GUEST/initrd.img" "task"
agent_fails "--kernel without --initrd" "--initrd" microvmm-agent --image "$img" --kernel "$GUEST/vmlinuz" "task"

echo "agent: $(($(now) - begin))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

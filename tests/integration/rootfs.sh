#!/bin/sh
# --rootfs DIR: a host tree as the guest's root, read-only under a tmpfs
# overlay of --scratch SIZE. The script builds small trees from busybox and
# checks: / is an overlay of --scratch's size, writes outside shares land in
# the tmpfs and are gone in the next run, the host tree is byte-identical
# afterwards, even root in the guest cannot write the lower layer (mounting
# its tag again, remounting rw), setuid works (no nosuid), shares still work
# with the share owner's ids, exit status, stdin, stdout and stderr pass
# through, --user root and agent, agent's uid/gid rewritten in the tree's
# /etc/passwd and /etc/group (home and supplementary groups follow), a tree
# without /etc, /etc/resolv.conf in the overlay with a network, --net-log
# (timestamped allowed and dropped lines), the default guest image found from
# microvmm's own location, and bad input (one line, 125, no virtiofsd left).
# POSIX sh (busybox ash in the level-1 host); runs as root. Needs: microvmm on
# PATH, $GUEST with vmlinuz and initrd.img, a static busybox, a virtiofsd
# microvmm can find, iproute2's ip (/l1/bin/ip in the level-1 host).
set -u
owner=1234 # the share owner the agent must become
lib_name=rootfs
fails_secs=300 # a failing start may wait for virtiofsd
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
IP=ip
[ -x /l1/bin/ip ] && IP=/l1/bin/ip

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: rootfs.sh needs root (trees owned by several users, virtiofsd, a tap)" >&2
	exit 77
fi
# busybox ash answers `command -v busybox` with the applet's bare name.
bb=$(command -v busybox)
case $bb in /*) ;; *) bb=/bin/busybox ;; esac
if ! command -v microvmm >/dev/null || [ ! -x "$bb" ]; then
	echo "FAIL: microvmm or busybox is not on PATH"
	exit 1
fi

t=$(mktemp -d /tmp/rootfs-test.XXXXXX) || exit 1
chmod 0755 "$t"
cleanup() {
	$IP link del rtap0 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
shares_baseline
clean() { shares_clean "$1"; }
begin=$(now)

# --- the trees ----------------------------------------------------------------

# mktree DIR: busybox (setuid root, as sudo would be) and its applets.
mktree() {
	mkdir -p "$1/bin"
	cp "$bb" "$1/bin/busybox"
	chmod 4755 "$1/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -s busybox "$1/bin/$a"
	done
}
tree=$t/tree
mktree "$tree"
mkdir -p "$tree/etc" "$tree/root" "$tree/home/agent/.config" "$tree/home/other" "$tree/tmp" \
	"$tree/usr/share/data" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/run"
chmod 1777 "$tree/tmp"
chmod 0700 "$tree/root"
# root without a password: busybox su lets the agent in only through its setuid bit.
printf '%s\n' 'root::0:0:root:/root:/bin/sh' 'agent:x:1000:1000:Agent:/home/agent:/bin/sh' \
	'other:x:1001:1001:Other:/home/other:/bin/sh' >"$tree/etc/passwd"
printf '%s\n' 'root:x:0:' 'wheel:x:10:agent,other' 'agent:x:1000:' 'other:x:1001:' >"$tree/etc/group"
printf '127.0.0.1\tlocalhost\n' >"$tree/etc/hosts"
ln -s /run/systemd/resolve/stub-resolv.conf "$tree/etc/resolv.conf"
echo data >"$tree/usr/share/data/file"
echo profile >"$tree/home/agent/.profile"
echo cfg >"$tree/home/agent/.config/cfg"
chown -R 1000:1000 "$tree/home/agent"
echo mine >"$tree/home/agent/rootfile" # root's, in the agent's home
chown -R 1001:1001 "$tree/home/other"
snapshot "$tree" >"$t/tree.before"

# A tree with nothing but busybox: no /etc, no /home.
bare=$t/bare
mktree "$bare"
snapshot "$bare" >"$t/bare.before"

ws=$t/ws
mkdir -p "$ws"
chown "$owner:$owner" "$ws"

# More helpers for the guest scripts.
# shellcheck disable=SC2016 # expanded in the guest
guest_lib=$guest_lib'
yes_() { d=$1; shift; if "$@"; then P "$d"; else F "$d (status $?)"; fi; }
root_fs() { awk "\$2 == \"/\" {print \$$1}" /proc/mounts | tail -n 1; }
kib_total() { df -k / | awk "NR == 2 {print \$2}"; }
kib_used() { df -k / | awk "NR == 2 {print \$3}"; }
'

# --- 1. bad input: one line, 125, nothing left running -------------------------

echo "not a directory" >"$t/afile"
mkdir -p "$t/empty"
fails "--rootfs that does not exist" "$t/missing" --rootfs "$t/missing"
fails "--rootfs that is a file" "$t/afile" --rootfs "$t/afile"
fails "--rootfs without /bin/sh" "/bin/sh" --rootfs "$t/empty"
fails "--scratch without --rootfs" "--rootfs" --scratch 1G
fails "--scratch that is not a size" "--scratch 'lots'" --rootfs "$tree" --scratch lots
ln -s "$t/elsewhere" "$t/netlog-link"
fails "--net-log that is a symlink" "symbolic link" --rootfs "$tree" --net-log "$t/netlog-link"
if [ -e "$t/elsewhere" ]; then bad "--net-log created a file through the symlink"; else ok "... and created nothing through it"; fi
fails "--net-log in a missing directory" "$t/nodir/net.log" --net-log "$t/nodir/net.log"
# The guest's own failure: a tree whose /proc is a file cannot take the moved /proc.
mkdir -p "$t/badproc"
cp -a "$tree/." "$t/badproc/"
rmdir "$t/badproc/proc"
echo "not a directory" >"$t/badproc/proc"
fails "a tree whose /proc is a file (the guest init's error)" "/proc" --rootfs "$t/badproc"

# --- 2. agent with a share: overlay, scratch, ids, setuid, stdio ---------------

g1=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "stdin arrives" "$(cat)" "input bytes"
eq "/ is an overlay" "$(root_fs 3)" overlay
case ",$(root_fs 4)," in
*,nosuid,*) F "/ is mounted nosuid: $(root_fs 4)" ;;
*) P "/ is not nosuid: $(root_fs 4)" ;;
esac
eq "the scratch tmpfs is --scratch 64M (df /)" "$(kib_total)" 65536
eq "the agent has the share owner's uid:gid" "$(id -u):$(id -g)" 1234:1234
eq "the tree's agent entry has the new ids, the rest kept" "$(grep '^agent:' /etc/passwd)" "agent:x:1234:1234:Agent:/home/agent:/bin/sh"
eq "other users stay as they were" "$(grep -e '^root:' -e '^other:' /etc/passwd | tr '\n' ' ')" "root::0:0:root:/root:/bin/sh other:x:1001:1001:Other:/home/other:/bin/sh "
eq "the agent group has the new gid" "$(grep '^agent:' /etc/group)" "agent:x:1234:"
case " $(id -G) " in
*" 10 "*) P "supplementary groups from /etc/group (wheel): $(id -G)" ;;
*) F "no wheel group: $(id -G)" ;;
esac
eq "HOME, USER, SHELL from /etc/passwd" "$HOME $USER $SHELL" "/home/agent agent /bin/sh"
eq "the working directory is /workspace" "$(pwd)" /workspace
eq "the home follows the new ids" "$(stat -c %u:%g /home/agent /home/agent/.profile /home/agent/.config/cfg | tr '\n' ' ')" "1234:1234 1234:1234 1234:1234 "
eq "root's file in the home stays root's" "$(stat -c %u:%g /home/agent/rootfile)" 0:0
eq "another user's home stays" "$(stat -c %u:%g /home/other)" 1001:1001
eq "--env reaches the command" "$FOO" "bar baz"
eq "the hostname" "$(hostname)" microvmm
yes_ "/etc/hosts names it (in the overlay)" grep -q microvmm /etc/hosts
eq "setuid works on the overlay: su as the agent" "$(su -c 'id -u' root 2>&1)" 0
yes_ "the agent writes its home" sh -c 'echo a >/home/agent/new'
yes_ "the agent writes /tmp" sh -c 'echo t >/tmp/agent-tmp'
u0=$(kib_used)
dd if=/dev/zero of=/tmp/eight bs=1M count=8 2>/dev/null
u1=$(kib_used)
if [ $((u1 - u0)) -ge 8000 ]; then P "8 MiB in /tmp fill the scratch tmpfs ($u0 -> $u1 KiB)"; else F "8 MiB in /tmp: scratch use $u0 -> $u1 KiB"; fi
# The message stays in memory: the full tmpfs could not take it.
if out=$(dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1); then
	F "100 MiB fit in a 64 MiB scratch"
else
	case $out in
	*"No space"*) P "writing past --scratch fails with ENOSPC" ;;
	*) F "writing past --scratch fails, but not with ENOSPC: $out" ;;
	esac
fi
rm -f /tmp/fill /tmp/eight
if (echo x >>/etc/passwd) 2>/dev/null; then F "the agent wrote root's /etc/passwd"; else P "permissions still apply: the agent cannot write /etc/passwd"; fi
yes_ "/workspace is a virtiofs mount" grep -q " /workspace virtiofs " /proc/mounts
yes_ "the agent writes /workspace" sh -c 'echo from-guest >/workspace/g.txt'
echo "to stderr" >&2
echo G-END
exit 7
EOF
)
echo "rootfs: agent with a share, --scratch 64M"
s=$(now)
printf 'input bytes' | tvm 600 --rootfs "$tree" --scratch 64M --share "$ws:/workspace" \
	--env FOO="bar baz" -- sh -c "$g1" >"$t/g1.out" 2>"$t/g1.err"
expect_status "the command's exit status passes through" 7 $?
echo "rootfs: boot took $(($(now) - s))s"
guest_results "$t/g1.out" "agent"
eq "stderr is the command's own" "$(cat "$t/g1.err")" "to stderr"
eq "the guest's file is on the host, owned by the share owner" "$(cat "$ws/g.txt" 2>&1) $(stat -c %u:%g "$ws/g.txt" 2>&1)" "from-guest $owner:$owner"
clean "after the agent run"

# --- 3. root: writes everywhere, but never into the lower layer ----------------

g2=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "--user root" "$(id -u):$(id -g)" 0:0
eq "HOME and the working directory" "$HOME $(pwd)" "/root /root"
eq "the default scratch is half of --mem 512M" "$(kib_total)" 262144
yes_ "root writes /etc" sh -c 'echo m >/etc/marker'
yes_ "root appends to /etc/passwd" sh -c 'echo "evil:x:0:0::/:/bin/sh" >>/etc/passwd'
yes_ "root deletes a file of the tree" rm /usr/share/data/file
yes_ "root deletes a directory of the tree" rm -r /home/other
yes_ "root makes /opt" mkdir -p /opt/new
yes_ "root replaces a binary of the tree" sh -c 'rm /bin/true && echo "#!/bin/sh" >/bin/true && chmod 0755 /bin/true'
mkdir -p /mnt/lower
if mount -t virtiofs microvmm-rootfs /mnt/lower 2>/tmp/m.err; then
	echo "G-INFO: mounted the root tree's tag again: $(grep ' /mnt/lower ' /proc/mounts)"
	if mount -o remount,rw /mnt/lower 2>/tmp/m.err; then
		echo "G-INFO: remounted it rw: $(grep ' /mnt/lower ' /proc/mounts)"
	fi
	eq "it is the tree" "$(cat /mnt/lower/usr/share/data/file)" data
	nowrite root "create" "echo x >/mnt/lower/etc/evil"
	nowrite root "append to /etc/passwd" "echo x >>/mnt/lower/etc/passwd"
	nowrite root "unlink" "rm /mnt/lower/usr/share/data/file"
	nowrite root "chmod" "chmod 0777 /mnt/lower/etc/group"
	nowrite root "chown" "chown 5:5 /mnt/lower/etc/hosts"
	nowrite root "mkdir" "mkdir /mnt/lower/newdir"
	nowrite root "rename" "mv /mnt/lower/home /mnt/lower/home2"
	umount /mnt/lower
else
	P "the root tree's tag cannot be mounted a second time: $(cat /tmp/m.err)"
fi
echo G-END
EOF
)
echo "rootfs: root"
tvm 600 --rootfs "$tree" --user root -- sh -c "$g2" </dev/null >"$t/g2.out" 2>"$t/g2.err"
expect_status "the root run ends with the command's status" 0 $?
sed -n 's/^G-INFO: /guest: /p' "$t/g2.out"
[ -s "$t/g2.err" ] && sed 's/^/    stderr | /' "$t/g2.err"
guest_results "$t/g2.out" "root"
clean "after the root run"

# --- 4. the next run: nothing left; default image; network, --net-log ---------

g3=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "without a share the agent keeps the tree's ids" "$(id -u):$(id -g)" 1000:1000
eq "... and /etc/passwd its entry" "$(grep '^agent:' /etc/passwd)" "agent:x:1000:1000:Agent:/home/agent:/bin/sh"
eq "the working directory is the home from /etc/passwd" "$(pwd)" /home/agent
yes_ "root's /etc/marker is gone" test ! -e /etc/marker
yes_ "root's /etc/passwd line is gone" sh -c '! grep -q "^evil:" /etc/passwd'
eq "the deleted file is back" "$(cat /usr/share/data/file)" data
yes_ "the deleted directory is back" test -d /home/other
yes_ "/opt is gone" test ! -e /opt
yes_ "the replaced binary is the tree's" sh -c '[ "$(readlink /bin/true)" = busybox ]'
yes_ "the agent's files from its run are gone" sh -c '[ ! -e /home/agent/new ] && [ ! -e /tmp/agent-tmp ]'
yes_ "/etc/resolv.conf is a file of the overlay, not the tree's symlink" sh -c '[ -f /etc/resolv.conf ] && [ ! -L /etc/resolv.conf ]'
eq "/etc/resolv.conf names --dns" "$(cat /etc/resolv.conf)" "nameserver 192.168.77.1"
timeout 5 nc -w 3 192.168.77.1 80 </dev/null >/dev/null 2>&1
timeout 5 nc -w 3 10.99.0.9 81 </dev/null >/dev/null 2>&1
echo G-END
EOF
)
# microvmm as installed: PREFIX/bin/microvmm finds PREFIX/share/microvmm/guest.
mkdir -p "$t/prefix/bin" "$t/prefix/share/microvmm"
cp "$(command -v microvmm)" "$t/prefix/bin/microvmm"
ln -s "$GUEST" "$t/prefix/share/microvmm/guest"
$IP tuntap add dev rtap0 mode tap
$IP addr add 192.168.77.1/24 dev rtap0
$IP link set rtap0 up
echo "rootfs: the next run (no --kernel, --net tap, --net-log)"
timeout 600 "$t/prefix/bin/microvmm" --mem 512M --rootfs "$tree" --net tap=rtap0 \
	--ip 192.168.77.2/24@192.168.77.1 --dns 192.168.77.1 --allow 192.168.77.1:80 \
	--net-log "$t/net.log" -- sh -c "$g3" </dev/null >"$t/g3.out" 2>"$t/g3.err"
expect_status "microvmm without --kernel/--initrd boots its installed image" 0 $?
guest_results "$t/g3.out" "next run"
clean "after the next run"
ts='[0-9]\{4\}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]\{3\}Z'
if grep -q "^${ts} egress: allowed tcp 192\.168\.77\.1:80" "$t/net.log" 2>/dev/null; then
	ok "--net-log has the allowed destination: $(grep allowed "$t/net.log" | head -n 1)"
else
	bad "--net-log has no allowed line: $(tr '\n' '|' <"$t/net.log" 2>&1)"
fi
if grep -q "^${ts} egress: dropped tcp 10\.99\.0\.9:81" "$t/net.log" 2>/dev/null; then
	ok "--net-log has the dropped destination: $(grep dropped "$t/net.log" | head -n 1)"
else
	bad "--net-log has no dropped line: $(tr '\n' '|' <"$t/net.log" 2>&1)"
fi
eq "--net-log is the host's UTC date, mode 0600" "$(cut -c1-10 "$t/net.log" | sort -u | head -n 1) $(stat -c %a "$t/net.log")" "$(date -u +%Y-%m-%d) 600"
eq "every --net-log line is stamped" "$(grep -vc "^${ts} egress: " "$t/net.log")" 0
eq "stderr (no --verbose) has the drop but not the allowed line" \
	"$(grep -c 'egress: dropped tcp 10.99.0.9:81' "$t/g3.err") $(grep -c 'egress: allowed' "$t/g3.err")" "1 0"
$IP link del rtap0

# --- 5. a tree without /etc: the init's users as in the initramfs --------------

g4=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "/ is an overlay" "$(root_fs 3)" overlay
eq "the agent has the share owner's ids" "$(id -u):$(id -g)" 1234:1234
eq "/etc/passwd made in the overlay" "$(cat /etc/passwd | tr '\n' ' ')" "root:x:0:0:root:/root:/bin/sh agent:x:1234:1234:agent:/home/agent:/bin/sh "
eq "/etc/group made in the overlay" "$(cat /etc/group | tr '\n' ' ')" "root:x:0: agent:x:1234: "
eq "the home exists and is the agent's" "$HOME $(stat -c %u:%g "$HOME")" "/home/agent 1234:1234"
yes_ "/tmp exists and is writable" sh -c 'echo x >/tmp/x'
echo G-END
EOF
)
echo "rootfs: a tree without /etc"
tvm 600 --rootfs "$bare" --share "$ws:/workspace" -- sh -c "$g4" </dev/null >"$t/g4.out" 2>"$t/g4.err"
expect_status "the bare tree's run" 0 $?
[ -s "$t/g4.err" ] && sed 's/^/    stderr | /' "$t/g4.err"
guest_results "$t/g4.out" "bare tree"
clean "after the bare tree's run"

# --- 6. the host trees are byte-identical --------------------------------------

for tr in tree bare; do
	snapshot "$t/$tr" >"$t/$tr.after"
	if cmp -s "$t/$tr.before" "$t/$tr.after"; then
		ok "the host's $tr is byte-identical (listing, modes, owners, sizes, mtimes, sha256)"
	else
		bad "the host's $tr changed: $(diff "$t/$tr.before" "$t/$tr.after" | grep '^[-+][^-+]' | head -n 8 | tr '\n' '|')"
	fi
done

echo "rootfs: $(($(now) - begin))s in all"
echo "$pass passed, $fail failed"
[ $fail = 0 ]

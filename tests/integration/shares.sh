#!/bin/sh
# Shared folders: --share HOST:GUEST[:ro] (virtio-fs through a virtiofsd that
# microvmm starts). Checks data and metadata both ways (content, mkdir,
# rename, unlink, symlinks, hard links, chmod, truncate, mtime), a large file
# and thousands of small ones, the last write before exit, ownership (the
# agent takes the share owner's uid/gid), :ro, that symlinks cannot reach
# host files outside the share, two shares and a relative HOST, the failure
# statuses (125) and messages, and that no virtiofsd, socket or temporary
# directory outlives microvmm (normal exit, daemon killed, SIGTERM, Ctrl-],
# guest panic). POSIX sh (busybox ash in the level-1 host); runs as root.
# Needs: microvmm on PATH, $GUEST with vmlinuz and initrd.img, a virtiofsd
# microvmm can find (/usr/lib/qemu/virtiofsd in the level-1 host); tmux for
# the Ctrl-] check.
# Usage: shares.sh [MICROVMM_FS_BIG_MB=N] [MICROVMM_FS_FILES=N]
# (arguments, because the environment does not reach the level-1 host; the
# same variables in the environment work when the script runs directly).
# MICROVMM_FS_BIG_MB: size of the large file (default 256); MICROVMM_FS_FILES:
# number of small files (default 3000).
set -u
for a in "$@"; do
	case $a in
	MICROVMM_FS_BIG_MB=[0-9]* | MICROVMM_FS_FILES=[0-9]*) export "${a?}" ;;
	*)
		echo "usage: shares.sh [MICROVMM_FS_BIG_MB=N] [MICROVMM_FS_FILES=N]" >&2
		exit 2
		;;
	esac
done
big=${MICROVMM_FS_BIG_MB:-256}
nfiles=${MICROVMM_FS_FILES:-3000}
owner=1234 # the share owner the agent must become
lib_name=shares
fails_secs=300 # a failing start may wait for virtiofsd
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
sum() { sha256sum <"$1" | cut -c1-64; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: shares.sh needs root (chown of the share, virtiofsd)" >&2
	exit 77
fi
if ! command -v microvmm >/dev/null; then
	echo "FAIL: microvmm is not on PATH"
	exit 1
fi

t=$(mktemp -d /tmp/shares-test.XXXXXX) || exit 1
chmod 0755 "$t"
trap 'rm -rf "$t"' EXIT
echo "shares: big file ${big} MiB, ${nfiles} small files, under $t"

# --- what must not outlive microvmm -----------------------------------------

# virtiofsd processes, sockets and microvmm-* temporary entries (lib.sh).
shares_baseline
clean() { shares_clean "$1"; }

# More helpers for the guest scripts.
# shellcheck disable=SC2016 # expanded in the guest
guest_lib=$guest_lib'
yes_() { d=$1; shift; if "$@"; then P "$d"; else F "$d (status $?)"; fi; }
sum() { sha256sum <"$1" | cut -c1-64; }
'

# --- 1. failures before the guest runs: 125, one line naming the problem -----

mkdir -p "$t/ok" "$t/ok2"
echo "not a directory" >"$t/afile"
fails "a share path that does not exist" "$t/missing" --share "$t/missing:/workspace"
fails "a share path that is a file" "$t/afile" --share "$t/afile:/workspace"
fails "two shares at the same guest path" "/workspace" --share "$t/ok:/workspace" --share "$t/ok2:/workspace"
fails "--virtiofsd /nonexistent (daemon not installed)" "/nonexistent/virtiofsd" \
	--virtiofsd /nonexistent/virtiofsd --share "$t/ok:/workspace"

# A daemon that dies at once: 125 and a message naming the share.
printf '#!/bin/sh\necho "fake virtiofsd: refusing to start" >&2\nexit 1\n' >"$t/dying-virtiofsd"
chmod 0755 "$t/dying-virtiofsd"
tvm 300 --virtiofsd "$t/dying-virtiofsd" --share "$t/ok:/workspace" -- true </dev/null >"$t/f.out" 2>"$t/f.err"
expect_status "a virtiofsd that dies at start" 125 $?
if grep '^microvmm: ' "$t/f.err" | grep -q -e "$t/ok" -e /workspace; then
	ok "its message names the share: $(grep '^microvmm: ' "$t/f.err" | head -n 1)"
else
	bad "no 'microvmm: ' line naming the share: $(tr '\n' '|' <"$t/f.err")"
fi
clean "a virtiofsd that dies at start"

# --- 2. read-write: both directions, big and many files, owner, two shares ----

rw=$t/rw
two=$t/two
mkdir -p "$rw" "$two"
# Files the guest checks.
printf 'hello from the host\nline two\n' >"$rw/h_text.txt"
head -c 200000 /dev/urandom >"$rw/h_rand.bin"
mkdir -p "$rw/h_dir/sub"
echo deep >"$rw/h_dir/sub/deep.txt"
ln -s h_text.txt "$rw/h_symlink"
echo hard >"$rw/h_hard1"
ln "$rw/h_hard1" "$rw/h_hard2"
echo mode >"$rw/h_mode"
head -c 10000 /dev/urandom >"$rw/h_trunc"
truncate -s 4096 "$rw/h_trunc"
truncate -s 1000000 "$rw/h_sparse"
echo mtime >"$rw/h_mtime"
echo root >"$rw/h_rootowned"
# Files the guest changes.
for f in h_ren h_del h_mod h_append h_touch h_touch_t; do echo "$f" >"$rw/$f"; done
printf 0123456789 >"$rw/h_trunc2"
mkdir -p "$rw/h_rmdir/x" "$rw/h_dir_ren"
echo y >"$rw/h_rmdir/x/y"
echo inside >"$rw/h_dir_ren/inside.txt"
# Files the host changes while the guest runs.
printf 'original live content, longer\n' >"$rw/h_live.txt"
for f in h_live_ren h_live_del h_live_mode h_live_mtime; do echo "$f" >"$rw/$f"; done
head -c 100000 /dev/zero >"$rw/h_live_trunc"
chown -R "$owner:$owner" "$rw"
chown 0:0 "$rw/h_rootowned"
chmod 0644 "$rw/h_rootowned"
chmod 0751 "$rw/h_mode"
touch -d @1400000000 "$rw/h_mtime"
echo "second share" >"$two/two.txt"
chown -R "$owner:$owner" "$two"
h_rand_sum=$(sum "$rw/h_rand.bin")
h_text_sum=$(sum "$rw/h_text.txt")

g1=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "the command runs as the share owner" "$(id -u):$(id -g)" 1234:1234
eq "the working directory is /workspace" "$(pwd)" /workspace
cd /workspace || exit 1
yes_ "/workspace is a virtiofs mount" grep -q " /workspace virtiofs " /proc/mounts
yes_ "/mnt/two is a virtiofs mount" grep -q " /mnt/two virtiofs " /proc/mounts
grep virtiofs /proc/mounts | sed "s/^/G-INFO: /"

# host -> guest: what the host made before the boot
yes_ "host file content" sh -c 'printf "hello from the host\nline two\n" | cmp -s - h_text.txt'
eq "host binary file checksum" "$(sum h_rand.bin)" "$H_RAND_SUM"
eq "host-made nested directory" "$(cat h_dir/sub/deep.txt)" deep
eq "host-made symlink target" "$(readlink h_symlink)" h_text.txt
eq "host-made symlink resolves" "$(head -n 1 h_symlink)" "hello from the host"
eq "host-made hard link: link count" "$(stat -c %h h_hard1)" 2
eq "host-made hard link: one inode" "$(stat -c %i h_hard2)" "$(stat -c %i h_hard1)"
eq "host chmod 0751" "$(stat -c %a h_mode)" 751
eq "host truncate to 4096" "$(stat -c %s h_trunc)" 4096
eq "host sparse file (truncate -s 1000000) reads as zeros" "$(sum h_sparse)" "$(head -c 1000000 /dev/zero | sha256sum | cut -c1-64)"
eq "host mtime (touch -d @1400000000)" "$(stat -c %Y h_mtime)" 1400000000
eq "host owners (share owner, root)" "$(stat -c %u:%g h_text.txt) $(stat -c %u:%g h_rootowned)" "1234:1234 0:0"
if (echo x >>h_rootowned) 2>/dev/null; then F "the agent wrote a root-owned 0644 file"; else P "permissions apply: the agent cannot write a root-owned 0644 file"; fi
eq "second share content" "$(cat /mnt/two/two.txt)" "second share"
# Look at what the host will change later, so that the guest has it cached.
cat h_live.txt h_live_ren h_live_del h_live_mode h_live_mtime h_live_trunc >/dev/null
ls -la >/dev/null
stat h_live_dir h_live_sym h_live_renamed >/dev/null 2>&1

# guest changes host-made files
yes_ "guest renames a host file" mv h_ren g_renamed_from_host
yes_ "guest unlinks a host file" rm h_del
yes_ "guest chmods a host file" chmod 0604 h_mod
yes_ "guest truncates a host file" truncate -s 3 h_trunc2
yes_ "guest appends to a host file" sh -c 'echo "appended by the guest" >>h_append'
yes_ "guest sets a host file's mtime (touch -d)" touch -d @1300000000 h_touch
yes_ "guest sets a host file's mtime (touch -t)" touch -t 200102030405.06 h_touch_t
yes_ "guest hard-links a host file" ln h_text.txt g_hard_to_host
yes_ "guest removes a host directory tree" rm -r h_rmdir
yes_ "guest renames a host directory" mv h_dir_ren g_dir_renamed

# guest -> host: new files
yes_ "guest creates a file" sh -c 'printf "made in the guest\n" >g_new.txt'
yes_ "guest mkdir -p" mkdir -p g_dir/a/b
yes_ "guest writes in the new directory" sh -c 'echo deep >g_dir/a/b/f'
yes_ "guest symlink" ln -s g_new.txt g_sym
yes_ "guest dangling absolute symlink" ln -s /nonexistent/target g_sym_abs
yes_ "guest hard link" ln g_new.txt g_hard
echo m >g_mode
yes_ "guest chmod 0640" chmod 0640 g_mode
head -c 10000 /dev/urandom >g_trunc
yes_ "guest truncate to 2000" truncate -s 2000 g_trunc
yes_ "guest truncate -s 5000000 (sparse)" truncate -s 5000000 g_sparse
echo t >g_mtime
yes_ "guest touch -d @1500000000" touch -d @1500000000 g_mtime
echo t >g_mtime_t
yes_ "guest touch -t 201001020304.05" touch -t 201001020304.05 g_mtime_t
echo tmp >g_tmp
yes_ "guest rename" mv g_tmp g_final
echo gone >g_gone
yes_ "guest unlink" rm g_gone
mkdir g_rmdir
yes_ "guest rmdir" rmdir g_rmdir
eq "guest sees its own hard link count" "$(stat -c %h g_new.txt)" 2
echo "G-MTIME $(stat -c %Y g_new.txt)"
yes_ "guest writes in the second share" sh -c 'echo "guest in two" >/mnt/two/g_two.txt'

# host -> guest while the guest runs (cache=auto: seen within about a second)
echo G-WAIT-HOST
i=0
while [ ! -e host-live-done ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
if [ -e host-live-done ]; then
	sleep 2
	eq "live: host rewrite" "$(cat h_live.txt)" "changed live"
	yes_ "live: host mkdir" test -d h_live_dir
	yes_ "live: host rename" sh -c '[ ! -e h_live_ren ] && [ -f h_live_renamed ]'
	yes_ "live: host unlink" sh -c '[ ! -e h_live_del ]'
	eq "live: host chmod 0700" "$(stat -c %a h_live_mode)" 700
	eq "live: host touch -d @1450000000" "$(stat -c %Y h_live_mtime)" 1450000000
	eq "live: host symlink" "$(readlink h_live_sym)" h_live.txt
	eq "live: host truncate to 10" "$(stat -c %s h_live_trunc)" 10
else
	F "live: the host never created host-live-done"
fi

# A large file, checksummed on its way in: random chunks of 8 MiB in the
# guest's /tmp, each streamed to sha256sum and appended in 1 MiB writes
# (no tee: its 1 KiB writes are very slow under nested emulation).
mkfifo /tmp/bigfifo
sha256sum </tmp/bigfifo >/tmp/bigsum &
exec 3>/tmp/bigfifo
t0=$(cut -d" " -f1 /proc/uptime)
: >big.bin
left=$FS_BIG_MB
while [ "$left" -gt 0 ]; do
	n=8
	[ "$left" -lt 8 ] && n=$left
	dd if=/dev/urandom of=/tmp/chunk bs=1M count=$n iflag=fullblock 2>/dev/null
	cat /tmp/chunk >&3
	dd if=/tmp/chunk of=big.bin bs=1M oflag=append conv=notrunc 2>/dev/null || break
	left=$((left - n))
done
t1=$(cut -d" " -f1 /proc/uptime)
exec 3>&-
wait
rm -f /tmp/chunk
s=$(cut -c1-64 /tmp/bigsum)
echo "G-BIGSUM $s"
echo "G-INFO: wrote $FS_BIG_MB MiB in $(echo "$t1 $t0" | awk "{print \$1 - \$2}") s"
eq "the large file has its size in the guest" "$(stat -c %s big.bin)" $((FS_BIG_MB * 1048576))
eq "the large file reads back the same in the guest" "$(sum big.bin)" "$s"

# thousands of small files
mkdir many
i=0
while [ $i -lt "$FS_FILES" ]; do echo "file $i" >many/f$i || break; i=$((i + 1)); done
eq "the guest created $FS_FILES small files" $i "$FS_FILES"
eq "the guest lists $FS_FILES small files" "$(ls many | wc -l | tr -d " ")" "$FS_FILES"

# the last write, then exit at once (no sync)
head -c 1048576 /dev/urandom >/tmp/last
echo "G-LASTSUM $(sum /tmp/last)"
echo G-END
cat /tmp/last >last.bin
printf "the very last write\n" >last.txt
EOF
)

echo "shares: read-write boot (a relative share and a second one)"
start=$(now)
(cd "$rw" && exec timeout 1800 microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	--share .:/workspace --share "$two:/mnt/two" --share-cache auto \
	--env H_RAND_SUM="$h_rand_sum" --env FS_BIG_MB="$big" --env FS_FILES="$nfiles" \
	-- sh -c "$g1" </dev/null >"$t/g1.out" 2>"$t/g1.err") &
pid=$!
if wait_out '^G-WAIT-HOST$' "$t/g1.out" $pid 600; then
	# While the guest waits: change things it has already looked at.
	printf 'changed live\n' >"$rw/h_live.txt"
	mkdir "$rw/h_live_dir"
	mv "$rw/h_live_ren" "$rw/h_live_renamed"
	rm "$rw/h_live_del"
	chmod 0700 "$rw/h_live_mode"
	touch -d @1450000000 "$rw/h_live_mtime"
	ln -s h_live.txt "$rw/h_live_sym"
	truncate -s 10 "$rw/h_live_trunc"
	touch "$rw/host-live-done"
else
	bad "the guest never reached the live phase"
fi
wait_exit $pid 1800 "$t/g1.out"
wait $pid
st=$?
expect_status "the read-write boot ends with the command's status" 0 $st
echo "shares: read-write boot took $(($(now) - start))s"
sed -n 's/^G-INFO: /guest: /p' "$t/g1.out"
[ -s "$t/g1.err" ] && sed 's/^/    stderr | /' "$t/g1.err"
guest_results "$t/g1.out"
clean "after a normal exit"

# guest -> host
stat_of() { stat -c "$1" "$2" 2>&1; }
eq "guest file content on the host" "$(cat "$rw/g_new.txt" 2>&1)" "made in the guest"
eq "guest file owner on the host" "$(stat_of %u:%g "$rw/g_new.txt")" "$owner:$owner"
eq "guest directory tree on the host" "$(cat "$rw/g_dir/a/b/f" 2>&1)" deep
eq "guest directory owner on the host" "$(stat_of %u:%g "$rw/g_dir/a")" "$owner:$owner"
eq "guest symlink on the host: type and target" "$(stat_of %F "$rw/g_sym") $(readlink "$rw/g_sym")" "symbolic link g_new.txt"
eq "guest symlink owner on the host" "$(stat_of %u:%g "$rw/g_sym")" "$owner:$owner"
eq "guest dangling absolute symlink on the host" "$(readlink "$rw/g_sym_abs")" /nonexistent/target
eq "guest hard link on the host: link count" "$(stat_of %h "$rw/g_hard")" 2
eq "guest hard link on the host: one inode" "$(stat_of %i "$rw/g_hard")" "$(stat_of %i "$rw/g_new.txt")"
eq "guest chmod 0640 on the host" "$(stat_of %a "$rw/g_mode")" 640
eq "guest truncate to 2000 on the host" "$(stat_of %s "$rw/g_trunc")" 2000
eq "guest sparse truncate on the host: size" "$(stat_of %s "$rw/g_sparse")" 5000000
eq "guest sparse truncate on the host: zeros" "$(sum "$rw/g_sparse")" "$(head -c 5000000 /dev/zero | sha256sum | cut -c1-64)"
eq "guest touch -d @1500000000 on the host" "$(stat_of %Y "$rw/g_mtime")" 1500000000
eq "guest touch -t 201001020304.05 (UTC) on the host" "$(stat_of %Y "$rw/g_mtime_t")" 1262401445
eq "guest rename on the host" "$(cat "$rw/g_final" 2>&1) $([ -e "$rw/g_tmp" ] && echo old-name-still-there)" "tmp "
eq "guest unlink and rmdir on the host" "$(ls -d "$rw/g_gone" "$rw/g_rmdir" 2>/dev/null)" ""
eq "guest's mtime of a new file equals the host's" "$(stat_of %Y "$rw/g_new.txt")" "$(sed -n 's/^G-MTIME //p' "$t/g1.out")"
# host-made files the guest changed
eq "guest rename of a host file" "$([ -e "$rw/h_ren" ] && echo still-there) $(cat "$rw/g_renamed_from_host" 2>&1)" " h_ren"
eq "guest unlink of a host file" "$(ls "$rw/h_del" 2>/dev/null)" ""
eq "guest chmod 0604 of a host file" "$(stat_of %a "$rw/h_mod")" 604
eq "guest truncate of a host file" "$(cat "$rw/h_trunc2" 2>&1)" 012
eq "guest append to a host file" "$(tr '\n' '|' <"$rw/h_append" 2>&1)" "h_append|appended by the guest|"
eq "guest touch -d of a host file" "$(stat_of %Y "$rw/h_touch")" 1300000000
eq "guest touch -t 200102030405.06 (UTC) of a host file" "$(stat_of %Y "$rw/h_touch_t")" 981173106
eq "guest hard link to a host file: one inode, 2 links" "$(stat_of %i:%h "$rw/g_hard_to_host")" "$(stat_of %i "$rw/h_text.txt"):2"
eq "guest rm -r of a host tree" "$(ls -d "$rw/h_rmdir" 2>/dev/null)" ""
eq "guest rename of a host directory" "$(cat "$rw/g_dir_renamed/inside.txt" 2>&1) $(ls -d "$rw/h_dir_ren" 2>/dev/null)" "inside "
eq "host file the guest only read is unchanged" "$(sum "$rw/h_text.txt")" "$h_text_sum"
eq "guest file in the second share" "$(cat "$two/g_two.txt" 2>&1) $(stat_of %u:%g "$two/g_two.txt")" "guest in two $owner:$owner"
# large file
want=$(sed -n 's/^G-BIGSUM //p' "$t/g1.out")
eq "the ${big} MiB file has its size on the host" "$(stat_of %s "$rw/big.bin")" $((big * 1048576))
if [ -n "$want" ] && [ "$(sum "$rw/big.bin")" = "$want" ]; then
	ok "the ${big} MiB file written in the guest has the same sha256 on the host"
else
	bad "the ${big} MiB file differs: guest '$want', host '$(sum "$rw/big.bin" 2>&1)'"
fi
# many small files: names, one line each, content, owner
n=$(find "$rw/many" -type f 2>/dev/null | wc -l | tr -d ' ')
eq "$nfiles small files on the host" "$n" "$nfiles"
if [ "$n" -gt 0 ]; then
	(cd "$rw/many" && awk '{print FILENAME " " $0}' f* | sort) >"$t/many.got"
	i=0
	while [ $i -lt "$nfiles" ]; do
		echo "f$i file $i"
		i=$((i + 1))
	done | sort >"$t/many.want"
	if cmp -s "$t/many.got" "$t/many.want"; then
		ok "every small file has its content on the host"
	else
		bad "small files differ: $(diff "$t/many.want" "$t/many.got" | head -n 5 | tr '\n' '|')"
	fi
	eq "the small files belong to the share owner" "$(cd "$rw/many" && stat -c %u:%g f* | sort -u | tr '\n' ' ')" "$owner:$owner "
fi
# the last write before exit
want=$(sed -n 's/^G-LASTSUM //p' "$t/g1.out")
if [ -n "$want" ] && [ "$(sum "$rw/last.bin")" = "$want" ]; then
	ok "1 MiB written just before the command exited is on the host"
else
	bad "the last 1 MiB differs or is missing: guest '$want', host '$(sum "$rw/last.bin" 2>&1)'"
fi
eq "the very last write (right before exit) is on the host" "$(cat "$rw/last.txt" 2>&1)" "the very last write"
rm -rf "$rw/big.bin" "$rw/many" # room for what follows (tmpfs)

# --- 3. :ro and no escape through symlinks (guest root) ----------------------

esc=$t/esc
ro=$t/ro
mkdir -p "$esc" "$ro/sub" "$ro/emptydir"
echo "canary-original" >"$t/canary"
ln -s /etc/passwd "$esc/hostlink"
head -c 100000 /dev/urandom >"$ro/data.bin"
echo existing >"$ro/existing.txt"
echo file >"$ro/sub/file.txt"
ln -s data.bin "$ro/link"
# Writable by the agent as far as permissions go: only :ro may stop it.
chown -R "$owner:$owner" "$esc" "$ro"
touch -d @1400000000 "$ro/existing.txt"
snapshot "$ro" >"$t/ro.before"
passwd_sum=$(sum /etc/passwd)
canary_sum=$(sum "$t/canary")

g2=$guest_lib$(
	cat <<'EOF'
echo G-START
eq "--user root runs as root" "$(id -u)" 0
yes_ "/mnt/ro is a virtiofs mount" grep -q " /mnt/ro virtiofs " /proc/mounts
grep virtiofs /proc/mounts | sed "s/^/G-INFO: /"
eq ":ro share: a file reads back" "$(sum /mnt/ro/data.bin)" "$RO_SUM"
eq ":ro share: a symlink reads back" "$(readlink /mnt/ro/link)" data.bin
eq "su agent works in the guest" "$(su agent -s /bin/sh -c "id -u")" 1234
for who in root agent; do
	nowrite $who "create" "echo new >/mnt/ro/new-$who.txt"
	nowrite $who "append" "echo more >>/mnt/ro/existing.txt"
	nowrite $who "truncate" "truncate -s 0 /mnt/ro/existing.txt"
	nowrite $who "unlink" "rm /mnt/ro/existing.txt"
	nowrite $who "mkdir" "mkdir /mnt/ro/newdir-$who"
	nowrite $who "rmdir" "rmdir /mnt/ro/emptydir"
	nowrite $who "rename" "mv /mnt/ro/sub /mnt/ro/sub2"
	nowrite $who "chmod" "chmod 0777 /mnt/ro/existing.txt"
	nowrite $who "touch" "touch /mnt/ro/existing.txt"
	nowrite $who "symlink" "ln -s x /mnt/ro/newlink-$who"
	nowrite $who "hard link" "ln /mnt/ro/existing.txt /mnt/ro/hardlink-$who"
	nowrite $who "overwrite in a subdirectory" "echo x >/mnt/ro/sub/file.txt"
done
nowrite root "chown" "chown 0:0 /mnt/ro/existing.txt"
# The host enforces :ro, not the guest's mount flags.
if mount -o remount,rw /mnt/ro 2>/dev/null; then echo "G-INFO: the guest remounted /mnt/ro rw"; fi
nowrite root "create after mount -o remount,rw in the guest" "echo new >/mnt/ro/after-remount.txt"
nowrite root "append after mount -o remount,rw in the guest" "echo more >>/mnt/ro/existing.txt"

# Symlinks made in the guest resolve in the guest.
cd /workspace || exit 1
yes_ "the guest's /etc/passwd has agent" grep -q "^agent:" /etc/passwd
ln -s /etc/passwd pw
eq "a guest symlink to /etc/passwd reads the guest's file" "$(cat pw)" "$(cat /etc/passwd)"
yes_ "writing through it" sh -c 'echo "escaped:x:0:0::/:/bin/sh" >>pw'
yes_ "... changes the guest's /etc/passwd" grep -q "^escaped:" /etc/passwd
eq "a host-made symlink to /etc/passwd reads the guest's file" "$(cat hostlink)" "$(cat /etc/passwd)"
ln -s ../canary esc1
yes_ "writing through ../canary" sh -c 'echo pwned1 >esc1'
eq "... writes the guest's /canary" "$(cat /canary 2>&1)" pwned1
mkdir d
ln -s ../../canary d/esc2
yes_ "appending through d/../../canary" sh -c 'echo pwned2 >>d/esc2'
eq "... appends to the guest's /canary" "$(cat /canary 2>&1 | tr "\n" " ")" "pwned1 pwned2 "
mkdir -p "$(dirname "$HOST_CANARY")"
ln -s "$HOST_CANARY" abs
yes_ "writing through a symlink to the host's absolute canary path" sh -c 'echo pwned3 >abs'
eq "... writes a guest file" "$(cat "$HOST_CANARY" 2>&1)" pwned3
eq "/workspace/.. is the guest's /" "$(stat -c %d:%i /workspace/..)" "$(stat -c %d:%i /)"
if ln /etc/passwd hl 2>/dev/null; then F "a hard link from the guest's /etc/passwd into the share worked"; else P "no hard link from guest files into the share"; fi
echo G-END
EOF
)

echo "shares: :ro and escape boot (as root)"
(exec microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	--user root --share "$esc:/workspace" --share "$ro:/mnt/ro:ro" \
	--env RO_SUM="$(sum "$ro/data.bin")" --env HOST_CANARY="$t/canary" \
	-- sh -c "$g2" </dev/null >"$t/g2.out" 2>"$t/g2.err") &
pid=$!
wait_exit $pid 900 "$t/g2.out"
wait $pid
expect_status "the :ro/escape boot ends with the command's status" 0 $?
sed -n 's/^G-INFO: /guest: /p' "$t/g2.out"
[ -s "$t/g2.err" ] && sed 's/^/    stderr | /' "$t/g2.err"
guest_results "$t/g2.out"
clean "after the :ro/escape boot"
snapshot "$ro" >"$t/ro.after"
if cmp -s "$t/ro.before" "$t/ro.after"; then
	ok "the :ro share is byte-identical on the host (listing, modes, owners, sizes, mtimes, sha256)"
else
	bad "the :ro share changed: $(diff "$t/ro.before" "$t/ro.after" | grep '^[-+][^-+]' | head -n 8 | tr '\n' '|')"
fi
eq "the host canary beside the share is unchanged" "$(sum "$t/canary")" "$canary_sum"
eq "the host's /etc/passwd is unchanged" "$(sum /etc/passwd)" "$passwd_sum"
eq "the guest's symlinks are plain symlinks on the host" \
	"$(readlink "$esc/pw") $(readlink "$esc/esc1") $(readlink "$esc/d/esc2")" "/etc/passwd ../canary ../../canary"

# --- 4. the daemon dies while the guest runs: 125, naming the share ----------

mkdir -p "$t/k"
chown "$owner:$owner" "$t/k"
(exec microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	--share "$t/k:/workspace" -- sh -c 'echo started; sleep 120' </dev/null >"$t/k.out" 2>"$t/k.err") &
pid=$!
if wait_out started "$t/k.out" $pid 300; then
	p=$(new_vfs)
	if [ -n "$p" ]; then
		# shellcheck disable=SC2086 # a list of pids
		ok "a virtiofsd runs while the guest runs: $(vfs_ps $p)"
		# shellcheck disable=SC2086 # a list of pids
		kill $p
	else
		bad "no virtiofsd process while the guest runs"
	fi
else
	bad "the guest did not start: $(tr '\n' '|' <"$t/k.err")"
fi
wait_exit $pid 90
wait $pid
expect_status "virtiofsd killed mid-run" 125 $?
if grep '^microvmm: ' "$t/k.err" | grep -q -e "$t/k" -e /workspace; then
	ok "its message names the share: $(grep '^microvmm: ' "$t/k.err" | head -n 1)"
else
	bad "no 'microvmm: ' line naming the share: $(tr '\n' '|' <"$t/k.err")"
fi
clean "after virtiofsd was killed"

# --- 5. SIGTERM: nothing on disk while running, nothing left after ----------

mkdir -p "$t/s"
chown "$owner:$owner" "$t/s"
(exec microvmm --kernel "$KERNEL" --initrd "$GUEST/initrd.img" --mem 512M \
	--share "$t/s:/workspace" -- sh -c 'echo started; sleep 120' </dev/null >"$t/s.out" 2>"$t/s.err") &
pid=$!
if wait_out started "$t/s.out" $pid 300; then
	if [ -n "$(new_vfs)" ]; then ok "a virtiofsd runs for the share"; else bad "no virtiofsd while the guest runs"; fi
	s=$(new_state)
	eq "no socket file or microvmm-* directory exists while the VM runs" "$(echo "$s" | tr '\n' ' ')" " "
else
	bad "the guest did not start: $(tr '\n' '|' <"$t/s.err")"
fi
kill -TERM $pid
wait_exit $pid 90
wait $pid
expect_status "SIGTERM with a share" 143 $?
clean "after SIGTERM"

# --- 6. Ctrl-] on a terminal ------------------------------------------------

if command -v tmux >/dev/null; then
	export TERMINFO_DIRS=/lib/terminfo:/usr/share/terminfo LC_ALL=C.UTF-8 HOME="${HOME:-/root}"
	# -u: the level-1 host has no locales; tmux refuses to start without UTF-8 otherwise.
	tm() { tmux -u -f /dev/null "$@"; }
	mkdir -p "$t/e"
	chown "$owner:$owner" "$t/e"
	tm new-session -d -s shares -x 100 -y 30 \
		"cd $t/e && microvmm --kernel $KERNEL --initrd $GUEST/initrd.img --mem 512M --share .:/workspace -- sh -c 'echo ready-for-escape; sleep 600'; echo EXIT=\$?; sleep 600"
	pane_has() { # PATTERN SECS
		i=0
		while [ $i -lt $(($2 * 4)) ]; do
			tm capture-pane -p -t shares 2>/dev/null | grep -q -- "$1" && return 0
			sleep 0.25
			i=$((i + 1))
		done
		return 1
	}
	if pane_has ready-for-escape 300; then
		sleep 0.5
		tm send-keys -t shares C-]
		if pane_has 'EXIT=130' 60; then
			ok "Ctrl-] ends the VM with a share (exit 130)"
		else
			bad "Ctrl-] did not end the VM: $(tm capture-pane -p -t shares | tr '\n' '|')"
		fi
	else
		bad "the guest did not start under tmux: $(tm capture-pane -p -t shares | tr '\n' '|')"
	fi
	pane_has 'EXIT=' 5 >/dev/null
	clean "after Ctrl-]"
	tm kill-server 2>/dev/null
else
	echo "SKIP: Ctrl-] check (tmux is not installed)"
fi

# --- 7. guest kernel panic --------------------------------------------------

mkdir -p "$t/p"
chown "$owner:$owner" "$t/p"
tvm 300 --user root --share "$t/p:/workspace" \
	-- sh -c 'echo 1 >/proc/sys/kernel/sysrq; echo c >/proc/sysrq-trigger' </dev/null >/dev/null 2>"$t/p.err"
expect_status "a guest kernel panic with a share" 123 $?
clean "after a guest panic"

echo "$pass passed, $fail failed"
[ $fail = 0 ]

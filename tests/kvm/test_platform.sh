#!/bin/bash
# Boots the freestanding test guest under the real microvmm and checks exits, output,
# power events and user-error handling. Runs on any /dev/kvm, PVM included.
set -u
MICROVMM=$1
GUEST=$2
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible; these tests need KVM" >&2
	exit 77
fi

check() { # name, expected status, actual status, [grep pattern in output], [output file]
	local name=$1 want=$2 got=$3 pattern=${4:-} out=${5:-$tmp/out}
	if [ "$got" != "$want" ]; then
		echo "FAIL: $name: exit status $got, expected $want"; cat "$out"; fail=$((fail + 1)); return
	fi
	if [ -n "$pattern" ] && ! grep -q -- "$pattern" "$out"; then
		echo "FAIL: $name: output lacks '$pattern'"; cat "$out"; fail=$((fail + 1)); return
	fi
	echo "PASS: $name"; pass=$((pass + 1))
}

run() { # cmdline, extra flags...
	local cmdline=$1; shift
	timeout 60 "$MICROVMM" --kernel "$GUEST" --mem 64M --cmdline "$cmdline" "$@" </dev/null >"$tmp/out" 2>&1
}

run "p hello world"; check "poweroff exits 0 and the UART carries the command line" 0 $? "cmdline=p hello world"
grep -q "e820=003" "$tmp/out" && { echo "PASS: e820 has 3 entries at 64M"; pass=$((pass+1)); } || { echo "FAIL: e820 count"; fail=$((fail+1)); }
run "p" --mem 5G; check "a 5G guest gets a fourth e820 entry above 4G" 0 $? "e820=004"
run "r"; check "ACPI reset register ends the VM with 0" 0 $?
run "i"; check "i8042 reset ends the VM with 0" 0 $?
run "9"; check "0xcf9 reset ends the VM with 0" 0 $?
run "t"; check "triple fault ends the VM with 0" 0 $?
run "k"; check "pvpanic gives the panic status" 123 $? "guest kernel panicked"
run "p" --cpus 4; check "four vCPUs start and stop" 0 $?
# Guest RAM on 4 KiB pages only, every page of it written ('m'), then power-off.
run "m" --no-hugepages --mem 256M; check "--no-hugepages: the guest writes all its RAM and powers off" 0 $?

# A spinning guest stops on SIGTERM with 128+15 and leaves no thread behind.
"$MICROVMM" --kernel "$GUEST" --mem 64M --cpus 2 --cmdline s </dev/null >"$tmp/out" 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
wait $pid; check "SIGTERM stops a running VM with 143" 143 $?

# --version names what this /dev/kvm is, decided from the device; the loaded module must agree.
want=
[ -d /sys/module/kvm_amd ] && want=svm
[ -d /sys/module/kvm_intel ] && want=vmx
[ -z "$want" ] && [ -d /sys/module/kvm_pvm ] && want=pvm
"$MICROVMM" --version >"$tmp/out" 2>&1
check "--version says this host's KVM is ${want:-known}" 0 $? "(KVM: ${want:-[a-z]}"

# User errors: one line, status 125.
user_error() { # name, pattern, args...
	local name=$1 pattern=$2; shift 2
	timeout 60 "${alone:-$MICROVMM}" "$@" </dev/null >"$tmp/out" 2>&1
	local st=$?
	check "$name" 125 $st "$pattern"
	local lines; lines=$(wc -l <"$tmp/out")
	[ "$lines" = 1 ] || { echo "FAIL: $name printed $lines lines"; fail=$((fail + 1)); }
}
user_error "missing kernel file" "cannot open kernel" --kernel "$tmp/none"
printf 'not a kernel, only some text\n' >"$tmp/not-a-kernel"
user_error "not a kernel" "is neither a bzImage nor an x86-64 vmlinux" --kernel "$tmp/not-a-kernel"
printf "\177ELF-but-not-a-kernel\n" >"$tmp/bad-elf"
user_error "an ELF file that is not a vmlinux" "is an ELF file but not an x86-64 vmlinux" --kernel "$tmp/bad-elf"
# A copy with no guest image beside it (build/guest would be its default kernel).
mkdir -p "$tmp/alone"
cp "$MICROVMM" "$tmp/alone/microvmm"
alone=$tmp/alone/microvmm user_error "no --kernel and no default image" "no kernel given"
user_error "unknown flag" "unknown option '--frobnicate'" --frobnicate
user_error "--cpus 0" "is not a vCPU count" --kernel "$GUEST" --cpus 0
user_error "--cpus too many" "more than this host allows" --kernel "$GUEST" --cpus 100000
user_error "--mem too small" "too small" --kernel "$GUEST" --mem 1M
user_error "--mem more than the host" "more than this host has" --kernel "$GUEST" --mem 64T
head -c $((80 << 20)) /dev/zero >"$tmp/big.img"
user_error "initrd too big" "does not fit" --kernel "$GUEST" --mem 64M --initrd "$tmp/big.img"
user_error "missing initrd" "cannot open initrd" --kernel "$GUEST" --initrd "$tmp/none"
# No permission on /dev/kvm, no /dev/kvm at all, and a /dev/kvm that is something else.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	chmod 755 "$tmp"
	cp "$GUEST" "$tmp/guest.bin" && chmod 644 "$tmp/guest.bin"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MICROVMM" --kernel "$tmp/guest.bin" \
		--cmdline p </dev/null >"$tmp/out" 2>&1
	check "no permission on /dev/kvm" 125 $? "no permission to open /dev/kvm"
fi
if command -v unshare >/dev/null && [ "$(id -u)" = 0 ]; then
	mkdir -p "$tmp/emptydev"
	unshare -m sh -c "mount --bind '$tmp/emptydev' /dev && exec '$MICROVMM' --kernel '$GUEST' --cmdline p" \
		</dev/null >"$tmp/out" 2>&1
	check "no /dev/kvm" 125 $? "/dev/kvm not found"
	unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec '$MICROVMM' --kernel '$GUEST' --cmdline p" \
		</dev/null >"$tmp/out" 2>&1
	check "/dev/kvm that is not KVM" 125 $? "not a KVM device"
fi
"$MICROVMM" --kernel "$GUEST" --cmdline p >&- 2>"$tmp/out" </dev/null
check "closed stdout is refused" 125 $? "standard output is closed"
"$MICROVMM" --kernel "$GUEST" --cmdline p <&- >"$tmp/out" 2>&1
check "closed stdin is refused" 125 $? "standard input is closed"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/sh
# Decodes the generated ACPI tables with Debian's acpica-tools (iasl -d, acpiexec) and fails on any complaint.
#
# Usage: acpi_iasl_check.sh PATH-TO-acpi-dump
# Exit: 0 pass, 1 fail, 77 (ctest skip) only when iasl is not installed.
set -u

dump=${1:?usage: acpi_iasl_check.sh PATH-TO-acpi-dump}

if ! command -v iasl >/dev/null 2>&1; then
	echo "SKIP: ******** iasl not found: install acpica-tools to check the ACPI tables ********" >&2
	exit 77
fi

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Sum of all bytes of file $1 (or of its first $2 bytes) modulo 256.
byte_sum() {
	if [ $# -gt 1 ]; then
		head -c "$2" "$1"
	else
		cat "$1"
	fi | od -An -v -tu1 | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s % 256 }'
}

# iasl 20200925 cannot read an RSDP from a file: check it here (ACPI 6.5 section 5.2.5.3).
check_rsdp() {
	[ "$(head -c 8 "$1")" = "RSD PTR " ] || fail "$1: bad RSDP signature"
	[ "$(wc -c <"$1")" -eq 36 ] || fail "$1: RSDP is not 36 bytes"
	[ "$(byte_sum "$1" 20)" -eq 0 ] || fail "$1: RSDP checksum (bytes 0..19) is wrong"
	[ "$(byte_sum "$1")" -eq 0 ] || fail "$1: RSDP extended checksum is wrong"
}

# iasl -d one table; any error, warning or checksum complaint fails the test.
disassemble() {
	dir=$1
	sig=$2
	[ -f "$dir/$sig.dat" ] || fail "$dir: acpi-dump wrote no $sig table"
	(cd "$dir" && iasl -d "$sig.dat") >"$dir/$sig.log" 2>&1 ||
		{ cat "$dir/$sig.log" >&2; fail "iasl -d $sig.dat exited non-zero"; }
	[ -f "$dir/$sig.dsl" ] || { cat "$dir/$sig.log" >&2; fail "iasl wrote no $sig.dsl"; }
	if grep -Ei 'error|warning|incorrect checksum|invalid' "$dir/$sig.log" "$dir/$sig.dsl" >&2; then
		fail "iasl complained about $sig (above)"
	fi
}

check_dsdt() {
	dsl=$1/DSDT.dsl
	for want in PNP0A03 PNP0501 QEMU0001 _S5_; do
		grep -q "$want" "$dsl" || fail "decoded DSDT lacks $want"
	done
}

check_madt() {
	n=$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$1/APIC.dsl")
	[ "$n" -eq "$2" ] || fail "MADT has $n Local APIC entries, want $2"
}

# Optional: evaluate the DSDT objects Linux uses, with our own FADT and MADT loaded.
check_acpiexec() {
	dir=$1
	if ! command -v acpiexec >/dev/null 2>&1; then
		echo "note: acpiexec not installed, skipping AML evaluation" >&2
		return 0
	fi
	(cd "$dir" && acpiexec -b 'evaluate \_S5; evaluate \_SB.PCI0._CRS; evaluate \_SB.COM1._CRS; evaluate \_SB.PEVT._CRS; evaluate \_SB.PEVT._HID' \
		FACP.dat DSDT.dat APIC.dat </dev/null) >"$dir/acpiexec.log" 2>&1 ||
		{ cat "$dir/acpiexec.log" >&2; fail "acpiexec exited non-zero"; }
	if grep -E 'AE_[A-Z_]+|[Ee]rror|[Ww]arning' "$dir/acpiexec.log" >&2; then
		fail "acpiexec complained (above)"
	fi
	grep -q '\[Integer\] = 0000000000000005' "$dir/acpiexec.log" ||
		{ cat "$dir/acpiexec.log" >&2; fail "\\_S5 did not evaluate to {5, ...}"; }
	grep -q '"QEMU0001"' "$dir/acpiexec.log" || fail "\\_SB.PEVT._HID did not evaluate"
}

for ncpus in 1 4 254; do
	dir=$work/$ncpus
	mkdir "$dir" || exit 1
	"$dump" "$dir" "$ncpus" >"$dir/dump.log" 2>&1 ||
		{ cat "$dir/dump.log" >&2; fail "acpi-dump $ncpus failed"; }
	check_rsdp "$dir/RSDP.dat"
	for sig in XSDT FACP APIC DSDT; do
		disassemble "$dir" "$sig"
	done
	check_dsdt "$dir"
	check_madt "$dir" "$ncpus"
	check_acpiexec "$dir"
	echo "ok: $ncpus CPUs, $(tail -n 1 "$dir/dump.log")"
done
echo PASS

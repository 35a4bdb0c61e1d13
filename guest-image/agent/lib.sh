# guest-image/agent/lib.sh: what the agent image steps share (sourced, not run).
# shellcheck shell=bash

say() { echo "guest-image: agent: $*"; }
die() {
	echo "guest-image: error: agent: $*" >&2
	exit 1
}

# manifest_items FILE KIND: the fields after KIND of every KIND line, one line each.
manifest_items() {
	sed -e 's/#.*//' "$1" | awk -v kind="$2" '$1 == kind { $1 = ""; sub(/^ +/, ""); print }'
}

# sri FILE: FILE's sha512 as npm writes it in dist.integrity ("sha512-<base64>").
sri() {
	local hex
	hex=$(sha512sum "$1" | cut -d' ' -f1)
	# Hex to bytes without xxd or openssl: one \xHH escape per byte for printf.
	# shellcheck disable=SC2001,SC2059
	echo "sha512-$(printf "$(sed 's/../\\x&/g' <<<"$hex")" | base64 -w0)"
}

# tail_of LOG: its last lines, joined, for a one-line error.
tail_of() { tail -n "${2:-3}" "$1" | tr '\n' ' ' | sed 's/ *$//'; }

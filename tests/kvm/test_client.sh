#!/bin/bash
# kvm.client: libmicrovmm (tests/kvm/test_client.c) against the freestanding guest.
#   test_client.sh MICROVMM TEST_CLIENT GUEST LIBMICROVMM (the library by its soname file)
set -uo pipefail
if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible; this test needs KVM" >&2
	exit 77
fi
LD_LIBRARY_PATH=$(dirname "$4")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
MICROVMM_BIN=$1 exec "$2" "$3"

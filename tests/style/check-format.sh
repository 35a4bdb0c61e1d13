#!/bin/bash
# Fails when a tracked C file differs from what the repository's .clang-format makes of it.
set -u
cd "$(dirname "$0")/../.."
if ! command -v clang-format >/dev/null; then
	echo "SKIP: clang-format is not installed (scripts/install-deps installs it)" >&2
	exit 77
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find boot devices vmm guest-image tests bench -name '*.[ch]')
if clang-format --dry-run --Werror $files; then
	echo "1 passed, 0 failed"
else
	echo "run: clang-format -i \$(git ls-files '*.c' '*.h')"
	echo "0 passed, 1 failed"
	exit 1
fi

#!/bin/bash
# Prints how many system calls each microvmm thread class may make and checks
# them against the budget in docs/security.md (below Firecracker's per-thread
# lists). Usage: seccomp-counts.sh PATH/TO/seccomp-list
set -euo pipefail
list=$1
"$list" --counts
# Budgets: what docs/security.md promises; raising one needs a reason there.
declare -A budget=([vcpu]=20 [devices]=26 [uart-input]=22 [main]=34 [supervisor]=13 [api]=24)
fail=0
while read -r cls n _; do
	if ((n > ${budget[$cls]:-0})); then
		echo "FAIL: $cls allows $n system calls, the budget is ${budget[$cls]:-0}"
		fail=1
	fi
done < <("$list" --counts)
exit $fail

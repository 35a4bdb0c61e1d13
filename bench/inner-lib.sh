# shellcheck shell=sh
# Shell functions for the bench/*-inner.sh scripts (sourced from the same
# directory: bench/ on the host, /l1/ in the level-1 host).

# alive PID: running and not a zombie.
alive() {
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$s" ] && [ "$s" != Z ]
}

# reap_helper PID: give a helper that ends with its VM 5 s to go, then kill it.
reap_helper() {
	t=0
	while alive "$1" && [ $t -lt 50 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# report_scenario KIND NAME STATUS FILE: the guest's "MICROVMM-REPORT KIND"
# line in FILE as "BENCH NAME status=STATUS ...", or error=no-report; the
# console's last lines go to stderr when the report is an error.
report_scenario() {
	r=$(tr -d '\r' <"$4" | grep -a "MICROVMM-REPORT $1 " | tail -n 1 | sed "s/.*MICROVMM-REPORT $1 //")
	[ -n "$r" ] || r="error=no-report"
	echo "BENCH $2 status=$3 $r"
	case $r in *error=*) tr -d '\r' <"$4" | grep -av '^\[' | tail -n 12 | sed "s/^/  $2 | /" >&2 ;; esac
}

#!/bin/sh
# Scenario "report-reboot": like "report", but ends with a reboot.
# shellcheck source=/dev/null # lib-report.sh, installed beside this script
. /usr/share/microvmm/tests/lib-report
report
reboot -f

#!/bin/sh
# Scenario "report": print what the guest sees; the init powers off when it ends (and, with
# microvmm.bootmark, prints the boot timeline first).
# Run by the guest init as `/bin/sh /usr/share/microvmm/tests/report` when the
# kernel command line has microvmm.test=report.
# shellcheck source=/dev/null # lib-report.sh, installed beside this script
. /usr/share/microvmm/tests/lib-report
report

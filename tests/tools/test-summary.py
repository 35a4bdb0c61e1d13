#!/usr/bin/env python3
"""Closing summary of a ctest run (scripts/test): how many tests ran, passed,
failed and were skipped (and why), how many VMs booted; fails the run when a
test skipped without an entry in the allowlist.

Usage: test-summary.py JUNIT_XML BOOT_LOG ALLOWLIST
  JUNIT_XML  ctest --output-junit output
  BOOT_LOG   the MICROVMM_BOOT_LOG file the run appended to (may be missing)
  ALLOWLIST  lines "TEST-NAME REASON-TEXT..." ('#' comments): a skip of
             TEST-NAME whose output contains REASON-TEXT is expected
Exit status: 0 when nothing failed and every skip is allowed, else 1.
"""
import sys
import xml.etree.ElementTree as ET


def skip_reason(case):
    """The test's own SKIP: line (what it printed), else ctest's note."""
    out = case.findtext("system-out") or ""
    for line in out.splitlines():
        if line.startswith("SKIP:"):
            return line[len("SKIP:"):].strip()
    node = case.find("skipped")
    return node.get("message", "no reason given") if node is not None else "no reason given"


def read_allowlist(path):
    allowed = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if line:
                name, _, reason = line.partition(" ")
                allowed.append((name, reason.strip()))
    return allowed


def count_boots(path):
    l1 = vms = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("run-in-l1: level-1 host booted"):
                    l1 += 1
                elif line.startswith("microvmm: vm booted"):
                    vms += 1
    except FileNotFoundError:
        pass
    return l1, vms


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    junit, boot_log, allowlist = argv[1:]
    try:
        cases = ET.parse(junit).getroot().findall("testcase")
    except (OSError, ET.ParseError) as e:
        print(f"test-summary: cannot read {junit}: {e}", file=sys.stderr)
        return 1
    allowed = read_allowlist(allowlist)
    passed, failed, skipped, unexpected = [], [], [], []
    for case in cases:
        name, status = case.get("name"), case.get("status")
        if case.find("skipped") is not None or status in ("notrun", "disabled"):
            reason = skip_reason(case)
            ok = any(name == n and r in reason for n, r in allowed)
            skipped.append((name, reason, ok))
            if not ok:
                unexpected.append(name)
        elif status == "run" and case.find("failure") is None:
            passed.append(name)
        else:
            failed.append(name)
    l1, vms = count_boots(boot_log)

    print()
    print("==== test summary ====")
    print(f"tests: {len(cases)} in all, {len(passed) + len(failed)} ran, "
          f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    for name in failed:
        print(f"  failed: {name}")
    for name, reason, ok in skipped:
        print(f"  skipped ({'allowed' if ok else 'NOT ALLOWED'}): {name}: {reason}")
    print(f"VMs booted: {vms} microVMs, in {l1} level-1 hosts")
    if unexpected:
        print(f"test-summary: {len(unexpected)} test(s) skipped without an entry in "
              f"{allowlist}: {' '.join(unexpected)}; a skip hides a broken test, so this run fails")
    # The plain closing line CI reads; an unexpected skip counts as a failure.
    print(f"summary: {len(passed)} passed, {len(failed) + len(unexpected)} failed, "
          f"{len(skipped) - len(unexpected)} skipped")
    return 0 if not failed and not unexpected and cases else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

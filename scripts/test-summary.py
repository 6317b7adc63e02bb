#!/usr/bin/env python3
"""test-summary.py - count test results left by scripts/run-tests.sh.

Reads, from the results directory given as argument:
  unit-*.json         meson test logs; cmocka prints TAP, one line per test
  integration-*.xml   pytest JUnit XML
  fault.xml           pytest JUnit XML of the reliability tests (tests/fault)
  fuzz.out            one "fuzz NAME ok|FAILED" line per harness
  *.failed            a step that could not run counts as one failure
Prints one line per suite, then "N passed, N failed" as the last line, and
exits 1 if anything failed.
"""
import json
import pathlib
import re
import sys
import xml.etree.ElementTree as ET


def unit_counts(path):
    passed = failed = 0
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        out = entry.get("stdout", "") or ""
        tap_ok = len(re.findall(r"^ok \d+", out, re.M))
        tap_fail = len(re.findall(r"^not ok \d+", out, re.M))
        if tap_ok + tap_fail == 0:
            # no TAP output: count the program itself
            if entry.get("result") == "OK":
                tap_ok = 1
            else:
                tap_fail = 1
        elif entry.get("result") not in ("OK", "EXPECTEDFAIL") and tap_fail == 0:
            tap_fail = 1  # crashed after its last ok line
        passed += tap_ok
        failed += tap_fail
    return passed, failed


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = 0
    for s in suites:
        tests = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped = int(s.get("skipped", 0))
        failed += bad
        passed += tests - bad - skipped
    return passed, failed


def main():
    d = pathlib.Path(sys.argv[1])
    total_p = total_f = 0
    rows = []
    for p in sorted(d.glob("unit-*.json")):
        rows.append((p.stem, *unit_counts(p)))
    for p in sorted(d.glob("integration-*.xml")) + sorted(d.glob("fault.xml")):
        rows.append((p.stem, *junit_counts(p)))
    fuzz = d / "fuzz.out"
    if fuzz.exists():
        text = fuzz.read_text()
        ok = len(re.findall(r"^fuzz \S+ ok$", text, re.M))
        bad = len(re.findall(r"^fuzz \S+ FAILED$", text, re.M))
        rows.append(("fuzz-smoke", ok, bad))
    for p in sorted(d.glob("*.failed")):
        rows.append((p.stem, 0, 1))
    for name, p_, f_ in rows:
        print(f"{name:24} {p_:5} passed {f_:5} failed")
        total_p += p_
        total_f += f_
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())

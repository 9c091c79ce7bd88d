#!/bin/sh
# skip_check.sh <ctest> <tests/numeric build folder> <isa> <work folder>
# Proves that ctest reports a kernel this CPU cannot run as skipped, not as passed: runs the
# discovered numeric tests whose name contains <isa> in a ctest of their own (<work folder>), with
# CONVGEN_TEST_CPU_LACKS=<isa> making test_numeric treat those kernels as unsupported.
# Passes when at least one such test ran, every one was skipped and none failed or passed.
set -eu
ctest=$1 bin=$2 isa=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
set -- "$bin"/test_numeric*_tests.cmake
[ -f "$1" ] || { echo "FAIL: no discovered test list in $bin (gtest_discover_tests)"; exit 1; }
echo "include(\"$1\")" >"$work/CTestTestfile.cmake"
status=0
out=$(CONVGEN_TEST_CPU_LACKS=$isa "$ctest" --test-dir "$work" -R "$isa" 2>&1) || status=$?
echo "$out"
ran=$(echo "$out" | grep -c "Test *#[0-9]*: numeric\." || true)
skipped=$(echo "$out" | grep -c "Test *#[0-9]*: numeric\..*Skipped" || true)
[ "$status" -eq 0 ] || { echo "FAIL: ctest exited $status"; exit 1; }
[ "$ran" -gt 0 ] || { echo "FAIL: no numeric test matches $isa"; exit 1; }
[ "$skipped" -eq "$ran" ] || { echo "FAIL: $skipped of $ran $isa tests reported as skipped"; exit 1; }
echo "OK: all $ran $isa kernels reported as skipped"

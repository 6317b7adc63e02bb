#!/bin/sh
# run-tests.sh - `make test`: build and run every test twice, once in the
# normal build and once under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the reliability tests (tests/fault: kill -9, full disk, I/O errors,
# overload, privileges; normal build only), plus a short fuzz smoke run
# when clang is available. The last line is "N passed, N failed"; the exit
# status is non-zero on any failure.
#
#   scripts/run-tests.sh          what `make test` runs
#   scripts/run-tests.sh --long   `make test-long`: the same, with hundreds
#                                 of kill -9 rounds and 10,000 connections
set -u
case ${1:-} in
--long) export YUBIN_TEST_LONG=1 ;;
'') ;;
*)
	echo "usage: $0 [--long]" >&2
	exit 2
	;;
esac
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=/usr/bin/python3 # Debian's python, which has python3-pytest
RESULTS=$(mktemp -d /tmp/yubin-results.XXXXXX)
status=0

note() { printf '\n== %s\n' "$*"; }

build() { # build DIR [meson options...]
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$RESULTS/setup-$(basename "$dir").log" 2>&1 ||
			{ cat "$RESULTS/setup-$(basename "$dir").log"; return 1; }
	fi
	ninja -C "$dir" >"$RESULTS/ninja-$(basename "$dir").log" 2>&1 ||
		{ cat "$RESULTS/ninja-$(basename "$dir").log"; return 1; }
	ln -sf src/yubin "$dir/yubin"
}

unit() { # unit DIR LABEL
	note "unit tests ($2)"
	meson test -C "$1" --suite unit --print-errorlogs >"$RESULTS/unit-$2.out" 2>&1 || status=1
	tail -n 12 "$RESULTS/unit-$2.out"
	cp "$1/meson-logs/testlog.json" "$RESULTS/unit-$2.json" 2>/dev/null || true
}

integration() { # integration BINARY LABEL
	note "integration tests ($2)"
	YUBIN_BIN="$1" $PY -m pytest -q -p no:cacheprovider tests/integration \
		--junitxml="$RESULTS/integration-$2.xml" -o junit_family=xunit1 || status=1
}

fault() { # fault BINARY: the reliability tests, and the figures they measured
	note "reliability tests (tests/fault${YUBIN_TEST_LONG:+, long})"
	YUBIN_BIN="$1" YUBIN_FAULT_STATS="$RESULTS/fault-stats.jsonl" \
		$PY -m pytest -q -p no:cacheprovider tests/fault \
		--junitxml="$RESULTS/fault.xml" -o junit_family=xunit1 || status=1
	if [ -f "$RESULTS/fault-stats.jsonl" ]; then
		sed 's/^/  figures: /' "$RESULTS/fault-stats.jsonl"
	fi
}

note "build"
build build || { echo "0 passed, 1 failed"; exit 1; }
unit build normal
integration "$ROOT/build/yubin" normal
fault "$ROOT/build/yubin"

note "build with AddressSanitizer and UndefinedBehaviorSanitizer"
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0
	unit build-asan asan
	integration "$ROOT/build-asan/yubin" asan
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
else
	echo "asan build failed" >"$RESULTS/asan-build.failed"
	status=1
fi

if command -v clang >/dev/null 2>&1 && [ -f tests/fuzz/meson.build ]; then
	note "fuzz smoke run"
	if CC=clang build build-fuzz -Dfuzz=true -Db_lundef=false; then
		tests/fuzz/run-smoke.sh build-fuzz 10 >"$RESULTS/fuzz.out" 2>&1 || status=1
		cat "$RESULTS/fuzz.out" | grep -E '^fuzz ' || true
	else
		echo "fuzz build failed" >"$RESULTS/fuzz-build.failed"
		status=1
	fi
fi

note "summary"
$PY scripts/test-summary.py "$RESULTS" || status=1
rm -rf "$RESULTS"
exit $status

#!/bin/sh
# run-smoke.sh - a short fuzzing run of every harness, for CI and before
# a commit. Builds nothing.
#
#   tests/fuzz/run-smoke.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is a fuzz build (CC=clang meson setup BUILD_DIR -Dfuzz=true
# -Db_lundef=false; ninja -C BUILD_DIR). Each harness
# first replays its seed corpus, then fuzzes for SECONDS (default 10) on a
# copy of it in a temporary directory: the repository's corpus is never
# written to. Prints "fuzz NAME ok|FAILED" per harness on stdout (details
# on stderr) and exits non-zero if any failed. On failure the temporary
# directory, with the log and the crashing input, is kept and named.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
fi
build=$1
seconds=${2:-10}
case $seconds in
'' | *[!0-9]*)
	echo "$0: SECONDS must be a number" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/yubin-fuzz.XXXXXX") || exit 2

status=0
for name in pop3 lmtp imap mime config mailbox_name sasl; do
	exe=$build/tests/fuzz/fuzz_$name
	seeds=$here/corpus/$name
	log=$work/$name.log
	if [ ! -x "$exe" ]; then
		echo "$0: no $exe: build it first" >&2
		echo "fuzz $name FAILED"
		status=1
		continue
	fi
	mkdir -p "$work/$name/corpus" "$work/$name/artifacts"
	cp "$seeds"/* "$work/$name/corpus/" 2>/dev/null
	# the seeds (regression inputs among them) must all pass as they are
	if ! "$exe" -runs=0 "$seeds" >"$log" 2>&1; then
		echo "$0: $name: corpus replay failed, see $log" >&2
		echo "fuzz $name FAILED"
		status=1
		continue
	fi
	if "$exe" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=8192 \
		-artifact_prefix="$work/$name/artifacts/" \
		"$work/$name/corpus" >>"$log" 2>&1; then
		echo "$0: $name: $(grep -o 'Done [0-9]* runs' "$log" | tail -1)" >&2
		echo "fuzz $name ok"
	else
		echo "$0: $name: see $log and $work/$name/artifacts/" >&2
		echo "fuzz $name FAILED"
		status=1
	fi
done

if [ $status -eq 0 ]; then
	rm -rf "$work"
fi
exit $status

#!/bin/sh
# run-fuzz.sh - `make fuzz`: build the libFuzzer harnesses with clang and run
# each for SECONDS (default 60) on a copy of its seed corpus.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
exec tests/fuzz/run-smoke.sh build-fuzz "$seconds"

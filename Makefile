# yubin - the two commands from README.md, and a few more for developers.
#
#   make          build build/yubin (installs missing build packages as root)
#   make run      build, create ./dev (config, TLS certificate, demo user,
#                 welcome message) and run the server on 127.0.0.1
#   make test     build, then every test, normal and under ASan+UBSan,
#                 and the reliability tests (tests/fault, docs/RELIABILITY.md);
#                 the last line printed is "N passed, N failed"
#   make test-long  the same with the long reliability runs: hundreds of
#                 kill -9 rounds, 10,000 held connections (several minutes)
#   make fuzz     run each fuzz harness for FUZZ_SECONDS (default 60)
#   make clean    remove build directories (not ./dev)
#   make bench    compare yubin with Dovecot (bench/, docs/BENCHMARKS.md);
#                 make bench-quick is the same in under two minutes

BUILD ?= build
FUZZ_SECONDS ?= 60

.PHONY: all deps run test test-long fuzz clean bench bench-quick

all: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD) src/yubin
	@ln -sf src/yubin $(BUILD)/yubin

deps:
	@scripts/install-deps.sh

run: all
	@scripts/dev-run.sh

test:
	@scripts/install-deps.sh --test
	@scripts/run-tests.sh

test-long:
	@scripts/install-deps.sh --test
	@scripts/run-tests.sh --long

fuzz:
	@scripts/install-deps.sh --test
	@scripts/run-fuzz.sh $(FUZZ_SECONDS)

bench: all
	@bench/bench.sh full $(BUILD)

bench-quick: all
	@bench/bench.sh quick $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# The two commands of the README: `make run` and `make test`. Both install what is missing first.
SWIFT ?= swift
BUILD_LOG := .build/alza-build.log
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

# Tests that open real sockets or start node processes run in a second pass, after the CPU-heavy pure and
# simulator suites, so their network timeouts never compete with a simulation for the two cores.
NETWORK_TESTS := ^(AlzaNetTests|AlzaNodeTests)\.

.PHONY: run test deps build release bench clean

## Install missing system packages, build in release mode, start the local testnet (23 SuperNodes, 4 satellites,
## 100 transfers/s) in the foreground with its live status and a node's API URL. Ctrl-C stops every process.
run: deps release
	rm -rf testnet/local
	.build/release/alza testnet run --supernodes 23 --satellites 4 --slot-ms 500 --duration forever \
		--load transfers:100,payments:200 --fields 2 --participants 4 --dir testnet/local

## Install missing system packages, build everything in release mode with the tests (failing on warnings in our
## code), run every test. Release: the simulator suites replay days of chain; debug would take many times longer.
test: deps
	@mkdir -p .build
	$(SWIFT) build -c release --build-tests 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings.sh $(BUILD_LOG)
	$(SWIFT) test -c release --skip-build --skip '$(NETWORK_TESTS)'
	$(SWIFT) test -c release --skip-build --filter '$(NETWORK_TESTS)'

deps:
	@scripts/install-system-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Benchmarks (release build); figures go to docs/benchmarks/.
bench: deps
	$(SWIFT) build -c release
	.build/release/alza-bench crypto --report-dir docs/benchmarks
	.build/release/alza-bench chain --report-dir docs/benchmarks
	.build/release/alza-bench net --report-dir docs/benchmarks

clean:
	rm -rf .build

## libFuzzer harnesses for every decoder of peer or file bytes (docs/fuzzing.md): builds Tests/Fuzz with
## -sanitize=fuzzer,address into .build-fuzz, runs each target for FUZZ_SECONDS, prints executions and crashes
## per target, fails if any crashed. New corpus units go to .build-fuzz/corpus-<target>, crashes to
## .build-fuzz/crashes/<target>/; the seeds stay in Tests/Fuzz/corpus/<target>.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) Tests/Fuzz/run-fuzz.sh

# The two commands of the README: `make run` and `make test`. Both install what is missing first.
SWIFT ?= swift
BUILD_LOG := .build/alza-build.log

.PHONY: run test deps build release bench clean

## Install missing system packages (Debian), then build in release mode and run the CLI.
run: deps release
	.build/release/alza version
	.build/release/alza --help

## Install missing system packages, build everything (failing on warnings in our code), run every test.
test: deps
	@mkdir -p .build
	$(SWIFT) build --build-tests 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings.sh $(BUILD_LOG)
	$(SWIFT) test --skip-build

deps:
	@scripts/install-system-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Benchmarks (release build); figures go to docs/benchmarks/.
bench: deps
	$(SWIFT) build -c release --product alza-bench
	.build/release/alza-bench crypto --report-dir docs/benchmarks

clean:
	rm -rf .build

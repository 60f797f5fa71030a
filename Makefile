# tokenhealth build, test and benchmark entry points.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PKGS    := ./...

.PHONY: all build test lint fmt-check vet unit bench bench-smoke fuzz deps clean reliability soak

all: build

## build: the tokenhealth and entrasim binaries into bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tokenhealth ./cmd/agent
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/entrasim ./cmd/entrasim

## test: the whole suite, as CI runs it (installs missing Debian test packages when root)
test: deps lint unit bench-smoke

deps:
	./scripts/install-test-deps.sh

## lint: gofmt and go vet
lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -timeout 20m $(PKGS)

## bench: the full benchmarks (see docs/performance.md). The fleet-sized
## ones (probe cycle, policy pass, store growth) take longer than the
## default benchtime per iteration, so b.Loop runs each exactly once.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 90m $(PKGS)

## bench-smoke (part of test): the 200-tenant probe cycle and policy pass, once each, so a
## performance regression shows in CI (about a minute with warm caches)
bench-smoke:
	$(GO) test -short -run '^$$' -bench 'ProbeCycle/tenants=200$$|PolicyPass/tenants=200$$' -benchtime 1x -timeout 10m ./pkg/probe/ ./internal/agent/

## fuzz: each fuzz target for a fixed time (FUZZTIME=30s by default); the
## executions per target go to bin/fuzz-results.tsv and the grown corpus to
## each package's testdata/fuzz/<Target>/ (see scripts/fuzz.sh)
FUZZTIME ?= 30s
fuzz:
	FUZZ_RESULTS=bin/fuzz-results.tsv ./scripts/fuzz.sh $(FUZZTIME)

## reliability: the fault tests of docs/reliability.md (also part of unit)
reliability:
	$(GO) test -race -count=1 -v -timeout 30m ./test/reliability/

## soak: the long variants (SOAK_KILLS SIGKILLs of the daemon, default 500)
SOAK_KILLS ?= 500
soak:
	TOKENHEALTH_SOAK_KILLS=$(SOAK_KILLS) $(GO) test -count=1 -v -timeout 3h -run 'TestSIGKILLUnderLoad' ./test/reliability/

clean:
	rm -rf bin

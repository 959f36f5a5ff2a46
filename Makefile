# outpace: durable LinkedIn outreach on Temporal.
#
#   make demo    build, start a Temporal dev server, the OutX sandbox and the
#                worker, and send messages that show every outcome
#   make test    every test: unit, and integration on a real dev server
#   make build   the worker, starter and sandbox binaries, into bin/

SHELL := /bin/bash
GO ?= go

# The Temporal CLI (dev server) is pinned and built from the Go module proxy
# into a git-ignored folder. v1.5.1 is the newest that `go install` builds.
TEMPORAL_VERSION := v1.5.1
TOOLS := $(CURDIR)/.tools
TEMPORAL := $(TOOLS)/bin/temporal
export OUTPACE_TEMPORAL_CLI := $(TEMPORAL)

.PHONY: all build test test-short demo temporal clean

all: build

build:
	$(GO) build -o bin/ ./worker ./starter ./sandbox

# The first build takes a few minutes; it is cached in .tools/ afterwards.
temporal: $(TEMPORAL)
$(TEMPORAL):
	@echo "Building the Temporal CLI $(TEMPORAL_VERSION) into $(TOOLS)/bin (first time only, a few minutes)..."
	GOBIN=$(TOOLS)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

test: $(TEMPORAL)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# Unit tests only: integration tests say they were skipped.
test-short:
	$(GO) test -count=1 -short ./...

demo: build $(TEMPORAL)
	./scripts/demo.sh

clean:
	rm -rf bin .demo

# The campaign benchmark: a CSV of 1,000,000 recipients, the real worker, a
# dev server and the OutX sandbox; measures for 3 minutes against a plain OutX
# loop. Quick run: make bench BENCH_FLAGS="--recipients 2000 --duration 1m".
.PHONY: bench
BENCH_FLAGS ?=
bench: $(TEMPORAL)
	$(GO) build -o bin/ ./worker
	@mkdir -p bench/results
	set -o pipefail; $(GO) run ./bench/campaign --worker-bin bin/worker --temporal $(TEMPORAL) $(BENCH_FLAGS) | tee -i bench/results/campaign.txt

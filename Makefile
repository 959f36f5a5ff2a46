# outpace: durable LinkedIn outreach on Temporal.
#
#   make demo    build, start a Temporal dev server, the OutX sandbox and the
#                worker, and send messages that show every outcome
#   make test    the linters (go vet, staticcheck, workflowcheck), every test:
#                unit, and integration on a real dev server, then
#                a short fuzzing run (make fuzz, FUZZTIME=10000x inputs per target)
#   make faults  the fault suite, long form (make test runs a short form)
#   make fuzz-pacer  the account pacer's model-based test, long form (make
#                test runs a few thousand operations of it)
#   make build   the worker, starter, sandbox, codec-server and inbound binaries, into bin/

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
	$(GO) build -o bin/ ./worker ./starter ./sandbox ./codec-server ./inbound ./examples/webhook-receiver

# The first build takes a few minutes; it is cached in .tools/ afterwards.
temporal: $(TEMPORAL)
$(TEMPORAL):
	@echo "Building the Temporal CLI $(TEMPORAL_VERSION) into $(TOOLS)/bin (first time only, a few minutes)..."
	GOBIN=$(TOOLS)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

# The UI test drives the dev server's Temporal UI in headless Chromium,
# installed from Debian's packages when missing.
.PHONY: chromium
chromium:
	@./scripts/ensure-chromium.sh

# The contacts store's tests run on a real PostgreSQL too (internal/pgtest
# starts a throwaway server): Debian's postgresql package, installed when
# missing.
.PHONY: postgresql
postgresql:
	@./scripts/ensure-postgresql.sh

test: $(TEMPORAL) chromium postgresql lint
	$(GO) test -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz

# Linters, pinned and built from the Go module proxy into .tools/ like the
# Temporal CLI: go vet, staticcheck, and Temporal's workflowcheck, which
# follows every call from a workflow function and fails on anything that
# could break determinism (I/O, the wall clock, global rand, map order).
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
STATICCHECK := $(TOOLS)/bin/staticcheck
WORKFLOWCHECK := $(TOOLS)/bin/workflowcheck
$(STATICCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(WORKFLOWCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
.PHONY: lint
lint: $(STATICCHECK) $(WORKFLOWCHECK)
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted (run gofmt -w)"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one target per run);
# their seed corpora also run in every `go test`. A failure leaves the input
# in the package's testdata/fuzz/<target>/ to reproduce with go test -run.
# A count of inputs, not a time: a timed run on a loaded machine can end
# before the seed corpus's baseline run does, which go test reports as a
# failure ("context deadline exceeded") though nothing was found.
# Longer runs: make fuzz FUZZTIME=5m.
FUZZTIME ?= 10000x
FUZZ_TARGETS := outx:FuzzValidate outx:FuzzAnswer recipients:FuzzReadPage \
	recipients:FuzzParseTemplate recipients:FuzzPrepare recipients:FuzzPrepareParts \
	recipients:FuzzSpintax outx:FuzzNote workflows:FuzzWorkflowInputs
.PHONY: fuzz
fuzz:
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do \
		echo "fuzz ./$${t%%:*} $${t##*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$${t%%:*} | grep -v '^fuzz: elapsed'; \
	done

# The account pacer's model-based test (workflows/pacer_model_test.go) for
# PACER_OPS random operations instead of go test's 4000, from seed PACER_SEED
# (default: the clock, printed; a failure prints the seed and command that
# replay its run). Longer runs: make fuzz-pacer PACER_OPS=500000.
PACER_OPS ?= 50000
PACER_SEED ?=
.PHONY: fuzz-pacer
fuzz-pacer:
	@seed=$(PACER_SEED); seed=$${seed:-$$(date +%s)}; \
	echo "pacer model: $(PACER_OPS) operations from seed $$seed (again: make fuzz-pacer PACER_SEED=$$seed PACER_OPS=$(PACER_OPS))"; \
	OUTPACE_PACER_SEED=$$seed OUTPACE_PACER_OPS=$(PACER_OPS) $(GO) test -count=1 -timeout 60m -run '^TestPacerModel$$' ./workflows/

# Unit tests only: integration tests say they were skipped.
test-short:
	$(GO) test -count=1 -short ./...

demo: build $(TEMPORAL)
	./scripts/demo.sh

clean:
	rm -rf bin .demo

# Benchmarks (docs/benchmarks.md), each on the real worker, a dev server and
# the OutX sandbox, one after another; reports go to bench/results/:
#   bench-campaign   a CSV of 1,000,000 recipients for 3 minutes, against a plain OutX loop
#   bench-cost       history events and billable actions per message
#   bench-overhead   200 messages through outpace and through a plain OutX loop
#   bench-sleepers   the worker's memory with 1,000 campaigns sleeping between sends
#   bench-contacts   the contacts store on SQLite and PostgreSQL: a 1,000,000-entry
#                    do-not-contact import, claim latency with 1,000,000 ledger rows,
#                    a 100 MB do-not-contact file (and the same with a bad last line)
# Each takes its flags from a variable, e.g.
#   make bench-campaign BENCH_FLAGS="--recipients 2000 --duration 1m"
# and `make bench-quick` runs them all small (a few minutes in all).
.PHONY: bench bench-quick bench-campaign bench-cost bench-overhead bench-sleepers bench-contacts bench-worker
BENCH_FLAGS ?=
BENCH_COST_FLAGS ?=
BENCH_OVERHEAD_FLAGS ?=
BENCH_SLEEPERS_FLAGS ?=
BENCH_CONTACTS_FLAGS ?=
BENCH_RUN = set -o pipefail; mkdir -p bench/results; $(GO) run
BENCH_ARGS = --worker-bin bin/worker --temporal $(TEMPORAL)

bench: bench-campaign bench-cost bench-overhead bench-sleepers bench-contacts

bench-quick:
	$(MAKE) bench BENCH_FLAGS="--recipients 2000 --duration 30s --warmup 10s --baseline 500" \
		BENCH_COST_FLAGS="--sends 5 --slow 1 --recipients 10" BENCH_OVERHEAD_FLAGS="--messages 30" \
		BENCH_SLEEPERS_FLAGS="--campaigns 100 --settle 3s" \
		BENCH_CONTACTS_FLAGS="--entries 100000 --ledger 100000 --claims 500 --preview 2000 --big-mb 5"

bench-worker: $(TEMPORAL)
	$(GO) build -o bin/ ./worker

bench-campaign: bench-worker
	$(BENCH_RUN) ./bench/campaign $(BENCH_ARGS) $(BENCH_FLAGS) | tee -i bench/results/campaign.txt

bench-cost: bench-worker
	$(BENCH_RUN) ./bench/cost $(BENCH_ARGS) $(BENCH_COST_FLAGS) | tee -i bench/results/cost.txt

bench-overhead: bench-worker
	$(BENCH_RUN) ./bench/overhead $(BENCH_ARGS) $(BENCH_OVERHEAD_FLAGS) | tee -i bench/results/overhead.txt

bench-sleepers: bench-worker
	$(BENCH_RUN) ./bench/sleepers $(BENCH_ARGS) $(BENCH_SLEEPERS_FLAGS) | tee -i bench/results/sleepers.txt

# No Temporal: the store alone, PostgreSQL a throwaway server (internal/pgtest).
bench-contacts: postgresql
	$(BENCH_RUN) ./bench/contacts $(BENCH_CONTACTS_FLAGS) | tee -i bench/results/contacts.txt

# The fault suite, long form: campaigns of 200 recipients through 10 worker
# SIGKILLs, Temporal server restarts, and OutX 429 bursts, 5xx, late and lost
# answers and an offline extension; prints a table of what it injected and
# saw. `make test` runs its short form. OUTPACE_FAULTS_SEED=N repeats a run.
.PHONY: faults
faults: $(TEMPORAL)
	OUTPACE_FAULTS=full $(GO) test -count=1 -timeout 60m -parallel 3 -run '^TestFaults$$' -v ./e2e/

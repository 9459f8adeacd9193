# hookwire — `make run` starts an engine on embedded defaults, `make test` is
# the test command CI runs (.ci/run).

GO       ?= go
BIN      ?= bin/hookwire
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
FUZZTIME ?= 10s
# Minimising a new interesting input can outlast a short fuzz run.
FUZZMIN  ?= 10s
DATA     ?= ./hookwire-data

.PHONY: build run receive test check fmt vet fuzz bench bench-latency bench-scaling crash-test bench-micro filters filter-go filter-c filter-wat filter-as asc clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hookwire

# Development server: no auth, loopback only, private destinations allowed.
run: build
	$(BIN) serve --dev --listen 127.0.0.1:7070 --data $(DATA)

# Example receiver for the quickstart's stream (see README).
receive: build
	$(BIN) receive --listen 127.0.0.1:9000 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# The example filters (filters/ABI.md), built from source into FILTERS_OUT,
# one target per language.
FILTERS_OUT ?= bin/filters
AS_DIR      := filters/examples/assemblyscript
filters: filter-go filter-c filter-wat filter-as

filter-go:
	mkdir -p $(FILTERS_OUT)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(FILTERS_OUT)/bigspender.wasm ./filters/examples/go/bigspender
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(FILTERS_OUT)/failedlogins.wasm ./filters/examples/go/failedlogins

filter-c:
	mkdir -p $(FILTERS_OUT)
	clang --target=wasm32 -O2 -nostdlib -Wall -Werror -Wl,--no-entry -I filters/sdk/c \
		-o $(FILTERS_OUT)/pagevisit.wasm filters/examples/c/pagevisit.c

filter-wat:
	mkdir -p $(FILTERS_OUT)
	wat2wasm filters/examples/wat/rage3.wat -o $(FILTERS_OUT)/rage3.wasm

# AssemblyScript's compiler, pinned by the example's package-lock.json (the
# SDK's test compiles with it too).
asc:
	cd $(AS_DIR) && { [ -d node_modules/assemblyscript ] || npm ci --no-audit --no-fund; }

filter-as: asc
	mkdir -p $(FILTERS_OUT)
	cd $(AS_DIR) && npx asc assembly/index.ts --outFile $(abspath $(FILTERS_OUT))/pricing-then-help.wasm --optimize --use abort=assembly/index/abort

# The whole suite with the race detector, then each fuzz target briefly.
# The short pass is counted in executions, not seconds: with a duration, Go
# 1.26's fuzz coordinator can report its own deadline as a failure when a
# worker is mid-call at the end (golang/go#75804, fixed in Go 1.27).
test: vet asc
	$(GO) test -race -count=1 ./...
	$(MAKE) -s fuzz FUZZTIME=10000x FUZZMIN=200x

check: fmt test

fmt:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

# Each fuzz target for FUZZTIME, a duration or an execution count such as
# 10000x (make test runs a short counted pass; use FUZZTIME=60s locally).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFullstory$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzFastDecodeAgrees$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzParseDefinition$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/streams
	$(GO) test -run '^$$' -fuzz '^FuzzLookupRaw$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/session
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeLogRecord$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzDeliveryEncoding$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzSessionEncoding$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzEventJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./engine/model
	$(GO) test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./filters
	$(GO) test -run '^$$' -fuzz '^FuzzRegexAgreesWithGo$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./filters
	$(GO) test -run '^$$' -fuzz '^FuzzCompileModule$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./wasm
	$(GO) test -run '^$$' -fuzz '^FuzzFindAgreesWithEncodingJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./filters/sdk/c
	$(GO) test -run '^$$' -fuzz '^FuzzEventFindAgreesWithEncodingJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./filters/sdk/assemblyscript
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./filters/sdk/go/hookwire

# kill -9 the server KILLS times under load; prints a summary line.
KILLS ?= 20
crash-test: build
	$(GO) run ./cmd/hookwire-bench crash --binary $(BIN) --kills $(KILLS)

# The standard load scenario against a real server and receiver, about a
# minute (bench/README.md); results in bench/results/.
bench: build
	$(GO) run ./cmd/hookwire-bench load --binary $(BIN)

# The latency target's check: the standard scenario's maximum (closed loop),
# then open loop at half of it, about a minute and a half;
# bench/results/open-half.*
bench-latency: build
	$(GO) run ./cmd/hookwire-bench load --binary $(BIN) --half-of-max --ceilings=false --name open-half

# The standard scenario by streams (both catalogs), sessions and durability,
# about ten minutes; results in bench/results/scaling.{md,json}.
bench-scaling: build
	$(GO) run ./cmd/hookwire-bench scaling --binary $(BIN)

# The Go micro-benchmarks (predicates, filters, ingest).
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./filters ./engine ./engine/streams ./engine/ingest ./engine/store ./engine/session

clean:
	rm -rf bin

# Vividly real-time notifications. `make run` starts the local system; `make test` runs
# every test (installing redis-server and chromium first if they are missing).
SHELL := /bin/bash
GO ?= go
MODULES := ./shared ./functions ./stream
# Every package of every workspace module (`go test ./...` fails at a module-less root).
PKGS = $$($(GO) list -m -f '{{.Path}}/...')
FUZZTIME ?= 20s

.PHONY: all build run test test-go test-faults test-load test-security deps lint vet fmt-check cover bench fuzz loadtest function-zip clean

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/stream ./stream/cmd/stream
	$(GO) build -o bin/notify ./functions/cmd/local
	$(GO) build -o bin/local ./stream/cmd/local
	$(GO) build -o bin/loadtest ./stream/cmd/loadtest

## run: the whole system on one machine (in-memory broker; Redis when REDIS_ADDR is set)
run: build
	./bin/local

deps:
	@./scripts/ensure-deps.sh

## test: vet, formatting, every test with the race detector in random order (the
## infra module's tests check Terraform, cloudbuild.yaml, the Dockerfile and the
## function's uploaded source), then the fault-injection suite
test: deps lint test-go
	@$(MAKE) --no-print-directory test-faults
	@$(MAKE) --no-print-directory test-load

test-go: deps
	$(GO) test -race -shuffle=on -count=1 -timeout 15m $(PKGS)

## test-faults: the fault-injection suite without the race detector, so its timing
## comparison (fault 5) is asserted; prints the counts each fault verified
test-faults: deps
	@mkdir -p artifacts; set -o pipefail; $(GO) test -count=1 -timeout 10m -v -run 'Fault' ./stream/faults \
		| grep -E '^(FAULT|--- FAIL|ok|FAIL|panic)' | tee artifacts/faults.txt

## test-security: the security suite alone (docs/SECURITY.md maps each test to a threat);
## make test runs it too
test-security: deps
	$(GO) test -race -count=1 -run 'Security|History|Verify|JWKS|Extract|Ticket|Issue|Redeem|Parse|Limiter|ClientIP' \
		./stream/internal/server ./stream/internal/auth ./stream/internal/ticket ./stream/internal/admission

lint: vet fmt-check

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l shared functions stream infra); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## cover: statement coverage per module, counting what any package's tests run
## (target: shared/ and functions/ at 90 % or more)
cover: deps
	@mkdir -p artifacts
	$(GO) test -count=1 -coverpkg=$$($(GO) list -m -f '{{.Path}}/...' | paste -sd, -) \
		-coverprofile=artifacts/cover.out $(PKGS) > artifacts/cover.txt
	@awk -f scripts/cover-by-module.awk artifacts/cover.out | sort

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fuzz: run each fuzz target for FUZZTIME (new crashers land in testdata/fuzz)
fuzz:
	$(GO) test ./shared/notification -run '^$$' -fuzz FuzzDecodePush -fuzztime $(FUZZTIME)
	$(GO) test ./shared/rediskey -run '^$$' -fuzz FuzzParseStreamID -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/sse -run '^$$' -fuzz FuzzAppendEvent -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/auth -run '^$$' -fuzz FuzzExtract -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/ticket -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

## test-load: a short load smoke through the real binaries; fails if any notification
## is lost or duplicated, or any connection fails
test-load: build deps
	@mkdir -p artifacts
	./scripts/loadtest.sh -conns 500 -users 250 -rate 300 -duration 3s -json artifacts/load-smoke.json

## loadtest: a small load test (docs/PERFORMANCE.md has the full scenarios); summary,
## JSON and a latency histogram/CDF PNG in artifacts/
loadtest: build deps
	@mkdir -p artifacts
	./scripts/loadtest.sh -conns 500 -rate 500 -duration 10s -json artifacts/loadtest.json -png artifacts/loadtest.png

## function-zip: the function's deployable source (what Cloud Build uploads), zipped
## for Terraform's first deploy (terraform/function.tf)
function-zip:
	./scripts/function-source.sh build/function
	cd build/function && rm -f ../function.zip && zip -qr ../function.zip .

clean:
	rm -rf bin artifacts build

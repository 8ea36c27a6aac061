# Vividly real-time notifications. `make run` starts the local system; `make test` runs
# every test (installing what the tests need first); `make test-short` is the fast loop.
SHELL := /bin/bash
GO ?= go
# Every module of the workspace (go.work): production modules shared, functions and
# stream; system (local run, load tool, whole-system suites) and infra (deploy artifacts).
MODULES := shared functions stream system infra
# Every package of every workspace module (`go test ./...` fails at a module-less root).
PKGS = $$($(GO) list -m -f '{{.Path}}/...')
# The production modules' packages: unit, contract and Redis integration tests.
SHORT_PKGS = $(foreach m,shared functions stream,./$(m)/...)
FUZZTIME ?= 20s

.PHONY: all help deps-redis actionlint build run test test-short test-e2e test-go test-terraform test-faults test-cluster test-load test-security \
	deps lint vet fmt-check staticcheck tidy-check tracked-check cover bench fuzz loadtest load-broadcast compare rooms-compare soak function-zip clean

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/stream ./stream/cmd/stream
	$(GO) build -o bin/notify ./functions/cmd/local
	$(GO) build -o bin/local ./system/cmd/local
	$(GO) build -o bin/loadtest ./system/cmd/loadtest

## run: the whole system on one machine (in-memory broker; Redis when REDIS_ADDR is set)
run: build
	./bin/local

deps:
	@./scripts/ensure-deps.sh

# deps-redis: only redis-server and redis-cli, for the fast loop (no browsers).
deps-redis:
	@./scripts/ensure-deps.sh --redis-only

## help: the targets and what each does (from the ## comments in this file)
help:
	@awk '/^## [a-z-]+:/ { sub(/^## /, ""); print; next } /^## / { sub(/^## /, "    "); print }' $(MAKEFILE_LIST)

## test: the full suite CI runs: lint, every test of every module with the race
## detector in random order, Terraform (validate + plan tests with the real provider),
## the fault-injection suite and a load smoke
test: deps lint test-go test-terraform
	@$(MAKE) --no-print-directory test-faults
	@$(MAKE) --no-print-directory test-cluster
	@$(MAKE) --no-print-directory test-load

## test-short: the fast loop: lint, then the production modules' unit, contract and
## Redis integration tests with -short (no race detector, no browser, fault, load or
## Terraform suites)
test-short: deps-redis lint
	$(GO) test -short -count=1 -timeout 5m $(SHORT_PKGS)

## test-e2e: the whole-system suites alone: Pub/Sub → SSE pipeline, the browsers
## (Chromium, Firefox ESR; screenshots in artifacts/browser) and the dashboard check;
## make test runs them too
test-e2e: deps
	$(GO) test -race -count=1 -timeout 20m ./system/e2e ./system/browser/... ./system/dashboard

test-go: deps
	$(GO) test -race -shuffle=on -count=1 -timeout 15m $(PKGS)

## test-terraform: fmt, init (registry, or the provider mirror offline), validate and
## the plan tests in terraform/tests with the real google provider
test-terraform:
	./scripts/terraform-check.sh

## test-faults: the fault-injection suite without the race detector, so its timing
## comparison (fault 5) is asserted; prints the counts each fault verified
test-faults: deps
	@mkdir -p artifacts; set -o pipefail; $(GO) test -count=1 -timeout 10m -v -run 'Fault' ./system/faults \
		| grep -E '^(FAULT|--- FAIL|ok|FAIL|panic)' | tee artifacts/faults.txt

## test-cluster: what runs on a local Redis Cluster (3 masters + 3 replicas) besides the
## broker contract (in test-go) and faults 11-12 (in test-faults): the stream server's
## stream, cursor, history and read-state tests, and faults 3, 4, 5, 7 and 8
test-cluster: deps-redis
	REDIS_TEST_MODE=cluster $(GO) test -race -count=1 -timeout 10m \
		-run '^Test(BrokerMatchesTestMode|Sources_|Resume|Reset|Read|MarkRead|History|Inbox|Duplicate|Delivery|FreshStream|AppendRead)' ./stream/server
	@mkdir -p artifacts; set -o pipefail; FAULT_REDIS_MODE=cluster $(GO) test -count=1 -timeout 10m -v -run 'Fault(3|4|5|7|8)_' ./system/faults \
		| grep -E '^(FAULT|--- FAIL|ok|FAIL|panic)' | tee artifacts/faults-cluster.txt

## test-security: the security suite alone (docs/SECURITY.md maps each test to a threat);
## make test runs it too
test-security: deps
	$(GO) test -race -count=1 -run 'Security|History|Verify|JWKS|Extract|Ticket|Issue|Redeem|Parse|Limiter|ClientIP' \
		./stream/server ./stream/internal/auth ./stream/internal/ticket ./stream/internal/admission \
		./stream/internal/webpush ./shared/notification ./system/cmd/local
	$(GO) test -race -count=1 -run 'Contract/undecodable' ./shared/broker ./shared/redisbroker

## lint: vet, gofmt, staticcheck, go.mod and go.work.sum tidiness, no build output in
## git, actionlint on .github/workflows
lint: vet fmt-check staticcheck tidy-check tracked-check actionlint

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# staticcheck is a tool dependency of the system module (system/go.mod), so its version
# is pinned and no production module requires it.
staticcheck:
	$(GO) tool staticcheck $(PKGS)

# go.work.sum too: `go vet` / `go list` over the workspace add to it, and a stale one
# shows as a dirty tree after `make test` (go work sync rewrites it from the modules).
tidy-check:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "go mod tidy would change $$m/go.mod or go.sum"; exit 1; }; done
	@if ! git diff --quiet -- go.work.sum 2>/dev/null; then echo "go.work.sum changed while building: commit it (git diff go.work.sum)"; git diff --stat -- go.work.sum; exit 1; fi

# actionlint, like staticcheck, is a tool dependency of the system module (pinned there).
actionlint:
	$(GO) tool actionlint .github/workflows/ci.yml

tracked-check:
	@./scripts/check-tracked.sh

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
	$(GO) test ./shared/notification -run '^$$' -fuzz '^FuzzClean$$' -fuzztime $(FUZZTIME)
	$(GO) test ./shared/notification -run '^$$' -fuzz '^FuzzCleanText$$' -fuzztime $(FUZZTIME)
	$(GO) test ./functions/eventarc -run '^$$' -fuzz '^FuzzDecodePush$$' -fuzztime $(FUZZTIME)
	$(GO) test ./functions/eventarc -run '^$$' -fuzz '^FuzzDisplayFieldsNeverRefused$$' -fuzztime $(FUZZTIME)
	$(GO) test ./functions/eventarc -run '^$$' -fuzz '^FuzzFastMatchesEncodingJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./shared/rediskey -run '^$$' -fuzz FuzzParseStreamID -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/sse -run '^$$' -fuzz FuzzAppendEvent -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/auth -run '^$$' -fuzz FuzzExtract -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/ticket -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/cursor -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./shared/notification -run '^$$' -fuzz '^FuzzParseAnnouncement$$' -fuzztime $(FUZZTIME)
	$(GO) test ./shared/notification -run '^$$' -fuzz '^FuzzAnnouncementFields$$' -fuzztime $(FUZZTIME)
	$(GO) test ./shared/notification -run '^$$' -fuzz '^FuzzTimestampRoundTrip$$' -fuzztime $(FUZZTIME)
	$(GO) test ./stream/internal/rooms -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)

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

## load-broadcast: the broadcast fan-out time (issue 15; not part of make test): 10,000
## connections on one bin/stream, 10 broadcasts through the Publish entry point, beside
## the per-user latency of the same run; STREAMS=4 CONNS=50000 for the several-process
## run (VIA=redis: straight into Redis). JSON in artifacts/
load-broadcast: build deps
	@mkdir -p artifacts
	c=$${CONNS:-10000}; BROADCASTS=$${BROADCASTS:-10} ./scripts/broadcast-load.sh -conns $$c -sources 32 \
		-broadcast-interval 4s -json artifacts/load-broadcast-$$c.json

## compare: this project and Centrifugo v6.9.1 side by side under the same load (not
## part of make test; docs/PERFORMANCE.md). RUNS, CONNS, RATE, DURATION, INFLIGHT
compare: build deps
	./scripts/compare.sh

## rooms-compare: rooms over WebSockets, ours and Centrifugo v6.9.1 (WebSocket, presence
## and history on) under the same load (not part of make test; docs/PERFORMANCE.md,
## "Rooms"). CONNS, ROOM_SIZE, RATE, STATE_EVERY, DURATION, OUT
rooms-compare: build deps
	./scripts/rooms-compare.sh

## soak: the function's receive path, 100,000 requests at 32 in flight, 1 in 20
## clients cancelling; fails on any unanswered request (make test runs 20,000)
soak:
	$(GO) test ./functions -run TestSoakCancelledClients -count=1 -v -soak.requests=100000

## function-zip: the function's deployable source (what Cloud Build uploads), zipped
## for Terraform's first deploy (terraform/function.tf)
function-zip:
	./scripts/function-source.sh build/function
	cd build/function && rm -f ../function.zip && zip -qr ../function.zip .

clean:
	rm -rf bin artifacts build

# wsharness — WebSocket conformance and load-testing harness.
#
#   make conformance                      every fast case against the built-in targets
#   make conformance PROFILE=full         every case, the slow families too (9.x, ...)
#   make conformance URL=ws://127.0.0.1:9001/echo NAME=myserver OUT=out/mine
#   make conformance SEED=3f2a...          replay a run's masking and handshake
#                                         keys (its results.json has the seed)
#   make conformance URL=wss://127.0.0.1:9443/echo CA=out/tls/gorilla.pem
#                                         a TLS server: CA= is the PEM its
#                                         certificate chains to (default: the
#                                         system roots); INSECURE=1 skips
#                                         verification instead
#   make conformance-clients              the client form of the cases against the
#                                         reference client agents (docs/clients.md)
#   make test                             the project's own tests
#   make docs                             rewrite docs/cases.md from the case catalog
#   make bench                            load benchmarks of the targets, and k6 on the same echo
#   make bench BENCH_FLAGS=--quick        the same, cut down to a smoke run
#
# URL, NAME and OUT are the public contract of `make conformance`.

GO      ?= go
URL     ?=
NAME    ?=
OUT     ?= out/conformance
# Cases in flight at once: they mostly wait on the network and on timers,
# so far more run at once than there are cores. One Ginkgo process runs
# them all on the conformance engine (conformance/engine).
CONCURRENCY ?= 32
TARGETS ?= all
# Known deviations (see targets/expectations.yaml); TIMESCALE multiplies
# every case timer for slow servers.
EXPECT    ?= $(CURDIR)/targets/expectations.yaml
TIMESCALE ?= 1
# TLS (wss:// URLs): CA is a PEM file of the CA or self-signed certificate
# the server's certificate must chain to (`wsharness serve --tls` writes
# one); INSECURE=1 does not verify the certificate at all.
CA        ?=
INSECURE  ?=
# SEED: the hex seed of a run's masking keys and Sec-WebSocket-Keys (its
# results.json records it); empty = a fresh random one.
SEED      ?=
# External targets (Node, Python, PHP, C servers started by command); the
# ones whose runtime is missing are skipped with a reason. EXTERNAL= for none.
EXTERNAL  ?= targets/external.yaml
# PROFILE=default leaves out the slow families (cases.SlowFamilies) and
# lists them as skipped; PROFILE=full runs every case. LABELS is a Ginkgo
# label filter over each case's labels (family:NAME, case:ID, target:NAME,
# profile:full), e.g. LABELS='family:close && !target:lws'.
PROFILE ?= default
LABELS  ?=
# Ginkgo's bound on the whole run, past which it stops the cases and the
# results are marked incomplete: a full run of every built-in and external target
# takes about 20 minutes on 2 cores, half an hour when the machine is
# busy with something else.
SUITE_TIMEOUT = $(if $(filter full,$(PROFILE)),75m,30m)
GINKGO  := $(GO) tool ginkgo
BIN     := out/bin
comma   := ,

.PHONY: all build lws-echo lws-client deps conformance conformance-clients test vet fmt-check unit docs fuzz bench clean help

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## install the Debian packages the tests and external targets use (Chromium, PHP, Node ws, ...)
	bash scripts/deps.sh

build: ## build the wsharness binary into out/bin
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/wsharness ./cmd/wsharness

# The libwebsockets echo target; without libwebsockets-dev the script says
# so and builds nothing, and the target is skipped.
lws-echo: ## build the libwebsockets C echo target into out/bin (if libwebsockets-dev is installed)
	@mkdir -p $(BIN)
	@bash targets/external/lws/build.sh $(BIN)/lws-echo

# The libwebsockets client agent (targets/external/lws/client.c), skipped
# the same way.
lws-client: ## build the libwebsockets C client agent into out/bin (if libwebsockets-dev is installed)
	@mkdir -p $(BIN)
	@bash targets/external/lws/build.sh $(BIN)/lws-client client.c

# The suites write results.json and junit.xml into OUT; the summary step
# prints them and sets the exit status (non-zero on any unexpected FAILED).
# scripts/conformance.sh runs both and handles Ctrl-C/SIGTERM: the first
# stops the cases and still writes the (incomplete) results, summary and
# report, exit 130; a second quits at once.
conformance: build lws-echo ## run the conformance suites (URL=, NAME=, OUT=, PROFILE=default|full, LABELS=, CA=, INSECURE=1, SEED=)
	@case "$(PROFILE)" in default|full) ;; *) echo "PROFILE=$(PROFILE): want default or full" >&2; exit 2;; esac
	@case "$(INSECURE)" in ""|0|1) ;; *) echo "INSECURE=$(INSECURE): want 1 or nothing" >&2; exit 2;; esac
	@if [ -n "$(CA)" ] && [ ! -r "$(CA)" ]; then echo "CA=$(CA): no such readable file" >&2; exit 2; fi
	@mkdir -p $(OUT)
	@bash scripts/conformance.sh $(OUT) $(BIN)/wsharness \
	$(GINKGO) --keep-going --succinct --silence-skips --timeout=$(SUITE_TIMEOUT) \
		./suites -- -wsh.out=$(abspath $(OUT)) -wsh.targets=$(TARGETS) -wsh.profile=$(PROFILE) \
		-wsh.concurrency=$(CONCURRENCY) $(if $(LABELS),-wsh.labels='$(LABELS)') \
		-wsh.expect='$(abspath $(EXPECT))' -wsh.time-scale=$(TIMESCALE) \
		$(if $(EXTERNAL),-wsh.external='$(abspath $(EXTERNAL))') \
		$(if $(URL),-wsh.url='$(URL)' -wsh.name='$(or $(NAME),external)') \
		$(if $(CA),-wsh.ca='$(abspath $(CA))') $(if $(filter 1,$(INSECURE)),-wsh.insecure) \
		$(if $(SEED),-wsh.seed='$(SEED)') \
		$(if $(TARGET_CMD),-wsh.target-cmd='$(TARGET_CMD)')

# Clients under test: AGENTS names reference client agents or the client
# drivers of EXTERNAL's clients: list, or "clients" for all of them; the
# harness plays the server (docs/clients.md). Exit
# codes are those of make conformance.
# OUT defaults to out/conformance-clients here.
AGENTS ?= clients
conformance-clients: CLIENTS_OUT = $(if $(filter file,$(origin OUT)),out/conformance-clients,$(OUT))
conformance-clients: build lws-client ## judge WebSocket clients (AGENTS=, PROFILE=, OUT=, EXPECT=, EXTERNAL=)
	@$(BIN)/wsharness conformance $(foreach a,$(subst $(comma), ,$(AGENTS)),--client $(a)) \
		$(if $(EXTERNAL),--external '$(abspath $(EXTERNAL))') \
		--profile $(PROFILE) --out $(CLIENTS_OUT) --expect '$(abspath $(EXPECT))' \
		--concurrency $(CONCURRENCY) --timescale $(TIMESCALE) $(if $(SEED),--seed '$(SEED)')

test: fmt-check vet unit ## gofmt, go vet and every test (race detector on)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -run '^TestKnownDelay' ./loadgen/

# docs/cases.md is generated from the catalog (conformance/cases,
# cases.md.tmpl for its prose); make test fails when it is stale. The same
# package's tests check the counts marked in README.md, CONTRIBUTING.md and
# docs/ against the catalog, and every relative link in them.
docs: ## rewrite docs/cases.md and the marked counts of cases in every doc from the catalog, then check the docs' links
	$(GO) test -count=1 -run '^TestCasesDocIsCurrent$$|^TestDocCounts$$' ./conformance/cases -update
	$(GO) test -count=1 -run '^TestCasesDocIsCurrent$$|^TestDocCounts$$|^TestDocLinks$$|^TestReadmeIsAFrontDoor$$' ./conformance/cases

# Every fuzz target (each func Fuzz... in a _test.go file, found here so
# that a new one is never left out) runs for FUZZTIME, one at a time; Go
# fuzzes one target per run. Seed corpora: testdata/fuzz/<Name>/ beside
# each; a crasher is written there too. Go spends up to a minute shrinking
# every new interesting input by default, which on these multi-kilobyte
# results files stalled fuzzing for most of a short run: FUZZMINIMIZETIME
# bounds it.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 2s
fuzz: ## run every fuzz target for FUZZTIME, one after the other
	@set -e; grep -rHo --include='*_test.go' --exclude-dir=out --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*' . | sort | \
	while IFS=: read -r file fn; do \
		name=$${fn#func }; pkg=$$(dirname "$$file"); \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "$$pkg/" </dev/null; \
	done

# Load benchmarks (docs/benchmarks.md). Each run starts every target in its
# own process; results go to BENCH_OUT/<target>-<workload>-<run>.json and
# BENCH_OUT/summary.md. RUNS defaults to 3 (1 with --quick). k6 is built
# into out/tools for the generator comparison; if that build fails the
# comparison is skipped with a message and the rest still runs.
RUNS        ?=
BENCH_OUT   ?= out/bench
BENCH_FLAGS ?=
K6_VERSION  ?= v1.8.1
TOOLS       := out/tools

bench: build lws-echo ## load benchmarks of the reference and external targets plus k6 (RUNS=, BENCH_OUT=, BENCH_FLAGS=)
	@$(MAKE) --no-print-directory $(TOOLS)/k6 || echo "bench: building k6 failed; the k6 comparison will be skipped" >&2
	$(BIN)/wsharness bench $(if $(RUNS),--runs $(RUNS)) --out $(BENCH_OUT) --k6 $(TOOLS)/k6 $(BENCH_FLAGS)
	$(BIN)/wsharness report --out $(BENCH_OUT) $(BENCH_OUT)

# One to four minutes and ~900 MB of memory on a cold module cache.
$(TOOLS)/k6:
	@mkdir -p $(TOOLS)
	GOBIN=$(abspath $(TOOLS)) $(GO) install go.k6.io/k6@$(K6_VERSION)

clean:
	rm -rf out

# ---- Containers (docker-compose.yml; docs/compose.md) ----------------------
# `make images` builds static binaries (CGO_ENABLED=0) into out/docker and
# wraps them in FROM scratch images; nothing is pulled. The compose targets
# always tear their stack down, also on failure or Ctrl-C.
COMPOSE         ?= $(shell command -v docker-compose >/dev/null 2>&1 && echo docker-compose || echo docker compose)
COMPOSE_PROJECT ?= wsharness
IMAGE_TAG       ?= local
COMPOSE_OUT     ?= out/compose
DOCKER_OUT      := out/docker
# compose-bench: WORKERS containers share LOAD_CONNS connections and
# LOAD_RATE msg/s (echo) against LOAD_TARGET.
WORKERS         ?= 2
LOAD_TARGET     ?= gws
LOAD_CONNS      ?= 1000
LOAD_RATE       ?= 4000
LOAD_DURATION   ?= 10s
LOAD_WARMUP     ?= 2s
COMPOSE_ENV      = COMPOSE="$(COMPOSE)" COMPOSE_PROJECT_NAME=$(COMPOSE_PROJECT) WSH_TAG=$(IMAGE_TAG) WSH_OUT=$(abspath $(COMPOSE_OUT))

.PHONY: image-binaries images compose-conformance compose-bench compose-down

image-binaries: ## build the static binaries the images hold into out/docker
	@mkdir -p $(DOCKER_OUT)
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(DOCKER_OUT)/wsharness ./cmd/wsharness
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w' -o $(DOCKER_OUT)/ginkgo github.com/onsi/ginkgo/v2/ginkgo
	CGO_ENABLED=0 GOOS=linux $(GO) test -c -trimpath -ldflags='-s -w' -o $(DOCKER_OUT)/suites.test ./suites
	cp targets/expectations.yaml $(DOCKER_OUT)/expectations.yaml

images: image-binaries ## build the FROM scratch images wsharness and wsharness-conformance (IMAGE_TAG=)
	docker build -q -f docker/Dockerfile --target wsharness -t wsharness:$(IMAGE_TAG) $(DOCKER_OUT)
	docker build -q -f docker/Dockerfile --target conformance -t wsharness-conformance:$(IMAGE_TAG) $(DOCKER_OUT)

compose-conformance: images ## the suites in containers against the target containers; results in out/compose/
	@$(COMPOSE_ENV) bash scripts/compose-conformance.sh

compose-bench: images ## a load split over WORKERS containers, merged (LOAD_TARGET=, LOAD_CONNS=, LOAD_RATE=, LOAD_DURATION=)
	@$(COMPOSE_ENV) WORKERS=$(WORKERS) WSH_LOAD_TARGET=$(LOAD_TARGET) WSH_CONNS=$(LOAD_CONNS) WSH_RATE=$(LOAD_RATE) \
		WSH_DURATION=$(LOAD_DURATION) WSH_WARMUP=$(LOAD_WARMUP) bash scripts/compose-bench.sh

compose-down: ## remove what a compose target left (containers, network)
	@$(COMPOSE_ENV) bash -c '. scripts/compose-lib.sh && compose_down'

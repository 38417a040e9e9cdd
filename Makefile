# podium: `make run` starts a single-node cluster, `make test` runs every test.
# Both install what is missing first (Debian packages, as root).

KUBE_VERSION  := v1.37.2
PODIUM_VERSION := 0.1.0
GIT_COMMIT    := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE    := $(shell git log -1 --format=%cd --date=format:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)
VERSION_VARS  := gitVersion=$(KUBE_VERSION) gitMajor=1 gitMinor=37 gitCommit=$(GIT_COMMIT) gitTreeState=clean buildDate=$(BUILD_DATE)
LDFLAGS := -s -w -X main.podiumVersion=$(PODIUM_VERSION) \
	$(foreach v,$(VERSION_VARS),-X k8s.io/component-base/version.$(v) -X k8s.io/client-go/pkg/version.$(v))

GO ?= go
DATA_DIR ?= /var/lib/podium
DEB_PACKAGES := runc containernetworking-plugins busybox-static iptables nftables iproute2 ca-certificates

export CGO_ENABLED := 0

.PHONY: all build deps run test unit e2e bench fuzz chaos conformance clean

all: build

## deps: install the Debian packages podium needs (idempotent).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed (https://go.dev/dl)"; exit 1; }

## build: write bin/podium, bin/podium-kubectl and bin/podium-shim.
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/podium ./cmd/podium
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/podium-kubectl ./cmd/podium-kubectl
	$(GO) build -trimpath -ldflags '-s -w' -o bin/podium-shim ./cmd/podium-shim

## run: start a single-node cluster in the foreground.
run: deps build
	bin/podium server --data-dir $(DATA_DIR)

## test: every test, unit and end-to-end.
test: deps build
	PODIUM_BIN=$(CURDIR)/bin $(GO) test -count=1 -timeout 25m ./...

## bench: the benchmarks the issues ask for; prints figures.
bench: deps build
	PODIUM_BIN=$(CURDIR)/bin $(GO) run ./bench/cmd/podium-bench

## chaos: the fault tests over and over (CHAOS_COUNT runs each, default 5): kill -9 of the
## server (and its agent) and of a shim under write and pod churn, a full disk, an agent
## restart. `make test` runs each once.
CHAOS_COUNT ?= 5
chaos: deps build
	CI=true PODIUM_BIN=$(CURDIR)/bin $(GO) test -count=$(CHAOS_COUNT) -timeout 60m -v \
		-run '^(TestKillNineUnderChurn|TestFullDisk|TestAgentRestartReadopts)$$' ./test/e2e

## fuzz: run every fuzz target (func FuzzXxx in a *_fuzz_test.go) for FUZZTIME each (default
## 30s), one after another; FUZZ=REGEX runs only the targets whose names match. A failing
## input is written to the package's testdata/fuzz/FuzzXxx/ and stops the run; keep it
## there as a seed once fixed. `make test` runs only the seeds. FUZZMINIMIZETIME bounds
## the shrinking of each new input: Go's default of 60s would use up a short run.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 1s
FUZZ_TARGETS = $(shell grep -r --include='*_fuzz_test.go' -o '^func Fuzz[A-Za-z0-9_]*' cmd internal | \
	sed 's|^\(.*\)/[^/]*:func |./\1:|' | sort)
# go1.26's fuzzing coordinator can fail a target with a bare "context deadline exceeded"
# as FUZZTIME ends (go.dev/issue/75804, fixed in go1.27): without a failing input
# written, that is reported and skipped rather than failing the run.
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log $$log.rc' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		if [ -n '$(value FUZZ)' ] && ! echo "$$name" | grep -Eq '$(value FUZZ)'; then continue; fi; \
		echo "== $$name ($$pkg)"; \
		{ $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
			echo $$? >$$log.rc; } 2>&1 | tee $$log; \
		[ "$$(cat $$log.rc)" = 0 ] && continue; \
		if grep -q 'Failing input written' $$log || ! grep -q '^    context deadline exceeded$$' $$log; then exit 1; fi; \
		echo "$$name: stopped by the go1.26 fuzzing deadline race, not by an input"; \
	done

## conformance: Kubernetes' own e2e suite (v1.37.2) against a fresh podium server; prints a
## table by area. FOCUS=REGEX, SKIP=REGEX (default: Feature, Alpha, Beta, Serial, Disruptive,
## Flaky, Slow), FILES=REGEX (default: the five sig-node files, when FOCUS is empty), PROCS=N,
## AGENTS=N more nodes (agents in network namespaces of their own, for the specs that need two
## nodes), KUBECONFIG=FILE to test an existing cluster. Builds e2e.test, ginkgo, agnhost and the test
## images into .cache/conformance the first time (about 15 minutes). The flags where podium
## differs from a kubeadm cluster are below.
CONFORMANCE_DEBS := debootstrap gcc libc6-dev make bzip2 curl
# e2e.test's flags besides --kubeconfig and --report-dir: upstream's defaults, except
# - --disable-log-dump: on a failure, upstream runs cluster/log-dump/log-dump.sh from a
#   kubernetes checkout over ssh; there is neither here. The server's log is in the report.
CONFORMANCE_E2E_FLAGS := --provider=local --disable-log-dump=true
conformance: deps build
	@missing=""; for p in $(CONFORMANCE_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(GO) run ./test/conformance/runner -bin $(CURDIR)/bin -procs $(or $(PROCS),1) -e2e-flags '$(CONFORMANCE_E2E_FLAGS)' \
		$(if $(FOCUS),-focus '$(FOCUS)') $(if $(SKIP),-skip '$(SKIP)') $(if $(FILES),-files '$(FILES)') \
		$(if $(AGENTS),-agents $(AGENTS)) $(if $(KUBECONFIG),-kubeconfig '$(KUBECONFIG)') $(if $(REPORT_DIR),-report-dir '$(REPORT_DIR)')

clean:
	rm -rf bin

# vigil: a container init and runit's tools in one static binary.
GO      ?= go
BIN     := bin/vigil
# What `vigil -V` prints: the commit, and -dirty for uncommitted changes.
# Without git the go command's build information is used instead.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)
export CGO_ENABLED := 0

.PHONY: all build test test-load race peers bench fuzz run image clean soak

all: build

build:
	$(GO) build -trimpath -ldflags "-s -w -X github.com/vigil-init/vigil/init.Version=$(VERSION)" -o $(BIN) ./cmd/vigil

# Debian's runit, busybox, tini and dumb-init, unpacked into .cache/peers.
peers:
	sh scripts/peers.sh

test: build peers
	VIGIL_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 ./reaper/ ./services/...
	$(MAKE) soak SOAK_TIME=1m
	$(MAKE) fuzz FUZZTIME=10s

# vigil as PID 1 of a new PID namespace, for SOAK_TIME under random sv
# commands (vigil's and Debian's), KILLs and services coming and going;
# prints the invariants it checked at the end and fails naming a broken one.
SOAK_TIME ?= 10m
soak: build peers
	$(GO) run ./test/soak -vigil $(BIN) -peers .cache/peers -time $(SOAK_TIME)

# Every fuzz target of the module (found by scripts/fuzz.sh), one after
# the other, each for FUZZTIME. A failing input stays in the package's
# testdata/fuzz/FuzzXxx/ as a regression case.
FUZZTIME ?= 10s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) sh scripts/fuzz.sh

# make test with a CPU hog beside it: twice as many `yes` as cores, killed
# when the run ends however it ends. Deadlines stretch with
# VIGIL_TEST_SCALE (see README.md, "Testing under load").
test-load: build peers
	@n=$$(( $$(nproc) * 2 )); pids=; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM HUP; \
	for i in $$(seq $$n); do yes >/dev/null & pids="$$pids $$!"; done; \
	echo "test-load: $$n CPU hogs (yes) beside make test"; \
	$(MAKE) --no-print-directory test

bench: build peers
	$(GO) run ./bench -vigil $(BIN) -peers .cache/peers

# Supervise the example services with vigil in the foreground; Ctrl-C stops
# them all. The examples are copied, so their supervise/ state stays out of
# the tree. Their run scripts find vigil's applets (svlogd, sv...) and
# busybox's (httpd, awk...) on PATH; web listens on $WEB_PORT (8080),
# ledger logs to .cache/run/log/ledger.
run: build peers
	rm -rf .cache/run && mkdir -p .cache/run/log && cp -a examples/service .cache/run/service
	$(BIN) --install .cache/run/bin >/dev/null
	mkdir -p .cache/run/busybox && .cache/peers/bin/busybox --install -s .cache/run/busybox
	PATH=$(CURDIR)/.cache/run/bin:$(CURDIR)/.cache/run/busybox:$$PATH \
	LOGDIR=$(CURDIR)/.cache/run/log \
	SVDIR=$(CURDIR)/.cache/run/service VIGIL_RUNDIR=$(CURDIR)/.cache/run/state $(BIN)

# The example images: vigil-base (Debian's static busybox, FROM scratch),
# vigil-example (examples/Dockerfile on it) and vigil-shellfree.
image: build peers
	sh scripts/image.sh

clean:
	rm -rf bin .cache/run

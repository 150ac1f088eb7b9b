# Chancery. Two commands set everything up on a fresh machine:
#   make run    build and start the system on loopback
#   make test   run every test of every module (installs Chromium if missing)

GO       ?= go
BIN      := bin
RUN      := .run
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X chancery/agent/app.Version=$(VERSION)
LDFLAGS_HQ := -s -w -X chancery/hq/app.Version=$(VERSION)
# The commit goes into every binary (see --version) when built from a
# checkout; a tree without git builds without it.
BUILDVCS := $(shell git rev-parse --git-dir >/dev/null 2>&1 && echo true || echo false)
export CGO_ENABLED := 0

.PHONY: all build run test vet bench soak cross dist litestream schema-fixture chromium clean

all: build

build:
	$(GO) build -trimpath -buildvcs=$(BUILDVCS) -ldflags '$(LDFLAGS)' -o $(BIN)/chancery-agent chancery/agent/cmd/chancery-agent
	$(GO) build -trimpath -buildvcs=$(BUILDVCS) -ldflags '$(LDFLAGS_HQ)' -o $(BIN)/chancery-hq chancery/hq/cmd/chancery-hq

# litestream builds the Litestream release that deploy/litestream pins
# (HQ's replica sidecar, deploy/INSTALL.md) into bin/. It is a module of
# its own, outside the workspace, so that none of its dependencies moves a
# version in Chancery's.
litestream:
	cd deploy/litestream && GOWORK=off $(GO) build -trimpath -ldflags '-s -w' -o ../../$(BIN)/litestream github.com/benbjohnson/litestream/cmd/litestream

# run starts HQ and three demo missions on loopback, each on its own
# SQLite database in .run/, and prints every address and the login.
run: build
	@deploy/demo.sh

# test runs vet and every test of every workspace module, the browser
# tests included; they need Chromium, which this target installs. The
# end-to-end package alone runs about eight minutes on two cores, next
# to the others: go test's default of ten minutes a package is too near.
test: chromium
	$(GO) vet work
	$(GO) test -count=1 -timeout 30m work

chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$CHANCERY_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium: install Debian's 'chromium' package, or set CHANCERY_CHROMIUM to a Chromium binary." >&2; exit 1; \
	fi

# soak runs the bad-line scenarios of TestLinks with ten times the
# backlog: 9.6 kbit/s, 600 ms round trips, resets, a black hole. It takes
# the better part of an hour.
soak:
	CHANCERY_SOAK=1 $(GO) test -count=1 -timeout 90m -run 'TestLinks|TestHQDownForAWeek' -v chancery/test

# bench runs every benchmark, then prints one table of the design brief's
# figures with their targets (PASS or MISS) and the machine, and puts it
# at the head of BENCHMARKS.md. Each run's own lines are in bin/bench.out.
BENCH_OUT := $(BIN)/bench.out
bench: build
	@: > $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchtime 200x chancery/agent/httpd chancery/agent/store >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench IngestSmall -benchtime 6000x chancery/hq/ingest >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench ThousandMissions -benchtime 1x chancery/hq/ingest >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench Map -benchtime 100x -timeout 30m chancery/hq/httpd >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench . -benchtime 2000x chancery/sync/relay >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench AuditMark -benchtime 20x chancery/shared/account >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m chancery/test >>$(BENCH_OUT) || { tail -40 $(BENCH_OUT); exit 1; }
	@grep -h '^Benchmark' $(BENCH_OUT)
	@echo
	$(GO) run ./test/benchtable -write BENCHMARKS.md -agent $(BIN)/chancery-agent < $(BENCH_OUT)

# dist builds both programs, static, for every platform a mission or HQ
# may run, into dist/, with their SHA256SUMS. The same commit gives the
# same bytes: no paths, no build ids, no dates but the commit's.
DIST      ?= dist
PLATFORMS := linux/amd64 linux/arm64 windows/amd64
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		for prog in agent hq; do \
			GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=$(BUILDVCS) -ldflags "-s -w -buildid= -X chancery/$$prog/app.Version=$(VERSION)" \
				-o $(DIST)/chancery-$$prog-$(VERSION)-$$os-$$arch$$ext chancery/$$prog/cmd/chancery-$$prog || exit 1; \
		done; \
	done
	cd $(DIST) && sha256sum chancery-* > SHA256SUMS && ls -l chancery-* && cat SHA256SUMS

# schema-fixture keeps the databases this commit's programs make, for
# TestUpgradeFromEveryRelease: run it on main after a release whose
# migrations changed (COMMIT=... for another commit), and commit them.
COMMIT ?= HEAD
schema-fixture:
	test/testdata/schemas/make-fixture.sh $(COMMIT)

# cross is dist's older name.
cross: dist

clean:
	rm -rf $(BIN) $(DIST)

# Switchboard. `make run` starts it on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin

# Code generators, pinned; installed into ./bin by `make tools`.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION := v1.21.1
STATICCHECK_VERSION := v0.8.2

.PHONY: web check-web run build test test-short test-race bench bench-smoke fuzz generate check-generate lint release-protos vet fmt tools clean up down

# `make run` builds bin/switchboard (go build recompiles only what changed: seconds once
# cached), then serves; ARGS='--listen …' passes flags. The first build compiles every
# dependency, which takes minutes on 2 cores: it says so, and counts packages as they compile.
run: build
	@echo "starting: bin/switchboard serve $(ARGS)"
	@exec $(BIN)/switchboard serve $(ARGS)

build:
	@set -o pipefail; \
	if [ -x $(BIN)/switchboard ]; then \
		echo "building switchboard (only what changed since the last build)…"; \
		$(GO) build -o $(BIN)/switchboard ./cmd/switchboard; \
	else \
		echo "building switchboard (first build: about 180 s of CPU, 2 to 5 minutes on 2 cores; later builds take seconds)…"; \
		$(GO) build -v -o $(BIN)/switchboard ./cmd/switchboard 2>&1 | \
			awk '/^[^ :#]+$$/ { n++; c = 1; printf "\r  compiled %d packages", n; fflush(); next } \
				{ if (c) print ""; c = 0; print }'; \
		echo; \
	fi

test:
	@if [ -z "$$SWITCHBOARD_TEST_POSTGRES_URL" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
		echo "SKIP: no PostgreSQL at 127.0.0.1:5432: the PostgreSQL tests are skipped (they fail under CI=true)"; fi
	@if [ -z "$$SWITCHBOARD_FIXTURES_DIR" ] && [ ! -d ../shared/fixtures/platforms ]; then \
		echo "SKIP: no ../shared/fixtures/platforms: the shared platform samples suite is skipped; the repository's own payloads (testdata/platforms) run (under CI=true set SWITCHBOARD_FIXTURES_DIR=none)"; fi
	$(GO) test -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

# The packages with concurrency under the race detector (CI runs it; ~3x slower than make test's
# share of them). PostgreSQL tests skip without a server, as in make test.
RACE_PKGS := ./commands/... ./adapters/platforms/connect/... ./eventlog/... ./projections/... ./adapters/sqlite/... ./adapters/kafka/...
test-race:
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

# Measures ingest, projection, queries, search and freshness through the real server, with
# baselines in the same run; writes bench/results/<date>-<mode>[-<scale>].{md,json}.
# SCALE=1m for 1 million messages; MODE=embedded or kafka+postgres for one mode only.
SCALE ?= default
MODE ?= all
bench:
	$(GO) run ./bench -scale $(SCALE) -mode $(MODE) -out bench/results

# A tiny run of the whole benchmark (CI), so that it never rots; results go to a temp folder.
bench-smoke:
	@out=$$(mktemp -d) && $(GO) run ./bench -scale smoke -mode $(MODE) -out $$out && rm -rf $$out

# Explores every platform parser for 10s each (~1.5 min); `make test` runs their seeds.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseMessaging$$' -fuzztime=10s ./adapters/platforms/meta/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/messenger/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/instagram/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/whatsapp/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/telegram/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/x/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/bluesky/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime=10s ./adapters/platforms/reddit/

$(BIN)/buf-$(BUF_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	touch $@

$(BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	touch $@

$(BIN)/protoc-gen-connect-go-$(PROTOC_GEN_CONNECT_GO_VERSION):
	GOBIN=$(BIN) $(GO) install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(PROTOC_GEN_CONNECT_GO_VERSION)
	touch $@

$(BIN)/staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	touch $@

tools: $(BIN)/buf-$(BUF_VERSION) $(BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(BIN)/protoc-gen-connect-go-$(PROTOC_GEN_CONNECT_GO_VERSION) $(BIN)/staticcheck-$(STATICCHECK_VERSION)

generate: tools web/node_modules/.package-lock.json
	$(BIN)/buf lint
	rm -rf proto/gen web/src/gen
	$(BIN)/buf generate

# The web inbox (web/): npm ci installs the pinned packages of web/package-lock.json, then
# esbuild bundles web/src into web/dist, which is committed and embedded in the binary (so
# `make run` needs only Go). Needs node and npm.
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web: web/node_modules/.package-lock.json
	cd web && npm run --silent typecheck && npm run --silent build

# Fails when the committed web/dist differs from what `make web` builds.
check-web: web
	@git add -N web/dist >/dev/null 2>&1 || true
	@if ! git diff --quiet -- web/dist || [ -n "$$(git status --porcelain -- web/dist)" ]; then \
		echo "web/dist is stale: run 'make web' and commit the result"; \
		git status --porcelain -- web/dist; exit 1; fi

# Fails when the committed generated code differs from what the .proto files generate.
check-generate: generate
	@git add -N proto/gen web/src/gen >/dev/null 2>&1 || true
	@if ! git diff --quiet -- proto/gen web/src/gen; then \
		echo "proto/gen is stale: run 'make generate' and commit the result"; \
		git diff --stat -- proto/gen web/src/gen; exit 1; fi
	@if [ -n "$$(git status --porcelain -- proto/gen web/src/gen)" ]; then \
		echo "proto/gen or web/src/gen has uncommitted files: run 'make generate' and commit"; \
		git status --porcelain -- proto/gen web/src/gen; exit 1; fi

# buf lint; buf breaking against the protos of the last release (proto/released.binpb: events
# and API are never edited in place, only extended); staticcheck.
lint: tools
	$(BIN)/buf lint
	$(BIN)/buf breaking --against proto/released.binpb
	$(BIN)/staticcheck ./...

# At a release: the protos become the ones later changes are checked against. Commit the image.
release-protos: tools
	$(BIN)/buf build -o proto/released.binpb

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# Kafka, PostgreSQL, Elasticsearch and Switchboard in containers (needs Docker).
up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf $(BIN) data web/node_modules

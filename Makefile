# Herald. `make run` starts it on SQLite with the built-in WhatsApp
# simulator; `make test` runs the whole suite (SQLite, Postgres, Chromium).
GO        ?= go
BIN       := bin/herald
PKGS      := ./...
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export TEST_DATABASE_URL

.PHONY: run build test test-short test-reliability bench generate lint vendor clean

run: ## start Herald on http://127.0.0.1:8080 (SQLite, simulator)
	$(GO) run ./cmd/herald serve

build: ## build bin/herald
	$(GO) build -o $(BIN) ./cmd/herald

test: ## every test: unit, SQLite, Postgres, browser
	$(GO) test -count=1 -timeout 20m $(PKGS)

test-short: ## skip the browser and slow tests
	$(GO) test -count=1 -short $(PKGS)

FUZZTIME ?= 30s

test-reliability: ## the long fault-injection suite, then each fuzz target for FUZZTIME
	$(GO) test -count=1 -timeout 60m -tags reliability -v -run . ./reliability/...
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzWebhookParse$$' -fuzztime $(FUZZTIME) ./reliability
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzCSVImport$$' -fuzztime $(FUZZTIME) ./reliability

bench: ## performance figures, each as a ratio to a baseline of the same run
	$(GO) run ./bench $(if $(SCENARIO),-scenario $(SCENARIO))

generate: ## regenerate templ code (committed; must leave no diff)
	$(GO) tool templ generate

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

vendor: ## refresh the vendored front-end assets from npm into static/
	npm ci --no-audit --no-fund
	cp node_modules/htmx.org/dist/htmx.min.js static/js/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/css/pico.min.css

clean:
	rm -rf bin

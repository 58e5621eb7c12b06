# raprov — see README.md. Two commands matter: `make run` and `make test`.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: test run vet fmt-check bench build graphsim

## test: vet, format check and the whole test suite
test: fmt-check vet
	$(GO) test -count=1 -timeout 15m ./...

## run: provision the bundled example on the embedded default (local queue + Graph simulator)
run:
	$(GO) run ./cmd/raprov run --fresh

## bench: throughput benchmarks, printed as a table
bench:
	$(GO) run ./cmd/raprov bench

## graphsim: start the Graph simulator alone on 127.0.0.1:8443
graphsim:
	$(GO) run ./infra/graphsim/cmd/graphsim

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	$(GO) build ./...

# raprov — see README.md. Two commands matter: `make run` and `make test`.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: test run vet fmt-check bench build graphsim build-go build-aws package report-aws

# The AWS Lambda functions: every functions/<step> directory with a main.go
# (none yet is fine: build-aws and package then do nothing).
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))

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

## build: compile everything for this machine (build-go), then the Lambda binaries (build-aws)
build: build-go build-aws

build-go:
	$(GO) build ./...

## build-aws: one linux/arm64 Lambda binary per function, dist/<step>/bootstrap (provided.al2023)
build-aws:
	@for f in $(FUNCTIONS); do \
		echo "build-aws: dist/$$f/bootstrap"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	done

## package: one deterministic zip per function, dist/<step>.zip holding bootstrap (mode 0755), for sam deploy
package: build-aws
	@for f in $(FUNCTIONS); do \
		$(GO) run ./infra/aws/cmd/lambdazip -o dist/$$f.zip dist/$$f/bootstrap || exit 1; \
		echo "package: dist/$$f.zip"; \
	done

## report-aws: per AWS function, the zip size (make package) and, under the Lambda
## Runtime Interface Emulator on local stand-ins, init, first and warm invocation and peak memory
report-aws: package
	RAPROV_REPORT_AWS=1 $(GO) test -count=1 -run '^TestReportAWS$$' -v ./functions/e2e/

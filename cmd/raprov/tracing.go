package main

import (
	"context"
	"crypto/tls"
	"log/slog"

	"github.com/raprov/raprov/shared/tracing"
)

// setupTracing turns on the export of spans when an OTLP/HTTP endpoint is
// configured (RAPROV_OTLP_ENDPOINT, or the standard
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT; see
// shared/tracing and docs/tracing.md): every step run of this process is
// then a span sent to the collector. Without one it installs nothing, and
// the steps still carry the traceparent and log the trace id. Call it
// before the chain starts and shutdown (never nil) before the process
// exits, so the last spans are flushed. Unlike the Lambda functions, the
// CLI can present a client certificate to the collector (mTLS).
func setupTracing(ctx context.Context, log *slog.Logger) (shutdown func(context.Context) error, err error) {
	p, err := tracing.Setup(ctx, tracing.Options{ServiceName: tracing.DefaultServiceName, Logger: log, LoadKeyPair: tls.LoadX509KeyPair})
	return p.Shutdown, err
}

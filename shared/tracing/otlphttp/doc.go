// Package otlphttp is a small OpenTelemetry span exporter speaking OTLP/HTTP
// with binary protobuf bodies (POST <endpoint>, Content-Type
// application/x-protobuf), written for raprov's Lambda functions.
//
// It exists because the upstream exporter does not fit in a Lambda zip:
// go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp links
// the generated OTLP types, the protobuf runtime's reflection and the
// collector's gRPC packages, 2.5 to 6.8 MiB more per function, and even
// proto.Marshal of the generated types alone adds about 3 MiB. This
// package encodes ExportTraceServiceRequest by hand with
// google.golang.org/protobuf/encoding/protowire (no reflection, no
// generated code) from the SDK's ReadOnlySpans, so a function that already
// links the SDK pays a few tens of KiB for export. Its tests decode what it
// sends with the generated types, field by field: they are its compliance
// check against the opentelemetry-proto v1 schema.
//
// What it sends: every span field the OTLP trace proto has that a
// ReadOnlySpan carries, grouped by resource and then by instrumentation
// scope in the order they first appear; span and link flags carry the W3C
// trace flags and the "parent/link is remote" bits
// (SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK).
//
// How it sends: one request per ExportSpans call, gzip-compressed when
// configured, bounded by Options.Timeout and the caller's context. A
// 2xx is success (a partial success the collector reports is returned as
// a *PartialSuccessError); 429, 502, 503 and 504 and transport errors are
// retried with exponential backoff, honouring Retry-After, for as long as
// the timeout allows; any other status is an *HTTPError. Errors never
// carry the values of the configured headers (they hold API keys), nor
// the endpoint's query.
//
// FromEnv reads the standard OTEL_EXPORTER_OTLP_{TRACES_,}{HEADERS,TIMEOUT,
// COMPRESSION,CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY} variables; the
// endpoint itself is the caller's (shared/tracing.Endpoint).
package otlphttp

// Package tracing turns on the export of raprov's spans: it installs an
// OpenTelemetry SDK tracer provider with an OTLP/HTTP exporter as the global
// provider, which the steps' Tracing middleware (shared/steps) and the
// Graph SDK's instrumentation use. Export is off unless an endpoint is
// configured (see Endpoint); off, nothing is installed and the steps still
// carry the W3C traceparent along the chain and log its trace id.
//
// Only long-running processes (the CLI: raprov run, serve, worker) import
// this package: it links the SDK and the exporter, which the Lambda
// functions do not carry (docs/tracing.md).
package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/raprov/raprov/events"
)

// Environment variables read by Endpoint and Setup. The exporter also reads
// the standard OTEL_EXPORTER_OTLP_{,TRACES_}{HEADERS,TIMEOUT,COMPRESSION,
// CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY,INSECURE}, the SDK
// OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
// the OTEL_BSP_* batch settings.
const (
	// EnvEndpoint is raprov's own setting: the collector's OTLP/HTTP base
	// URL, e.g. http://localhost:4318; /v1/traces is appended unless the
	// path already ends with it. It wins over the standard variables.
	EnvEndpoint = "RAPROV_OTLP_ENDPOINT"
	// EnvOTLPEndpoint is the standard base URL (/v1/traces appended).
	EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// EnvOTLPTracesEndpoint is the standard traces URL, used as it is.
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	// EnvSDKDisabled=true turns export off whatever else is set.
	EnvSDKDisabled = "OTEL_SDK_DISABLED"
	// EnvTracesExporter=none turns export off; otlp (or unset) keeps it.
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	// EnvProtocol and EnvTracesProtocol must be unset or http/protobuf:
	// raprov links only the OTLP/HTTP exporter, not the gRPC one.
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES says otherwise.
const DefaultServiceName = "raprov"

// tracesPath is the OTLP/HTTP path of traces under a base URL.
const tracesPath = "/v1/traces"

// Endpoint returns the URL spans are exported to, as getenv configures it,
// or "" when export is off: none of RAPROV_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT is set
// (the first one set counts, in this order), OTEL_SDK_DISABLED is true, or
// OTEL_TRACES_EXPORTER is none. An endpoint that is not an http(s) URL, an
// exporter other than otlp, and a protocol other than http/protobuf are
// errors.
func Endpoint(getenv func(string) string) (string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if off, _ := strconv.ParseBool(env(EnvSDKDisabled)); off {
		return "", nil
	}
	switch exp := env(EnvTracesExporter); exp {
	case "", "otlp":
	case "none":
		return "", nil
	default:
		return "", fmt.Errorf("%s=%s: raprov exports traces over OTLP only (otlp or none)", EnvTracesExporter, exp)
	}
	for _, k := range []string{EnvTracesProtocol, EnvProtocol} {
		if p := env(k); p != "" && p != "http/protobuf" {
			return "", fmt.Errorf("%s=%s: raprov exports OTLP over HTTP only (http/protobuf, the collector's port 4318)", k, p)
		}
	}
	var name, raw string
	asIs := false
	switch {
	case env(EnvEndpoint) != "":
		name, raw = EnvEndpoint, env(EnvEndpoint)
	case env(EnvOTLPTracesEndpoint) != "":
		name, raw, asIs = EnvOTLPTracesEndpoint, env(EnvOTLPTracesEndpoint), true
	case env(EnvOTLPEndpoint) != "":
		name, raw = EnvOTLPEndpoint, env(EnvOTLPEndpoint)
	default:
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want an http or https URL such as http://localhost:4318", name, raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("%s: credentials belong in OTEL_EXPORTER_OTLP_HEADERS, not in the URL", name)
	}
	if !asIs && !strings.HasSuffix(u.Path, tracesPath) {
		u.Path = strings.TrimSuffix(u.Path, "/") + tracesPath
	}
	return u.String(), nil
}

// Options configure Setup.
type Options struct {
	// ServiceName is service.name; default DefaultServiceName. The
	// standard OTEL_SERVICE_NAME overrides it.
	ServiceName string
	// ServiceVersion is service.version; default the main module's
	// version from the build information, when it has one.
	ServiceVersion string
	// Logger receives the start message and export errors; default
	// slog.Default().
	Logger *slog.Logger
}

// Setup reads the environment (see Endpoint) and, when an endpoint is
// configured, installs as OpenTelemetry's global tracer provider an SDK
// provider that batches spans to it over OTLP/HTTP, with the W3C trace
// context propagator and an error handler logging to opts.Logger. The SDK
// samples parent-based, always on for new traces, unless
// OTEL_TRACES_SAMPLER says otherwise; the trace ids it starts begin with the
// time in Unix seconds, as AWS X-Ray's do (see events.NewTraceContext).
//
// The returned shutdown flushes the spans not yet sent and stops the
// provider; call it once before the process exits. It is never nil: with
// export off Setup installs nothing and shutdown does nothing.
func Setup(ctx context.Context, opts Options) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	endpoint, err := Endpoint(os.Getenv)
	if err != nil {
		return noop, fmt.Errorf("tracing: %w", err)
	}
	if endpoint == "" {
		return noop, nil
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// The exporter reads the standard variables (headers, TLS, timeout,
	// compression) itself; the endpoint option overrides only the URL.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return noop, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := newResource(ctx, opts)
	if err != nil {
		return noop, errors.Join(fmt.Errorf("tracing: %w", err), exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: OpenTelemetry error (spans may be lost)", "error", err.Error())
	}))
	log.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", redact(endpoint))
	return tp.Shutdown, nil
}

// newResource describes the process: service.name and service.version,
// the SDK's telemetry.sdk.*, then OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, which win.
func newResource(ctx context.Context, opts Options) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{attribute.String("service.name", cmp.Or(opts.ServiceName, DefaultServiceName))}
	version := opts.ServiceVersion
	if version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	return resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
}

// redact drops the query of an endpoint URL for the log: a collector
// behind a gateway may take a token there.
func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	u.RawQuery = ""
	return u.String()
}

// idGenerator makes the SDK's new traces like those the steps start
// without an SDK (events.NewTraceContext): time-prefixed trace ids, which
// AWS X-Ray accepts, and random span ids.
type idGenerator struct{}

var _ sdktrace.IDGenerator = idGenerator{}

func (idGenerator) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	tc := events.NewTraceContext()
	return tc.TraceID, tc.ParentID
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return events.NewTraceContext().ParentID
}

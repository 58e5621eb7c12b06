// Package tracing turns on the export of raprov's spans: it installs an
// OpenTelemetry SDK tracer provider with an OTLP/HTTP exporter as the global
// provider, which the steps' Tracing middleware (shared/steps) and the
// Graph SDK's instrumentation use. Export is off unless an endpoint is
// configured (see Endpoint); off, nothing is installed and the steps still
// carry the W3C traceparent along the chain and log its trace id.
//
// The CLI's long-running processes (raprov run, serve, worker) and every
// Lambda function (functions/internal/host) use it. The exporter is
// raprov's own (shared/tracing/otlphttp), not the upstream otlptracehttp,
// whose generated protobuf and gRPC packages would add megabytes to every
// Lambda zip (docs/tracing.md). A Lambda function calls Provider.Flush
// after each invocation: the sandbox freezes once the response is sent,
// with the batch of spans still in memory.
package tracing

import (
	"cmp"
	"context"
	"crypto/tls"
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
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/tracing/otlphttp"
)

// Environment variables read by Endpoint and Setup. The exporter also reads
// the standard OTEL_EXPORTER_OTLP_{,TRACES_}{HEADERS,TIMEOUT,COMPRESSION,
// CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY} (otlphttp.FromEnv), the SDK
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
	// Attributes describe the process further (faas.name, cloud.region,
	// ...); OTEL_RESOURCE_ATTRIBUTES overrides them.
	Attributes []attribute.KeyValue
	// Logger receives the start message and export errors; default
	// slog.Default().
	Logger *slog.Logger
	// LoadKeyPair, when not nil, lets the exporter present a client
	// certificate (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _KEY): pass
	// tls.LoadX509KeyPair. Nil refuses those variables, and keeps the RSA
	// and ECDSA key code out of the binary (otlphttp.EnvOptions).
	LoadKeyPair func(certFile, keyFile string) (tls.Certificate, error)
	// Headers are sent with every export besides those of
	// OTEL_EXPORTER_OTLP_HEADERS, and win over one of the same name: the
	// Lambda functions read them from a secret (an API key does not
	// belong in a function's configuration).
	Headers map[string]string
}

// Provider is the tracer provider Setup installed, or none when export is
// off. Its methods are safe on a nil or disabled Provider and then do
// nothing.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Enabled reports whether spans are exported.
func (p *Provider) Enabled() bool { return p != nil && p.tp != nil }

// Flush exports the spans ended so far and waits for the collector's
// answer, or for ctx to end. A Lambda function calls it after each
// invocation, before it answers, with a deadline inside the invocation's.
func (p *Provider) Flush(ctx context.Context) error {
	if !p.Enabled() {
		return nil
	}
	return p.tp.ForceFlush(ctx)
}

// Shutdown flushes the spans not yet sent and stops the provider; call it
// once before the process exits.
func (p *Provider) Shutdown(ctx context.Context) error {
	if !p.Enabled() {
		return nil
	}
	return p.tp.Shutdown(ctx)
}

// Setup reads the environment (see Endpoint) and, when an endpoint is
// configured, installs as OpenTelemetry's global tracer provider an SDK
// provider that batches spans to it over OTLP/HTTP (otlphttp), with the
// W3C trace context propagator and an error handler logging to
// opts.Logger. The SDK samples parent-based, always on for new traces,
// unless OTEL_TRACES_SAMPLER says otherwise; the trace ids it starts begin
// with the time in Unix seconds, as AWS X-Ray's do (see
// events.NewTraceContext).
//
// The Provider returned is never nil: with export off, or on an error
// (an endpoint, timeout, compression or certificate that is not valid),
// Setup installs nothing and the Provider does nothing.
func Setup(ctx context.Context, opts Options) (*Provider, error) {
	endpoint, err := Endpoint(os.Getenv)
	if err != nil {
		return &Provider{}, fmt.Errorf("tracing: %w", err)
	}
	if endpoint == "" {
		return &Provider{}, nil
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	expOpts, err := otlphttp.FromEnv(endpoint, os.Getenv, otlphttp.EnvOptions{
		Warn:        func(msg string) { log.Warn("tracing: " + msg) },
		LoadKeyPair: opts.LoadKeyPair,
	})
	if err != nil {
		return &Provider{}, fmt.Errorf("tracing: %w", err)
	}
	if len(opts.Headers) > 0 && expOpts.Headers == nil {
		expOpts.Headers = map[string]string{}
	}
	for k, v := range opts.Headers {
		expOpts.Headers[k] = v
	}
	exp, err := otlphttp.New(expOpts)
	if err != nil {
		return &Provider{}, fmt.Errorf("tracing: %w", err)
	}
	res, err := newResource(ctx, opts)
	if err != nil {
		return &Provider{}, errors.Join(fmt.Errorf("tracing: %w", err), exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: OpenTelemetry error (spans may be lost)", "error", err.Error())
	}))
	log.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", redact(endpoint))
	return &Provider{tp: tp}, nil
}

// newResource describes the process: service.name and service.version,
// opts.Attributes, the SDK's telemetry.sdk.*, then OTEL_SERVICE_NAME and
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
	attrs = append(attrs, opts.Attributes...)
	return resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
}

// redact drops the query of an endpoint URL for the log: a collector
// behind a gateway may take a token there.
func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	u.RawQuery, u.User = "", nil
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

package tracing_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/tracing"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"off by default", nil, "", ""},
		{"raprov base URL", map[string]string{"RAPROV_OTLP_ENDPOINT": "http://localhost:4318"}, "http://localhost:4318/v1/traces", ""},
		{"raprov base URL with a path", map[string]string{"RAPROV_OTLP_ENDPOINT": "https://gw.example.com/otlp/"}, "https://gw.example.com/otlp/v1/traces", ""},
		{"raprov traces URL kept", map[string]string{"RAPROV_OTLP_ENDPOINT": "http://c:4318/v1/traces"}, "http://c:4318/v1/traces", ""},
		{"standard base URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces", ""},
		{"standard traces URL as it is", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom"}, "http://collector:4318/custom", ""},
		{"raprov wins", map[string]string{"RAPROV_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://a:4318/v1/traces", ""},
		{"traces endpoint wins over base", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://b:4318/v1/traces", ""},
		{"SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "RAPROV_OTLP_ENDPOINT": "http://a:4318"}, "", ""},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, "", ""},
		{"exporter otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, "http://a:4318/v1/traces", ""},
		{"other exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, "", "OTLP only"},
		{"grpc protocol", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317"}, "", "HTTP only"},
		{"http/protobuf protocol", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, "http://a:4318/v1/traces", ""},
		{"not a URL", map[string]string{"RAPROV_OTLP_ENDPOINT": "localhost:4318"}, "", "RAPROV_OTLP_ENDPOINT"},
		{"credentials in the URL", map[string]string{"RAPROV_OTLP_ENDPOINT": "https://user:pw@gw.example.com"}, "", "OTEL_EXPORTER_OTLP_HEADERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tracing.Endpoint(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Endpoint = %q, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Endpoint = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// clearEnv unsets every variable that could turn export on or off.
func clearEnv(t *testing.T) {
	for _, k := range []string{tracing.EnvEndpoint, tracing.EnvOTLPEndpoint, tracing.EnvOTLPTracesEndpoint, tracing.EnvSDKDisabled,
		tracing.EnvTracesExporter, tracing.EnvProtocol, tracing.EnvTracesProtocol, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
		t.Setenv(k, "")
	}
	for _, name := range []string{"HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"} {
		t.Setenv("OTEL_EXPORTER_OTLP_"+name, "")
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_"+name, "")
	}
}

func TestSetupOffInstallsNothing(t *testing.T) {
	clearEnv(t)
	before := otel.GetTracerProvider()
	p, err := tracing.Setup(context.Background(), tracing.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil || p == nil {
		t.Fatalf("Setup: provider nil %t, err %v", p == nil, err)
	}
	if otel.GetTracerProvider() != before {
		t.Error("Setup installed a tracer provider with export off")
	}
	if p.Enabled() {
		t.Error("Enabled with export off")
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Error(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestSetupRejectsABadEndpoint(t *testing.T) {
	clearEnv(t)
	t.Setenv(tracing.EnvEndpoint, "collector:4318")
	p, err := tracing.Setup(context.Background(), tracing.Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || p == nil || p.Enabled() {
		t.Fatalf("Setup: provider %v, err %v; want an error and a disabled provider", p, err)
	}
}

// collector is an OTLP/HTTP trace receiver.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	attrs map[string]string // resource attributes
	paths []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		in = zr
	}
	body, _ := io.ReadAll(in)
	var req collectorpb.ExportTraceServiceRequest
	if r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paths = append(c.paths, r.URL.Path)
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			c.attrs[kv.Key] = kv.Value.GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	b, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

// With RAPROV_OTLP_ENDPOINT set, the production middleware's spans of a
// request's hops reach the collector as one trace, each hop's span the
// child of the previous one's, and the events carry their span ids.
func TestSetupExportsTheChainOverOTLP(t *testing.T) {
	clearEnv(t)
	c := &collector{attrs: map[string]string{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Setenv(tracing.EnvEndpoint, srv.URL)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	p, err := tracing.Setup(context.Background(), tracing.Options{Logger: log, ServiceVersion: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("global tracer provider is %T, want the SDK's", otel.GetTracerProvider())
	}

	hops := []struct{ step, emit string }{
		{events.StepIntake, events.TypeProvisioningAccepted},
		{events.StepCheckLicense, events.TypeLicenseAvailable},
		{events.StepCreateAccount, events.TypeAccountCreated},
	}
	ev := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: events.Request{RequestID: "REQ-1"}})
	var emitted []events.Event
	for _, h := range hops {
		fn := steps.Step(func(_ context.Context, in events.Event) ([]events.Event, error) {
			return []events.Event{in.Next(h.emit, events.Source(h.step))}, nil
		})
		out, err := steps.Production(h.step, fn, steps.DefaultConfig(), log)(context.Background(), ev)
		if err != nil || len(out) != 1 {
			t.Fatalf("%s: %v, %v", h.step, out, err)
		}
		ev = out[0]
		emitted = append(emitted, ev)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != len(hops) {
		t.Fatalf("collector got %d spans, want %d (paths %v)", len(c.spans), len(hops), c.paths)
	}
	if c.paths[0] != "/v1/traces" {
		t.Errorf("exported to %s, want /v1/traces", c.paths[0])
	}
	if c.attrs["service.name"] != "raprov" || c.attrs["service.version"] != "v9.9.9" {
		t.Errorf("resource %v", c.attrs)
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range c.spans {
		byName[s.Name] = s
	}
	var prev *tracepb.Span
	for i, h := range hops {
		s := byName["raprov "+h.step]
		if s == nil {
			t.Fatalf("no span for %s among %v", h.step, c.spans)
		}
		traceID, spanID := hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId)
		if want := "00-" + traceID + "-" + spanID + "-01"; emitted[i].TraceParent != want {
			t.Errorf("%s emitted %s, want its span's traceparent %s", h.step, emitted[i].TraceParent, want)
		}
		if prev == nil {
			if len(s.ParentSpanId) != 0 {
				t.Errorf("intake's span has a parent %x", s.ParentSpanId)
			}
			if start := time.Unix(int64(binary.BigEndian.Uint32(s.TraceId[:4])), 0); time.Since(start).Abs() > time.Minute {
				t.Errorf("trace id %x does not start with the time (X-Ray's form)", s.TraceId)
			}
		} else if !bytes.Equal(s.TraceId, prev.TraceId) || !bytes.Equal(s.ParentSpanId, prev.SpanId) {
			t.Errorf("%s: trace %x parent %x, want trace %x parent %x", h.step, s.TraceId, s.ParentSpanId, prev.TraceId, prev.SpanId)
		}
		prev = s
	}
	if !strings.Contains(logs.String(), "exporting spans over OTLP") {
		t.Errorf("no start message in the log: %s", logs.String())
	}
}

// Flush exports the spans ended so far at once, as a Lambda function
// needs before it answers; the batcher alone would wait seconds.
func TestProviderFlushExportsNow(t *testing.T) {
	clearEnv(t)
	c := &collector{attrs: map[string]string{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Setenv(tracing.EnvEndpoint, srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	p, err := tracing.Setup(context.Background(), tracing.Options{Logger: slog.New(slog.DiscardHandler),
		Attributes: []attribute.KeyValue{attribute.String("faas.name", "raprov-complete")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
	if !p.Enabled() {
		t.Fatal("not enabled with an endpoint")
	}
	_, span := otel.Tracer("test").Start(context.Background(), "complete")
	span.End()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != 1 || c.spans[0].Name != "complete" {
		t.Fatalf("collector has %d spans after Flush, want the one ended", len(c.spans))
	}
	if c.attrs["faas.name"] != "raprov-complete" || c.attrs["service.name"] != "raprov" {
		t.Errorf("resource %v", c.attrs)
	}
}

// The values of OTEL_EXPORTER_OTLP_HEADERS (API keys) appear in no log
// line and no error: not when an entry is malformed, not when the
// collector refuses the request and echoes them.
func TestSetupNeverLogsHeaderValues(t *testing.T) {
	clearEnv(t)
	const key, malformed = "k3y-0f-the-acc0unt", "l00se-t0ken"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown api key "+r.Header.Get("X-Api-Key"), http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	t.Setenv(tracing.EnvEndpoint, srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key="+key+","+malformed)
	var logs bytes.Buffer
	p, err := tracing.Setup(context.Background(), tracing.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	_, span := otel.Tracer("test").Start(context.Background(), "intake")
	span.End()
	err = p.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Flush: %v, want the collector's 401", err)
	}
	_, span = otel.Tracer("test").Start(context.Background(), "complete")
	span.End()
	p.Shutdown(context.Background()) // the export error goes to the log
	all := logs.String() + err.Error()
	for _, secret := range []string{key, malformed} {
		if strings.Contains(all, secret) {
			t.Errorf("a header value is in the log or the error:\n%s", all)
		}
	}
	if !strings.Contains(logs.String(), "entry 2 skipped") || !strings.Contains(logs.String(), "401") {
		t.Errorf("log lacks the skipped entry or the export error:\n%s", logs.String())
	}
}

func TestSetupRejectsABadExporterSetting(t *testing.T) {
	for k, v := range map[string]string{
		"OTEL_EXPORTER_OTLP_TIMEOUT":            "soon",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "brotli",
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        "/nonexistent/ca.pem",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/nonexistent/cert.pem",
	} {
		t.Run(k, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tracing.EnvEndpoint, "http://127.0.0.1:4318")
			t.Setenv(k, v)
			before := otel.GetTracerProvider()
			p, err := tracing.Setup(context.Background(), tracing.Options{Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_") || p == nil || p.Enabled() {
				t.Fatalf("Setup: %v, %v; want an error naming the variable", p, err)
			}
			if otel.GetTracerProvider() != before {
				t.Error("Setup installed a tracer provider on an error")
			}
		})
	}
}

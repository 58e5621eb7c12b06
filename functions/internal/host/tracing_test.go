package host

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/raprov/raprov/shared/tracing"
)

// spanSink is an OTLP/HTTP collector keeping the names of the spans and
// the resource attributes it got.
type spanSink struct {
	mu    sync.Mutex
	names []string
	res   map[string]string
}

func (s *spanSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			s.res[kv.Key] = kv.Value.GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.names = append(s.names, sp.Name)
			}
		}
	}
}

func (s *spanSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// tracingEnv sets what load needs, with the OTLP endpoint given.
func tracingEnv(t *testing.T, endpoint string) map[string]string {
	t.Helper()
	t.Setenv("RAPROV_SQS_QUEUE_URL_PREFIX", "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-")
	t.Setenv("RAPROV_DYNAMODB_TABLE", "raprov")
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME",
		"OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION"} {
		t.Setenv(k, "")
	}
	t.Setenv(tracing.EnvEndpoint, endpoint)
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	return map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "key",
		"AWS_LAMBDA_FUNCTION_NAME": "raprov-complete", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"}
}

// A tracing setting that is not valid fails the function's init, like
// any other configuration error.
func TestLoadRefusesABadTracingEndpoint(t *testing.T) {
	aws := tracingEnv(t, "collector:4318")
	_, err := load(env(aws), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RAPROV_OTLP_ENDPOINT") || !strings.HasPrefix(err.Error(), "config: ") {
		t.Fatalf("error %v, want a config error naming RAPROV_OTLP_ENDPOINT", err)
	}
}

// Without an endpoint nothing is installed and no handler is wrapped:
// an invocation does no tracing work.
func TestTracingOffWrapsNothing(t *testing.T) {
	aws := tracingEnv(t, "")
	h, err := load(env(aws), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if h.Tracing == nil || h.Tracing.Enabled() {
		t.Fatalf("tracing %v, want a disabled provider", h.Tracing)
	}
	q := func(context.Context, string) (int, error) { return 0, nil }
	web := http.NewServeMux()
	scan := func(context.Context) (any, error) { return nil, nil }
	if reflect.ValueOf(flushAfter(h, q)).Pointer() != reflect.ValueOf(q).Pointer() ||
		h.flushAfterHTTP(web) != web ||
		reflect.ValueOf(h.flushAfterScheduled(scan)).Pointer() != reflect.ValueOf(scan).Pointer() {
		t.Error("a handler was wrapped with tracing off")
	}
}

// With an endpoint, each kind of invocation (SQS batch, Function URL
// request, scheduled run) has exported its spans when it returns: Lambda
// may freeze the sandbox right after.
func TestEachInvocationFlushesItsSpans(t *testing.T) {
	sink := &spanSink{res: map[string]string{}}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	aws := tracingEnv(t, srv.URL)
	h, err := load(env(aws), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Tracing.Shutdown(context.Background()) })
	if !h.Tracing.Enabled() {
		t.Fatal("tracing off with an endpoint")
	}
	work := func(ctx context.Context, name string) {
		_, span := otel.Tracer("test").Start(ctx, name)
		span.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the invocation's deadline
	defer cancel()

	q := flushAfter(h, func(ctx context.Context, batch string) (int, error) { work(ctx, batch); return 1, nil })
	if n, err := q(ctx, "sqs batch"); n != 1 || err != nil {
		t.Fatalf("wrapped handler: %d, %v", n, err)
	}
	if got := sink.got(); len(got) != 1 || got[0] != "sqs batch" {
		t.Fatalf("after the SQS invocation the collector has %v", got)
	}

	web := h.flushAfterHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		work(r.Context(), "url request")
		w.WriteHeader(http.StatusAccepted)
	}))
	rec := httptest.NewRecorder()
	web.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/requests", nil))
	if got := sink.got(); rec.Code != http.StatusAccepted || len(got) != 2 || got[1] != "url request" {
		t.Fatalf("after the URL invocation (%d) the collector has %v", rec.Code, got)
	}

	scan := h.flushAfterScheduled(func(ctx context.Context) (any, error) { work(ctx, "bulk scan"); return "ok", nil })
	if res, err := scan(ctx); res != "ok" || err != nil {
		t.Fatalf("scheduled: %v, %v", res, err)
	}
	if got := sink.got(); len(got) != 3 || got[2] != "bulk scan" {
		t.Fatalf("after the scheduled invocation the collector has %v", got)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for k, want := range map[string]string{"service.name": "raprov", "faas.name": "raprov-complete", "faas.version": "$LATEST",
		"cloud.provider": "aws", "cloud.platform": "aws_lambda", "cloud.region": "eu-west-1"} {
		if sink.res[k] != want {
			t.Errorf("resource %s = %q, want %q", k, sink.res[k], want)
		}
	}
}

// The flush never runs past the invocation's deadline: with less time
// left than the margin it is skipped and logged; a collector that hangs
// costs at most the time left.
func TestFlushKeepsToTheDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); srv.Close() })
	aws := tracingEnv(t, srv.URL)
	var logs bytes.Buffer
	h, err := load(env(aws), &logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		h.Tracing.Shutdown(ctx)
	})
	_, span := otel.Tracer("test").Start(context.Background(), "late")
	span.End()

	ctx, cancel := context.WithTimeout(context.Background(), flushMargin/2)
	defer cancel()
	start := time.Now()
	h.flush(ctx)
	if d := time.Since(start); d > 20*time.Millisecond || !strings.Contains(logs.String(), "no time left") {
		t.Fatalf("flush with no time left took %s; log %s", d, logs.String())
	}

	ctx, cancel = context.WithTimeout(context.Background(), flushMargin+300*time.Millisecond)
	defer cancel()
	start = time.Now()
	h.flush(ctx)
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Fatalf("flush against a hanging collector took %s", d)
	}
	if !strings.Contains(logs.String(), "they are lost") {
		t.Errorf("no warning of lost spans: %s", logs.String())
	}
}

// The exporter's headers (a collector's API key) come from the secret
// RAPROV_OTLP_HEADERS_SECRET_ARN names: every export carries them, and no
// log line holds their value. A bad entry is skipped with a warning that
// names its position only.
func TestOTLPHeadersFromSecret(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:raprov/otlp-headers-AbCdEf"
	const apiKey = "otlp-api-key-value-0123456789"
	secrets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"ARN":"` + arn + `","Name":"raprov/otlp-headers","SecretString":"x-api-key=` + apiKey + `,not-a-header-` + apiKey + `"}`))
	}))
	t.Cleanup(secrets.Close)
	var mu sync.Mutex
	var keys []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("X-Api-Key"))
		mu.Unlock()
	}))
	t.Cleanup(collector.Close)
	aws := tracingEnv(t, collector.URL)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.URL)
	t.Setenv(OTLPHeadersSecretVar, arn)
	var logs bytes.Buffer
	h, err := load(env(aws), &logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Tracing.Shutdown(context.Background()) })
	_, span := otel.Tracer("test").Start(context.Background(), "step")
	span.End()
	if err := h.Tracing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 1 || keys[0] != apiKey {
		t.Errorf("the collector got x-api-key %q, want the secret's", keys)
	}
	if strings.Contains(logs.String(), apiKey) {
		t.Errorf("a log line holds the header's value:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), OTLPHeadersSecretVar+": entry 2 skipped") {
		t.Errorf("no warning for the bad entry:\n%s", logs.String())
	}
}

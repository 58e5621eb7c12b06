package otlphttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/raprov/raprov/shared/tracing/otlphttp"
)

// fakeCollector answers each request with the next of its replies (the
// last one repeated) and records what it got.
type fakeCollector struct {
	replies []reply

	mu       sync.Mutex
	requests []recorded
}

type reply struct {
	status int
	header map[string]string
	body   []byte
	delay  time.Duration
}

type recorded struct {
	header http.Header
	req    *collectorpb.ExportTraceServiceRequest
	at     time.Time
	err    error
}

func (c *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := recorded{header: r.Header.Clone(), at: time.Now()}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			rec.err = err
		} else {
			body = zr
		}
	}
	data, _ := io.ReadAll(body)
	rec.req = &collectorpb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(data, rec.req); err != nil && rec.err == nil {
		rec.err = err
	}
	c.mu.Lock()
	n := len(c.requests)
	c.requests = append(c.requests, rec)
	c.mu.Unlock()
	rp := reply{status: http.StatusOK}
	if len(c.replies) > 0 {
		rp = c.replies[min(n, len(c.replies)-1)]
	}
	if rp.delay > 0 {
		select {
		case <-time.After(rp.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(rp.status)
	w.Write(rp.body)
}

func (c *fakeCollector) got() []recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]recorded(nil), c.requests...)
}

func newCollector(t *testing.T, replies ...reply) (*fakeCollector, string) {
	t.Helper()
	c := &fakeCollector{replies: replies}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL + "/v1/traces"
}

func mustNew(t *testing.T, opts otlphttp.Options) *otlphttp.Exporter {
	t.Helper()
	e, err := otlphttp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func oneSpan() []sdktrace.ReadOnlySpan {
	return tracetest.SpanStubs{{
		Name:        "complete",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span1, TraceFlags: trace.FlagsSampled}),
		StartTime:   t0, EndTime: t0.Add(time.Second),
	}}.Snapshots()
}

const secret = "s3cr3t-API-key+/="

func TestExportSendsProtobufWithHeaders(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			c, url := newCollector(t)
			e := mustNew(t, otlphttp.Options{Endpoint: url, Gzip: gz, Headers: map[string]string{"x-api-key": secret, "X-Tenant": "t1"}})
			if err := e.ExportSpans(context.Background(), oneSpan()); err != nil {
				t.Fatal(err)
			}
			got := c.got()
			if len(got) != 1 || got[0].err != nil {
				t.Fatalf("requests %d, decode error %v", len(got), got[0].err)
			}
			h := got[0].header
			if h.Get("Content-Type") != "application/x-protobuf" || h.Get("X-Api-Key") != secret || h.Get("X-Tenant") != "t1" {
				t.Errorf("headers %v", h)
			}
			if enc := h.Get("Content-Encoding"); (enc == "gzip") != gz {
				t.Errorf("Content-Encoding %q with gzip %t", enc, gz)
			}
			if s := got[0].req.ResourceSpans[0].ScopeSpans[0].Spans[0]; s.Name != "complete" {
				t.Errorf("span %v", s)
			}
		})
	}
}

func TestExportRetriesWithRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			c, url := newCollector(t, reply{status: status, header: map[string]string{"Retry-After": "1"}}, reply{status: http.StatusOK})
			e := mustNew(t, otlphttp.Options{Endpoint: url})
			if err := e.ExportSpans(context.Background(), oneSpan()); err != nil {
				t.Fatal(err)
			}
			got := c.got()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			if wait := got[1].at.Sub(got[0].at); wait < 900*time.Millisecond {
				t.Errorf("retried after %s, want Retry-After's 1s", wait)
			}
		})
	}
}

func TestExportRetriesWithBackoff(t *testing.T) {
	c, url := newCollector(t, reply{status: http.StatusServiceUnavailable}, reply{status: http.StatusServiceUnavailable}, reply{status: http.StatusOK})
	e := mustNew(t, otlphttp.Options{Endpoint: url})
	if err := e.ExportSpans(context.Background(), oneSpan()); err != nil {
		t.Fatal(err)
	}
	if n := len(c.got()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestExportDoesNotRetryABadRequest(t *testing.T) {
	body := "invalid request: header x-api-key=" + secret + "\x1b[31m\nred\x00"
	c, url := newCollector(t, reply{status: http.StatusBadRequest, body: []byte(body)})
	e := mustNew(t, otlphttp.Options{Endpoint: url, Headers: map[string]string{"x-api-key": secret}})
	err := e.ExportSpans(context.Background(), oneSpan())
	var he *otlphttp.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		t.Fatalf("err %v, want an HTTPError 400", err)
	}
	if n := len(c.got()); n != 1 {
		t.Errorf("%d requests, want 1 (no retry)", n)
	}
	msg := err.Error()
	if strings.Contains(msg, secret) || !strings.Contains(msg, "[redacted]") || !strings.Contains(msg, "invalid request") {
		t.Errorf("error %q: want the body with the header value redacted", msg)
	}
	if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("error %q holds control characters", msg)
	}
}

func TestExportTruncatesTheBody(t *testing.T) {
	_, url := newCollector(t, reply{status: http.StatusInternalServerError, body: bytes.Repeat([]byte("é"), 5000)})
	err := mustNew(t, otlphttp.Options{Endpoint: url}).ExportSpans(context.Background(), oneSpan())
	var he *otlphttp.HTTPError
	if !errors.As(err, &he) || len(he.Body) > 210 || !strings.HasSuffix(he.Body, "…") || !strings.HasPrefix(he.Body, "éé") {
		t.Fatalf("err %v", err)
	}
}

func TestExportReportsPartialSuccess(t *testing.T) {
	resp, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{
		RejectedSpans: 1, ErrorMessage: "span too old"}})
	_, url := newCollector(t, reply{status: http.StatusOK, body: resp})
	err := mustNew(t, otlphttp.Options{Endpoint: url}).ExportSpans(context.Background(), oneSpan())
	var pe *otlphttp.PartialSuccessError
	if !errors.As(err, &pe) || pe.Rejected != 1 || pe.Spans != 1 || pe.Message != "span too old" {
		t.Fatalf("err %v, want a PartialSuccessError", err)
	}
	// A full success: an empty response, an empty partial_success, or a
	// body that is not protobuf at all.
	empty, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{}})
	for _, body := range [][]byte{nil, empty, []byte("{}")} {
		_, url := newCollector(t, reply{status: http.StatusOK, body: body})
		if err := mustNew(t, otlphttp.Options{Endpoint: url}).ExportSpans(context.Background(), oneSpan()); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
	}
}

func TestExportTimeout(t *testing.T) {
	t.Run("slow collector", func(t *testing.T) {
		_, url := newCollector(t, reply{status: http.StatusOK, delay: 5 * time.Second})
		start := time.Now()
		err := mustNew(t, otlphttp.Options{Endpoint: url, Timeout: 200 * time.Millisecond}).ExportSpans(context.Background(), oneSpan())
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %s", d)
		}
	})
	t.Run("Retry-After past the timeout", func(t *testing.T) {
		c, url := newCollector(t, reply{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": "30"}})
		start := time.Now()
		err := mustNew(t, otlphttp.Options{Endpoint: url, Timeout: 300 * time.Millisecond}).ExportSpans(context.Background(), oneSpan())
		var he *otlphttp.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("err %v, want the 503", err)
		}
		if d := time.Since(start); d > 2*time.Second || len(c.got()) != 1 {
			t.Errorf("returned after %s and %d requests", d, len(c.got()))
		}
	})
	t.Run("caller's context", func(t *testing.T) {
		_, url := newCollector(t, reply{status: http.StatusServiceUnavailable})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := mustNew(t, otlphttp.Options{Endpoint: url}).ExportSpans(ctx, oneSpan()); err == nil {
			t.Fatal("no error")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %s", d)
		}
	})
}

// A transport error quotes neither the endpoint's query nor a header.
func TestExportTransportErrorIsSafe(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	e := mustNew(t, otlphttp.Options{Endpoint: addr + "/v1/traces?token=" + secret, Timeout: 300 * time.Millisecond,
		Headers: map[string]string{"Authorization": "Bearer " + secret}})
	err := e.ExportSpans(context.Background(), oneSpan())
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), addr+"/v1/traces") {
		t.Fatalf("err %v: want one naming the endpoint without its query", err)
	}
}

func TestExportAfterShutdown(t *testing.T) {
	c, url := newCollector(t)
	e := mustNew(t, otlphttp.Options{Endpoint: url})
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(context.Background(), oneSpan()); err == nil || len(c.got()) != 0 {
		t.Fatalf("export after shutdown: %v, %d requests", err, len(c.got()))
	}
}

func TestNewRefusesABadEndpoint(t *testing.T) {
	for _, u := range []string{"", "localhost:4318", "ftp://c/v1/traces", "http://"} {
		if _, err := otlphttp.New(otlphttp.Options{Endpoint: u}); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("defaults", func(t *testing.T) {
		o, err := otlphttp.FromEnv("http://c:4318/v1/traces", env(nil), otlphttp.EnvOptions{})
		if err != nil || o.Endpoint != "http://c:4318/v1/traces" || o.Headers != nil || o.Timeout != 0 || o.Gzip || o.TLS != nil {
			t.Fatalf("%+v, %v", o, err)
		}
	})
	t.Run("generic variables", func(t *testing.T) {
		o, err := otlphttp.FromEnv("http://c", env(map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":     " api-key = a%20b+c%2C ,x-tenant=t1,,",
			"OTEL_EXPORTER_OTLP_TIMEOUT":     "2500",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
		}), otlphttp.EnvOptions{})
		if err != nil || o.Headers["api-key"] != "a b+c," || o.Headers["x-tenant"] != "t1" || len(o.Headers) != 2 ||
			o.Timeout != 2500*time.Millisecond || !o.Gzip {
			t.Fatalf("%+v, %v", o, err)
		}
	})
	t.Run("traces variables win", func(t *testing.T) {
		o, err := otlphttp.FromEnv("http://c", env(map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":            "a=1",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS":     "b=2",
			"OTEL_EXPORTER_OTLP_TIMEOUT":            "2500",
			"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":     "700",
			"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
			"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
		}), otlphttp.EnvOptions{})
		if err != nil || o.Headers["b"] != "2" || len(o.Headers) != 1 || o.Timeout != 700*time.Millisecond || o.Gzip {
			t.Fatalf("%+v, %v", o, err)
		}
	})
	t.Run("malformed headers skipped without their content", func(t *testing.T) {
		var warnings []string
		o, err := otlphttp.FromEnv("http://c", env(map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS": "good=1," + secret + ",bad key=" + secret + ",k=%zz" + secret + ",c=x%0Ay" + secret,
		}), otlphttp.EnvOptions{Warn: func(m string) { warnings = append(warnings, m) }})
		if err != nil || len(o.Headers) != 1 || o.Headers["good"] != "1" {
			t.Fatalf("%+v, %v", o, err)
		}
		if len(warnings) != 4 {
			t.Errorf("warnings %q, want 4", warnings)
		}
		for _, w := range warnings {
			if strings.Contains(w, secret) || strings.Contains(w, "s3cr3t") || !strings.Contains(w, "OTEL_EXPORTER_OTLP_HEADERS: entry") {
				t.Errorf("warning %q", w)
			}
		}
	})
	for _, c := range []struct{ name, key, value, want string }{
		{"timeout not a number", "OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"timeout zero", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{"unknown compression", "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "gzip or none"},
		{"missing CA file", "OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{"client certificate without key", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/x/cert.pem", "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
		{"client key without certificate", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/x/key.pem", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := otlphttp.FromEnv("http://c", env(map[string]string{c.key: c.value}), otlphttp.EnvOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one mentioning %s", err, c.want)
			}
		})
	}
	t.Run("client certificate with a loader", func(t *testing.T) {
		var files []string
		o, err := otlphttp.FromEnv("http://c", env(map[string]string{
			"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/x/cert.pem", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": "/x/key.pem",
		}), otlphttp.EnvOptions{LoadKeyPair: func(cert, key string) (tls.Certificate, error) {
			files = append(files, cert, key)
			return tls.Certificate{}, nil
		}})
		if err != nil || o.TLS == nil || len(o.TLS.Certificates) != 1 || strings.Join(files, " ") != "/x/cert.pem /x/key.pem" {
			t.Fatalf("%+v, %v, loaded %v", o, err, files)
		}
	})
	t.Run("client certificate refused without a loader", func(t *testing.T) {
		_, err := otlphttp.FromEnv("http://c", env(map[string]string{
			"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/x/cert.pem", "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/x/key.pem",
		}), otlphttp.EnvOptions{})
		if err == nil || !strings.Contains(err.Error(), "client certificates") {
			t.Fatalf("err %v", err)
		}
	})
}

// OTEL_EXPORTER_OTLP_CERTIFICATE makes the exporter trust a collector's
// own CA: export over TLS to a test server whose certificate is in it.
func TestFromEnvCertificate(t *testing.T) {
	c := &fakeCollector{}
	srv := httptest.NewTLSServer(c)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": ca}[k] }
	opts, err := otlphttp.FromEnv(srv.URL+"/v1/traces", getenv, otlphttp.EnvOptions{})
	if err != nil || opts.TLS == nil || opts.TLS.RootCAs == nil {
		t.Fatalf("%+v, %v", opts, err)
	}
	if err := mustNew(t, opts).ExportSpans(context.Background(), oneSpan()); err != nil {
		t.Fatal(err)
	}
	// Without it the system's roots do not know the test CA, and the
	// exporter does not retry.
	if err := mustNew(t, otlphttp.Options{Endpoint: srv.URL + "/v1/traces"}).ExportSpans(context.Background(), oneSpan()); err == nil ||
		!strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "gave up") {
		t.Fatalf("exported to an unknown CA: %v", err)
	}
	if len(c.got()) != 1 {
		t.Errorf("%d requests, want 1", len(c.got()))
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a pem"), 0o600)
	if _, err := otlphttp.FromEnv(srv.URL, func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": bad}[k] }, otlphttp.EnvOptions{}); err == nil {
		t.Error("a file without a certificate was accepted")
	}
}

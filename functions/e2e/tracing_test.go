//go:build linux

package e2e_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/tracing"
)

// traceCollector is an OTLP/HTTP trace receiver on loopback, standing in
// for the collector the functions export to.
type traceCollector struct {
	url string

	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[string]bool // service.name of the resources seen
	bad      int             // requests that did not decode
}

func startTraceCollector(t *testing.T) *traceCollector {
	t.Helper()
	c := &traceCollector{services: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectorpb.ExportTraceServiceRequest
		c.mu.Lock()
		defer c.mu.Unlock()
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
			c.bad++
			http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					c.services[kv.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// stepSpans returns the spans of the steps' runs for request id, by the
// attributes the Tracing middleware sets (the Graph SDK's spans have none).
func (c *traceCollector) stepSpans(id string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if attr(s, "raprov.request_id") == id && attr(s, "raprov.step") != "" {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// With RAPROV_OTLP_ENDPOINT set on every function, a provisioning request
// becomes one trace at the collector: a span per step run, the first
// (intake's) the root, every other one the child of the span of the hop
// that sent its input — the previous step's, or its own step's previous
// run for a re-check — so that following the parents from complete's
// span back to the root visits the provisioning steps in order. The
// spans are there once every queue is quiet, with no shutdown of the
// functions and the batcher's timer set beyond the test: each invocation
// flushed its spans before it answered.
func TestE2ETracing(t *testing.T) {
	t.Parallel()
	col := startTraceCollector(t)
	env := map[string]map[string]string{}
	for _, step := range events.AllSteps {
		// The batcher's own timer never fires within the test: what
		// reaches the collector was flushed by the invocation.
		env[step] = map[string]string{tracing.EnvEndpoint: col.url, "OTEL_BSP_SCHEDULE_DELAY": "600000"}
	}
	s := newStack(t, stackConfig{env: env})
	req := request("e2e-trace-aa", aa, "+12065550143", "")
	s.submit(t, req)
	s.await(t, req.RequestID, ledger.Completed)
	s.quiesce(t)

	spans := col.stepSpans(req.RequestID)
	col.mu.Lock()
	if col.bad != 0 || !col.services[tracing.DefaultServiceName] {
		t.Errorf("collector: %d bad requests, services %v", col.bad, col.services)
	}
	col.mu.Unlock()
	if len(spans) < len(events.Steps) {
		t.Fatalf("%d step spans for %s, want at least one per step of %v", len(spans), req.RequestID, events.Steps)
	}
	byID := map[string]*tracepb.Span{}
	var roots, ends []*tracepb.Span
	for _, sp := range spans {
		byID[hex.EncodeToString(sp.SpanId)] = sp
		if !bytes.Equal(sp.TraceId, spans[0].TraceId) {
			t.Errorf("span %s of %s is in trace %x, the first in %x", sp.Name, attr(sp, "raprov.step"), sp.TraceId, spans[0].TraceId)
		}
		if sp.Kind != tracepb.Span_SPAN_KIND_CONSUMER || sp.Name != "raprov "+attr(sp, "raprov.step") {
			t.Errorf("span %q kind %s", sp.Name, sp.Kind)
		}
		if len(sp.ParentSpanId) == 0 {
			roots = append(roots, sp)
		}
		if attr(sp, "raprov.step") == events.StepComplete {
			ends = append(ends, sp)
		}
	}
	if len(roots) != 1 || attr(roots[0], "raprov.step") != events.StepIntake {
		t.Fatalf("%d root spans, want one: intake's (the request was submitted without a traceparent)", len(roots))
	}
	if f := roots[0].Flags & 0x300; f != 0x100 {
		t.Errorf("intake's span flags %#x: want a parent known not to be remote", roots[0].Flags)
	}
	stepIndex := func(step string) int { return slices.Index(events.Steps, step) }
	for _, sp := range spans {
		if len(sp.ParentSpanId) == 0 {
			continue
		}
		step := attr(sp, "raprov.step")
		parent, ok := byID[hex.EncodeToString(sp.ParentSpanId)]
		if !ok {
			t.Errorf("%s's span has parent %x, which is no span of the request", step, sp.ParentSpanId)
			continue
		}
		if ps := attr(parent, "raprov.step"); ps != step && stepIndex(ps) != stepIndex(step)-1 {
			t.Errorf("%s's span is the child of %s's, not of the previous hop's", step, ps)
		}
		if sp.Flags&0x300 != 0x300 {
			t.Errorf("%s's span flags %#x: want a remote parent (it came over the queue)", step, sp.Flags)
		}
	}
	if len(ends) != 1 {
		t.Fatalf("%d spans of complete, want 1", len(ends))
	}
	var walked []string
	for sp := ends[0]; sp != nil; sp = byID[hex.EncodeToString(sp.ParentSpanId)] {
		if step := attr(sp, "raprov.step"); len(walked) == 0 || walked[0] != step {
			walked = append([]string{step}, walked...)
		}
		if len(sp.ParentSpanId) == 0 {
			break
		}
	}
	if !slices.Equal(walked, events.Steps) {
		t.Errorf("from complete's span back to the root the chain runs through %v, want %v", walked, events.Steps)
	}
}

package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/steps"
)

// hop is one step of a fake chain: it reads in and emits emit.
type hop struct{ step, emit string }

var chainHops = []hop{
	{events.StepIntake, events.TypeProvisioningAccepted},
	{events.StepCheckLicense, events.TypeLicenseAvailable},
	{events.StepCreateAccount, events.TypeAccountCreated},
	{events.StepAssignLicense, events.TypeLicenseAssigned},
}

// fakeStep continues the request with an event of type typ, logging on its
// own logger and on an adapter's that knows nothing of requests.
func fakeStep(typ string, adapter *slog.Logger) steps.Step {
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		steps.LoggerFrom(ctx).InfoContext(ctx, "working")
		adapter.InfoContext(ctx, "adapter call")
		if in.Data.Request.RequestID == "" {
			in.Data.Request.RequestID = "REQ-T"
		}
		return []events.Event{in.Next(typ, events.Source(events.StepOf(in.Source)))}, nil
	}
}

func submitted() events.Event {
	return events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: events.Request{DisplayName: "Main line"}})
}

// logLines decodes the JSON lines in buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func mustTrace(t *testing.T, ev events.Event) events.TraceContext {
	t.Helper()
	tc, ok := events.ParseTraceParent(ev.TraceParent)
	if !ok {
		t.Fatalf("%s event has traceparent %q, want a valid one", ev.Type, ev.TraceParent)
	}
	return tc
}

// The production middleware over a chain of fake steps, with the global
// (no-op) tracer provider: intake starts a trace for a request submitted
// without one, every later hop stays in it under a new parent id, and
// every log line of a step run carries the trace and span id.
func TestTracingChainWithoutSDK(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	adapter := slog.New(logctx.Handler(slog.NewJSONHandler(&buf, nil)))

	ev := submitted()
	var first events.TraceContext
	parents := map[[8]byte]bool{}
	for i, h := range chainHops {
		buf.Reset()
		prev := ev.TraceParent
		out, err := steps.Production(h.step, fakeStep(h.emit, adapter), cfg, log)(context.Background(), ev)
		next := one(t, out, err, h.emit)
		tc := mustTrace(t, next)
		if i == 0 {
			if prev != "" {
				t.Fatalf("the submitted event has traceparent %q", prev)
			}
			if !tc.Sampled() {
				t.Errorf("a trace intake starts is not sampled: %s", next.TraceParent)
			}
			first = tc
		}
		if tc.TraceID != first.TraceID || tc.Flags != first.Flags {
			t.Errorf("hop %d (%s): traceparent %s left the trace %s", i, h.step, next.TraceParent, first.String())
		}
		if parents[tc.ParentID] || next.TraceParent == prev {
			t.Errorf("hop %d (%s): parent id of %s is not new", i, h.step, next.TraceParent)
		}
		parents[tc.ParentID] = true

		lines := logLines(t, &buf)
		if len(lines) != 3 { // working, adapter call, step done
			t.Fatalf("hop %d: %d log lines, want 3: %s", i, len(lines), buf.String())
		}
		for _, l := range lines {
			wantTrace := events.TraceID(next.TraceParent)
			wantSpan := next.TraceParent[36:52] // the step's span: the next hop's parent
			if l["trace_id"] != wantTrace || l["span_id"] != wantSpan {
				t.Errorf("hop %d: log line %q has trace_id %v span_id %v, want %s %s", i, l["msg"], l["trace_id"], l["span_id"], wantTrace, wantSpan)
			}
		}
		ev = next
	}
}

// A valid incoming traceparent is kept (its trace and flags); an invalid
// one is dropped and a new trace started, never an error.
func TestTracingIncomingTraceParent(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	log := slog.New(slog.DiscardHandler)
	step := steps.Production(events.StepIntake, fakeStep(events.TypeProvisioningAccepted, log), cfg, log)

	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" // not sampled
	in := submitted()
	in.TraceParent = incoming
	out, err := step(context.Background(), in)
	got := mustTrace(t, one(t, out, err, events.TypeProvisioningAccepted))
	want, _ := events.ParseTraceParent(incoming)
	if got.TraceID != want.TraceID || got.Flags != want.Flags || got.ParentID == want.ParentID {
		t.Errorf("incoming %s became %s: want the same trace and flags under a new parent id", incoming, got.String())
	}

	for _, bad := range []string{"00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", strings.ToUpper(incoming)} {
		in := submitted()
		in.TraceParent = bad
		out, err := step(context.Background(), in)
		got := mustTrace(t, one(t, out, err, events.TypeProvisioningAccepted))
		if got.TraceID == want.TraceID || !got.Sampled() {
			t.Errorf("invalid incoming %q became %s: want a new sampled trace", bad, got.String())
		}
	}
}

// Retries, failures and the events a dead-lettered run emits stay in the
// request's trace too.
func TestTracingStampsRetriesAndDeadLetters(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	log := slog.New(slog.DiscardHandler)
	in := request()
	in.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	want, _ := events.ParseTraceParent(in.TraceParent)

	throttled := steps.Step(func(context.Context, events.Event) ([]events.Event, error) {
		return nil, &apperr.Error{Code: apperr.Throttled}
	})
	out, err := steps.Production(events.StepCreateAccount, throttled, cfg, log)(context.Background(), in)
	retry := one(t, out, err, in.Type)
	if tc := mustTrace(t, retry); retry.Attempt != 1 || tc.TraceID != want.TraceID || tc.ParentID == want.ParentID {
		t.Errorf("retry %+v: want attempt 1 in trace %x under a new parent", retry, want.TraceID)
	}

	in.Attempt = cfg.MaxAttempts - 1
	_, err = steps.Production(events.StepCreateAccount, throttled, cfg, log)(context.Background(), in)
	dl, ok := steps.AsDeadLetter(err)
	if !ok || len(dl.Emit) != 1 {
		t.Fatalf("err = %v, want a dead letter emitting the failure", err)
	}
	if tc := mustTrace(t, dl.Emit[0]); tc.TraceID != want.TraceID || tc.ParentID == want.ParentID {
		t.Errorf("dead letter emits %s: want trace %x under a new parent", dl.Emit[0].TraceParent, want.TraceID)
	}
}

func attr(kvs []attribute.KeyValue, key string) attribute.Value {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// With an OpenTelemetry SDK the step spans form one parent→child chain
// across the hops, each emitted event naming its step's span as parent,
// and the logs carry the SDK's ids.
func TestTracingSpansFormAChain(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	wrap := func(name string, s steps.Step) steps.Step {
		return steps.Wrap(s, steps.Tracing(name, tp), steps.Logging(log, name), steps.Recover(), steps.Retry(name, cfg))
	}

	ev := submitted()
	var emitted []events.Event
	for _, h := range chainHops {
		buf.Reset()
		out, err := wrap(h.step, fakeStep(h.emit, slog.New(logctx.Handler(log.Handler()))))(context.Background(), ev)
		ev = one(t, out, err, h.emit)
		emitted = append(emitted, ev)
		for _, l := range logLines(t, &buf) {
			if l["span_id"] != ev.TraceParent[36:52] {
				t.Errorf("%s: log line %q has span_id %v, want the SDK span %s", h.step, l["msg"], l["span_id"], ev.TraceParent[36:52])
			}
		}
	}
	// A step that fails unexpectedly: its span records the error.
	bug := errors.New("unexpected response")
	if _, err := wrap(events.StepAssignNumber, func(context.Context, events.Event) ([]events.Event, error) { return nil, bug })(context.Background(), ev); !errors.Is(err, bug) {
		t.Fatalf("err = %v", err)
	}

	spans := exp.GetSpans()
	if len(spans) != len(chainHops)+1 {
		t.Fatalf("%d spans, want %d", len(spans), len(chainHops)+1)
	}
	root := spans[0]
	if root.Parent.IsValid() {
		t.Errorf("intake's span has parent %v, want a new trace", root.Parent)
	}
	for i, s := range spans {
		name := events.StepAssignNumber
		if i < len(chainHops) {
			name = chainHops[i].step
		}
		if s.Name != "raprov "+name || s.SpanKind != trace.SpanKindConsumer {
			t.Errorf("span %d: %q kind %v, want %q consumer", i, s.Name, s.SpanKind, "raprov "+name)
		}
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %d is in trace %s, want %s", i, s.SpanContext.TraceID(), root.SpanContext.TraceID())
		}
		if i > 0 && (s.Parent.SpanID() != spans[i-1].SpanContext.SpanID() || !s.Parent.IsRemote()) {
			t.Errorf("span %d (%s): parent %s, want the previous hop's span %s (remote)", i, s.Name, s.Parent.SpanID(), spans[i-1].SpanContext.SpanID())
		}
		if attr(s.Attributes, "raprov.request_id").AsString() != "REQ-T" && i > 0 {
			t.Errorf("span %d: request id %q", i, attr(s.Attributes, "raprov.request_id").AsString())
		}
		if i < len(chainHops) {
			if got := emitted[i].TraceParent; got != traceParentOf(s.SpanContext) {
				t.Errorf("hop %d emitted traceparent %s, want its span's %s", i, got, traceParentOf(s.SpanContext))
			}
			if got := attr(s.Attributes, "raprov.emitted").AsStringSlice(); len(got) != 1 || got[0] != chainHops[i].emit {
				t.Errorf("span %d: emitted %v", i, got)
			}
			if got := attr(s.Attributes, "raprov.outcome").AsString(); got != steps.OutcomeOK {
				t.Errorf("span %d: outcome %q", i, got)
			}
			if s.Status.Code != codes.Unset {
				t.Errorf("span %d: status %v", i, s.Status)
			}
		}
	}
	last := spans[len(spans)-1]
	if last.Status.Code != codes.Error || attr(last.Attributes, "raprov.outcome").AsString() != steps.OutcomeError ||
		len(last.Events) != 1 || last.Events[0].Name != "exception" ||
		attr(last.Events[0].Attributes, "exception.message").AsString() != "unexpected response" {
		t.Errorf("failing span: status %v, attributes %v, events %v", last.Status, last.Attributes, last.Events)
	}
	if got := attr(last.Attributes, "raprov.event.type").AsString(); got != events.TypeLicenseAssigned {
		t.Errorf("failing span: event type %q", got)
	}
}

// With an SDK, an incoming traceparent is the remote parent of the first
// span.
func TestTracingSpanContinuesIncomingTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	in := submitted()
	in.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	in.Attempt, in.ReplayCount = 2, 1
	out, err := steps.Tracing(events.StepIntake, tp)(fakeStep(events.TypeProvisioningAccepted, slog.New(slog.DiscardHandler)))(context.Background(), in)
	next := one(t, out, err, events.TypeProvisioningAccepted)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Parent.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent.SpanID().String() != "00f067aa0ba902b7" || !s.Parent.IsRemote() {
		t.Errorf("parent %v, want the incoming traceparent", s.Parent)
	}
	if next.TraceParent != traceParentOf(s.SpanContext) {
		t.Errorf("emitted %s, want %s", next.TraceParent, traceParentOf(s.SpanContext))
	}
	if attr(s.Attributes, "raprov.attempt").AsInt64() != 2 || attr(s.Attributes, "raprov.replay_count").AsInt64() != 1 ||
		attr(s.Attributes, "raprov.event.type").AsString() != events.TypeProvisioningRequested {
		t.Errorf("attributes %v", s.Attributes)
	}
}

func traceParentOf(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// The steps link only the OpenTelemetry API; the SDK is the hosts' to
// install (shared/tracing). The Lambda functions link the SDK and
// raprov's own OTLP exporter, never the upstream exporters, the generated
// OTLP types or gRPC, which would add megabytes to every zip. (intake
// links the protobuf runtime anyway, for the phone-number library.)
func TestTracingLinksOnlyTheOTelAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	list := func(pkgs ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps: %v", err)
		}
		return strings.Fields(string(out))
	}
	for _, p := range list("github.com/raprov/raprov/shared/steps") {
		if strings.HasPrefix(p, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(p, "go.opentelemetry.io/otel/exporters") ||
			strings.HasPrefix(p, "google.golang.org/grpc") || strings.HasPrefix(p, "github.com/raprov/raprov/shared/tracing") {
			t.Errorf("the steps link %s", p)
		}
	}
	for _, p := range list("github.com/raprov/raprov/functions/...") {
		if strings.HasPrefix(p, "go.opentelemetry.io/otel/exporters") || strings.HasPrefix(p, "go.opentelemetry.io/proto/otlp") ||
			strings.HasPrefix(p, "google.golang.org/grpc") {
			t.Errorf("a function links %s", p)
		}
	}
}

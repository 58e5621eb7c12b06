package otlphttp_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/raprov/raprov/shared/tracing/otlphttp"
)

var (
	traceA = trace.TraceID{0x5f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	traceB = trace.TraceID{0xaa, 0xbb, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}
	span1  = trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1}
	span2  = trace.SpanID{2, 2, 2, 2, 2, 2, 2, 2}
	span3  = trace.SpanID{3, 3, 3, 3, 3, 3, 3, 3}
	parent = trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9}
	t0     = time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
)

// richSpans are spans of two resources, the first with two scopes, with
// every kind of attribute value, events, links, statuses, a remote parent
// and dropped counts.
func richSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	ts, err := trace.ParseTraceState("vendor=abc,other=x-y")
	if err != nil {
		t.Fatal(err)
	}
	res1 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "raprov"), attribute.String("faas.name", "raprov-intake"), attribute.Int("n", 3))
	res2 := resource.NewSchemaless(attribute.String("service.name", "other"))
	scopeA := instrumentation.Scope{Name: "github.com/raprov/raprov/shared/steps", Version: "v1.2.3",
		SchemaURL: "https://opentelemetry.io/schemas/1.24.0", Attributes: attribute.NewSet(attribute.Bool("scoped", true))}
	scopeB := instrumentation.Scope{Name: "graph"}
	attrs := []attribute.KeyValue{
		attribute.String("s", "text ü"),
		attribute.String("empty", ""),
		attribute.Bool("t", true),
		attribute.Bool("f", false),
		attribute.Int64("i", -42),
		attribute.Int64("zero", 0),
		attribute.Int64("big", math.MaxInt64),
		attribute.Float64("pi", 3.25),
		attribute.Float64("fzero", 0),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, -2, 0}),
		attribute.Float64Slice("fs", []float64{0.5, -1}),
		attribute.StringSlice("ss", []string{"a", "", "c"}),
		attribute.StringSlice("nos", []string{}),
	}
	stubs := tracetest.SpanStubs{
		{
			Name: "intake",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span1,
				TraceFlags: trace.FlagsSampled, TraceState: ts}),
			Parent: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: parent,
				TraceFlags: trace.FlagsSampled, Remote: true}),
			SpanKind:   trace.SpanKindConsumer,
			StartTime:  t0,
			EndTime:    t0.Add(1500 * time.Millisecond),
			Attributes: attrs,
			Events: []sdktrace.Event{
				{Name: "retry", Time: t0.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.Int("attempt", 2)}, DroppedAttributeCount: 1},
				{Name: "bare", Time: t0.Add(2 * time.Millisecond)},
			},
			Links: []sdktrace.Link{
				{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceB, SpanID: span3, TraceState: ts, Remote: true, TraceFlags: trace.FlagsSampled}),
					Attributes: []attribute.KeyValue{attribute.String("why", "batch")}, DroppedAttributeCount: 4},
				{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceB, SpanID: span2})},
			},
			Status:               sdktrace.Status{Code: codes.Error, Description: "graph: 429 throttled"},
			DroppedAttributes:    5,
			DroppedEvents:        6,
			DroppedLinks:         7,
			Resource:             res1,
			InstrumentationScope: scopeA,
		},
		{
			Name:                 "GET /users",
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span2}),
			Parent:               trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span1, TraceFlags: trace.FlagsSampled}),
			SpanKind:             trace.SpanKindClient,
			StartTime:            t0.Add(time.Millisecond),
			EndTime:              t0.Add(time.Second),
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             res1,
			InstrumentationScope: scopeB,
		},
		{
			Name:                 "root",
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceB, SpanID: span3, TraceFlags: trace.FlagsSampled}),
			SpanKind:             trace.SpanKindServer,
			StartTime:            t0,
			EndTime:              t0.Add(time.Microsecond),
			Resource:             res2,
			InstrumentationScope: scopeA,
		},
		{
			Name:                 "second in scope A",
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span3, TraceFlags: trace.FlagsSampled}),
			Parent:               trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span1, TraceFlags: trace.FlagsSampled}),
			SpanKind:             trace.SpanKindProducer,
			StartTime:            t0,
			EndTime:              t0.Add(time.Millisecond),
			Resource:             res1,
			InstrumentationScope: scopeA,
		},
		{
			Name:                 "internal, zero times",
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: parent}),
			SpanKind:             trace.SpanKindInternal,
			Resource:             res2,
			InstrumentationScope: scopeA,
		},
	}
	return stubs.Snapshots()
}

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func boolean(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}
func integer(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func double(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}
func array(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}
func nanos(t time.Time) uint64 { return uint64(t.UnixNano()) }

// wantRequest is richSpans as the generated OTLP types hold them.
func wantRequest() *collectorpb.ExportTraceServiceRequest {
	const sampled, hasRemote, isRemote = 0x01, 0x100, 0x200
	scopeA := &commonpb.InstrumentationScope{Name: "github.com/raprov/raprov/shared/steps", Version: "v1.2.3",
		Attributes: []*commonpb.KeyValue{kv("scoped", boolean(true))}}
	return &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{
			// resource attributes come sorted by key (attribute.Set)
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
				kv("faas.name", str("raprov-intake")), kv("n", integer(3)), kv("service.name", str("raprov")),
			}},
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
			ScopeSpans: []*tracepb.ScopeSpans{
				{
					Scope:     scopeA,
					SchemaUrl: "https://opentelemetry.io/schemas/1.24.0",
					Spans: []*tracepb.Span{
						{
							TraceId: traceA[:], SpanId: span1[:], TraceState: "vendor=abc,other=x-y", ParentSpanId: parent[:],
							Flags: sampled | hasRemote | isRemote,
							Name:  "intake", Kind: tracepb.Span_SPAN_KIND_CONSUMER,
							StartTimeUnixNano: nanos(t0), EndTimeUnixNano: nanos(t0.Add(1500 * time.Millisecond)),
							Attributes: []*commonpb.KeyValue{
								kv("s", str("text ü")), kv("empty", str("")), kv("t", boolean(true)), kv("f", boolean(false)),
								kv("i", integer(-42)), kv("zero", integer(0)), kv("big", integer(math.MaxInt64)),
								kv("pi", double(3.25)), kv("fzero", double(0)),
								kv("bs", array(boolean(true), boolean(false))),
								kv("is", array(integer(1), integer(-2), integer(0))),
								kv("fs", array(double(0.5), double(-1))),
								kv("ss", array(str("a"), str(""), str("c"))),
								kv("nos", array()),
							},
							DroppedAttributesCount: 5,
							Events: []*tracepb.Span_Event{
								{TimeUnixNano: nanos(t0.Add(time.Millisecond)), Name: "retry",
									Attributes: []*commonpb.KeyValue{kv("attempt", integer(2))}, DroppedAttributesCount: 1},
								{TimeUnixNano: nanos(t0.Add(2 * time.Millisecond)), Name: "bare"},
							},
							DroppedEventsCount: 6,
							Links: []*tracepb.Span_Link{
								{TraceId: traceB[:], SpanId: span3[:], TraceState: "vendor=abc,other=x-y",
									Attributes: []*commonpb.KeyValue{kv("why", str("batch"))}, DroppedAttributesCount: 4,
									Flags: sampled | hasRemote | isRemote},
								{TraceId: traceB[:], SpanId: span2[:], Flags: hasRemote},
							},
							DroppedLinksCount: 7,
							Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "graph: 429 throttled"},
						},
						{
							TraceId: traceA[:], SpanId: span3[:], ParentSpanId: span1[:], Flags: sampled | hasRemote,
							Name: "second in scope A", Kind: tracepb.Span_SPAN_KIND_PRODUCER,
							StartTimeUnixNano: nanos(t0), EndTimeUnixNano: nanos(t0.Add(time.Millisecond)),
							Status: &tracepb.Status{},
						},
					},
				},
				{
					Scope: &commonpb.InstrumentationScope{Name: "graph"},
					Spans: []*tracepb.Span{{
						TraceId: traceA[:], SpanId: span2[:], ParentSpanId: span1[:], Flags: hasRemote,
						Name: "GET /users", Kind: tracepb.Span_SPAN_KIND_CLIENT,
						StartTimeUnixNano: nanos(t0.Add(time.Millisecond)), EndTimeUnixNano: nanos(t0.Add(time.Second)),
						Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
					}},
				},
			},
		},
		{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", str("other"))}},
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope:     scopeA,
				SchemaUrl: "https://opentelemetry.io/schemas/1.24.0",
				Spans: []*tracepb.Span{
					{
						TraceId: traceB[:], SpanId: span3[:], Flags: sampled | hasRemote,
						Name: "root", Kind: tracepb.Span_SPAN_KIND_SERVER,
						StartTimeUnixNano: nanos(t0), EndTimeUnixNano: nanos(t0.Add(time.Microsecond)),
						Status: &tracepb.Status{},
					},
					{
						TraceId: traceA[:], SpanId: parent[:], Flags: hasRemote,
						Name: "internal, zero times", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
						Status: &tracepb.Status{},
					},
				},
			}},
		},
	}}
}

// What AppendRequest encodes decodes, with the generated OTLP types, to
// the same request field by field: field numbers, wire types, oneofs,
// grouping by resource and scope, flags.
func TestAppendRequestRoundTrip(t *testing.T) {
	b := otlphttp.AppendRequest(nil, richSpans(t))
	var got collectorpb.ExportTraceServiceRequest
	if err := (proto.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if diff := cmp.Diff(wantRequest(), &got, protocmp.Transform()); diff != "" {
		t.Errorf("decoded request (-want +got):\n%s", diff)
	}
	// No field the generated types do not know: a wrong field number
	// would land in the unknown fields, which Diff above ignores.
	if unknown := countUnknown(got.ProtoReflect()); unknown != 0 {
		t.Errorf("%d messages carry unknown fields", unknown)
	}
}

// The encoding is what proto.Marshal of the same request makes, byte for
// byte, but for field order inside messages, which proto.Marshal keeps
// too (deterministic): a size mismatch flags a default written or left
// out differently.
func TestAppendRequestSizeMatchesProtoMarshal(t *testing.T) {
	b := otlphttp.AppendRequest(nil, richSpans(t))
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(wantRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(want) {
		t.Errorf("encoded %d bytes, proto.Marshal %d", len(b), len(want))
	}
}

// A large attribute value (a length of two varint bytes and more) moves
// the content after the reserved length byte correctly, at every level.
func TestAppendRequestLongValues(t *testing.T) {
	long := make([]byte, 70000)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	stubs := tracetest.SpanStubs{{
		Name:        string(long[:300]),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceA, SpanID: span1}),
		Attributes:  []attribute.KeyValue{attribute.String("long", string(long)), attribute.StringSlice("many", []string{string(long[:200]), "x"})},
	}}
	var got collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(otlphttp.AppendRequest(nil, stubs.Snapshots()), &got); err != nil {
		t.Fatal(err)
	}
	s := got.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if s.Name != string(long[:300]) || s.Attributes[0].Value.GetStringValue() != string(long) ||
		s.Attributes[1].Value.GetArrayValue().Values[0].GetStringValue() != string(long[:200]) {
		t.Error("long values do not round-trip")
	}
}

func TestAppendRequestNoSpans(t *testing.T) {
	if b := otlphttp.AppendRequest(nil, nil); len(b) != 0 {
		t.Errorf("no spans encode to %x", b)
	}
}

// countUnknown counts the messages in m with unknown fields.
func countUnknown(m protoreflect.Message) int {
	n := 0
	if len(m.GetUnknown()) > 0 {
		n++
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				n += countUnknown(v.List().Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			n += countUnknown(v.Message())
		}
		return true
	})
	return n
}

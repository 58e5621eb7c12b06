package otlphttp

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of opentelemetry-proto v1 (collector/trace/v1/
// trace_service.proto, trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto). The tests check them against the generated
// Go types by decoding what this file encodes.
const (
	// ExportTraceServiceRequest
	fRequestResourceSpans protowire.Number = 1

	// ResourceSpans
	fResourceSpansResource   protowire.Number = 1
	fResourceSpansScopeSpans protowire.Number = 2
	fResourceSpansSchemaURL  protowire.Number = 3

	// Resource
	fResourceAttributes protowire.Number = 1
	// dropped_attributes_count (2) is always 0: the SDK's resource drops
	// none, and a zero is not written.

	// ScopeSpans
	fScopeSpansScope     protowire.Number = 1
	fScopeSpansSpans     protowire.Number = 2
	fScopeSpansSchemaURL protowire.Number = 3

	// InstrumentationScope
	fScopeName       protowire.Number = 1
	fScopeVersion    protowire.Number = 2
	fScopeAttributes protowire.Number = 3

	// Span
	fSpanTraceID           protowire.Number = 1
	fSpanSpanID            protowire.Number = 2
	fSpanTraceState        protowire.Number = 3
	fSpanParentSpanID      protowire.Number = 4
	fSpanName              protowire.Number = 5
	fSpanKind              protowire.Number = 6
	fSpanStartTime         protowire.Number = 7 // fixed64
	fSpanEndTime           protowire.Number = 8 // fixed64
	fSpanAttributes        protowire.Number = 9
	fSpanDroppedAttributes protowire.Number = 10
	fSpanEvents            protowire.Number = 11
	fSpanDroppedEvents     protowire.Number = 12
	fSpanLinks             protowire.Number = 13
	fSpanDroppedLinks      protowire.Number = 14
	fSpanStatus            protowire.Number = 15
	fSpanFlags             protowire.Number = 16 // fixed32

	// Span.Event
	fEventTime              protowire.Number = 1 // fixed64
	fEventName              protowire.Number = 2
	fEventAttributes        protowire.Number = 3
	fEventDroppedAttributes protowire.Number = 4

	// Span.Link
	fLinkTraceID           protowire.Number = 1
	fLinkSpanID            protowire.Number = 2
	fLinkTraceState        protowire.Number = 3
	fLinkAttributes        protowire.Number = 4
	fLinkDroppedAttributes protowire.Number = 5
	fLinkFlags             protowire.Number = 6 // fixed32

	// Status
	fStatusMessage protowire.Number = 2
	fStatusCode    protowire.Number = 3

	// KeyValue
	fKeyValueKey   protowire.Number = 1
	fKeyValueValue protowire.Number = 2

	// AnyValue (a oneof: the field set is always written, even a zero)
	fAnyString protowire.Number = 1
	fAnyBool   protowire.Number = 2
	fAnyInt    protowire.Number = 3
	fAnyDouble protowire.Number = 4 // fixed64
	fAnyArray  protowire.Number = 5

	// ArrayValue
	fArrayValues protowire.Number = 1

	// ExportTraceServiceResponse and ExportTracePartialSuccess
	fResponsePartialSuccess protowire.Number = 1
	fPartialRejectedSpans   protowire.Number = 1
	fPartialErrorMessage    protowire.Number = 2
)

// Span flags of trace.proto's SpanFlags: the low byte is the W3C trace
// flags; the two bits above say whether the parent (of a span) or the
// linked span (of a link) is known to be remote, and whether it is.
const (
	flagsContextHasIsRemote uint32 = 0x100
	flagsContextIsRemote    uint32 = 0x200
)

// Span kinds of trace.proto's Span.SpanKind.
const (
	kindUnspecified uint64 = iota
	kindInternal
	kindServer
	kindClient
	kindProducer
	kindConsumer
)

// Status codes of trace.proto's Status.StatusCode.
const (
	statusUnset uint64 = iota
	statusOK
	statusError
)

// AppendRequest appends to b the binary protobuf encoding of an OTLP
// ExportTraceServiceRequest carrying spans, grouped by resource and then
// by instrumentation scope in the order they first appear, and returns the
// extended buffer. Nil spans are skipped.
func AppendRequest(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	type scopeKey struct {
		res   attribute.Distinct
		scope instrumentation.Scope
	}
	type group struct {
		res    *resource.Resource
		scopes []scopeKey
	}
	var order []attribute.Distinct
	groups := map[attribute.Distinct]*group{}
	members := map[scopeKey][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s == nil {
			continue
		}
		res := s.Resource()
		rk := res.Equivalent()
		g, ok := groups[rk]
		if !ok {
			g = &group{res: res}
			groups[rk] = g
			order = append(order, rk)
		}
		sk := scopeKey{rk, s.InstrumentationScope()}
		if _, ok := members[sk]; !ok {
			g.scopes = append(g.scopes, sk)
		}
		members[sk] = append(members[sk], s)
	}
	for _, rk := range order {
		g := groups[rk]
		b = appendMessage(b, fRequestResourceSpans, func(b []byte) []byte {
			b = appendMessage(b, fResourceSpansResource, func(b []byte) []byte {
				return appendAttributes(b, fResourceAttributes, g.res.Iter())
			})
			for _, sk := range g.scopes {
				b = appendMessage(b, fResourceSpansScopeSpans, func(b []byte) []byte {
					b = appendMessage(b, fScopeSpansScope, func(b []byte) []byte {
						return appendScope(b, sk.scope)
					})
					for _, s := range members[sk] {
						b = appendMessage(b, fScopeSpansSpans, func(b []byte) []byte { return appendSpan(b, s) })
					}
					return appendString(b, fScopeSpansSchemaURL, sk.scope.SchemaURL)
				})
			}
			return appendString(b, fResourceSpansSchemaURL, g.res.SchemaURL())
		})
	}
	return b
}

func appendScope(b []byte, s instrumentation.Scope) []byte {
	b = appendString(b, fScopeName, s.Name)
	b = appendString(b, fScopeVersion, s.Version)
	it := s.Attributes.Iter()
	return appendAttributes(b, fScopeAttributes, it)
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	b = appendString(b, fSpanTraceState, sc.TraceState().String())
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		b = appendBytes(b, fSpanParentSpanID, psid[:])
	}
	b = appendString(b, fSpanName, s.Name())
	b = appendVarint(b, fSpanKind, spanKind(s.SpanKind()))
	b = appendFixed64(b, fSpanStartTime, unixNano(s.StartTime().UnixNano()))
	b = appendFixed64(b, fSpanEndTime, unixNano(s.EndTime().UnixNano()))
	b = appendKeyValues(b, fSpanAttributes, s.Attributes())
	b = appendVarint(b, fSpanDroppedAttributes, count(s.DroppedAttributes()))
	for _, e := range s.Events() {
		b = appendMessage(b, fSpanEvents, func(b []byte) []byte {
			b = appendFixed64(b, fEventTime, unixNano(e.Time.UnixNano()))
			b = appendString(b, fEventName, e.Name)
			b = appendKeyValues(b, fEventAttributes, e.Attributes)
			return appendVarint(b, fEventDroppedAttributes, count(e.DroppedAttributeCount))
		})
	}
	b = appendVarint(b, fSpanDroppedEvents, count(s.DroppedEvents()))
	for _, l := range s.Links() {
		b = appendMessage(b, fSpanLinks, func(b []byte) []byte {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			b = appendBytes(b, fLinkTraceID, ltid[:])
			b = appendBytes(b, fLinkSpanID, lsid[:])
			b = appendString(b, fLinkTraceState, l.SpanContext.TraceState().String())
			b = appendKeyValues(b, fLinkAttributes, l.Attributes)
			b = appendVarint(b, fLinkDroppedAttributes, count(l.DroppedAttributeCount))
			return appendFixed32(b, fLinkFlags, flags(l.SpanContext.TraceFlags(), l.SpanContext))
		})
	}
	b = appendVarint(b, fSpanDroppedLinks, count(s.DroppedLinks()))
	st := s.Status()
	b = appendMessage(b, fSpanStatus, func(b []byte) []byte {
		b = appendString(b, fStatusMessage, st.Description)
		return appendVarint(b, fStatusCode, statusCode(st.Code))
	})
	return appendFixed32(b, fSpanFlags, flags(sc.TraceFlags(), s.Parent()))
}

// flags are a span's (or link's) W3C trace flags and whether remote is a
// remote context: for a span its parent, for a link the linked span. The
// SDK always knows, so the "has is remote" bit is always set.
func flags(tf trace.TraceFlags, remote trace.SpanContext) uint32 {
	f := uint32(tf) | flagsContextHasIsRemote
	if remote.IsRemote() {
		f |= flagsContextIsRemote
	}
	return f
}

func spanKind(k trace.SpanKind) uint64 {
	switch k {
	case trace.SpanKindInternal:
		return kindInternal
	case trace.SpanKindServer:
		return kindServer
	case trace.SpanKindClient:
		return kindClient
	case trace.SpanKindProducer:
		return kindProducer
	case trace.SpanKindConsumer:
		return kindConsumer
	default:
		return kindUnspecified
	}
}

func statusCode(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return statusOK
	case codes.Error:
		return statusError
	default:
		return statusUnset
	}
}

// unixNano is a time as the proto's unsigned nanoseconds; a time before
// 1970 (the zero time.Time among them) is 0, "unknown".
func unixNano(ns int64) uint64 { return uint64(max(ns, 0)) }

// count is a dropped count as the proto's uint32, clamped.
func count(n int) uint64 { return uint64(min(max(n, 0), math.MaxUint32)) }

func appendAttributes(b []byte, num protowire.Number, it attribute.Iterator) []byte {
	for it.Next() {
		b = appendKeyValue(b, num, it.Attribute())
	}
	return b
}

func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = appendKeyValue(b, num, kv)
	}
	return b
}

func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	return appendMessage(b, num, func(b []byte) []byte {
		b = appendString(b, fKeyValueKey, string(kv.Key))
		if kv.Value.Type() == attribute.INVALID {
			return b // no value: the proto's unset AnyValue
		}
		return appendMessage(b, fKeyValueValue, func(b []byte) []byte { return appendValue(b, kv.Value) })
	})
}

// appendValue appends the fields of an AnyValue holding v.
func appendValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return appendBool(b, v.AsBool())
	case attribute.INT64:
		return appendInt(b, v.AsInt64())
	case attribute.FLOAT64:
		return appendDouble(b, v.AsFloat64())
	case attribute.STRING:
		return appendAnyString(b, v.AsString())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), appendBool)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), appendInt)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), appendDouble)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), appendAnyString)
	default:
		return b
	}
}

func appendArray[T any](b []byte, vs []T, appendOne func([]byte, T) []byte) []byte {
	return appendMessage(b, fAnyArray, func(b []byte) []byte {
		for _, v := range vs {
			b = appendMessage(b, fArrayValues, func(b []byte) []byte { return appendOne(b, v) })
		}
		return b
	})
}

// The oneof members of AnyValue are written even when zero.

func appendBool(b []byte, v bool) []byte {
	b = protowire.AppendTag(b, fAnyBool, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeBool(v))
}

func appendInt(b []byte, v int64) []byte {
	b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendDouble(b []byte, v float64) []byte {
	b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func appendAnyString(b []byte, v string) []byte {
	b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// The plain (proto3, non-oneof) fields below are omitted when zero, as
// the generated code omits them.

func appendString(b []byte, num protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// appendMessage appends field num holding the message content appends,
// length-delimited. It reserves one byte for the length and moves the
// content only when it is 128 bytes or longer, so nesting costs no extra
// buffers.
func appendMessage(b []byte, num protowire.Number, content func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	b = append(b, 0)
	b = content(b)
	n := len(b) - at - 1
	size := protowire.SizeVarint(uint64(n))
	if size == 1 {
		b[at] = byte(n)
		return b
	}
	b = append(b, make([]byte, size-1)...)
	copy(b[at+size:], b[at+1:at+1+n])
	protowire.AppendVarint(b[:at], uint64(n))
	return b
}

// parsePartialSuccess reads ExportTraceServiceResponse.partial_success
// from a protobuf response body. A body that does not parse (a collector
// answering JSON or text) counts as full success.
func parsePartialSuccess(body []byte) (rejected int64, msg string) {
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, ""
		}
		body = body[n:]
		if num == fResponsePartialSuccess && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return 0, ""
			}
			rejected, msg = parsePartial(v)
			body = body[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, body)
		if n < 0 {
			return 0, ""
		}
		body = body[n:]
	}
	return rejected, msg
}

func parsePartial(b []byte) (rejected int64, msg string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return rejected, msg
		}
		b = b[n:]
		switch {
		case num == fPartialRejectedSpans && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return rejected, msg
			}
			rejected, b = int64(v), b[n:]
		case num == fPartialErrorMessage && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return rejected, msg
			}
			msg, b = string(v), b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return rejected, msg
			}
			b = b[n:]
		}
	}
	return rejected, msg
}

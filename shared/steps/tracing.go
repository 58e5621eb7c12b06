package steps

import (
	"cmp"
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/raprov/raprov/events"
)

// TracerName is the instrumentation scope of the step spans.
const TracerName = "github.com/raprov/raprov/shared/steps"

// Span outcomes (attribute raprov.outcome).
const (
	OutcomeOK         = "ok"          // the step emitted the next event(s), or nothing (a duplicate)
	OutcomeFailed     = "failed"      // the step ended the request: provisioning.failed
	OutcomeRetry      = "retry"       // the step re-emitted its input for another attempt
	OutcomeDeadLetter = "dead_letter" // the input goes to the dead-letter queue
	OutcomeError      = "error"       // the step failed unexpectedly: the input is delivered again
)

// Tracing makes each run of the step called name one span of the request's
// trace, and hands the trace on to every event the run emits, so that one
// request's hops across queues and functions form one trace (W3C Trace
// Context, carried in the events' traceparent extension):
//
//   - The parent is in.TraceParent when it is a valid W3C traceparent. When
//     there is none, or it is invalid (never trusted, never an error), the
//     run starts a new trace: intake does for every request submitted
//     without one.
//   - The span "raprov <name>" (kind consumer) is started by tp's tracer, or
//     the global OpenTelemetry tracer provider's when tp is nil — a no-op
//     unless the process installed an SDK (shared/tracing; only the CLI
//     does). Its attributes: the step, the request id, the event's id and
//     type, attempt and replay count; at the end the emitted types, the
//     outcome (see the Outcome* constants), the failure or dead-letter
//     reason, and an error as exception event and error status.
//   - Every event the run returns, and those a *DeadLetterError asks to
//     emit, get the span's traceparent: the span becomes the parent of the
//     next hop's span.
//
// A no-op tracer gives the span no id of its own. Tracing then makes the
// span's context itself — the parent's trace and flags with a new random
// span id, or a new trace (sampled, see events.NewTraceContext) — and puts
// it into the context, so the chain is one trace either way and the logs
// carry its ids. Put Tracing outside Logging, which adds trace_id and
// span_id to every log line of the run.
func Tracing(name string, tp trace.TracerProvider) Middleware {
	var tracer trace.Tracer
	if tp == nil {
		// The global provider's tracer follows an SDK installed later.
		tracer = otel.Tracer(TracerName)
	} else {
		tracer = tp.Tracer(TracerName)
	}
	spanName := "raprov " + name
	return func(next Step) Step {
		return func(ctx context.Context, in events.Event) ([]events.Event, error) {
			parent, hasParent := events.ParseTraceParent(in.TraceParent)
			opts := []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					attribute.String("raprov.step", name),
					attribute.String("raprov.request_id", cmp.Or(in.Subject, in.Data.Request.RequestID)),
					attribute.String("raprov.event.id", in.ID),
					attribute.String("raprov.event.type", in.Type),
					attribute.Int("raprov.attempt", in.Attempt),
					attribute.Int("raprov.replay_count", in.ReplayCount),
					attribute.String("messaging.operation.type", "process"),
					attribute.String("messaging.destination.name", name),
					attribute.String("messaging.message.id", in.ID),
				),
			}
			if hasParent {
				ctx = trace.ContextWithRemoteSpanContext(ctx, spanContext(parent, true))
			} else {
				// Whatever span the host's context holds is not the
				// request's: its trace starts here.
				opts = append(opts, trace.WithNewRoot())
				if in.TraceParent != "" {
					opts = append(opts, trace.WithAttributes(attribute.Bool("raprov.traceparent_invalid", true)))
				}
			}
			before := trace.SpanContextFromContext(ctx)
			ctx, span := tracer.Start(ctx, spanName, opts...)
			defer span.End()
			sc := span.SpanContext()
			if !sc.IsValid() || sc.SpanID() == before.SpanID() {
				// A no-op tracer: make this span's context.
				tc := events.NewTraceContext()
				if hasParent {
					tc = parent.Child()
				}
				sc = spanContext(tc, false)
				ctx = trace.ContextWithSpanContext(ctx, sc)
			}
			traceParent := traceParentOf(sc)

			out, err := next(ctx, in)

			for i := range out {
				out[i].TraceParent = traceParent
			}
			if err != nil {
				if d, ok := AsDeadLetter(err); ok {
					for i := range d.Emit {
						d.Emit[i].TraceParent = traceParent
					}
					span.SetAttributes(
						attribute.String("raprov.outcome", OutcomeDeadLetter),
						attribute.String("raprov.dead_letter.reason", d.Reason),
						attribute.StringSlice("raprov.emitted", types(d.Emit)),
					)
					span.SetStatus(codes.Error, "dead-letter: "+d.Reason)
					return out, err
				}
				msg := errMessage(err)
				span.SetAttributes(attribute.String("raprov.outcome", OutcomeError))
				// Recorded by hand rather than with RecordError, which
				// would export err.Error(): an *apperr.Error's cause can
				// carry URLs with request data (see errMessage).
				span.AddEvent("exception", trace.WithAttributes(
					attribute.String("exception.type", fmt.Sprintf("%T", err)),
					attribute.String("exception.message", msg),
				))
				span.SetStatus(codes.Error, msg)
				return out, err
			}
			span.SetAttributes(attribute.StringSlice("raprov.emitted", types(out)), attribute.String("raprov.outcome", outcome(in, out)))
			for _, e := range out {
				if e.Data.Failure != nil {
					span.SetAttributes(attribute.String("raprov.failure.reason", string(e.Data.Failure.Reason)))
					break
				}
			}
			return out, nil
		}
	}
}

// outcome classifies a run that returned out without an error.
func outcome(in events.Event, out []events.Event) string {
	for _, e := range out {
		switch {
		case e.Type == events.TypeProvisioningFailed && in.Type != events.TypeProvisioningFailed:
			return OutcomeFailed
		case e.Type == in.Type && e.Attempt > in.Attempt:
			return OutcomeRetry
		}
	}
	return OutcomeOK
}

func types(evs []events.Event) []string {
	t := make([]string, len(evs))
	for i, e := range evs {
		t[i] = e.Type
	}
	return t
}

// spanContext is the OpenTelemetry span context of tc.
func spanContext(tc events.TraceContext, remote bool) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID(tc.TraceID),
		SpanID:     trace.SpanID(tc.ParentID),
		TraceFlags: trace.TraceFlags(tc.Flags),
		Remote:     remote,
	})
}

// traceParentOf is the traceparent that makes sc the parent of the next hop.
func traceParentOf(sc trace.SpanContext) string {
	return events.TraceContext{TraceID: sc.TraceID(), ParentID: sc.SpanID(), Flags: byte(sc.TraceFlags())}.String()
}

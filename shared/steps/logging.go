package steps

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/logctx"
)

type loggerKey struct{}

// NewContext returns ctx carrying log.
func NewContext(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// LoggerFrom returns the logger in ctx, or slog.Default. Log with the
// context (InfoContext and the like) so that its tags are added.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// Logging tags the context with the step, the request id, the event id
// and, when the context holds a span (see Tracing, which runs outside it),
// its trace_id and span_id (see shared/logctx: records logged with the
// context carry them, the adapters' too when their logger's handler is
// wrapped by logctx.Handler), puts log into it for LoggerFrom, and logs
// each step run with its outcome and duration.
func Logging(log *slog.Logger, step string) Middleware {
	l := slog.New(logctx.Handler(log.Handler()))
	return func(next Step) Step {
		return func(ctx context.Context, in events.Event) ([]events.Event, error) {
			// A provisioning.requested event may have no subject yet.
			ctx = logctx.With(ctx, "step", step, "request_id", cmp.Or(in.Subject, in.Data.Request.RequestID), "event_id", in.ID)
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				ctx = logctx.With(ctx, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
			}
			ctx = NewContext(ctx, l)
			start := time.Now()
			out, err := next(ctx, in)
			attrs := []any{"type", in.Type, "attempt", in.Attempt, "duration_ms", time.Since(start).Milliseconds()}
			if err != nil {
				l.WarnContext(ctx, "step error", append(attrs, "error", err.Error())...)
				return out, err
			}
			types := make([]string, len(out))
			for i, e := range out {
				types[i] = e.Type
			}
			l.InfoContext(ctx, "step done", append(attrs, "emitted", types)...)
			return out, nil
		}
	}
}

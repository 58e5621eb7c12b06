package steps

import (
	"context"
	"log/slog"
	"time"

	"github.com/raprov/raprov/events"
)

type loggerKey struct{}

// NewContext returns ctx carrying log.
func NewContext(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// LoggerFrom returns the logger in ctx, or slog.Default.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// Logging puts a logger tagged with the step, the request id and the event
// into the context, and logs each step run with its outcome and duration.
func Logging(log *slog.Logger, step string) Middleware {
	return func(next Step) Step {
		return func(ctx context.Context, in events.Event) ([]events.Event, error) {
			l := log.With("step", step, "request_id", in.Subject, "event_id", in.ID)
			ctx = NewContext(ctx, l)
			start := time.Now()
			out, err := next(ctx, in)
			attrs := []any{"type", in.Type, "attempt", in.Attempt, "duration_ms", time.Since(start).Milliseconds()}
			if err != nil {
				l.Warn("step error", append(attrs, "error", err.Error())...)
				return out, err
			}
			types := make([]string, len(out))
			for i, e := range out {
				types[i] = e.Type
			}
			l.Info("step done", append(attrs, "emitted", types)...)
			return out, nil
		}
	}
}

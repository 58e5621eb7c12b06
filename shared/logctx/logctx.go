// Package logctx carries log attributes in a context.Context — the request
// id, the step, the event id — and, through Handler, adds them to every
// record logged with that context: a step's, or an adapter's that knows
// nothing of requests, as long as its logger's handler is wrapped by
// Handler (raprov's loggers are).
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns ctx carrying args (slog key-value pairs or slog.Attr values)
// after those ctx already carries.
func With(ctx context.Context, args ...any) context.Context {
	if len(args) == 0 {
		return ctx
	}
	r := slog.Record{}
	r.Add(args...)
	attrs := append([]slog.Attr(nil), From(ctx)...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, key{}, attrs)
}

// From returns the attributes ctx carries.
func From(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	attrs, _ := ctx.Value(key{}).([]slog.Attr)
	return attrs
}

// Handler returns a handler that adds the attributes of a record's context
// to the record and passes it to next. Wrapping a handler it returned
// returns that handler unchanged, so attributes are never added twice.
func Handler(next slog.Handler) slog.Handler {
	if h, ok := next.(handler); ok {
		return h
	}
	return handler{next}
}

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := From(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler { return handler{h.next.WithAttrs(attrs)} }
func (h handler) WithGroup(name string) slog.Handler       { return handler{h.next.WithGroup(name)} }

package steps

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/raprov/raprov/events"
)

// Recover turns a panic in a step into an error, so the input is left
// unacknowledged (and eventually dead-lettered by the transport) instead of
// crashing the host.
func Recover() Middleware {
	return func(next Step) Step {
		return func(ctx context.Context, in events.Event) (out []events.Event, err error) {
			defer func() {
				if r := recover(); r != nil {
					LoggerFrom(ctx).ErrorContext(ctx, "step panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					out, err = nil, fmt.Errorf("step panicked: %v", r)
				}
			}()
			return next(ctx, in)
		}
	}
}

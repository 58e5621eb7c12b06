package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/raprov/raprov/events"
)

// Step is one queue-triggered function of the chain. It reads one event and
// returns the events to publish. The transport runner publishes them and
// then acknowledges the input; on an error, a panic or a failed publish it
// does not acknowledge, and the input is delivered again later.
type Step func(ctx context.Context, in events.Event) ([]events.Event, error)

// Middleware wraps a Step with cross-cutting behaviour.
type Middleware func(Step) Step

// Wrap applies middleware to s; the first middleware is the outermost.
func Wrap(s Step, mw ...Middleware) Step {
	for i := len(mw) - 1; i >= 0; i-- {
		s = mw[i](s)
	}
	return s
}

// DeadLetterError asks the runner to publish Emit and to move the input to
// the dead-letter queue with Reason instead of acknowledging it. Steps
// return it (through the Retry middleware) when a request failed for a
// reason an operator should look at, e.g. retries exhausted, so the input
// can be replayed once the cause is fixed.
type DeadLetterError struct {
	Reason string
	Detail string
	Emit   []events.Event
}

func (e *DeadLetterError) Error() string {
	return fmt.Sprintf("dead-letter input (%s): %s", e.Reason, e.Detail)
}

// AsDeadLetter returns the *DeadLetterError in err's chain, if any.
func AsDeadLetter(err error) (*DeadLetterError, bool) {
	var d *DeadLetterError
	ok := errors.As(err, &d)
	return d, ok
}

// Production wraps the function of the step called name in the middleware
// every host runs it with: a span of the request's trace whose traceparent
// every emitted event carries (see Tracing; the global OpenTelemetry tracer
// provider, a no-op unless the process installed one), a logger carrying
// the request id and the trace id, panic recovery, and the Retry table
// (see Retry).
func Production(name string, s Step, cfg Config, log *slog.Logger) Step {
	return Wrap(s, Tracing(name, nil), Logging(log, name), Recover(), Retry(name, cfg))
}

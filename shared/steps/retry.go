package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Retry turns the errors of a step into events, following DESIGN §4:
//
//   - transient errors (throttling, unavailability, replication lag marked
//     with retryable) re-emit the input to the step's own queue after a
//     backoff that honours the server's Retry-After, counting attempts in
//     the event; once cfg.MaxAttempts is reached the request fails with
//     retries_exhausted and the input is dead-lettered for replay;
//   - permanent *apperr.Error values fail the request with their reason
//     (or one derived from their code) and acknowledge the input;
//   - anything else (bugs, unexpected responses) is returned unchanged, so
//     the input is delivered again and dead-lettered by the transport after
//     its maximum receive count.
func Retry(step string, cfg Config) Middleware {
	cfg = cfg.withDefaults()
	source := events.Source(step)
	return func(next Step) Step {
		return func(ctx context.Context, in events.Event) ([]events.Event, error) {
			out, err := next(ctx, in)
			if err == nil {
				return out, nil
			}
			if _, ok := AsDeadLetter(err); ok {
				return nil, err
			}
			e, ok := apperr.As(err)
			if !ok {
				return nil, err
			}
			if isRetryable(err) {
				if in.Attempt+1 >= cfg.MaxAttempts {
					failed := in.Fail(source, events.Failure{
						Reason:  events.ReasonRetriesExhausted,
						Message: fmt.Sprintf("gave up after %d attempts: %s", in.Attempt+1, errMessage(e)),
					})
					return nil, &DeadLetterError{Reason: string(events.ReasonRetriesExhausted), Detail: errMessage(e), Emit: []events.Event{failed}}
				}
				delay := min(max(cfg.Retry.Delay(in.Attempt), apperr.RetryAfterOf(err)), MaxRetryDelay)
				LoggerFrom(ctx).InfoContext(ctx, "retrying later", "error", errMessage(e), "delay_ms", delay.Milliseconds(), "attempt", in.Attempt+1)
				next := in
				var r errRetryable
				if errors.As(err, &r) && r.progress != nil {
					next.Data.Progress = *r.progress
				}
				return []events.Event{next.Retry(delay)}, nil
			}
			if e.Code == apperr.Internal {
				return nil, err
			}
			return []events.Event{in.Fail(source, events.Failure{Reason: reasonOf(e), Message: errMessage(e)})}, nil
		}
	}
}

// MaxRetryDelay caps the delay of one retry, whatever Retry-After a server
// asks for: a misbehaving callback receiver must not park a request for years.
const MaxRetryDelay = 15 * time.Minute

// errMessage is the text of err that may travel in events, ledgers and
// dead letters: an *apperr.Error's Message (its code when empty), never the
// wrapped cause, which can carry URLs with request data or token-endpoint
// responses.
func errMessage(err error) string {
	e, ok := apperr.As(err)
	if !ok {
		return err.Error()
	}
	msg := e.Message
	if msg == "" {
		msg = string(e.Code)
	}
	if e.Reason != "" && e.Message == "" {
		msg += " (" + string(e.Reason) + ")"
	}
	return msg
}

// errRetryable marks an error that is worth retrying although its code is
// not transient by itself, e.g. NotFound right after a create. progress,
// when set, is what the step learned before failing; the retry carries it.
type errRetryable struct {
	err      error
	progress *events.Progress
}

func (e errRetryable) Error() string { return e.err.Error() }
func (e errRetryable) Unwrap() error { return e.err }

// retryable marks err as transient for the Retry middleware.
func retryable(err error) error { return errRetryable{err: err} }

// retryableWith is retryable, and the retry carries progress.
func retryableWith(err error, progress events.Progress) error {
	return errRetryable{err: err, progress: &progress}
}

func isRetryable(err error) bool {
	var r errRetryable
	return errors.As(err, &r) || apperr.IsTransient(err)
}

// reasonOf returns the reason of e, or one derived from its code.
func reasonOf(e *apperr.Error) events.Reason {
	if e.Reason != "" {
		return e.Reason
	}
	if e.Code == apperr.Forbidden {
		return events.ReasonPermissionDenied
	}
	return events.ReasonRejected
}

// fail returns an *apperr.Error that fails the request with reason.
func fail(reason events.Reason, format string, args ...any) error {
	return apperr.New(apperr.Invalid, reason, format, args...)
}

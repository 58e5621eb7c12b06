package steps

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// Notifier delivers a request's final result to its callbackUrl.
type Notifier interface {
	// Notify POSTs the final event to url, signed. Errors are
	// *apperr.Error values; transient ones are retried by the step.
	Notify(ctx context.Context, url string, final events.Event) error
}

// Complete ends a request: it turns account.associated into
// provisioning.completed (and passes provisioning.failed on), posts the
// result to the request's callbackUrl when there is one, and publishes it to
// the results destination. A callback that keeps failing does not change
// the outcome: the result is still published and the input is
// dead-lettered with reason callback_failed so the callback can be replayed.
func Complete(notifier Notifier, cfg Config) Step {
	cfg = cfg.withDefaults()
	source := events.Source(events.StepComplete)
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		var final events.Event
		if in.Type == events.TypeProvisioningFailed && in.Data.Failure != nil {
			final = in.Fail(source, *in.Data.Failure)
		} else {
			final = in.Next(events.TypeProvisioningCompleted, source)
		}
		url := in.Data.Request.CallbackURL
		if url == "" || notifier == nil {
			return []events.Event{final}, nil
		}
		err := notifier.Notify(ctx, url, final)
		if err == nil {
			return []events.Event{final}, nil
		}
		if apperr.IsTransient(err) && in.Attempt+1 < cfg.MaxAttempts {
			return nil, retryable(err)
		}
		return nil, &DeadLetterError{Reason: "callback_failed", Detail: err.Error(), Emit: []events.Event{final}}
	}
}

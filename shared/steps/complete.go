package steps

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// DeadLetterCallbackFailed is the dead-letter reason of a complete input
// whose callback could not be delivered; replaying it posts the callback again.
const DeadLetterCallbackFailed = "callback_failed"

// finalNamespace names the final events' ids (UUIDv5).
var finalNamespace = uuid.MustParse("6f1c3a52-0b7e-4f4d-9a55-3f1f0c2b8e10")

// finalID derives a request's final event id from the request, the
// outcome and the replay count.
func finalID(final events.Event) string {
	key := fmt.Sprintf("%s/%s/%d", final.Subject, final.Type, final.ReplayCount)
	return uuid.NewSHA1(finalNamespace, []byte(key)).String()
}

// FinalEvent is the final event the complete step publishes for its input
// in: provisioning.completed, or provisioning.failed carrying in's failure.
// The same outcome always has the same id across retries and
// re-deliveries of the input, so callback receivers and results consumers
// can deduplicate. A dead-letter replay (replaycount + 1) is a new round
// of the request and gets an id of its own: its outcome may differ, and a
// replayed callback_failed input must reach a receiver that dropped the
// first one.
func FinalEvent(in events.Event) events.Event {
	source := events.Source(events.StepComplete)
	var final events.Event
	if in.Type == events.TypeProvisioningFailed && in.Data.Failure != nil {
		final = in.Fail(source, *in.Data.Failure)
	} else {
		final = in.Next(events.TypeProvisioningCompleted, source)
	}
	final.ID = finalID(final)
	return final
}

// Notifier delivers a request's final result to its callbackUrl.
type Notifier interface {
	// Notify POSTs the final event to url, signed. Errors are
	// *apperr.Error values; transient ones are retried by the step.
	Notify(ctx context.Context, url string, final events.Event) error
}

// Complete ends a request: it releases the request's hold on its phone
// number (see NumberHolds), turns account.associated into
// provisioning.completed (and passes provisioning.failed on), posts the
// result to the request's callbackUrl when there is one, and publishes it to
// the results destination. A callback that keeps failing does not change
// the outcome: the result is still published and the input is
// dead-lettered with reason callback_failed so the callback can be replayed.
func Complete(notifier Notifier, holds NumberHolds, cfg Config) Step {
	cfg = cfg.withDefaults()
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		final := FinalEvent(in)
		// The request has ended: its number is the inventory's to tell
		// (assigned to the account, or free again) and no longer held.
		if req := in.Data.Request; holds != nil && req.PhoneNumber != "" && req.RequestID != "" {
			if err := holds.Release(ctx, req.PhoneNumber, req.RequestID); err != nil {
				return nil, err
			}
		}
		url := in.Data.Request.CallbackURL
		if url == "" || notifier == nil {
			return []events.Event{final}, nil
		}
		err := notifier.Notify(ctx, url, final)
		if err == nil {
			return []events.Event{final}, nil
		}
		// Complete counts its own attempts: once they run out, the outcome
		// still stands, so Retry's retries_exhausted failure must not apply.
		if apperr.IsTransient(err) && in.Attempt+1 < cfg.MaxAttempts {
			return nil, retryable(err)
		}
		return nil, &DeadLetterError{Reason: DeadLetterCallbackFailed, Detail: errMessage(err), Emit: []events.Event{final}}
	}
}

// Package submission names what submitting a provisioning request to
// intake did, for every door (CLI, HTTP, scheduled files) and every host
// (the embedded default, SQS): the request was queued, it was a duplicate of
// one submitted before under its id, or its id was already used for a
// different request.
package submission

import (
	"context"

	"github.com/raprov/raprov/events"
)

// Outcome is what a submission did with one request.
type Outcome string

// Outcomes.
const (
	// Sent: the request was queued now.
	Sent Outcome = "submitted"
	// Duplicate: the same request was submitted before under its id;
	// nothing was sent (it is provisioned once).
	Duplicate Outcome = "duplicate"
	// Conflict: the id was used for a different request; this one was
	// refused and nothing was sent (reason request_conflict).
	Conflict Outcome = Outcome(events.ReasonRequestConflict)
)

// Submitted is the result of submitting one request.
type Submitted struct {
	Outcome Outcome
	// Event is the provisioning.requested event built for the request; it
	// was published only when Outcome is Sent.
	Event events.Event
}

// Submitter queues requests for intake. Submit returns one Submitted per
// request, in order. A request is sent only when no earlier submission
// claimed its id; the same id with the same fingerprint
// (events.Request.Fingerprint) is a Duplicate and a different one a
// Conflict, and neither is sent. An error means the submission as a whole
// failed: the sender retries under the same request ids.
type Submitter interface {
	Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]Submitted, error)
}

// SubmitterFunc adapts a function to Submitter.
type SubmitterFunc func(ctx context.Context, traceParent string, reqs []events.Request) ([]Submitted, error)

// Submit calls f.
func (f SubmitterFunc) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]Submitted, error) {
	return f(ctx, traceParent, reqs)
}

// SentEvents returns the events of the submissions that were sent.
func SentEvents(subs []Submitted) []events.Event {
	var out []events.Event
	for _, s := range subs {
		if s.Outcome == Sent {
			out = append(out, s.Event)
		}
	}
	return out
}

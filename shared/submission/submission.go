// Package submission names what submitting a provisioning request to
// intake did, for every door (CLI, HTTP, scheduled files) and every host
// (the embedded default, SQS): the request was queued, it was a duplicate of
// one submitted before under its id, or its id was already used for a
// different request.
package submission

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/ledger"
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

// MaxRequestEvent is the largest provisioning.requested event a door
// submits: half of events.MaxSize. The rest is room for what the chain adds
// to the request's later events: the failure intake writes about it, what
// the steps learn, and the normalised request, which can be longer
// (lower-casing turns some 2-byte letters into 3-byte ones). A request that
// validates takes a few KiB at most (events/validate's field limits), so
// this refuses only requests intake would refuse, and those whose refusal
// would not fit in an event: such a request would never end.
const MaxRequestEvent = events.MaxSize / 2

// Fits reports why r cannot be submitted: its provisioning.requested event
// would be larger than MaxRequestEvent.
func Fits(r events.Request) error {
	ev := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: r})
	// The longest time an event can carry (RFC 3339 with nine digits of
	// nanoseconds), so that the event submitted is no longer than this one.
	ev.Time = ev.Time.Truncate(time.Second).Add(time.Second - 1)
	body, err := events.Encode(ev)
	size := fmt.Sprint(len(body))
	if p := (*events.PoisonError)(nil); errors.As(err, &p) && p.Reason == events.PoisonTooLarge {
		size, err = fmt.Sprintf("over %d", events.MaxSize), nil
	}
	if err != nil {
		return fmt.Errorf("the request cannot be submitted: %w", err)
	}
	if len(body) == 0 || len(body) > MaxRequestEvent {
		return fmt.Errorf("the request is too large to submit: its event would be %s bytes; raprov submits at most %d (a valid request takes a few KiB)",
			size, MaxRequestEvent)
	}
	return nil
}

// Prepared is a request made ready to submit: its provisioning.requested
// event and, when the request names its id, that id and the fingerprint as
// intake's claim will name them (validate.Normalize's). Every host builds
// its submissions with Prepare, so a claim made at submission and one made
// at intake always agree.
type Prepared struct {
	Event events.Event
	// RequestID and Fingerprint are empty when the request names no id:
	// intake gives it one, and nothing can be claimed before.
	RequestID, Fingerprint string
}

// Prepare builds the submission of r: a deprovision.requested event for a
// deprovision request, else provisioning.requested. The id is trimmed once, here, as
// intake trims it: every event and ledger line of the request then names
// the same id.
func Prepare(traceParent string, r events.Request) Prepared {
	r.RequestID = strings.TrimSpace(r.RequestID)
	p := Prepared{Event: events.New(events.RequestedType(r), "raprov/submit", events.Data{Request: r})}
	p.Event.TraceParent = traceParent
	if r.RequestID != "" {
		norm, _ := validate.Normalize(r, validate.Options{})
		p.RequestID, p.Fingerprint = norm.RequestID, norm.Fingerprint()
	}
	return p
}

// Record is the ledger line of the submission; none without a request id.
// Its Account is the submitted userPrincipalName trimmed and lower-cased,
// as intake normalises it; its Action is the request's when intake knows
// it ("" or deprovision), else "" (intake refuses the request).
func (p Prepared) Record() []ledger.Entry {
	if p.RequestID == "" {
		return nil
	}
	r := p.Event.Data.Request
	e := ledger.Entry{EventID: p.Event.ID, RequestID: p.RequestID, Type: p.Event.Type, Step: "submit", Time: p.Event.Time,
		Account: strings.ToLower(strings.TrimSpace(r.UserPrincipalName))}
	if r.Deprovision() {
		e.Action = r.Action
	}
	return []ledger.Entry{e}
}

// Against judges the submission against the claim on its request id: the
// holder's event id and fingerprint ("" when the id is not claimed). It is
// Sent when the id is free or this event holds it, Duplicate when the
// holder carries the same request (or was claimed before fingerprints were
// kept), else Conflict.
func (p Prepared) Against(holder, holderFingerprint string) Outcome {
	switch {
	case holder == "" || holder == p.Event.ID:
		return Sent
	case holderFingerprint == "" || holderFingerprint == p.Fingerprint:
		return Duplicate
	}
	return Conflict
}

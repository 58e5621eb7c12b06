// Package embedded runs the whole provisioning chain in one process on the
// durable local queue (shared/transport/local): one queue per step, each
// consumed by its step function, every hop — the step's output events, its
// ledger entries and the acknowledgement of its input — committed in one
// SQLite transaction. It is the embedded default of `raprov run`.
//
// Per delivery the runner
//   - decodes the event; an undecodable one is poison and goes straight to
//     the dead-letter queue with the decoder's reason, and one of a type
//     routed to another step's queue with reason misrouted;
//   - runs the step; a *steps.DeadLetterError publishes the events it
//     carries and dead-letters the input with its reason; any other error
//     leaves the input for redelivery after the visibility timeout (and the
//     dead-letter queue after MaxReceive);
//   - routes each output by events.Destination and commits the hop.
package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// Options configure a Chain. Zero values select the defaults.
type Options struct {
	// Concurrency bounds the running handlers per step; default 8.
	Concurrency int
	// Visibility is the queues' visibility timeout; default 30 s.
	Visibility time.Duration
	// MaxReceive is how often a message is delivered before it is
	// dead-lettered; default 5.
	MaxReceive int
	// PollInterval is the longest idle poll interval; default 1 s.
	PollInterval time.Duration
	// Logger receives JSON logs; default slog.Default().
	Logger *slog.Logger
}

// Chain is the provisioning chain on a local store.
type Chain struct {
	store   *local.Store
	steps   map[string]steps.Step
	queues  map[string]*local.Queue
	results *local.Queue
	opts    Options
	log     *slog.Logger
}

// New registers one queue per step of events.Steps plus the results queue on
// store. stepFns maps step names (events.Step*) to their functions, already
// wrapped in middleware; every step must be present.
func New(store *local.Store, stepFns map[string]steps.Step, opts Options) (*Chain, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Visibility <= 0 {
		opts.Visibility = 30 * time.Second
	}
	if opts.MaxReceive <= 0 {
		opts.MaxReceive = 5
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Chain{store: store, steps: stepFns, queues: map[string]*local.Queue{}, opts: opts, log: opts.Logger}
	qo := local.QueueOptions{Visibility: opts.Visibility, MaxReceive: opts.MaxReceive}
	for _, name := range events.Steps {
		if stepFns[name] == nil {
			return nil, fmt.Errorf("embedded: no function for step %q", name)
		}
		sqo := qo
		sqo.Exhausted = c.exhausted(name)
		c.queues[name] = store.Queue(name, sqo)
	}
	c.results = store.Queue(events.Results, qo)
	return c, nil
}

// Queue returns the queue of a step, or of events.Results.
func (c *Chain) Queue(name string) *local.Queue {
	if name == events.Results {
		return c.results
	}
	return c.queues[name]
}

// Run consumes every step's queue until ctx is done, then waits for running
// steps to finish (graceful shutdown).
func (c *Chain) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(events.Steps))
	for i, name := range events.Steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = local.Consume(ctx, c.queues[name], local.ConsumeOptions{
				Concurrency:  c.opts.Concurrency,
				PollInterval: c.opts.PollInterval,
			}, c.handler(name))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Submit publishes a provisioning.requested event for each request and
// records it in the ledger, claiming each request id in the same
// transaction (see local.Store.SubmitClaimed). A request whose id was
// submitted before with the same normalised content is not sent again; one
// whose id was used for a different request is refused (request_conflict)
// and not sent. The results are in the order of reqs. A request without id
// gets one at intake, so its event's subject is empty here and the event id
// identifies it.
func (c *Chain) Submit(ctx context.Context, traceParent string, reqs ...events.Request) ([]Submitted, error) {
	return publishRequests(ctx, c.store, traceParent, reqs)
}

// Submit publishes requests to the intake queue of the chain on store,
// which may be run by another process (raprov submit), as Chain.Submit does.
// It registers the intake queue with default options; use Chain.Submit in
// the process that runs the chain.
func Submit(ctx context.Context, store *local.Store, traceParent string, reqs ...events.Request) ([]Submitted, error) {
	store.Queue(events.StepIntake, local.QueueOptions{})
	return publishRequests(ctx, store, traceParent, reqs)
}

// SubmitOutcome is what Submit did with one request.
type SubmitOutcome string

// Submit outcomes.
const (
	// Sent: the request was queued now.
	Sent SubmitOutcome = "submitted"
	// Duplicate: the same request was submitted before under its id;
	// nothing was sent (it is provisioned once).
	Duplicate SubmitOutcome = "duplicate"
	// Conflict: the id was used for a different request; this one was
	// refused and nothing was sent (reason request_conflict).
	Conflict SubmitOutcome = SubmitOutcome(events.ReasonRequestConflict)
)

// Submitted is the result of submitting one request.
type Submitted struct {
	Outcome SubmitOutcome
	// Event is the provisioning.requested event built for the request; it
	// was published only when Outcome is Sent.
	Event events.Event
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

func publishRequests(ctx context.Context, store *local.Store, traceParent string, reqs []events.Request) ([]Submitted, error) {
	subs := make([]local.Submission, len(reqs))
	out := make([]Submitted, len(reqs))
	for i, r := range reqs {
		// The id is trimmed once, here, as intake would: every event and
		// ledger line of the request then names the same id.
		r.RequestID = strings.TrimSpace(r.RequestID)
		ev := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: r})
		ev.TraceParent = traceParent
		body, err := events.Encode(ev)
		if err != nil {
			return nil, fmt.Errorf("embedded: request %d: %w", i+1, err)
		}
		out[i].Event = ev
		subs[i] = local.Submission{EventID: ev.ID, Message: transport.Message{Body: body}}
		if r.RequestID != "" {
			// Intake claims with the normalised request's fingerprint;
			// this claim must name the same request the same way.
			norm, _ := validate.Normalize(r, validate.Options{})
			subs[i].RequestID, subs[i].Fingerprint = norm.RequestID, norm.Fingerprint()
			subs[i].Record = []ledger.Entry{{EventID: ev.ID, RequestID: norm.RequestID, Type: ev.Type, Step: "submit", Time: ev.Time}}
		}
	}
	holders, err := store.SubmitClaimed(ctx, events.StepIntake, subs)
	if err != nil {
		return nil, err
	}
	for i, h := range holders {
		switch {
		case h.EventID == subs[i].EventID:
			out[i].Outcome = Sent
		case h.Fingerprint == "" || h.Fingerprint == subs[i].Fingerprint:
			out[i].Outcome = Duplicate
		default:
			out[i].Outcome = Conflict
		}
	}
	return out, nil
}

// SubmitEvents publishes already-built events (a DLQ replay, a bulk door)
// to their destinations.
func (c *Chain) SubmitEvents(ctx context.Context, evs ...events.Event) error {
	send, err := route(evs)
	if err != nil {
		return err
	}
	return c.store.Publish(ctx, local.Hop{Send: send})
}

// route encodes events and groups them by destination queue
// (events.Destination), each delayed by its Delay.
func route(evs []events.Event) (map[string][]transport.Message, error) {
	send := map[string][]transport.Message{}
	for _, ev := range evs {
		body, err := events.Encode(ev)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", ev.Type, err)
		}
		dest := events.Destination(ev)
		send[dest] = append(send[dest], transport.Message{Body: body, Delay: ev.Delay})
	}
	return send, nil
}

func (c *Chain) handler(name string) local.Handler {
	step := c.steps[name]
	q := c.queues[name]
	source := events.Source(name)
	return func(ctx context.Context, d transport.Delivery) error {
		in, err := events.Decode(d.Body)
		if err != nil {
			reason := "poison"
			var p *events.PoisonError
			if errors.As(err, &p) {
				reason = p.Reason
			}
			c.log.Warn("poison message dead-lettered", "queue", name, "reason", reason, "error", err.Error())
			return q.Forward(ctx, d, local.Hop{DeadLetter: reason, Detail: err.Error()})
		}
		if consumer := events.ConsumerOf(in.Type); consumer != name {
			detail := fmt.Sprintf("%s events go to %s, not %s", in.Type, cmp.Or(consumer, events.Results), name)
			c.log.Warn("misrouted event dead-lettered", "queue", name, "type", in.Type, "request_id", in.Subject)
			return q.Forward(ctx, d, local.Hop{DeadLetter: transport.ReasonMisrouted, Detail: detail})
		}
		out, err := step(ctx, in)
		hop := local.Hop{}
		if dl, ok := steps.AsDeadLetter(err); ok {
			out, hop.DeadLetter, hop.Detail = dl.Emit, dl.Reason, dl.Detail
		} else if err != nil {
			if d.Received < c.opts.MaxReceive {
				return err // delivered again after the visibility timeout
			}
			// The last delivery: fail the request (so it reaches complete
			// and the ledger) and park the input for replay.
			c.log.Error("step keeps failing; request failed and input dead-lettered", "queue", name, "request_id", in.Subject, "error", err.Error())
			out = []events.Event{in.Fail(source, events.Failure{
				Reason:  events.ReasonRetriesExhausted,
				Message: fmt.Sprintf("%s failed on %d deliveries", name, d.Received),
			})}
			hop.DeadLetter, hop.Detail = transport.ReasonMaxReceive, err.Error()
		}
		if hop.Send, err = route(out); err != nil {
			return err
		}
		for _, ev := range out {
			if ev.Subject != "" {
				hop.Record = append(hop.Record, entry(name, in, ev))
			}
		}
		err = q.Forward(ctx, d, hop)
		if apperr.CodeOf(err) == apperr.NotFound {
			// Another delivery of the same message was acknowledged first
			// (its visibility timeout ran out while this one worked): its
			// hop went through and this one committed nothing.
			c.log.Debug("hop lost to a concurrent delivery", "queue", name, "error", err.Error())
			return nil
		}
		return err
	}
}

// exhausted ends the request of a message the sweep dead-letters: one
// whose deliveries all ended without an acknowledgement (the process died
// during the step, every time), so that no handler saw its last delivery.
// In the same transaction as the move:
//   - on a step's queue, the request fails with retries_exhausted in the
//     ledger and the results (a replay of the dead letter can still
//     complete it);
//   - on complete's queue, the outcome the input already carries is
//     recorded and published (a provisioned account is not reported as
//     failed), without its callback: a replay posts it;
//   - on intake's queue, only when the request id is this event's claim (or
//     unclaimed): a duplicate or conflicting submission must not end the
//     request that holds the id.
//
// An undecodable body ends nothing (it has no request to speak of).
func (c *Chain) exhausted(name string) func(body []byte, received int) local.Hop {
	source := events.Source(name)
	return func(body []byte, received int) local.Hop {
		in, err := events.Decode(body)
		if err != nil || in.Subject == "" {
			return local.Hop{}
		}
		if name == events.StepIntake {
			holder, _, err := c.store.Claims().Holder(context.Background(), in.Subject)
			if err != nil || holder != "" && holder != in.ID {
				return local.Hop{}
			}
		}
		var final events.Event
		if name == events.StepComplete {
			final = steps.FinalEvent(in)
		} else {
			final = in.Fail(source, events.Failure{
				Reason:  events.ReasonRetriesExhausted,
				Message: fmt.Sprintf("%s was interrupted on each of %d deliveries; the input is in the dead-letter queue", name, received),
			})
		}
		send, err := route([]events.Event{final})
		if err != nil {
			c.log.Error("ending an exhausted request", "queue", name, "request_id", in.Subject, "error", err.Error())
			return local.Hop{}
		}
		c.log.Error("step never finished; request ended and input dead-lettered", "queue", name, "request_id", in.Subject, "received", received, "outcome", final.Type)
		e := entry(name, in, final)
		if name == events.StepComplete {
			e.Detail = "the callback, if any, was not sent: replay the dead letter to post it"
		}
		return local.Hop{Send: send, Record: []ledger.Entry{e}}
	}
}

// entry is the ledger line for the event ev that step emitted for its input
// in.
func entry(step string, in, ev events.Event) ledger.Entry {
	e := ledger.Entry{EventID: ev.ID, RequestID: ev.Subject, Type: ev.Type, Step: step, Time: ev.Time, Attempt: ev.Attempt}
	if step == events.StepComplete {
		// A final event's id is the same for every run of the same outcome
		// (callbacks deduplicate on it); the ledger line is per input, so a
		// late duplicate that ran the chain again ends the request again.
		e.EventID = ev.ID + "/" + in.ID
	}
	if f := ev.Data.Failure; f != nil {
		e.Reason, e.Detail = string(f.Reason), f.Message
	}
	if step == events.StepComplete {
		switch ev.Type {
		case events.TypeProvisioningCompleted:
			e.Outcome = ledger.Completed
		case events.TypeProvisioningFailed:
			e.Outcome = ledger.Failed
		}
	}
	if ev.Delay > 0 && e.Detail == "" {
		e.Detail = fmt.Sprintf("scheduled in %s", ev.Delay.Round(time.Millisecond))
	}
	return e
}

// Package embedded runs the whole provisioning chain in one process on the
// durable local queue (shared/transport/local): one queue per step, each
// consumed by its step's runner (shared/runner), every hop — the step's
// output events, its ledger entries and the acknowledgement of its input —
// committed in one SQLite transaction. It is the embedded default of
// `raprov run`.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/submission"
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
	runners map[string]*runner.Runner
	queues  map[string]*local.Queue
	results *local.Queue
	opts    Options
	log     *slog.Logger
}

// New registers one queue per step of events.AllSteps plus the results queue on
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
	c := &Chain{store: store, runners: map[string]*runner.Runner{}, queues: map[string]*local.Queue{}, opts: opts, log: opts.Logger}
	qo := local.QueueOptions{Visibility: opts.Visibility, MaxReceive: opts.MaxReceive}
	holder := func(ctx context.Context, requestID string) (string, error) {
		h, _, err := store.Claims().Holder(ctx, requestID)
		return h, err
	}
	for _, name := range events.AllSteps {
		if stepFns[name] == nil {
			return nil, fmt.Errorf("embedded: no function for step %q", name)
		}
		c.runners[name] = runner.New(name, stepFns[name], runner.Options{MaxReceive: opts.MaxReceive, Holder: holder, Logger: opts.Logger})
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
	errs := make([]error, len(events.AllSteps))
	for i, name := range events.AllSteps {
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
func (c *Chain) Submit(ctx context.Context, traceParent string, reqs ...events.Request) ([]submission.Submitted, error) {
	return publishRequests(ctx, c.store, traceParent, reqs)
}

// Submit publishes requests to the intake queue of the chain on store,
// which may be run by another process (raprov submit), as Chain.Submit does.
// It registers the intake queue with default options; use Chain.Submit in
// the process that runs the chain.
func Submit(ctx context.Context, store *local.Store, traceParent string, reqs ...events.Request) ([]submission.Submitted, error) {
	store.Queue(events.StepIntake, local.QueueOptions{})
	return publishRequests(ctx, store, traceParent, reqs)
}

func publishRequests(ctx context.Context, store *local.Store, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
	subs := make([]local.Submission, len(reqs))
	prepared := make([]submission.Prepared, len(reqs))
	for i, r := range reqs {
		p := submission.Prepare(traceParent, r)
		body, err := events.Encode(p.Event)
		if err != nil {
			return nil, fmt.Errorf("embedded: request %d: %w", i+1, err)
		}
		prepared[i] = p
		subs[i] = local.Submission{EventID: p.Event.ID, Message: transport.Message{Body: body},
			RequestID: p.RequestID, Fingerprint: p.Fingerprint, Record: p.Record()}
	}
	holders, err := store.SubmitClaimed(ctx, events.StepIntake, subs)
	if err != nil {
		return nil, err
	}
	out := make([]submission.Submitted, len(reqs))
	for i, h := range holders {
		out[i] = submission.Submitted{Outcome: prepared[i].Against(h.EventID, h.Fingerprint), Event: prepared[i].Event}
	}
	return out, nil
}

// SubmitEvents publishes already-built events (a DLQ replay, a bulk door)
// to their destinations.
func (c *Chain) SubmitEvents(ctx context.Context, evs ...events.Event) error {
	send, err := runner.Route(evs)
	if err != nil {
		return err
	}
	return c.store.Publish(ctx, local.Hop{Send: send})
}

// handler applies the runner's outcome of each delivery in one SQLite
// transaction (local.Queue.Forward).
func (c *Chain) handler(name string) local.Handler {
	r := c.runners[name]
	q := c.queues[name]
	return func(ctx context.Context, d transport.Delivery) error {
		o := r.Handle(ctx, runner.Delivery{Body: d.Body, Received: d.Received})
		if o.Action == runner.Retry {
			return o.Err // delivered again after the visibility timeout
		}
		hop := local.Hop{Send: o.Send, Record: o.Record}
		if o.Action == runner.DeadLetter {
			hop.DeadLetter, hop.Detail = o.Reason, o.Detail
		}
		err := q.Forward(ctx, d, hop)
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

// exhausted ends the request of a message the sweep dead-letters
// (runner.Runner.Exhausted), in the same transaction as the move.
func (c *Chain) exhausted(name string) func(body []byte, received int) local.Hop {
	return func(body []byte, received int) local.Hop {
		o := c.runners[name].Exhausted(context.Background(), body, received)
		return local.Hop{Send: o.Send, Record: o.Record}
	}
}

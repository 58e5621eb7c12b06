// Package runner is the transport-neutral hop between a queue and a step:
// it turns one delivery into an Outcome — the messages to send, by queue and
// with their delays; the ledger lines to record; and what to do with the
// input: acknowledge it, leave it for redelivery, or dead-letter it with a
// reason. Every host (the embedded SQLite queue, SQS under Lambda, Service
// Bus) runs the same Runner and applies the Outcome its own way: SQLite in
// one transaction, SQS by send-then-report, Service Bus by
// send-then-complete. The runner imports no SDK and performs no I/O of its
// own besides the step it runs (and Options.Holder).
//
// # Which error leads to which action
//
// Retries are decided in exactly two places, each counting its own thing:
//
//	what happened                                  who decides        action
//	---------------------------------------------  -----------------  -------------------------------------------
//	body does not decode (events.PoisonError)      Runner             DeadLetter, the codec's reason; nothing sent
//	event type routed to another queue             Runner             DeadLetter, transport.ReasonMisrouted
//	step returned events, nil                      Runner             Ack after sending them
//	transient Graph/Teams error (429, 5xx, lag)    steps.Retry        Ack + delayed self-event (attempt+1);
//	                                                                  at steps.Config.MaxAttempts:
//	                                                                  provisioning.failed retries_exhausted + DeadLetter
//	permanent *apperr.Error (validation, conflict)  steps.Retry        Ack + provisioning.failed with its reason
//	*steps.DeadLetterError                          Runner             DeadLetter with its reason, after sending Emit
//	any other error (bug, panic via steps.Recover)  Runner             Retry (redelivery after the visibility timeout);
//	                                                                  on delivery MaxReceive: provisioning.failed
//	                                                                  retries_exhausted + DeadLetter max_receive_exceeded
//	never acknowledged MaxReceive times (crashes)  host's sweep       Exhausted: the request ends, input dead-lettered
//
// The adapters' own in-process retries (kiota's retry handler for a 429 with
// a short Retry-After, bounded by RAPROV_GRAPH_MAX_RETRIES and MAX_WAIT) sit
// below this table: they never outlive one delivery.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
)

// Action is what the host does with the input once the outcome's messages
// are sent and its ledger lines recorded.
type Action int

// Actions.
const (
	// Ack deletes the input: it is never delivered again.
	Ack Action = iota
	// Retry leaves the input to be delivered again (after the visibility
	// timeout); nothing is sent or recorded.
	Retry
	// DeadLetter moves the input to its queue's dead-letter queue with
	// Outcome.Reason and Outcome.Detail.
	DeadLetter
)

func (a Action) String() string {
	switch a {
	case Ack:
		return "ack"
	case Retry:
		return "retry"
	case DeadLetter:
		return "dead-letter"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Delivery is a received message as the runner needs it.
type Delivery struct {
	Body []byte
	// Received is the delivery count: 1 on the first delivery.
	Received int
}

// Outcome is what one delivery leads to. A host sends Send and records
// Record before it acknowledges or dead-letters the input, so a crash in
// between delivers the input again (at least once) and never loses a hop.
type Outcome struct {
	Action Action
	// Send lists the messages to send, by destination queue name
	// (events.Destination), each with its delay.
	Send map[string][]transport.Message
	// Record lists the ledger lines of the events in Send.
	Record []ledger.Entry
	// Reason and Detail explain a DeadLetter (Detail carries no secrets).
	Reason, Detail string
	// Err is the step's error behind a Retry.
	Err error
	// RequestID is the request the input belongs to, when it decoded.
	RequestID string
}

// Options configure a Runner.
type Options struct {
	// MaxReceive is the delivery on which a step that keeps failing ends its
	// request and dead-letters the input itself; default 5. A host whose
	// queue moves messages to a dead-letter queue on its own (SQS redrive)
	// must set that limit above this one.
	MaxReceive int
	// Holder returns the event id holding a request id (intake's claim),
	// "" when none does. Exhausted asks it on intake's queue so that a
	// duplicate submission never ends the request that holds the id; nil
	// treats every id as unclaimed.
	Holder func(ctx context.Context, requestID string) (string, error)
	// Logger receives the runner's warnings; default slog.Default().
	Logger *slog.Logger
}

// Runner runs one step for the deliveries of its queue.
type Runner struct {
	name   string
	step   steps.Step
	source string
	opts   Options
	log    *slog.Logger
}

// DefaultMaxReceive is Options.MaxReceive's default.
const DefaultMaxReceive = 5

// New returns the runner of the step called name (events.Step*), whose
// function step is already wrapped in middleware.
func New(name string, step steps.Step, opts Options) *Runner {
	if opts.MaxReceive <= 0 {
		opts.MaxReceive = DefaultMaxReceive
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Runner{name: name, step: step, source: events.Source(name), opts: opts, log: opts.Logger}
}

// MaxReceive is the delivery on which Handle gives up (Options.MaxReceive).
// A host that counts deliveries itself hands a message received more often
// than this — never acknowledged on its earlier deliveries — to Exhausted
// instead of Handle; a queue that dead-letters on its own (SQS redrive)
// must allow at least MaxReceive + 1 receives so that the host sees it.
func (r *Runner) MaxReceive() int { return r.opts.MaxReceive }

// Name is the step's name, which is also its queue's.
func (r *Runner) Name() string { return r.name }

// Handle runs the step for one delivery and returns what the host must do.
func (r *Runner) Handle(ctx context.Context, d Delivery) Outcome {
	in, err := events.Decode(d.Body)
	if err != nil {
		reason := "poison"
		var p *events.PoisonError
		if errors.As(err, &p) {
			reason = p.Reason
		}
		r.log.WarnContext(ctx, "poison message dead-lettered", "queue", r.name, "reason", reason, "error", err.Error())
		return Outcome{Action: DeadLetter, Reason: reason, Detail: err.Error()}
	}
	if consumer := events.ConsumerOf(in.Type); consumer != r.name {
		r.log.WarnContext(ctx, "misrouted event dead-lettered", "queue", r.name, "type", in.Type, "request_id", in.Subject)
		return Outcome{Action: DeadLetter, RequestID: in.Subject, Reason: transport.ReasonMisrouted,
			Detail: fmt.Sprintf("%s events go to %s, not %s", in.Type, cmp.Or(consumer, events.Results), r.name)}
	}
	out, err := r.step(ctx, in)
	o := Outcome{Action: Ack, RequestID: in.Subject}
	if dl, ok := steps.AsDeadLetter(err); ok {
		out, o.Action, o.Reason, o.Detail = dl.Emit, DeadLetter, dl.Reason, dl.Detail
	} else if err != nil {
		if d.Received < r.opts.MaxReceive {
			return Outcome{Action: Retry, RequestID: in.Subject, Err: err}
		}
		// The last delivery: fail the request (so it reaches complete and
		// the ledger) and park the input for replay.
		r.log.ErrorContext(ctx, "step keeps failing; request failed and input dead-lettered", "queue", r.name, "request_id", in.Subject, "error", err.Error())
		out = []events.Event{in.Fail(r.source, events.Failure{
			Reason:  events.ReasonRetriesExhausted,
			Message: fmt.Sprintf("%s failed on %d deliveries", r.name, d.Received),
		})}
		o.Action, o.Reason, o.Detail = DeadLetter, transport.ReasonMaxReceive, err.Error()
	}
	if err := r.emit(&o, in, out); err != nil {
		// An event the step built cannot be encoded (over the size limit):
		// a bug or an oversized request, not worth redelivering forever.
		return Outcome{Action: Retry, RequestID: in.Subject, Err: err}
	}
	return o
}

// Exhausted ends the request of a message the host dead-letters because
// none of its deliveries ended (the process died during the step, every
// time), so that no Handle saw its last delivery. The outcome's Action is
// DeadLetter with transport.ReasonMaxReceive:
//   - on a step's queue, the request fails with retries_exhausted (a replay
//     of the dead letter can still complete it);
//   - on complete's queue, the outcome the input already carries is
//     recorded and published (a provisioned account is not reported as
//     failed), without its callback: a replay posts it;
//   - on intake's queue, only when the request id is this event's claim (or
//     unclaimed): a duplicate or conflicting submission must not end the
//     request that holds the id.
//
// An undecodable body ends nothing (it has no request to speak of).
func (r *Runner) Exhausted(ctx context.Context, body []byte, received int) Outcome {
	o := Outcome{Action: DeadLetter, Reason: transport.ReasonMaxReceive,
		Detail: fmt.Sprintf("received %d times without an acknowledgement", received)}
	in, err := events.Decode(body)
	if err != nil || in.Subject == "" {
		return o
	}
	o.RequestID = in.Subject
	if r.name == events.StepIntake && r.opts.Holder != nil {
		holder, err := r.opts.Holder(ctx, in.Subject)
		if err != nil || holder != "" && holder != in.ID {
			return o
		}
	}
	var final events.Event
	if r.name == events.StepComplete {
		final = steps.FinalEvent(in)
	} else {
		final = in.Fail(r.source, events.Failure{
			Reason:  events.ReasonRetriesExhausted,
			Message: fmt.Sprintf("%s was interrupted on each of %d deliveries; the input is in the dead-letter queue", r.name, received),
		})
	}
	if err := r.emit(&o, in, []events.Event{final}); err != nil {
		r.log.ErrorContext(ctx, "ending an exhausted request", "queue", r.name, "request_id", in.Subject, "error", err.Error())
		return Outcome{Action: DeadLetter, Reason: o.Reason, Detail: o.Detail, RequestID: in.Subject}
	}
	if r.name == events.StepComplete {
		o.Record[0].Detail = "the callback, if any, was not sent: replay the dead letter to post it"
	}
	r.log.ErrorContext(ctx, "step never finished; request ended and input dead-lettered", "queue", r.name, "request_id", in.Subject, "received", received, "outcome", final.Type)
	return o
}

// emit routes out into o.Send and adds their ledger lines.
func (r *Runner) emit(o *Outcome, in events.Event, out []events.Event) error {
	send, err := Route(out)
	if err != nil {
		return err
	}
	o.Send = send
	for _, ev := range out {
		if ev.Subject != "" {
			o.Record = append(o.Record, Entry(r.name, in, ev))
		}
	}
	return nil
}

// Route encodes events and groups them by destination queue
// (events.Destination), each delayed by its Delay.
func Route(evs []events.Event) (map[string][]transport.Message, error) {
	if len(evs) == 0 {
		return nil, nil
	}
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

// Entry is the ledger line for the event ev that step emitted for its input
// in, with the account, object id and action ev carries.
func Entry(step string, in, ev events.Event) ledger.Entry {
	e := ledger.Entry{EventID: ev.ID, RequestID: ev.Subject, Type: ev.Type, Step: step, Time: ev.Time, Attempt: ev.Attempt,
		Account: ev.Data.Request.UserPrincipalName, ObjectID: ev.Data.Progress.ObjectID, Action: ev.Data.Request.Action}
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

package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
)

func body(t *testing.T, ev events.Event) []byte {
	t.Helper()
	b, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func created(id string) events.Event {
	return events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount), events.Data{Request: events.Request{RequestID: id}})
}

// The error→action table of the package doc, one row per case.
func TestHandleActions(t *testing.T) {
	source := events.Source(events.StepAssignLicense)
	pass := func(_ context.Context, in events.Event) ([]events.Event, error) {
		return []events.Event{in.Next(events.TypeLicenseAssigned, source)}, nil
	}
	later := func(_ context.Context, in events.Event) ([]events.Event, error) {
		return []events.Event{in.Retry(90 * time.Second)}, nil
	}
	broken := func(context.Context, events.Event) ([]events.Event, error) {
		return nil, errors.New("unexpected response shape")
	}
	permanent := func(_ context.Context, in events.Event) ([]events.Event, error) {
		return nil, apperr.New(apperr.Invalid, events.ReasonNoLicense, "no seats")
	}
	giveUp := func(_ context.Context, in events.Event) ([]events.Event, error) {
		failed := in.Fail(source, events.Failure{Reason: events.ReasonRetriesExhausted, Message: "gave up"})
		return nil, &steps.DeadLetterError{Reason: "retries_exhausted", Detail: "gave up", Emit: []events.Event{failed}}
	}
	good := created("R1")
	cases := []struct {
		name     string
		step     steps.Step
		body     []byte
		received int
		action   runner.Action
		reason   string
		sendTo   map[string]int // queue → messages
		delay    time.Duration
		outcome  ledger.Outcome // of the last ledger line, "" for in progress
	}{
		{name: "passes on", step: pass, body: body(t, good), received: 1, action: runner.Ack,
			sendTo: map[string]int{events.StepAssignNumber: 1}},
		{name: "retries later through its own queue", step: later, body: body(t, good), received: 1, action: runner.Ack,
			sendTo: map[string]int{events.StepAssignLicense: 1}, delay: 90 * time.Second},
		{name: "poison", step: pass, body: []byte("{not json"), received: 1, action: runner.DeadLetter, reason: "malformed_json"},
		{name: "misrouted", step: pass, body: body(t, events.New(events.TypeLicenseAvailable, "raprov/check-license", events.Data{Request: events.Request{RequestID: "R1"}})),
			received: 1, action: runner.DeadLetter, reason: transport.ReasonMisrouted},
		{name: "unexpected error before the last delivery", step: broken, body: body(t, good), received: 2, action: runner.Retry},
		{name: "unexpected error on the last delivery", step: broken, body: body(t, good), received: 3, action: runner.DeadLetter,
			reason: transport.ReasonMaxReceive, sendTo: map[string]int{events.StepComplete: 1}},
		{name: "dead-letter error", step: giveUp, body: body(t, good), received: 1, action: runner.DeadLetter,
			reason: "retries_exhausted", sendTo: map[string]int{events.StepComplete: 1}},
		{name: "an apperr without the retry middleware is unexpected", step: permanent, body: body(t, good), received: 1, action: runner.Retry},
		{name: "permanent error through the retry middleware fails the request", step: steps.Wrap(permanent, steps.Retry(events.StepAssignLicense, steps.Config{})),
			body: body(t, good), received: 1, action: runner.Ack, sendTo: map[string]int{events.StepComplete: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runner.New(events.StepAssignLicense, c.step, runner.Options{MaxReceive: 3})
			o := r.Handle(context.Background(), runner.Delivery{Body: c.body, Received: c.received})
			if o.Action != c.action || o.Reason != c.reason {
				t.Fatalf("action %s reason %q (err %v), want %s %q", o.Action, o.Reason, o.Err, c.action, c.reason)
			}
			if o.Action == runner.Retry && o.Err == nil {
				t.Errorf("retry without the step's error")
			}
			got := map[string]int{}
			for q, msgs := range o.Send {
				got[q] = len(msgs)
				for _, m := range msgs {
					if m.Delay != c.delay {
						t.Errorf("message to %s delayed %s, want %s", q, m.Delay, c.delay)
					}
				}
			}
			if len(got) != len(c.sendTo) {
				t.Fatalf("sends %v, want %v", got, c.sendTo)
			}
			for q, n := range c.sendTo {
				if got[q] != n {
					t.Fatalf("sends %v, want %v", got, c.sendTo)
				}
			}
			if n := len(o.Record); n != len(c.sendTo) {
				t.Fatalf("%d ledger lines for %d events", n, len(c.sendTo))
			}
		})
	}
}

func TestExhausted(t *testing.T) {
	ctx := context.Background()
	pass := func(_ context.Context, in events.Event) ([]events.Event, error) { return nil, nil }

	o := runner.New(events.StepAssignLicense, pass, runner.Options{}).Exhausted(ctx, body(t, created("R2")), 5)
	if o.Action != runner.DeadLetter || o.Reason != transport.ReasonMaxReceive || len(o.Send[events.StepComplete]) != 1 {
		t.Fatalf("step queue: %+v", o)
	}
	if len(o.Record) != 1 || o.Record[0].Reason != string(events.ReasonRetriesExhausted) {
		t.Fatalf("ledger %+v", o.Record)
	}

	associated := events.New(events.TypeAccountAssociated, events.Source(events.StepAssociate), events.Data{Request: events.Request{RequestID: "R3"}})
	o = runner.New(events.StepComplete, pass, runner.Options{}).Exhausted(ctx, body(t, associated), 5)
	if len(o.Record) != 1 || o.Record[0].Outcome != ledger.Completed || !strings.Contains(o.Record[0].Detail, "callback") {
		t.Fatalf("complete keeps the outcome: %+v", o.Record)
	}

	// On intake, a submission that does not hold the request id ends nothing.
	requested := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: events.Request{RequestID: "R4"}})
	other := runner.Options{Holder: func(context.Context, string) (string, error) { return "another-event", nil }}
	o = runner.New(events.StepIntake, pass, other).Exhausted(ctx, body(t, requested), 5)
	if o.Action != runner.DeadLetter || len(o.Send) != 0 || len(o.Record) != 0 {
		t.Fatalf("duplicate submission ended its request: %+v", o)
	}
	mine := runner.Options{Holder: func(context.Context, string) (string, error) { return requested.ID, nil }}
	if o = runner.New(events.StepIntake, pass, mine).Exhausted(ctx, body(t, requested), 5); len(o.Record) != 1 {
		t.Fatalf("the holder's own submission: %+v", o)
	}

	if o = runner.New(events.StepIntake, pass, runner.Options{}).Exhausted(ctx, []byte("junk"), 5); o.Action != runner.DeadLetter || len(o.Send) != 0 {
		t.Fatalf("undecodable: %+v", o)
	}
}

// Every ledger line carries the account, object id and action of the event
// it records, a failure included.
func TestRecordCarriesAccount(t *testing.T) {
	source := events.Source(events.StepRemoveLicense)
	req := events.Request{RequestID: "D1", UserPrincipalName: "ra@contoso.com", Action: events.ActionDeprovision, Target: "R1"}
	in := events.New(events.TypeNumberUnassigned, events.Source(events.StepUnassignNumber), events.Data{Request: req})
	in.Data.Progress.ObjectID = "obj-1"
	for _, c := range []struct {
		name string
		step steps.Step
	}{
		{"next", func(_ context.Context, in events.Event) ([]events.Event, error) {
			return []events.Event{in.Next(events.TypeLicenseRemoved, source)}, nil
		}},
		{"failed", func(_ context.Context, in events.Event) ([]events.Event, error) {
			return []events.Event{in.Fail(source, events.Failure{Reason: events.ReasonRetriesExhausted, Message: "gave up"})}, nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := runner.New(events.StepRemoveLicense, c.step, runner.Options{}).Handle(context.Background(), runner.Delivery{Body: body(t, in), Received: 1})
			if o.Action != runner.Ack || len(o.Record) != 1 {
				t.Fatalf("outcome %+v", o)
			}
			if e := o.Record[0]; e.Account != "ra@contoso.com" || e.ObjectID != "obj-1" || e.Action != events.ActionDeprovision {
				t.Errorf("ledger line account %q object %q action %q; want ra@contoso.com obj-1 deprovision", e.Account, e.ObjectID, e.Action)
			}
		})
	}
}

package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// next maps each step to the type it emits on success.
var next = map[string]string{
	events.StepIntake:        events.TypeProvisioningAccepted,
	events.StepCheckLicense:  events.TypeLicenseAvailable,
	events.StepCreateAccount: events.TypeAccountCreated,
	events.StepAssignLicense: events.TypeLicenseAssigned,
	events.StepAssignNumber:  events.TypeNumberAssigned,
	events.StepAssociate:     events.TypeAccountAssociated,
	events.StepComplete:      events.TypeProvisioningCompleted,
}

// fakeSteps pass every request along the chain; override replaces one step.
func fakeSteps(override map[string]steps.Step) map[string]steps.Step {
	m := map[string]steps.Step{}
	for name, typ := range next {
		source := events.Source(name)
		m[name] = func(_ context.Context, in events.Event) ([]events.Event, error) {
			if in.Type == events.TypeProvisioningFailed {
				return []events.Event{in.Fail(source, *in.Data.Failure)}, nil
			}
			return []events.Event{in.Next(typ, source)}, nil
		}
	}
	for name, s := range override {
		m[name] = s
	}
	return m
}

type fixture struct {
	store *local.Store
	chain *embedded.Chain
}

// start opens a chain on a new store and runs it until the test ends.
func start(t *testing.T, fns map[string]steps.Step, opts embedded.Options) *fixture {
	t.Helper()
	f := open(t, fns, opts)
	f.run(t)
	return f
}

// open opens a chain on a new store without running it.
func open(t *testing.T, fns map[string]steps.Step, opts embedded.Options) *fixture {
	t.Helper()
	store, err := local.Open(context.Background(), filepath.Join(t.TempDir(), "chain.db"), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.PollInterval = 20 * time.Millisecond
	chain, err := embedded.New(store, fns, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, chain: chain}
}

// run runs the chain until the test ends.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.chain.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		f.store.Close()
	})
}

func (f *fixture) outcome(t *testing.T, id string) ledger.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st, err := f.store.Ledger().Get(context.Background(), id)
		if err == nil && st.Outcome != ledger.InProgress {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("request %s has no outcome", id)
	return ledger.Status{}
}

func (f *fixture) deadLetters(t *testing.T, want int) []transport.DeadLetter {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		dls, err := f.store.DeadLetters().List(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) >= want || time.Now().After(deadline) {
			if len(dls) != want {
				t.Fatalf("%d dead letters, want %d: %+v", len(dls), want, dls)
			}
			return dls
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChainRunsEveryStep(t *testing.T) {
	f := start(t, fakeSteps(nil), embedded.Options{})
	ctx := context.Background()
	if _, err := f.chain.Submit(ctx, "", events.Request{RequestID: "R1"}, events.Request{RequestID: "R2"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"R1", "R2"} {
		st := f.outcome(t, id)
		if st.Outcome != ledger.Completed {
			t.Fatalf("%s: %+v", id, st)
		}
		full, _ := f.store.Ledger().Get(ctx, id)
		var stepsSeen []string
		for _, e := range full.History {
			stepsSeen = append(stepsSeen, e.Step)
		}
		if len(full.History) != len(events.Steps)+1 {
			t.Errorf("%s history %v: want submit and every step once", id, stepsSeen)
		}
	}
	// A known request id is not submitted again...
	subs, err := f.chain.Submit(ctx, "", events.Request{RequestID: "R1"}, events.Request{RequestID: " R2 "})
	if err != nil || len(subs) != 2 || subs[0].Outcome != embedded.Duplicate || subs[1].Outcome != embedded.Duplicate {
		t.Fatalf("resubmit: %+v %v", subs, err)
	}
	// ...and a different request under a known id is refused, not merged.
	subs, err = f.chain.Submit(ctx, "", events.Request{RequestID: "R1", DisplayName: "Another line"})
	if err != nil || len(subs) != 1 || subs[0].Outcome != embedded.Conflict {
		t.Fatalf("conflicting resubmit: %+v %v", subs, err)
	}
	if st := f.outcome(t, "R1"); st.Outcome != ledger.Completed {
		t.Fatalf("the first request's status changed: %+v", st)
	}
}

func TestPoisonGoesToTheDLQAndTheRestFlows(t *testing.T) {
	f := start(t, fakeSteps(nil), embedded.Options{})
	ctx := context.Background()
	q := f.chain.Queue(events.StepCheckLicense)
	if err := q.Send(ctx, transport.Message{Body: []byte("{not json")}, transport.Message{Body: []byte(`{"specversion":"1.0","id":"x","source":"raprov/intake","type":"raprov.nonsense.v9","subject":"R9","data":{}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.chain.Submit(ctx, "", events.Request{RequestID: "R3"}); err != nil {
		t.Fatal(err)
	}
	if st := f.outcome(t, "R3"); st.Outcome != ledger.Completed {
		t.Fatalf("R3: %+v", st)
	}
	reasons := map[string]bool{}
	for _, d := range f.deadLetters(t, 2) {
		reasons[d.Reason] = true
		if d.Queue != events.StepCheckLicense {
			t.Errorf("dead letter from %s", d.Queue)
		}
	}
	if !reasons["malformed_json"] || !reasons["unknown_type"] {
		t.Fatalf("reasons %v", reasons)
	}
}

// A well-formed event on a queue its type is not routed to is refused, not
// run: a license.available sent to assign-number never reaches the step.
func TestMisroutedEventIsDeadLettered(t *testing.T) {
	var ran atomic.Int32
	counting := func(_ context.Context, in events.Event) ([]events.Event, error) {
		ran.Add(1)
		return []events.Event{in.Next(events.TypeNumberAssigned, events.Source(events.StepAssignNumber))}, nil
	}
	f := start(t, fakeSteps(map[string]steps.Step{events.StepAssignNumber: counting}), embedded.Options{})
	ev := events.New(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense), events.Data{Request: events.Request{RequestID: "R7"}})
	body, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.chain.Queue(events.StepAssignNumber).Send(context.Background(), transport.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	dls := f.deadLetters(t, 1)
	if dls[0].Queue != events.StepAssignNumber || dls[0].Reason != transport.ReasonMisrouted || !strings.Contains(dls[0].Detail, events.StepCreateAccount) {
		t.Fatalf("dead letter %+v, want reason %s naming the right queue", dls[0], transport.ReasonMisrouted)
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("assign-number ran %d times on a misrouted event", n)
	}
}

func TestStepThatKeepsFailingFailsTheRequest(t *testing.T) {
	var calls atomic.Int32
	broken := func(context.Context, events.Event) ([]events.Event, error) {
		calls.Add(1)
		return nil, errors.New("unexpected response shape")
	}
	f := start(t, fakeSteps(map[string]steps.Step{events.StepAssignLicense: broken}),
		embedded.Options{Visibility: 100 * time.Millisecond, MaxReceive: 3, Concurrency: 1})
	if _, err := f.chain.Submit(context.Background(), "", events.Request{RequestID: "R4"}); err != nil {
		t.Fatal(err)
	}
	st := f.outcome(t, "R4")
	if st.Outcome != ledger.Failed || st.Reason != string(events.ReasonRetriesExhausted) {
		t.Fatalf("R4: %+v", st)
	}
	dls := f.deadLetters(t, 1)
	if dls[0].Queue != events.StepAssignLicense || dls[0].Reason != transport.ReasonMaxReceive || dls[0].Received != 3 {
		t.Fatalf("dead letter %+v", dls[0])
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("step ran %d times, want MaxReceive = 3", n)
	}
}

// A message whose every delivery is interrupted (the process died during
// the step each time) never reaches a last delivery a handler could see: the
// sweep dead-letters it, and its request still ends failed in the same
// transaction; a replay of the dead letter can complete it.
func TestInterruptedStepFailsTheRequest(t *testing.T) {
	ctx := context.Background()
	const visibility = 100 * time.Millisecond
	f := open(t, fakeSteps(nil), embedded.Options{Visibility: visibility, MaxReceive: 3})
	store, chain := f.store, f.chain
	created := events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount), events.Data{Request: events.Request{RequestID: "R6"}})
	if err := chain.SubmitEvents(ctx, created); err != nil {
		t.Fatal(err)
	}
	// Three processes took the message and died before acknowledging it.
	q := chain.Queue(events.StepAssignLicense)
	for i := range 3 {
		d, err := q.Receive(ctx)
		if err != nil || d == nil {
			t.Fatalf("receive %d: %v, %v", i+1, d, err)
		}
		time.Sleep(visibility + 20*time.Millisecond)
	}
	f.run(t)

	st := f.outcome(t, "R6")
	if st.Outcome != ledger.Failed || st.Reason != string(events.ReasonRetriesExhausted) {
		t.Fatalf("R6: %+v", st)
	}
	dls := f.deadLetters(t, 1)
	if dls[0].Queue != events.StepAssignLicense || dls[0].Reason != transport.ReasonMaxReceive {
		t.Fatalf("dead letter %+v", dls[0])
	}

	// Replayed, the request completes.
	ev, err := events.Decode(dls[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	ev.ReplayCount++
	body, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeadLetters().Requeue(ctx, dls[0].ID, body); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := store.Ledger().Get(ctx, "R6")
		if err == nil && st.Outcome == ledger.Completed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the replay: %+v, %v", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeadLetterErrorPublishesAndParks(t *testing.T) {
	giveUp := func(_ context.Context, in events.Event) ([]events.Event, error) {
		failed := in.Fail(events.Source(events.StepAssignNumber), events.Failure{Reason: events.ReasonRetriesExhausted, Message: "gave up"})
		return nil, &steps.DeadLetterError{Reason: "retries_exhausted", Detail: "gave up", Emit: []events.Event{failed}}
	}
	f := start(t, fakeSteps(map[string]steps.Step{events.StepAssignNumber: giveUp}), embedded.Options{})
	if _, err := f.chain.Submit(context.Background(), "", events.Request{RequestID: "R5"}); err != nil {
		t.Fatal(err)
	}
	if st := f.outcome(t, "R5"); st.Outcome != ledger.Failed || st.Reason != string(events.ReasonRetriesExhausted) {
		t.Fatalf("R5: %+v", st)
	}
	if d := f.deadLetters(t, 1)[0]; d.Queue != events.StepAssignNumber || d.Reason != "retries_exhausted" {
		t.Fatalf("dead letter %+v", d)
	}
}

// An interrupted complete step does not turn a provisioned account into a
// failure: the outcome the input carries is recorded.
func TestInterruptedCompleteKeepsTheOutcome(t *testing.T) {
	ctx := context.Background()
	const visibility = 100 * time.Millisecond
	f := open(t, fakeSteps(nil), embedded.Options{Visibility: visibility, MaxReceive: 2})
	associated := events.New(events.TypeAccountAssociated, events.Source(events.StepAssociate), events.Data{Request: events.Request{RequestID: "R8"}})
	if err := f.chain.SubmitEvents(ctx, associated); err != nil {
		t.Fatal(err)
	}
	q := f.chain.Queue(events.StepComplete)
	for i := range 2 {
		if d, err := q.Receive(ctx); err != nil || d == nil {
			t.Fatalf("receive %d: %v, %v", i+1, d, err)
		}
		time.Sleep(visibility + 20*time.Millisecond)
	}
	f.run(t)
	if st := f.outcome(t, "R8"); st.Outcome != ledger.Completed {
		t.Fatalf("R8: %+v, want completed", st)
	}
	if dls := f.deadLetters(t, 1); dls[0].Queue != events.StepComplete {
		t.Fatalf("dead letter %+v, want complete's input kept for the callback", dls[0])
	}
}

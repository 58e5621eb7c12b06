package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
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

func start(t *testing.T, fns map[string]steps.Step, opts embedded.Options) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := local.Open(ctx, filepath.Join(t.TempDir(), "chain.db"), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.PollInterval = 20 * time.Millisecond
	chain, err := embedded.New(store, fns, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- chain.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
	return &fixture{store: store, chain: chain}
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

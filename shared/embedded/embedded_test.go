package embedded_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/runner/runnertest"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// The embedded default passes every host scenario of the runner.
func TestRunnerScenarios(t *testing.T) {
	runnertest.Run(t, host{})
}

// host opens chains on a fresh SQLite store each.
type host struct{}

// visibility is short so that interrupted deliveries come back quickly.
const visibility = 100 * time.Millisecond

func (host) Open(t *testing.T, fns map[string]steps.Step, opts runnertest.Options) runnertest.Chain {
	return open(t, fns, embedded.Options{Visibility: visibility, MaxReceive: opts.MaxReceive})
}

type fixture struct {
	store *local.Store
	chain *embedded.Chain
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

// Run runs the chain until the test ends.
func (f *fixture) Run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.chain.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		f.store.Close()
	})
}

func (f *fixture) Send(ctx context.Context, queue string, body []byte) error {
	return f.chain.Queue(queue).Send(ctx, transport.Message{Body: body})
}

func (f *fixture) Interrupt(ctx context.Context, queue string, n int) error {
	q := f.chain.Queue(queue)
	for range n {
		d, err := q.Receive(ctx)
		if err != nil {
			return err
		}
		if d == nil {
			return context.DeadlineExceeded
		}
		time.Sleep(q.Options().Visibility + 20*time.Millisecond)
	}
	return nil
}

func (f *fixture) Status(ctx context.Context, id string) (ledger.Status, error) {
	return f.store.Ledger().Get(ctx, id)
}

func (f *fixture) DeadLetters(ctx context.Context) ([]transport.DeadLetter, error) {
	return f.store.DeadLetters().List(ctx, "", 100)
}

func (f *fixture) Replay(ctx context.Context, dl transport.DeadLetter, body []byte) error {
	return f.store.DeadLetters().Requeue(ctx, dl.ID, body)
}

// Submit claims request ids: a known request is not sent again and a
// different request under a known id is refused.
func TestSubmitClaimsRequestIDs(t *testing.T) {
	f := open(t, runnertest.FakeSteps(nil), embedded.Options{})
	f.Run(t)
	ctx := context.Background()
	if _, err := f.chain.Submit(ctx, "", events.Request{RequestID: "R1"}, events.Request{RequestID: "R2"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"R1", "R2"} {
		st := runnertest.Outcome(t, f, id)
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
	if err != nil || len(subs) != 2 || subs[0].Outcome != submission.Duplicate || subs[1].Outcome != submission.Duplicate {
		t.Fatalf("resubmit: %+v %v", subs, err)
	}
	// ...and a different request under a known id is refused, not merged.
	subs, err = f.chain.Submit(ctx, "", events.Request{RequestID: "R1", DisplayName: "Another line"})
	if err != nil || len(subs) != 1 || subs[0].Outcome != submission.Conflict {
		t.Fatalf("conflicting resubmit: %+v %v", subs, err)
	}
	if st := runnertest.Outcome(t, f, "R1"); st.Outcome != ledger.Completed {
		t.Fatalf("the first request's status changed: %+v", st)
	}
}

// The ledger names the account of a request from its submission on, and
// its object id once create-account learned it.
func TestStatusNamesTheAccount(t *testing.T) {
	create := func(_ context.Context, in events.Event) ([]events.Event, error) {
		out := in.Next(events.TypeAccountCreated, events.Source(events.StepCreateAccount))
		out.Data.Progress.ObjectID = "obj-1"
		return []events.Event{out}, nil
	}
	f := open(t, runnertest.FakeSteps(map[string]steps.Step{events.StepCreateAccount: create}), embedded.Options{})
	f.Run(t)
	ctx := context.Background()
	_, err := f.chain.Submit(ctx, "",
		events.Request{RequestID: "P1", UserPrincipalName: "ra@contoso.com"},
		events.Request{RequestID: "D1", UserPrincipalName: "rb@contoso.com", Action: events.ActionDeprovision, Target: "P0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []ledger.Status{
		{RequestID: "P1", Account: "ra@contoso.com", ObjectID: "obj-1"},
		{RequestID: "D1", Account: "rb@contoso.com", Action: events.ActionDeprovision},
	} {
		st := runnertest.Outcome(t, f, want.RequestID)
		if st.Outcome != ledger.Completed || st.Account != want.Account || st.ObjectID != want.ObjectID || st.Action != want.Action {
			t.Errorf("%s: %+v; want account %q object %q action %q", want.RequestID, st, want.Account, want.ObjectID, want.Action)
		}
	}
}

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// raprov status names the queue a request in progress waits in — that of
// the step that consumes its latest event — or the dead-letter queue that
// event was moved to; not the step that wrote the latest ledger entry
// (issue 8, item 10).
func TestStatusWaitingIn(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "raprov.db")
	store, err := local.Open(ctx, db, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	// history records the events of a request, one second apart, each
	// published by the step named before it, and returns the last event.
	history := func(id string, steps ...string) events.Event {
		t.Helper()
		var ev events.Event
		for i := 0; i < len(steps); i += 2 {
			ev = events.New(steps[i+1], events.Source(steps[i]), events.Data{Request: events.Request{RequestID: id}})
			ev.Time = start.Add(time.Duration(i) * time.Second)
			e := ledger.Entry{EventID: ev.ID, RequestID: id, Type: ev.Type, Step: steps[i], Time: ev.Time}
			if ev.Type == events.TypeProvisioningCompleted {
				e.Outcome = ledger.Completed
			}
			if err := store.Ledger().Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return ev
	}
	history("SUBMITTED", "submit", events.TypeProvisioningRequested)
	history("LICENSED", "submit", events.TypeProvisioningRequested,
		events.StepIntake, events.TypeProvisioningAccepted,
		events.StepCheckLicense, events.TypeLicenseAvailable)
	history("RECHECK", "submit", events.TypeProvisioningRequested,
		events.StepIntake, events.TypeProvisioningAccepted,
		events.StepCheckLicense, events.TypeProvisioningAccepted) // check-license waits for a seat
	history("DONE", "submit", events.TypeProvisioningRequested,
		events.StepAssociate, events.TypeAccountAssociated,
		events.StepComplete, events.TypeProvisioningCompleted)
	dead := history("DEAD", "submit", events.TypeProvisioningRequested,
		events.StepIntake, events.TypeProvisioningAccepted)
	// DEAD's latest event was dead-lettered from check-license's queue.
	body, err := events.Encode(dead)
	if err != nil {
		t.Fatal(err)
	}
	q := store.Queue(events.StepCheckLicense, local.QueueOptions{})
	if err := q.Send(ctx, transport.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	d, err := q.Receive(ctx)
	if err != nil || d == nil {
		t.Fatalf("receive: %v %v", d, err)
	}
	if err := q.DeadLetter(ctx, *d, "malformed_data", "test"); err != nil {
		t.Fatal(err)
	}
	dls, err := store.DeadLetters().List(ctx, "", 10)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters %v, %v", dls, err)
	}
	store.Close()

	for id, want := range map[string]string{
		"SUBMITTED": "SUBMITTED: in progress, waiting in the intake queue",
		"LICENSED":  "LICENSED: in progress, waiting in the create-account queue",
		"RECHECK":   "RECHECK: in progress, waiting in the check-license queue",
		"DONE":      "DONE: completed",
		"DEAD": "DEAD: in progress, but its latest event was dead-lettered from the check-license queue (malformed_data); " +
			"`raprov dlq replay " + dls[0].ID + "` sends it back",
	} {
		out, err := executeCmd(newStatusCmd(), "--db", db, id)
		if err != nil {
			t.Fatalf("status %s: %v", id, err)
		}
		if first, _, _ := strings.Cut(out, "\n"); first != want {
			t.Errorf("status %s:\n%s\nwant first line %q", id, out, want)
		}
	}

	out, err := executeCmd(newStatusCmd(), "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raprov status printed:\n%s", out)
	for _, want := range []string{
		"5 requests: 1 completed, 0 failed, 4 in progress\n",
		"  waiting in check-license            1\n",
		"  waiting in create-account           1\n",
		"  waiting in intake                   1\n",
		"  dead-lettered from check-license    1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	for _, row := range [][]string{
		{"LICENSED", "in_progress", "create-account"},
		{"DEAD", "in_progress", "check-license (dead letter)"},
		{"DONE", "completed", "-"},
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(row, " ")) {
			t.Errorf("status lists no row %v:\n%s", row, out)
		}
	}
}

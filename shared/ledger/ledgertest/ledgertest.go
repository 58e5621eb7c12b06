// Package ledgertest is the conformance suite every ledger.Ledger passes.
package ledgertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
)

// Run runs the suite; open returns a fresh, empty ledger for each subtest.
// Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) ledger.Ledger) {
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ctx := context.Background()

	t.Run("HistoryAndLatest", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		entries := []ledger.Entry{
			{EventID: "e1", RequestID: "r1", Type: "raprov.provisioning.requested.v1", Step: "intake", Time: at(0)},
			{EventID: "e3", RequestID: "r1", Type: "raprov.account.created.v1", Step: "create-account", Time: at(2), Attempt: 1, Detail: "object 42"},
			{EventID: "e2", RequestID: "r1", Type: "raprov.license.available.v1", Step: "check-license", Time: at(1)},
			{EventID: "x1", RequestID: "r2", Type: "raprov.provisioning.requested.v1", Step: "intake", Time: at(5)},
		}
		mustRecord(t, l, entries...)

		got, err := l.Get(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		want := ledger.Status{
			RequestID: "r1", Step: "create-account", Type: "raprov.account.created.v1", Outcome: ledger.InProgress,
			Detail: "object 42", Attempt: 1, Started: at(0), Updated: at(2),
			History: []ledger.Entry{norm(entries[0]), norm(entries[2]), norm(entries[1])},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get(r1) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("RecordIsIdempotent", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		e := ledger.Entry{EventID: "e1", RequestID: "r1", Type: "raprov.account.created.v1", Step: "create-account", Time: at(1)}
		mustRecord(t, l, e)
		dup := e
		dup.Detail, dup.Time = "redelivered", at(9)
		mustRecord(t, l, dup, e)

		got, err := l.Get(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != 1 || got.History[0].Detail != "" || !got.Updated.Equal(at(1)) {
			t.Errorf("after recording e1 three times: history %+v, updated %v; want the first recording only", got.History, got.Updated)
		}
	})

	t.Run("ConcurrentDuplicates", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for i := range 20 {
					e := ledger.Entry{EventID: fmt.Sprint("e", i), RequestID: "r1", Step: "s", Time: at(i)}
					if err := l.Record(ctx, e); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := l.Get(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != 20 {
			t.Errorf("history has %d entries, want 20", len(got.History))
		}
	})

	t.Run("LatestByTime", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name    string
			entries []ledger.Entry
			want    ledger.Status // without History
		}{{
			name: "late arrival of an older event",
			entries: []ledger.Entry{
				{EventID: "b", RequestID: "r", Step: "complete", Type: "raprov.provisioning.completed.v1", Time: at(5), Outcome: ledger.Completed},
				{EventID: "a", RequestID: "r", Step: "associate", Type: "raprov.account.associated.v1", Time: at(4)},
			},
			want: ledger.Status{RequestID: "r", Step: "complete", Type: "raprov.provisioning.completed.v1", Outcome: ledger.Completed, Started: at(4), Updated: at(5)},
		}, {
			name: "same time, last recorded wins",
			entries: []ledger.Entry{
				{EventID: "a", RequestID: "r", Step: "assign-number", Time: at(3)},
				{EventID: "b", RequestID: "r", Step: "complete", Time: at(3), Outcome: ledger.Failed, Reason: "number_in_use"},
			},
			want: ledger.Status{RequestID: "r", Step: "complete", Outcome: ledger.Failed, Reason: "number_in_use", Started: at(3), Updated: at(3)},
		}, {
			name: "replay after failure is in progress again",
			entries: []ledger.Entry{
				{EventID: "a", RequestID: "r", Step: "complete", Time: at(1), Outcome: ledger.Failed, Reason: "retries_exhausted"},
				{EventID: "b", RequestID: "r", Step: "assign-license", Time: at(2), Attempt: 0},
			},
			want: ledger.Status{RequestID: "r", Step: "assign-license", Outcome: ledger.InProgress, Started: at(1), Updated: at(2)},
		}}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				l := open(t)
				for _, e := range tt.entries {
					mustRecord(t, l, e)
				}
				got, err := l.Get(ctx, "r")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(ledger.Status{}, "History")); diff != "" {
					t.Errorf("status mismatch (-want +got):\n%s", diff)
				}
				if len(got.History) != len(tt.entries) {
					t.Fatalf("history has %d entries, want %d", len(got.History), len(tt.entries))
				}
				for i := 1; i < len(got.History); i++ {
					if got.History[i].Time.Before(got.History[i-1].Time) {
						t.Errorf("history not in time order: %v", got.History)
					}
				}
			})
		}
	})

	t.Run("AccountFromTheNewestEntryThatHasIt", func(t *testing.T) {
		t.Parallel()
		const upn, act = "ra@contoso.com", "deprovision"
		// Recorded in this order; d, e and f arrive late (older than c).
		// Each field comes from the newest entry that carries it (by time,
		// ties to the last recorded), not from the newest entry.
		entries := []ledger.Entry{
			{EventID: "a", RequestID: "r", Step: "submit", Time: at(1), Account: "old@contoso.com", Action: act},
			{EventID: "b", RequestID: "r", Step: "create-account", Time: at(3), Account: upn, ObjectID: "obj-1", Action: act},
			{EventID: "c", RequestID: "r", Step: "complete", Time: at(6), Outcome: ledger.Failed, Reason: "retries_exhausted"},
			{EventID: "d", RequestID: "r", Step: "intake", Time: at(2), Account: "older@contoso.com", ObjectID: "obj-0"},
			{EventID: "e", RequestID: "r", Step: "assign-license", Time: at(4), ObjectID: "obj-2"},
			{EventID: "f", RequestID: "r", Step: "check-license", Time: at(3), Account: "tie@contoso.com"},
		}
		want := ledger.Status{
			RequestID: "r", Step: "complete", Outcome: ledger.Failed, Reason: "retries_exhausted", Started: at(1), Updated: at(6),
			Account: "tie@contoso.com", ObjectID: "obj-2", Action: act,
		}
		for _, batch := range []bool{false, true} {
			t.Run(fmt.Sprint("batch=", batch), func(t *testing.T) {
				l := open(t)
				if batch {
					mustRecord(t, l, entries...)
				} else {
					for _, e := range entries {
						mustRecord(t, l, e)
					}
				}
				got, err := l.Get(ctx, "r")
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ledger.Status{}, "History")); diff != "" {
					t.Errorf("Get mismatch (-want +got):\n%s", diff)
				}
				e := entries
				wantHistory := []ledger.Entry{norm(e[0]), norm(e[3]), norm(e[1]), norm(e[5]), norm(e[4]), norm(e[2])}
				if diff := cmp.Diff(wantHistory, got.History); diff != "" {
					t.Errorf("history mismatch (-want +got):\n%s", diff)
				}
				list, err := l.List(ctx, ledger.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]ledger.Status{want}, list); diff != "" {
					t.Errorf("List mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("AccountKeptByLaterEntries", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		mustRecord(t, l,
			ledger.Entry{EventID: "a", RequestID: "p", Step: "submit", Time: at(1), Account: "ra@contoso.com"},
			ledger.Entry{EventID: "b", RequestID: "p", Step: "create-account", Time: at(2), Account: "ra@contoso.com", ObjectID: "obj-1"},
		)
		mustRecord(t, l, ledger.Entry{EventID: "c", RequestID: "p", Step: "complete", Time: at(3), Outcome: ledger.Completed})
		mustRecord(t, l, ledger.Entry{EventID: "x", RequestID: "q", Step: "submit", Time: at(4)})
		got, err := l.List(ctx, ledger.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		want := []ledger.Status{
			{RequestID: "q", Step: "submit", Outcome: ledger.InProgress, Started: at(4), Updated: at(4)},
			{RequestID: "p", Step: "complete", Outcome: ledger.Completed, Started: at(1), Updated: at(3), Account: "ra@contoso.com", ObjectID: "obj-1"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("LongFieldsAreCut", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		long := strings.Repeat("é", ledger.MaxField)
		mustRecord(t, l, ledger.Entry{EventID: "e1", RequestID: "r", Time: at(0), Account: long, ObjectID: long, Action: long})
		got, err := l.Get(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		want := long[:ledger.MaxField]
		if got.Account != want || got.ObjectID != want || got.Action != want || got.History[0].Account != want {
			t.Errorf("fields of %d bytes kept as %d, %d, %d bytes; want %d", len(long), len(got.Account), len(got.ObjectID), len(got.Action), len(want))
		}
	})

	t.Run("GetUnknown", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		_, err := l.Get(ctx, "nope")
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Get(unknown) error = %v, want code %s", err, apperr.NotFound)
		}
	})

	t.Run("InvalidEntries", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			bad  ledger.Entry
		}{
			{"no event id", ledger.Entry{RequestID: "r"}},
			{"no request id", ledger.Entry{EventID: "e9"}},
			{"unknown outcome", ledger.Entry{EventID: "e9", RequestID: "r", Outcome: "maybe"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				l := open(t)
				good := ledger.Entry{EventID: "e1", RequestID: "r", Time: at(0)}
				err := l.Record(ctx, good, tt.bad)
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("Record error = %v, want code %s", err, apperr.Invalid)
				}
				if _, err := l.Get(ctx, "r"); apperr.CodeOf(err) != apperr.NotFound {
					t.Errorf("after a rejected batch, Get error = %v; want NotFound (nothing recorded)", err)
				}
			})
		}
	})

	t.Run("DefaultsAndTruncation", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		before := time.Now().Add(-time.Second)
		long := strings.Repeat("é", ledger.MaxDetail) // 2 bytes a rune
		mustRecord(t, l, ledger.Entry{EventID: "e1", RequestID: "r", Detail: long})
		got, err := l.Get(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		e := got.History[0]
		if e.Time.Before(before) || e.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("entry time = %v, want about now", e.Time)
		}
		if e.Outcome != ledger.InProgress {
			t.Errorf("outcome = %q, want %q", e.Outcome, ledger.InProgress)
		}
		if len(e.Detail) > ledger.MaxDetail || !strings.HasPrefix(long, e.Detail) || len(e.Detail) < ledger.MaxDetail-1 {
			t.Errorf("detail has %d bytes, want a rune-aligned cut at %d", len(e.Detail), ledger.MaxDetail)
		}
	})

	t.Run("ListAndSummary", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		mustRecord(t, l,
			ledger.Entry{EventID: "a1", RequestID: "a", Step: "intake", Time: at(1)},
			ledger.Entry{EventID: "a2", RequestID: "a", Step: "complete", Time: at(2), Outcome: ledger.Completed},
			ledger.Entry{EventID: "b1", RequestID: "b", Step: "intake", Time: at(3)},
			ledger.Entry{EventID: "b2", RequestID: "b", Step: "complete", Time: at(4), Outcome: ledger.Failed, Reason: "no_license"},
			ledger.Entry{EventID: "c1", RequestID: "c", Step: "check-license", Time: at(5), ObjectID: "obj-c"},
			ledger.Entry{EventID: "d1", RequestID: "d", Step: "check-license", Time: at(6), ObjectID: "obj-c"},
			ledger.Entry{EventID: "e1", RequestID: "e", Step: "complete", Time: at(7), Outcome: ledger.Failed, Reason: "upn_conflict"},
		)
		tests := []struct {
			name string
			f    ledger.Filter
			want []string
		}{
			{"all, newest first", ledger.Filter{}, []string{"e", "d", "c", "b", "a"}},
			{"failed", ledger.Filter{Outcome: ledger.Failed}, []string{"e", "b"}},
			{"in progress", ledger.Filter{Outcome: ledger.InProgress}, []string{"d", "c"}},
			{"step", ledger.Filter{Step: "complete"}, []string{"e", "b", "a"}},
			{"reason", ledger.Filter{Reason: "no_license"}, []string{"b"}},
			{"object id", ledger.Filter{ObjectID: "obj-c"}, []string{"d", "c"}},
			{"object id, none", ledger.Filter{ObjectID: "obj-x"}, nil},
			{"since", ledger.Filter{Since: at(5)}, []string{"e", "d", "c"}},
			{"limit", ledger.Filter{Limit: 2}, []string{"e", "d"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := l.List(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, s := range got {
					if s.History != nil {
						t.Errorf("List filled History of %s", s.RequestID)
					}
					ids = append(ids, s.RequestID)
				}
				if diff := cmp.Diff(tt.want, ids); diff != "" {
					t.Errorf("List(%+v) ids mismatch (-want +got):\n%s", tt.f, diff)
				}
			})
		}

		sum, err := l.Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := ledger.Summary{
			Total:            5,
			ByOutcome:        map[ledger.Outcome]int{ledger.Completed: 1, ledger.Failed: 2, ledger.InProgress: 2},
			InProgressByStep: map[string]int{"check-license": 2},
			FailedByReason:   map[string]int{"no_license": 1, "upn_conflict": 1},
		}
		if diff := cmp.Diff(want, sum); diff != "" {
			t.Errorf("Summary mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("EmptySummary", func(t *testing.T) {
		t.Parallel()
		sum, err := open(t).Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Total != 0 || len(sum.ByOutcome) != 0 {
			t.Errorf("Summary of an empty ledger = %+v", sum)
		}
	})
}

func mustRecord(t *testing.T, l ledger.Ledger, entries ...ledger.Entry) {
	t.Helper()
	if err := l.Record(context.Background(), entries...); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func norm(e ledger.Entry) ledger.Entry {
	e, err := e.Normalize(time.Now())
	if err != nil {
		panic(err)
	}
	return e
}

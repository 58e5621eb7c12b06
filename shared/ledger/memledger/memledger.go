// Package memledger is an in-memory ledger.Ledger for tests and examples.
// It keeps everything until the process exits.
package memledger

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
)

// Ledger is an in-memory ledger, safe for concurrent use. The zero value is
// not usable; call New.
type Ledger struct {
	now func() time.Time

	mu       sync.Mutex
	seen     map[string]bool // event ids
	requests map[string]*request
}

var _ ledger.Ledger = (*Ledger)(nil)

type request struct {
	status  ledger.Status // without History
	history []ledger.Entry
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{now: time.Now, seen: map[string]bool{}, requests: map[string]*request{}}
}

// Record implements ledger.Ledger.
func (l *Ledger) Record(_ context.Context, entries ...ledger.Entry) error {
	now := l.now()
	norm := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		var err error
		if norm[i], err = e.Normalize(now); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range norm {
		if l.seen[e.EventID] {
			continue
		}
		l.seen[e.EventID] = true
		r := l.requests[e.RequestID]
		if r == nil {
			r = &request{status: ledger.Status{RequestID: e.RequestID, Started: e.Time, Updated: e.Time}}
			l.requests[e.RequestID] = r
		}
		// Keep history sorted by time; entries with equal times stay in recording order.
		i, _ := slices.BinarySearchFunc(r.history, e.Time, func(h ledger.Entry, t time.Time) int {
			if h.Time.After(t) {
				return 1
			}
			return -1
		})
		r.history = slices.Insert(r.history, i, e)
		s := &r.status
		if e.Time.Before(s.Started) {
			s.Started = e.Time
		}
		if !e.Time.Before(s.Updated) {
			s.Step, s.Type, s.Outcome, s.Reason, s.Detail, s.Attempt, s.Updated =
				e.Step, e.Type, e.Outcome, e.Reason, e.Detail, e.Attempt, e.Time
		}
		s.Account, s.ObjectID, s.Action = newest(r.history)
	}
	return nil
}

// newest returns the latest non-empty Account, ObjectID and Action of
// history, which is oldest first.
func newest(history []ledger.Entry) (account, objectID, action string) {
	for _, e := range slices.Backward(history) {
		account = cmp.Or(account, e.Account)
		objectID = cmp.Or(objectID, e.ObjectID)
		action = cmp.Or(action, e.Action)
		if account != "" && objectID != "" && action != "" {
			break
		}
	}
	return account, objectID, action
}

// Get implements ledger.Ledger.
func (l *Ledger) Get(_ context.Context, requestID string) (ledger.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.requests[requestID]
	if r == nil {
		return ledger.Status{}, apperr.New(apperr.NotFound, "", "request %q not in the ledger", requestID)
	}
	s := r.status
	s.History = slices.Clone(r.history)
	return s, nil
}

// List implements ledger.Ledger.
func (l *Ledger) List(_ context.Context, f ledger.Filter) ([]ledger.Status, error) {
	l.mu.Lock()
	var out []ledger.Status
	for _, r := range l.requests {
		s := r.status
		if (f.Outcome == "" || s.Outcome == f.Outcome) && (f.Step == "" || s.Step == f.Step) &&
			(f.Reason == "" || s.Reason == f.Reason) && (f.ObjectID == "" || s.ObjectID == f.ObjectID) && !s.Updated.Before(f.Since) {
			out = append(out, s)
		}
	}
	l.mu.Unlock()
	return ledger.Newest(out, f), nil
}

// Summary implements ledger.Ledger.
func (l *Ledger) Summary(context.Context) (ledger.Summary, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sum := ledger.Summary{ByOutcome: map[ledger.Outcome]int{}, InProgressByStep: map[string]int{}, FailedByReason: map[string]int{}}
	for _, r := range l.requests {
		s := r.status
		sum.Total++
		sum.ByOutcome[s.Outcome]++
		switch s.Outcome {
		case ledger.InProgress:
			sum.InProgressByStep[s.Step]++
		case ledger.Failed:
			sum.FailedByReason[s.Reason]++
		}
	}
	return sum, nil
}

// Package ledger is raprov's status store: for each provisioning request, the
// history of its events and where it stands — the step it last reached and,
// once it has ended, its outcome.
//
// Steps never write the ledger; transport runners record the events a step
// emits, ideally in the same transaction that publishes them (see
// transport/local). Record is idempotent on the event id, so a redelivered
// or replayed event never adds a second history line.
//
// Implementations: the SQLite ledger of transport/local (Store.Ledger) and
// memledger for tests; ledgertest holds the suite every implementation passes.
package ledger

import (
	"cmp"
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/raprov/raprov/shared/apperr"
)

// Outcome is where a request stands.
type Outcome string

// Outcomes.
const (
	InProgress Outcome = "in_progress"
	Completed  Outcome = "completed"
	Failed     Outcome = "failed"
)

// MaxDetail is the longest Detail kept, in bytes; longer ones are cut.
const MaxDetail = 512

// MaxField is the longest Account, ObjectID and Action kept, in bytes;
// longer ones (never valid: a valid userPrincipalName has at most 113) are
// cut, so a request that intake refuses cannot bloat the ledger.
const MaxField = 256

// Entry is one line of a request's history: an event and what it meant.
type Entry struct {
	EventID   string    // unique per emitted event; the idempotency key
	RequestID string    // the event's subject
	Type      string    // event type, e.g. raprov.account.created.v1
	Step      string    // the step that recorded the entry
	Time      time.Time // the event's time; zero means now
	Attempt   int       // the step's retry count when it recorded the entry
	Reason    string    // reason code (events.Reason) of a failure, else ""
	Detail    string    // short human-readable note; never secrets
	// Outcome is Completed or Failed on the entry that ends the request and
	// empty (or InProgress) on every other one.
	Outcome Outcome

	Account  string // the request's userPrincipalName, as the event carries it
	ObjectID string // Entra object id of the account, once a step learned it
	Action   string // the request's action: "" (provisioning) or "deprovision"
}

// Status is where one request stands: its latest entry, by Time (ties go
// to the one recorded last). A request whose latest entry carries no outcome
// is InProgress, even if an earlier entry ended it: a replay restarts it.
type Status struct {
	RequestID string
	Step      string // step of the latest entry
	Type      string // event type of the latest entry
	Outcome   Outcome
	Reason    string
	Detail    string
	Attempt   int
	Started   time.Time // time of the earliest entry
	Updated   time.Time // time of the latest entry
	// Account, ObjectID and Action each come from the latest entry (by
	// Time, ties to the one recorded last) whose value is not empty: a
	// later entry without one does not blank it.
	Account  string
	ObjectID string
	Action   string
	// History lists every entry, oldest first (by Time, then by recording
	// order). Only Get fills it.
	History []Entry
}

// Filter selects requests for List. Zero fields match everything.
type Filter struct {
	Outcome Outcome
	Step    string
	Reason  string
	// ObjectID: only requests whose account (Status.ObjectID) is this
	// object id.
	ObjectID string
	Since    time.Time // Updated at or after
	Limit    int       // at most this many; 0 means 100
}

// DefaultLimit is the List limit when Filter.Limit is 0.
const DefaultLimit = 100

// Summary counts requests.
type Summary struct {
	Total     int
	ByOutcome map[Outcome]int
	// InProgressByStep counts in-progress requests by the step of their latest entry.
	InProgressByStep map[string]int
	// FailedByReason counts failed requests by reason.
	FailedByReason map[string]int
}

// Ledger records and reports request status. Get returns an *apperr.Error
// with code NotFound for an unknown request; Record returns one with code
// Invalid for an entry without EventID or RequestID, recording none of the
// entries.
type Ledger interface {
	// Record adds entries; an entry whose EventID is already recorded is skipped.
	Record(ctx context.Context, entries ...Entry) error
	// Get returns one request's status with its history.
	Get(ctx context.Context, requestID string) (Status, error)
	// List returns the statuses matching f, most recently updated first, without history.
	List(ctx context.Context, f Filter) ([]Status, error)
	// Summary counts all requests.
	Summary(ctx context.Context) (Summary, error)
}

// Normalize checks an entry and fills defaults, as every Ledger does before
// storing it: Time defaults to now (and is kept in UTC), an empty Outcome
// becomes InProgress, Detail is cut to MaxDetail bytes and Account, ObjectID
// and Action to MaxField, on a rune boundary.
func (e Entry) Normalize(now time.Time) (Entry, error) {
	if e.EventID == "" {
		return e, apperr.New(apperr.Invalid, "", "ledger entry without event id")
	}
	if e.RequestID == "" {
		return e, apperr.New(apperr.Invalid, "", "ledger entry %s without request id", e.EventID)
	}
	switch e.Outcome {
	case "":
		e.Outcome = InProgress
	case InProgress, Completed, Failed:
	default:
		return e, apperr.New(apperr.Invalid, "", "ledger entry %s: unknown outcome %q", e.EventID, e.Outcome)
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC().Round(0)
	e.Detail = truncate(e.Detail, MaxDetail)
	e.Account = truncate(e.Account, MaxField)
	e.ObjectID = truncate(e.ObjectID, MaxField)
	e.Action = truncate(e.Action, MaxField)
	return e, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// EffectiveLimit returns f.Limit, or DefaultLimit when it is not positive.
func (f Filter) EffectiveLimit() int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return f.Limit
}

// Newest orders statuses as List returns them — most recently updated
// first, ties by request id — and keeps f's limit of them.
func Newest(sts []Status, f Filter) []Status {
	slices.SortFunc(sts, func(a, b Status) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return cmp.Compare(a.RequestID, b.RequestID)
	})
	if n := f.EffectiveLimit(); len(sts) > n {
		sts = sts[:n]
	}
	return sts
}

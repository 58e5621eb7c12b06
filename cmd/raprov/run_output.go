package main

import (
	"context"
	"sync"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
)

// finalsGrace bounds the wait for final events once the ledger has every
// outcome. A request that ended in an earlier run has none in this one.
const finalsGrace = 3 * time.Second

// finals keeps what the final event of each request says that the ledger
// does not: the account's object id and the request as intake normalised
// it. A nil *finals keeps nothing.
type finals struct {
	mu   sync.Mutex
	byID map[string]final
}

// final is what a run's JSON record takes from a final event.
type final struct {
	request  events.Request // UPN, account type and number only
	objectID string
}

func newFinals() *finals { return &finals{byID: map[string]final{}} }

func (f *finals) add(ev events.Event) {
	if f == nil {
		return
	}
	r := ev.Data.Request
	fi := final{
		request:  events.Request{UserPrincipalName: r.UserPrincipalName, AccountType: r.AccountType, PhoneNumber: r.PhoneNumber},
		objectID: ev.Data.Progress.ObjectID,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[ev.Subject] = fi
}

func (f *finals) get(id string) (final, bool) {
	if f == nil {
		return final{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, ok := f.byID[id]
	return fi, ok
}

// await waits, up to grace, until the final event of every submitted
// request has been read: the ledger records an outcome in the same
// transaction that queues the final event, which the results consumer
// reads moments later.
func (f *finals) await(ctx context.Context, reqs []*tracked, grace time.Duration) {
	if f == nil {
		return
	}
	deadline := time.Now().Add(grace)
	for {
		missing := 0
		for _, r := range reqs {
			if _, ok := f.get(r.id); !ok && !r.refused {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// asExpected reports whether the request ended as its row expects.
func (r *tracked) asExpected() bool { return r.outcome() == r.expected() }

// runRecords returns the JSON records of a run: its requests and the rows
// that were not submitted, in line order. tenant is the configured tenant
// id, "" when none is.
func runRecords(reqs []*tracked, bad []requestfile.RowError, fin *finals, tenant string) []runRecord {
	out := make([]runRecord, 0, len(reqs)+len(bad))
	i, j := 0, 0
	for i < len(reqs) || j < len(bad) {
		if j < len(bad) && (i == len(reqs) || bad[j].Line < reqs[i].row.Line) {
			out = append(out, invalidRecord(bad[j]))
			j++
			continue
		}
		out = append(out, reqs[i].record(fin, tenant))
		i++
	}
	return out
}

// record is the request's JSON record: the row as submitted, the request
// as intake normalised it when its final event came, and its outcome.
func (r *tracked) record(fin *finals, tenant string) runRecord {
	req := r.row.Request
	var objectID string
	if fi, ok := fin.get(r.id); ok {
		req = mergeRequest(req, fi.request)
		objectID = fi.objectID
	}
	outcome := string(r.status.Outcome)
	if outcome == "" {
		outcome = string(ledger.InProgress)
	}
	return runRecord{
		RequestID:   r.id,
		Line:        r.row.Line,
		Tenant:      tenant,
		Account:     req.UserPrincipalName,
		AccountType: req.AccountType,
		ObjectID:    objectID,
		Number:      req.PhoneNumber,
		Outcome:     outcome,
		Reason:      r.status.Reason,
		Detail:      r.status.Detail,
		Expected:    r.expected(),
		AsExpected:  r.asExpected(),
		DurationMs:  r.status.Updated.Sub(r.status.Started).Milliseconds(),
	}
}

// mergeRequest returns the fields of the normalised request where it has
// them, the submitted ones elsewhere (a request refused at intake carries
// what could be read).
func mergeRequest(submitted, normalised events.Request) events.Request {
	or := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	submitted.UserPrincipalName = or(normalised.UserPrincipalName, submitted.UserPrincipalName)
	submitted.AccountType = or(normalised.AccountType, submitted.AccountType)
	submitted.PhoneNumber = or(normalised.PhoneNumber, submitted.PhoneNumber)
	return submitted
}

// invalidRecord is the record of a row that was not submitted.
func invalidRecord(e requestfile.RowError) runRecord {
	return runRecord{Line: e.Line, EndLine: endLine(e), Outcome: "invalid", Detail: e.Err.Error()}
}

// endLine is the last line of a run of lines that were not read, 0 for one row.
func endLine(e requestfile.RowError) int {
	if e.EndLine > e.Line {
		return e.EndLine
	}
	return 0
}

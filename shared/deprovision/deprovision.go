// Package deprovision turns "remove the account that provisioning request X
// created" into the deprovision request to submit, for every door that
// names a provisioning request (raprov deprovision, DELETE /requests/{id}):
// it reads where X stands in the ledger and refuses, before anything is
// queued, what cannot or need not be removed.
package deprovision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
)

// Why a provisioning request's account is not deprovisioned now.
const (
	// NotProvisioning: the request is itself a deprovision request.
	NotProvisioning = "not_a_provisioning_request"
	// InProgress: the request has not ended; removing its account while
	// its chain still runs would race it.
	InProgress = "request_in_progress"
	// NothingToRemove: the request failed before create-account ran.
	NothingToRemove = "nothing_to_remove"
	// NoAccount: the ledger does not know the request's account and the
	// caller did not name it.
	NoAccount = "account_unknown"
	// TakenOver: another provisioning request, completed or running,
	// adopted the request's account: it is that request's line now.
	TakenOver = "account_taken_over"
)

// Refusal says why the account of a request is not deprovisioned now.
type Refusal struct {
	Reason  string // one of the constants above
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// accountSteps are the provisioning steps that run once an account may
// exist: create-account (which may create it before it fails) and those
// after it.
var accountSteps = map[string]bool{
	events.StepCreateAccount: true,
	events.StepAssignLicense: true,
	events.StepAssignNumber:  true,
	events.StepAssociate:     true,
}

// deprovisionSteps run only for deprovision requests.
var deprovisionSteps = map[string]bool{
	events.StepUnassociate:    true,
	events.StepUnassignNumber: true,
	events.StepRemoveLicense:  true,
	events.StepRemoveAccount:  true,
}

// Check says why the account of the request st cannot be deprovisioned
// now, or returns nil when it can: st is a provisioning request that has
// ended, and it was not failed before create-account ran. st must carry
// its History (ledger.Get).
func Check(st ledger.Status) *Refusal {
	reached, failedAt := false, st.Step
	deprovision := st.Action == events.ActionDeprovision
	for _, e := range st.History {
		if e.Type == events.TypeProvisioningFailed && e.Step != events.StepComplete && failedAt == st.Step {
			failedAt = e.Step // the step that failed it, not complete, which ended it
		}
		deprovision = deprovision || e.Type == events.TypeDeprovisionRequested || deprovisionSteps[e.Step]
		reached = reached || e.Type == events.TypeAccountCreated || accountSteps[e.Step]
	}
	switch {
	case deprovision:
		return &Refusal{NotProvisioning, fmt.Sprintf("request %s is a deprovision request, not a provisioning request: name the provisioning request whose account to remove", st.RequestID)}
	case st.Outcome == ledger.Completed:
		return nil
	case st.Outcome == ledger.Failed && reached:
		return nil
	case st.Outcome == ledger.Failed:
		why := st.Reason
		if why == "" {
			why = "failed"
		}
		return &Refusal{NothingToRemove, fmt.Sprintf("request %s failed (%s) at %s, before an account was created: there is nothing to remove", st.RequestID, why, failedAt)}
	}
	return &Refusal{InProgress, fmt.Sprintf("request %s has not ended (its latest step is %s): removing its account while its chain still runs would race it; ask again once it has completed or failed", st.RequestID, st.Step)}
}

// Request is the deprovision request for the account of the provisioning
// request st, once Check passed: id events.DeprovisionID(st.RequestID), so
// asking twice removes the account once; target st.RequestID; the account
// upn when given, else the one the ledger recorded for st.
func Request(st ledger.Status, upn, callbackURL string) (events.Request, *Refusal) {
	if r := Check(st); r != nil {
		return events.Request{}, r
	}
	if upn == "" {
		upn = st.Account
	}
	if upn == "" {
		return events.Request{}, &Refusal{NoAccount, fmt.Sprintf("the ledger does not know which account request %s named (it was recorded by an older raprov): name its userPrincipalName", st.RequestID)}
	}
	return events.Request{
		RequestID:         events.DeprovisionID(st.RequestID),
		UserPrincipalName: upn,
		Action:            events.ActionDeprovision,
		Target:            st.RequestID,
		CallbackURL:       callbackURL,
	}, nil
}

// CheckHolders says why the account of the request st, which Check
// passed, is not deprovisioned now because another request holds it: a
// provisioning request started after st, completed or still running, whose
// account is st's (the same object id) — it adopted the account raprov
// created for st, which still carries st's ownership mark, so removing it
// for st would cut that request's line. It reads the ledger (l.List by
// object id); nil when no other request holds the account or the ledger
// does not know st's object id (the chain's ownership check still runs).
func CheckHolders(ctx context.Context, l ledger.Ledger, st ledger.Status) (*Refusal, error) {
	if st.ObjectID == "" {
		return nil, nil
	}
	others, err := l.List(ctx, ledger.Filter{ObjectID: st.ObjectID, Limit: ledger.DefaultLimit})
	if err != nil {
		return nil, err
	}
	var holders []string
	for _, o := range others {
		if o.RequestID == st.RequestID || o.Action == events.ActionDeprovision || o.Outcome == ledger.Failed || !o.Started.After(st.Started) {
			continue
		}
		holders = append(holders, o.RequestID)
	}
	if len(holders) == 0 {
		return nil, nil
	}
	return &Refusal{TakenOver, fmt.Sprintf("the account of request %s (%s) was adopted by request %s, which holds it now: "+
		"removing it for %s would cut that request's line, so raprov leaves it; remove the account in the Teams admin center if both lines are to go",
		st.RequestID, st.ObjectID, strings.Join(holders, ", "), st.RequestID)}, nil
}

// RefuseTakenOver turns into bad rows the deprovision rows of a request
// file whose target request's account another request holds now
// (CheckHolders),
// as `raprov deprovision` and DELETE /requests/{id} refuse them (the
// bulk folder, `raprov run` and `raprov submit` call it): such a
// row would remove a line still in use. A target the ledger does not know
// is left to the chain's ownership check; a ledger that cannot be read is
// an error, so the file is read again on the next pass.
func RefuseTakenOver(ctx context.Context, l ledger.Ledger, rows []requestfile.Row, bad []requestfile.RowError) ([]requestfile.Row, []requestfile.RowError, error) {
	kept := rows[:0:0]
	for _, r := range rows {
		if !r.Request.Deprovision() || r.Request.Target == "" {
			kept = append(kept, r)
			continue
		}
		st, err := l.Get(ctx, r.Request.Target)
		if apperr.CodeOf(err) == apperr.NotFound {
			kept = append(kept, r)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		refusal, err := CheckHolders(ctx, l, st)
		if err != nil {
			return nil, nil, err
		}
		if refusal != nil {
			bad = append(bad, requestfile.RowError{Line: r.Line, Err: errors.New(refusal.Message)})
			continue
		}
		kept = append(kept, r)
	}
	slices.SortStableFunc(bad, func(a, b requestfile.RowError) int { return cmp.Compare(a.Line, b.Line) })
	return kept, bad, nil
}

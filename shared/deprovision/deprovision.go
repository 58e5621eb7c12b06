// Package deprovision turns "remove the account that provisioning request X
// created" into the deprovision request to submit, for every door that
// names a provisioning request (raprov deprovision, DELETE /requests/{id}):
// it reads where X stands in the ledger and refuses, before anything is
// queued, what cannot or need not be removed.
package deprovision

import (
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
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

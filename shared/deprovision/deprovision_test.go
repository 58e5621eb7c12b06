package deprovision_test

import (
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/ledger"
)

func status(outcome ledger.Outcome, steps ...string) ledger.Status {
	st := ledger.Status{RequestID: "REQ-1", Outcome: outcome, Account: "ra-main@contoso.com"}
	for i, s := range steps {
		typ := events.TypeProvisioningAccepted
		if s == events.StepCreateAccount {
			typ = events.TypeAccountCreated
		}
		st.History = append(st.History, ledger.Entry{RequestID: "REQ-1", Step: s, Type: typ, Time: time.Unix(int64(i), 0)})
		st.Step = s
	}
	return st
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name   string
		st     ledger.Status
		upn    string
		reason string // "" = accepted
	}{
		{"completed", status(ledger.Completed, "submit", "intake", "check-license", "create-account", "complete"), "", ""},
		{"failed after the account", status(ledger.Failed, "submit", "intake", "check-license", "create-account", "assign-license", "complete"), "", ""},
		{"failed before the account", status(ledger.Failed, "submit", "intake", "check-license", "complete"), "", deprovision.NothingToRemove},
		{"still running", status(ledger.InProgress, "submit", "intake", "check-license", "create-account"), "", deprovision.InProgress},
		{"a deprovision request", func() ledger.Status {
			st := status(ledger.Completed, "submit", "intake", "unassociate", "complete")
			st.Action = events.ActionDeprovision
			return st
		}(), "", deprovision.NotProvisioning},
		{"a deprovision request recorded without its action", status(ledger.Completed, "submit", "intake", "unassociate", "complete"), "", deprovision.NotProvisioning},
		{"no account known", func() ledger.Status {
			st := status(ledger.Completed, "submit", "intake", "create-account", "complete")
			st.Account = ""
			return st
		}(), "", deprovision.NoAccount},
		{"no account known, named by the caller", func() ledger.Status {
			st := status(ledger.Completed, "submit", "intake", "create-account", "complete")
			st.Account = ""
			return st
		}(), "ra-named@contoso.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, refusal := deprovision.Request(tt.st, tt.upn, "https://hooks.contoso.com/x")
			if tt.reason != "" {
				if refusal == nil || refusal.Reason != tt.reason || refusal.Message == "" {
					t.Fatalf("refusal %+v, want %s", refusal, tt.reason)
				}
				return
			}
			if refusal != nil {
				t.Fatalf("refused: %v", refusal)
			}
			want := tt.upn
			if want == "" {
				want = tt.st.Account
			}
			if req.RequestID != "deprovision:REQ-1" || req.Target != "REQ-1" || req.UserPrincipalName != want ||
				!req.Deprovision() || req.CallbackURL != "https://hooks.contoso.com/x" {
				t.Errorf("request %+v", req)
			}
		})
	}
}

package deprovision_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
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

// A request whose account another provisioning request adopted (the same
// object id in the ledger) is not deprovisioned while that request holds
// it; failed holders, deprovision requests and the request itself do not
// count.
func TestCheckHolders(t *testing.T) {
	ctx := context.Background()
	l := memledger.New()
	at := int64(0)
	rec := func(id string, outcome ledger.Outcome, objectID, action string) {
		t.Helper()
		at++ // each request starts after the ones before it
		if err := l.Record(ctx, ledger.Entry{EventID: id + "-e", RequestID: id, Step: events.StepComplete, Time: time.Unix(at, 0),
			Outcome: outcome, ObjectID: objectID, Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	rec("A", ledger.Completed, "obj-1", "")
	rec(events.DeprovisionID("A"), ledger.Failed, "obj-1", events.ActionDeprovision) // an earlier try, refused
	rec("FAILED-ADOPT", ledger.Failed, "obj-1", "")
	rec("C", ledger.Completed, "obj-2", "")
	rec("D", ledger.Completed, "obj-3", "")
	rec("D-ADOPT", ledger.InProgress, "obj-3", "")
	get := func(id string) ledger.Status {
		st, err := l.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for id, want := range map[string]string{"A": "", "C": "", "D": "D-ADOPT"} {
		refusal, err := deprovision.CheckHolders(ctx, l, get(id))
		switch {
		case err != nil:
			t.Errorf("%s: %v", id, err)
		case want == "" && refusal != nil:
			t.Errorf("%s: refused %v", id, refusal)
		case want != "" && (refusal == nil || refusal.Reason != deprovision.TakenOver || !strings.Contains(refusal.Message, want)):
			t.Errorf("%s: refusal %+v, want %s naming %s", id, refusal, deprovision.TakenOver, want)
		}
	}
	rec("A-ADOPT", ledger.Completed, "obj-1", "")
	if refusal, _ := deprovision.CheckHolders(ctx, l, get("A")); refusal == nil || !strings.Contains(refusal.Message, "A-ADOPT") {
		t.Errorf("A after A-ADOPT: %+v, want refused", refusal)
	}
	// The adopter itself is not held up by the request that created the
	// account (the chain refuses it not_owned: the mark is A's).
	if refusal, err := deprovision.CheckHolders(ctx, l, get("A-ADOPT")); refusal != nil || err != nil {
		t.Errorf("A-ADOPT: %v, %v; want no refusal from an older holder", refusal, err)
	}
	noID := get("C")
	noID.ObjectID = ""
	if refusal, err := deprovision.CheckHolders(ctx, l, noID); refusal != nil || err != nil {
		t.Errorf("without an object id: %v, %v; want no refusal (the chain checks)", refusal, err)
	}
}

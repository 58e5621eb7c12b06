package submission_test

import (
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/submission"
)

func TestPrepareAndAgainst(t *testing.T) {
	r := events.Request{RequestID: "  HR-1 ", DisplayName: "Reception", UserPrincipalName: "Reception@Contoso.com", AccountType: "AA", UsageLocation: "us"}
	p := submission.Prepare("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", r)
	if p.RequestID != "HR-1" || p.Event.Data.Request.RequestID != "HR-1" || p.Event.TraceParent == "" || p.Event.Type != events.TypeProvisioningRequested {
		t.Fatalf("prepared %+v", p)
	}
	if rec := p.Record(); len(rec) != 1 || rec[0].EventID != p.Event.ID || rec[0].RequestID != "HR-1" || rec[0].Step != "submit" {
		t.Fatalf("record %+v", rec)
	}
	// The same request written another way has the same fingerprint.
	same := r
	same.AccountType, same.UserPrincipalName = events.AccountTypeAutoAttendant, "reception@contoso.com"
	if q := submission.Prepare("", same); q.Fingerprint != p.Fingerprint {
		t.Fatalf("fingerprints differ: %s %s", q.Fingerprint, p.Fingerprint)
	}
	for _, c := range []struct {
		holder, fp string
		want       submission.Outcome
	}{
		{"", "", submission.Sent},
		{p.Event.ID, p.Fingerprint, submission.Sent},
		{"other-event", p.Fingerprint, submission.Duplicate},
		{"other-event", "", submission.Duplicate},
		{"other-event", "another-fingerprint", submission.Conflict},
	} {
		if got := p.Against(c.holder, c.fp); got != c.want {
			t.Errorf("Against(%q, %q) = %s, want %s", c.holder, c.fp, got, c.want)
		}
	}
	if q := submission.Prepare("", events.Request{DisplayName: "no id"}); q.RequestID != "" || q.Record() != nil {
		t.Fatalf("a request without id: %+v", q)
	}
}

// The submit line names the account as intake will (trimmed, lower-cased)
// and the action intake knows.
func TestRecordAccount(t *testing.T) {
	for _, c := range []struct {
		name        string
		r           events.Request
		account, do string
	}{
		{"provision", events.Request{RequestID: "P1", DisplayName: "Reception", UserPrincipalName: " Reception@Contoso.COM ",
			AccountType: "AA", UsageLocation: "US"}, "reception@contoso.com", ""},
		{"deprovision", events.Request{RequestID: "D1", UserPrincipalName: "RA@contoso.com\t", Action: events.ActionDeprovision},
			"ra@contoso.com", events.ActionDeprovision},
		{"unknown action", events.Request{RequestID: "X1", UserPrincipalName: "ra@contoso.com", Action: "delete"}, "ra@contoso.com", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := submission.Prepare("", c.r).Record()
			if len(rec) != 1 || rec[0].Account != c.account || rec[0].Action != c.do || rec[0].ObjectID != "" {
				t.Fatalf("record %+v; want account %q action %q", rec, c.account, c.do)
			}
			if norm, errs := validate.Normalize(c.r, validate.Options{}); len(errs) == 0 && norm.UserPrincipalName != rec[0].Account {
				t.Errorf("account %q, intake normalises it to %q", rec[0].Account, norm.UserPrincipalName)
			}
		})
	}
}

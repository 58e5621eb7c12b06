package submission_test

import (
	"testing"

	"github.com/raprov/raprov/events"
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

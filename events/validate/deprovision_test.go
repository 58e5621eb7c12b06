package validate_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

func TestNormalizeDeprovision(t *testing.T) {
	in := events.Request{
		RequestID:         " INC0012999 ",
		UserPrincipalName: " RA-MainLine@Contoso.com ",
		Action:            events.ActionDeprovision,
		Target:            " INC0012345 ",
		CallbackURL:       "https://hooks.contoso.com/raprov",
		// Provisioning columns of a bulk row are dropped, not refused.
		DisplayName: "Main line", AccountType: "AA", UsageLocation: "US",
		PhoneNumber: "+14255550100", AssociateWith: "not-a-guid", Adopt: true,
	}
	got, errs := validate.Normalize(in, opts)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := events.Request{
		RequestID:         "INC0012999",
		UserPrincipalName: "ra-mainline@contoso.com",
		Action:            events.ActionDeprovision,
		Target:            "INC0012345",
		CallbackURL:       "https://hooks.contoso.com/raprov",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
	if got.Fingerprint() == (events.Request{RequestID: "x", UserPrincipalName: got.UserPrincipalName}).Fingerprint() {
		t.Error("a deprovision request has the fingerprint of a provisioning request with the same UPN")
	}
}

func TestNormalizeDeprovisionInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*events.Request)
		field  string
		reason events.Reason
	}{
		{"no upn", func(r *events.Request) { r.UserPrincipalName = "" }, "userPrincipalName", events.ReasonInvalidRequest},
		{"bad upn", func(r *events.Request) { r.UserPrincipalName = "a b@contoso.com" }, "userPrincipalName", events.ReasonInvalidRequest},
		{"unverified domain", func(r *events.Request) { r.UserPrincipalName = "ra@fabrikam.com" }, "userPrincipalName", events.ReasonDomainNotVerified},
		{"target with space", func(r *events.Request) { r.Target = "INC 1" }, "target", events.ReasonInvalidRequest},
		{"target too long", func(r *events.Request) { r.Target = strings.Repeat("t", 129) }, "target", events.ReasonInvalidRequest},
		{"internal callback", func(r *events.Request) { r.CallbackURL = "https://10.0.0.1/hook?token=s3cret" }, "callbackUrl", events.ReasonInvalidRequest},
		{"unknown action", func(r *events.Request) { r.Action = "delete" }, "action", events.ReasonInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := events.Request{RequestID: "d-1", UserPrincipalName: "ra@contoso.com", Action: events.ActionDeprovision}
			tt.change(&r)
			got, errs := validate.Normalize(r, opts)
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Reason != tt.reason {
				t.Fatalf("errors %+v, want one on %s with %s", errs, tt.field, tt.reason)
			}
			if got.RequestID != "d-1" {
				t.Errorf("request id %q lost", got.RequestID)
			}
			if strings.Contains(errs[0].Message, "s3cret") {
				t.Errorf("message quotes the callback URL: %s", errs[0].Message)
			}
		})
	}
}

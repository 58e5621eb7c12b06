package validate_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

// FuzzNormalize checks that Normalize never panics, that every error names
// a field and a known reason, and that normalising a normalised request
// changes nothing.
func FuzzNormalize(f *testing.F) {
	f.Add("INC1", "Main Line", "RA@Contoso.com", "AA", "us", "(425) 555-0100", "", "{3F2C1E9A-8D1B-4A55-9C3E-2B7F6D0A1C44}", "https://x.example/cb")
	f.Add("", " x ", "a.b@c.d", "cq", "DE", "030 1234567", "DirectRouting", "", "")
	f.Fuzz(func(t *testing.T, id, name, upn, typ, loc, phone, numType, assoc, cb string) {
		in := events.Request{
			RequestID: id, DisplayName: name, UserPrincipalName: upn, AccountType: typ, UsageLocation: loc,
			PhoneNumber: phone, NumberType: numType, AssociateWith: assoc, CallbackURL: cb,
		}
		out, errs := validate.Normalize(in, validate.Options{})
		for _, e := range errs {
			if e.Field == "" || !e.Reason.Valid() || e.Message == "" {
				t.Fatalf("bad field error %+v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		again, errs := validate.Normalize(out, validate.Options{})
		if len(errs) > 0 {
			t.Fatalf("normalised request %+v is invalid: %v", out, errs)
		}
		if diff := cmp.Diff(out, again); diff != "" {
			t.Fatalf("Normalize is not idempotent (-once +twice):\n%s", diff)
		}
	})
}

package steps_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

// check-license checks the number before anything is created, so a request
// that cannot get its number fails without reading licenses, let alone
// creating an account.
func TestCheckLicensePreflightNumber(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	free := freeRecord
	held := func(target string) func() *steps.NumberAssignment {
		return func() *steps.NumberAssignment {
			n := free()
			n.AssignmentTargetID, n.AssignmentStatus = target, "voiceApplicationAssigned"
			return n
		}
	}
	users := map[string]steps.Account{
		"ours-1":    {ID: "ours-1", UserPrincipalName: "main@contoso.com", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-1")},
		"foreign-1": {ID: "foreign-1", UserPrincipalName: "main@contoso.com", Department: steps.ResourceAccountDepartment},
		"other-1":   {ID: "other-1", UserPrincipalName: "other@contoso.com", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-0")},
		// A person whose attributes someone stamped with the request's mark.
		"person-1": {ID: "person-1", UserPrincipalName: "jane@contoso.com", Department: "Sales", AccountEnabled: true, OwnerMark: steps.OwnerMark("REQ-1")},
	}
	tests := []struct {
		name   string
		number func() *steps.NumberAssignment
		adopt  bool
		reason events.Reason // "" = license.available
	}{
		{name: "free", number: free},
		{name: "not in inventory", number: func() *steps.NumberAssignment { return nil }, reason: events.ReasonNumberNotFound},
		{name: "held by a stranger", number: held("foreign-1"), reason: events.ReasonNumberInUse},
		{name: "held by another request's account", number: held("other-1"), reason: events.ReasonNumberInUse},
		{name: "held by a person carrying the request's mark", number: held("person-1"), reason: events.ReasonNumberInUse},
		{name: "held by an unknown object", number: held("gone-1"), reason: events.ReasonNumberInUse},
		{name: "held by this request's account (a redelivery)", number: held("ours-1")},
		{name: "held by the account the request adopts", number: held("foreign-1"), adopt: true},
		{name: "user-only number", number: func() *steps.NumberAssignment {
			n := free()
			n.Capabilities = []string{"userAssignment"}
			return n
		}, reason: events.ReasonNumberNotAssignable},
		{name: "other country", number: func() *steps.NumberAssignment {
			n := free()
			n.IsoCountryCode = "CA"
			return n
		}, reason: events.ReasonNumberCountryMismatch},
		{name: "other type", number: func() *steps.NumberAssignment {
			n := free()
			n.NumberType = "directRouting"
			return n
		}, reason: events.ReasonNumberNotAssignable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skuReads, lookups := 0, 0
			lic := &mock.Licenses{SkuFn: func(_ context.Context, part string) (steps.Sku, error) {
				skuReads++
				return steps.Sku{ID: "sku-9", PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10, Consumed: 1}, nil
			}}
			nums := &mock.Numbers{LookupFn: func(context.Context, string) (*steps.NumberAssignment, error) {
				lookups++
				return tt.number(), nil
			}}
			accs := &mock.Accounts{GetFn: func(_ context.Context, id string) (steps.Account, error) {
				if u, ok := users[id]; ok {
					return u, nil
				}
				return steps.Account{}, apperr.New(apperr.NotFound, "", "no such user")
			}}
			in := request()
			in.Type = events.TypeProvisioningAccepted
			in.Data.Progress = events.Progress{}
			in.Data.Request.Adopt = tt.adopt
			out, err := run(t, events.StepCheckLicense, steps.CheckLicense(lic, nums, accs, nil, cfg), cfg, in)
			if tt.reason != "" {
				wantFailure(t, out, err, tt.reason)
				if skuReads != 0 {
					t.Errorf("read licenses %d times for a request that cannot finish", skuReads)
				}
				return
			}
			ev := one(t, out, err, events.TypeLicenseAvailable)
			if !ev.Data.Progress.NumberChecked || lookups != 1 {
				t.Fatalf("progress %+v after %d lookups", ev.Data.Progress, lookups)
			}
		})
	}
}

// The pre-flight reads the inventory once per request, not on every license
// re-check, and a request without a number reads nothing.
func TestCheckLicensePreflightOnce(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	seats := 0
	lic := &mock.Licenses{SkuFn: func(_ context.Context, part string) (steps.Sku, error) {
		return steps.Sku{ID: "sku-9", PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10, Consumed: 10 - seats}, nil
	}}
	lookups := 0
	nums := freeNumber()
	inner := nums.LookupFn
	nums.LookupFn = func(ctx context.Context, e164 string) (*steps.NumberAssignment, error) {
		lookups++
		return inner(ctx, e164)
	}
	step := steps.CheckLicense(lic, nums, nil, nil, cfg)
	in := request()
	in.Type = events.TypeProvisioningAccepted
	in.Data.Progress = events.Progress{}
	wait := runOne(t, events.StepCheckLicense, step, cfg, in, events.TypeProvisioningAccepted)
	wait = runOne(t, events.StepCheckLicense, step, cfg, wait, events.TypeProvisioningAccepted)
	seats = 1
	runOne(t, events.StepCheckLicense, step, cfg, wait, events.TypeLicenseAvailable)
	if lookups != 1 {
		t.Fatalf("looked the number up %d times over three checks, want 1", lookups)
	}

	in.Data.Request.PhoneNumber = ""
	lookups = 0
	if ev := runOne(t, events.StepCheckLicense, step, cfg, in, events.TypeLicenseAvailable); ev.Data.Progress.NumberChecked || lookups != 0 {
		t.Fatalf("no number: progress %+v, %d lookups", ev.Data.Progress, lookups)
	}
}

// An adopted account that already answers on another number is never given
// a second one; one that holds the requested number keeps it.
func TestAssignNumberAdopted(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	var holds []steps.NumberAssignment
	assigns := 0
	nums := freeNumber()
	nums.AssignFn = func(context.Context, steps.AssignNumberRequest) (string, error) {
		assigns++
		return "op-1", nil
	}
	nums.AssignedToFn = func(_ context.Context, id string) ([]steps.NumberAssignment, error) {
		if id != "obj-1" {
			t.Errorf("asked for the numbers of %s", id)
		}
		return holds, nil
	}
	in := request()
	in.Type = events.TypeLicenseAssigned
	in.Data.Progress.AccountReused, in.Data.Progress.AccountAdopted = true, true

	holds = []steps.NumberAssignment{{TelephoneNumber: "+12065550199", AssignmentTargetID: "obj-1"}}
	out, err := run(t, events.StepAssignNumber, steps.AssignNumber(nums, cfg), cfg, in)
	wantFailure(t, out, err, events.ReasonUPNConflict)
	if assigns != 0 {
		t.Fatalf("gave an adopted account a second number")
	}

	holds = nil
	runOne(t, events.StepAssignNumber, steps.AssignNumber(nums, cfg), cfg, in, events.TypeNumberAssignmentPending)
	if assigns != 1 {
		t.Fatalf("assigns = %d, want 1 for an adopted account without a number", assigns)
	}
}

// A Teams back end that refuses raprov is found before the first write: no
// user is created for a request that could not be bound.
func TestCreateAccountAsksTeamsFirst(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	w := &accountWorld{}
	acc, teams := w.ports()
	teams.ReadyFn = func(context.Context) error {
		return apperr.New(apperr.Forbidden, events.ReasonPermissionDenied, "teams admin: 403 Access Denied.")
	}
	out, err := run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, available())
	wantFailure(t, out, err, events.ReasonPermissionDenied)
	if len(w.created) != 0 {
		t.Fatalf("created %v although Teams refuses raprov", w.created)
	}
}

// Intake starts every request from empty progress, and refuses adopt unless
// the operator allows it.
func TestIntakeDropsSubmittedProgress(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	claims := &mock.Claims{ClaimFn: func(_ context.Context, _, ev, fp string) (string, string, error) { return ev, fp, nil }}
	req := events.Request{
		RequestID: "HR-5", DisplayName: "Reception", UserPrincipalName: "reception@contoso.com",
		AccountType: "AA", UsageLocation: "US", PhoneNumber: "+12065550100",
	}
	forged := events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: req,
		Progress: events.Progress{ObjectID: "someone-else", NumberChecked: true, AccountReused: true, SkuID: "sku"}})
	ev := call(t, steps.Intake(claims, intakeNormalizer(cfg), cfg), forged, events.TypeProvisioningAccepted)
	if p := ev.Data.Progress; !reflect.DeepEqual(p, events.Progress{AcceptedAt: p.AcceptedAt}) {
		t.Fatalf("accepted with progress %+v, want only acceptedAt", p)
	}

	req.RequestID, req.Adopt = "HR-6", true
	ev = call(t, steps.Intake(claims, intakeNormalizer(cfg), cfg), events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: req}), events.TypeProvisioningFailed)
	if f := ev.Data.Failure; f == nil || f.Field != "adopt" || f.Reason != events.ReasonInvalidRequest {
		t.Fatalf("adopt without the operator's consent: %+v", ev.Data.Failure)
	}
	cfg.AllowAdopt = true
	req.RequestID = "HR-7"
	call(t, steps.Intake(claims, intakeNormalizer(cfg), cfg), events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: req}), events.TypeProvisioningAccepted)
}

// Two requests for the same free number: the first to pass the pre-flight
// holds it until it ends, so the second is refused before it creates or
// licenses anything; once the first has ended, the inventory decides again.
func TestCheckLicenseHoldsTheNumber(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	lic := &mock.Licenses{SkuFn: func(_ context.Context, part string) (steps.Sku, error) {
		return steps.Sku{ID: "sku-9", PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10, Consumed: 1}, nil
	}}
	holds := &mock.NumberHolds{}
	step := steps.CheckLicense(lic, freeNumber(), nil, holds, cfg)
	first := request()
	first.Type = events.TypeProvisioningAccepted
	first.Data.Progress = events.Progress{}
	runOne(t, events.StepCheckLicense, step, cfg, first, events.TypeLicenseAvailable)
	if holds.Holder("+12065550100") != "REQ-1" {
		t.Fatalf("holder %q, want REQ-1", holds.Holder("+12065550100"))
	}
	// A redelivery of the first request's event still passes.
	runOne(t, events.StepCheckLicense, step, cfg, first, events.TypeLicenseAvailable)

	second := first
	second.Data.Request.RequestID, second.Subject = "REQ-2", "REQ-2"
	out, err := run(t, events.StepCheckLicense, step, cfg, second)
	ev := one(t, out, err, events.TypeProvisioningFailed)
	if ev.Data.Failure.Reason != events.ReasonNumberInUse {
		t.Fatalf("second request: %+v, want number_in_use", ev.Data.Failure)
	}

	// The first ends (either way): complete releases the number.
	done := first
	done.Type = events.TypeAccountAssociated
	runOne(t, events.StepComplete, steps.Complete(nil, holds, cfg), cfg, done, events.TypeProvisioningCompleted)
	if h := holds.Holder("+12065550100"); h != "" {
		t.Fatalf("holder after completion %q, want none", h)
	}
	runOne(t, events.StepCheckLicense, step, cfg, second, events.TypeLicenseAvailable)
}

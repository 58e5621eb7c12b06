package steps_test

import (
	"context"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

func TestIntake(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	cfg.VerifiedDomains = []string{"contoso.com"}
	type claim struct{ event, fingerprint string }
	claimed := map[string]claim{}
	claims := &mock.Claims{ClaimFn: func(_ context.Context, id, ev, fp string) (string, string, error) {
		if c, ok := claimed[id]; ok {
			return c.event, c.fingerprint, nil
		}
		claimed[id] = claim{ev, fp}
		return ev, fp, nil
	}}
	step := steps.Intake(claims, intakeNormalizer(cfg), cfg)
	submit := func(r events.Request) events.Event {
		return events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: r})
	}
	valid := events.Request{
		RequestID: "HR-1", DisplayName: " Reception ", UserPrincipalName: "Reception@Contoso.com",
		AccountType: "AA", UsageLocation: "us", PhoneNumber: "(206) 555-0100",
	}

	in := submit(valid)
	ev := call(t, step, in, events.TypeProvisioningAccepted)
	r := ev.Data.Request
	if r.UserPrincipalName != "reception@contoso.com" || r.AccountType != events.AccountTypeAutoAttendant ||
		r.UsageLocation != "US" || r.PhoneNumber != "+12065550100" || r.DisplayName != "Reception" || r.NumberType != events.NumberTypeCallingPlan {
		t.Fatalf("not normalised: %+v", r)
	}
	if ev.Subject != "HR-1" || ev.Data.Progress.AcceptedAt.IsZero() {
		t.Fatalf("accepted event subject %q progress %+v", ev.Subject, ev.Data.Progress)
	}

	// Redelivery of the same event proceeds; a second submission of the id does not.
	call(t, step, in, events.TypeProvisioningAccepted)
	out, err := step(context.Background(), submit(valid))
	if err != nil || len(out) != 0 {
		t.Fatalf("duplicate request id: out %v err %v", out, err)
	}
	// The same request written differently is the same request.
	same := valid
	same.UserPrincipalName, same.UsageLocation, same.AccountType = "reception@contoso.com", "US", "autoAttendant"
	if out, err := step(context.Background(), submit(same)); err != nil || len(out) != 0 {
		t.Fatalf("same normalised request again: out %v err %v", out, err)
	}
	// A different request under the id is refused, and the first one's
	// chain is left alone: no event (a failure would end it), a dead letter.
	other := valid
	other.UserPrincipalName = "other@contoso.com"
	out, err = step(context.Background(), submit(other))
	dl, ok := steps.AsDeadLetter(err)
	if !ok || dl.Reason != string(events.ReasonRequestConflict) || len(out) != 0 || len(dl.Emit) != 0 {
		t.Fatalf("conflicting request: out %v err %v", out, err)
	}

	bad := valid
	bad.RequestID, bad.UserPrincipalName = "HR-2", "reception@fabrikam.com"
	ev = call(t, step, submit(bad), events.TypeProvisioningFailed)
	if f := ev.Data.Failure; f == nil || f.Reason != events.ReasonDomainNotVerified || f.Field != "userPrincipalName" || f.Step != events.StepIntake {
		t.Fatalf("failure %+v", ev.Data.Failure)
	}

	noID := valid
	noID.RequestID = ""
	ev = call(t, step, submit(noID), events.TypeProvisioningAccepted)
	if ev.Subject == "" || ev.Data.Request.RequestID != ev.Subject {
		t.Fatalf("a request without id must get one: subject %q", ev.Subject)
	}
}

func call(t *testing.T, s steps.Step, in events.Event, wantType string) events.Event {
	t.Helper()
	out, err := s(context.Background(), in)
	return one(t, out, err, wantType)
}

// With an allow-list, intake refuses callback hosts outside it before
// anything is provisioned.
func TestIntakeCallbackAllowList(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	cfg.CallbackAllowedHosts = []string{"hooks.contoso.com"}
	claims := &mock.Claims{ClaimFn: func(_ context.Context, _, ev, fp string) (string, string, error) { return ev, fp, nil }}
	step := steps.Intake(claims, intakeNormalizer(cfg), cfg)
	req := events.Request{
		RequestID: "HR-9", DisplayName: "Reception", UserPrincipalName: "reception@contoso.com",
		AccountType: "AA", UsageLocation: "US", CallbackURL: "https://hooks.contoso.com/raprov",
	}
	call(t, step, events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: req}), events.TypeProvisioningAccepted)
	req.CallbackURL = "https://elsewhere.example.net/raprov"
	ev := call(t, step, events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: req}), events.TypeProvisioningFailed)
	if f := ev.Data.Failure; f == nil || f.Reason != events.ReasonInvalidRequest || f.Field != "callbackUrl" {
		t.Fatalf("failure %+v, want invalid_request on callbackUrl", ev.Data.Failure)
	}
}

// intakeNormalizer is the validator production wires into intake for cfg.
func intakeNormalizer(cfg steps.Config) steps.Normalizer {
	return validate.Normalizer(validate.Options{VerifiedDomains: cfg.VerifiedDomains, CallbackAllowedHosts: cfg.CallbackAllowedHosts})
}

package steps_test

import (
	"context"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

func TestIntake(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	cfg.VerifiedDomains = []string{"contoso.com"}
	claimed := map[string]string{}
	claims := &mock.Claims{ClaimFn: func(_ context.Context, id, ev string) (bool, error) {
		if by, ok := claimed[id]; ok {
			return by == ev, nil
		}
		claimed[id] = ev
		return true, nil
	}}
	step := steps.Intake(claims, cfg)
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

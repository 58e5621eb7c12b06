package events_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
)

func accepted() events.Event {
	e := events.New(events.TypeProvisioningAccepted, events.Source(events.StepIntake), events.Data{
		Request:  events.Request{RequestID: "r-1", DisplayName: "Main line", UserPrincipalName: "ra@contoso.com"},
		Progress: events.Progress{SkuID: "sku"},
	})
	e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.ReplayCount = 2
	return e
}

func TestNew(t *testing.T) {
	before := time.Now()
	e := accepted()
	id, err := uuid.Parse(e.ID)
	if err != nil || id.Version() != 7 {
		t.Errorf("ID %q is not a UUIDv7 (%v)", e.ID, err)
	}
	if e.Subject != "r-1" || e.Source != "raprov/intake" || e.Type != events.TypeProvisioningAccepted || e.Attempt != 0 {
		t.Errorf("New = %+v", e)
	}
	if e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now()) || e.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want now in UTC", e.Time)
	}
	if other := accepted(); other.ID == e.ID {
		t.Errorf("two events share id %s", e.ID)
	}
}

func TestNext(t *testing.T) {
	in := accepted()
	in.Attempt = 3
	in.Delay = time.Minute
	out := in.Next(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense))

	if out.ID == in.ID || out.Time.Before(in.Time) {
		t.Errorf("Next kept id/time: %s %v", out.ID, out.Time)
	}
	want := in
	want.ID, want.Time = out.ID, out.Time
	want.Type, want.Source = events.TypeLicenseAvailable, "raprov/check-license"
	want.Attempt, want.Delay = 0, 0
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("Next (-want +got):\n%s", diff)
	}
	mustEncode(t, out)
}

func TestNextTakesSubjectFromRequest(t *testing.T) {
	in := events.New(events.TypeProvisioningRequested, "raprov/cli", events.Data{Request: events.Request{DisplayName: "x"}})
	if in.Subject != "" {
		t.Fatalf("Subject = %q", in.Subject)
	}
	in.Data.Request.RequestID = "generated"
	out := in.Next(events.TypeProvisioningAccepted, events.Source(events.StepIntake))
	if out.Subject != "generated" {
		t.Errorf("Subject = %q, want the normalised request id", out.Subject)
	}
	mustEncode(t, out)
}

func TestNextDoesNotShareData(t *testing.T) {
	in := accepted().Fail(events.Source(events.StepAssignNumber), events.Failure{
		Reason: events.ReasonInvalidRequest, Errors: []events.FieldError{{Field: "a"}},
	})
	out := in.Next(events.TypeProvisioningFailed, events.Source(events.StepComplete))
	out.Data.Failure.Message = "changed"
	out.Data.Failure.Errors[0].Field = "changed"
	if in.Data.Failure.Message == "changed" || in.Data.Failure.Errors[0].Field == "changed" {
		t.Error("Next shares the failure with its input")
	}
	if done := in.Next(events.TypeProvisioningCompleted, events.Source(events.StepComplete)); done.Data.Failure != nil {
		t.Error("Next carried a failure onto a success type")
	}
}

func TestFail(t *testing.T) {
	in := accepted()
	out := in.Fail(events.Source(events.StepCheckLicense), events.Failure{Reason: events.ReasonNoLicense, Message: "no seats"})
	if out.Type != events.TypeProvisioningFailed || out.Subject != "r-1" || out.TraceParent != in.TraceParent {
		t.Errorf("Fail = %+v", out)
	}
	want := &events.Failure{Reason: events.ReasonNoLicense, Step: "check-license", Message: "no seats"}
	if diff := cmp.Diff(want, out.Data.Failure); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
	if in.Data.Failure != nil {
		t.Error("Fail changed its input")
	}
	// An explicit step is kept.
	out = in.Fail("raprov/cli", events.Failure{Reason: events.ReasonRejected, Step: "submit"})
	if out.Data.Failure.Step != "submit" {
		t.Errorf("Step = %q", out.Data.Failure.Step)
	}
	mustDecode(t, mustEncode(t, out))
}

func TestRetry(t *testing.T) {
	in := accepted()
	in.Attempt = 1
	out := in.Retry(30 * time.Second)
	if out.ID == in.ID {
		t.Error("Retry kept the id")
	}
	want := in
	want.ID, want.Time = out.ID, out.Time
	want.Attempt, want.Delay = 2, 30*time.Second
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("Retry (-want +got):\n%s", diff)
	}
	if events.Destination(out) != events.ConsumerOf(in.Type) {
		t.Errorf("a retry goes to %s, not back to %s", events.Destination(out), events.ConsumerOf(in.Type))
	}
}

func TestFailureOf(t *testing.T) {
	errs := []events.FieldError{
		{Field: "userPrincipalName", Reason: events.ReasonDomainNotVerified, Message: "domain x is not verified"},
		{Field: "usageLocation", Reason: events.ReasonInvalidRequest, Message: "usageLocation is required"},
	}
	want := events.Failure{
		Reason:  events.ReasonDomainNotVerified,
		Field:   "userPrincipalName",
		Message: "domain x is not verified; usageLocation is required",
		Errors:  errs,
	}
	if diff := cmp.Diff(want, events.FailureOf(errs)); diff != "" {
		t.Errorf("FailureOf (-want +got):\n%s", diff)
	}
	if got := events.FailureOf(nil); got.Reason != events.ReasonInvalidRequest {
		t.Errorf("FailureOf(nil).Reason = %s", got.Reason)
	}
	if got := (events.FieldError{Field: "f", Message: "m"}).Error(); got != "f: m" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRouting(t *testing.T) {
	consumers := map[string]string{
		events.TypeProvisioningRequested:   "intake",
		events.TypeProvisioningAccepted:    "check-license",
		events.TypeLicenseAvailable:        "create-account",
		events.TypeAccountCreated:          "assign-license",
		events.TypeLicenseAssigned:         "assign-number",
		events.TypeNumberAssignmentPending: "assign-number",
		events.TypeNumberAssigned:          "associate",
		events.TypeAccountAssociated:       "complete",
		events.TypeProvisioningCompleted:   "",
		events.TypeProvisioningFailed:      "complete",

		events.TypeDeprovisionRequested:      "intake",
		events.TypeDeprovisionAccepted:       "unassociate",
		events.TypeAccountUnassociated:       "unassign-number",
		events.TypeNumberUnassignmentPending: "unassign-number",
		events.TypeNumberUnassigned:          "remove-license",
		events.TypeLicenseRemoved:            "remove-account",
		events.TypeAccountRemoved:            "complete",
	}
	if len(events.Types) != len(consumers) {
		t.Errorf("Types has %d entries, want %d", len(events.Types), len(consumers))
	}
	for _, typ := range events.Types {
		if !events.Known(typ) {
			t.Errorf("Known(%s) = false", typ)
		}
		want, ok := consumers[typ]
		if !ok {
			t.Errorf("unexpected type %s", typ)
		}
		if got := events.ConsumerOf(typ); got != want {
			t.Errorf("ConsumerOf(%s) = %q, want %q", typ, got, want)
		}
	}
	for _, bad := range []string{"", "raprov.provisioning.accepted.v2", "provisioning.accepted"} {
		if events.Known(bad) || events.ConsumerOf(bad) != "" {
			t.Errorf("%q is known", bad)
		}
	}
	steps := map[string]bool{}
	for _, s := range events.AllSteps {
		steps[s] = true
	}
	for _, chain := range [][]string{events.Steps, events.DeprovisionSteps} {
		for _, s := range chain {
			if !steps[s] {
				t.Errorf("chain step %q is not in AllSteps", s)
			}
		}
	}
	if len(steps) != len(events.AllSteps) || len(steps) != len(events.Steps)+len(events.DeprovisionSteps)-2 {
		t.Errorf("AllSteps %q is not the union of the two chains (each step once)", events.AllSteps)
	}
	for _, r := range events.Routes {
		if r.Consumer != "" && !steps[r.Consumer] {
			t.Errorf("%s: consumer %q is not a step", r.Type, r.Consumer)
		}
		for _, s := range r.Emitters {
			if !steps[s] {
				t.Errorf("%s: emitter %q is not a step", r.Type, s)
			}
		}
	}
}

func TestDestination(t *testing.T) {
	d := events.Data{Request: events.Request{RequestID: "r"}}
	tests := []struct {
		typ, step, want string
	}{
		{events.TypeProvisioningAccepted, events.StepIntake, events.StepCheckLicense},
		{events.TypeProvisioningAccepted, events.StepCheckLicense, events.StepCheckLicense}, // waiting for a license
		{events.TypeNumberAssignmentPending, events.StepAssignNumber, events.StepAssignNumber},
		{events.TypeProvisioningFailed, events.StepAssignLicense, events.StepComplete},
		{events.TypeProvisioningFailed, events.StepComplete, events.Results},
		{events.TypeProvisioningCompleted, events.StepComplete, events.Results},
		{events.TypeDeprovisionAccepted, events.StepIntake, events.StepUnassociate},
		{events.TypeNumberUnassignmentPending, events.StepUnassignNumber, events.StepUnassignNumber},
		{events.TypeAccountRemoved, events.StepRemoveAccount, events.StepComplete},
		{events.TypeProvisioningFailed, events.StepRemoveLicense, events.StepComplete},
	}
	for _, tt := range tests {
		if got := events.Destination(events.New(tt.typ, events.Source(tt.step), d)); got != tt.want {
			t.Errorf("Destination(%s from %s) = %s, want %s", tt.typ, tt.step, got, tt.want)
		}
	}
}

func TestSourceAndStepOf(t *testing.T) {
	for _, s := range events.AllSteps {
		if got := events.StepOf(events.Source(s)); got != s {
			t.Errorf("StepOf(Source(%s)) = %s", s, got)
		}
	}
	if got := events.StepOf("https://example.com/intake"); got != "" {
		t.Errorf("StepOf(foreign source) = %q", got)
	}
}

func TestLogValueOmitsPayload(t *testing.T) {
	e := accepted().Fail(events.Source(events.StepIntake), events.Failure{Reason: events.ReasonInvalidRequest})
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "event", e)
	out := buf.String()
	for _, want := range []string{e.ID, events.TypeProvisioningFailed, `"subject":"r-1"`, `"reason":"invalid_request"`, `"replaycount":2`, e.TraceParent} {
		if !strings.Contains(out, want) {
			t.Errorf("log %s lacks %s", out, want)
		}
	}
	if strings.Contains(out, "ra@contoso.com") {
		t.Errorf("log contains the payload: %s", out)
	}
}

func TestDeprovisionID(t *testing.T) {
	if got := events.DeprovisionID("INC0012345"); got != "deprovision:INC0012345" {
		t.Errorf("DeprovisionID = %q", got)
	}
	long := strings.Repeat("x", 128)
	a, b := events.DeprovisionID(long), events.DeprovisionID(long+"y")
	if len(a) > 128 || len(b) > 128 || a == b || a != events.DeprovisionID(long) {
		t.Errorf("long targets: %q, %q", a, b)
	}
	r := events.Request{RequestID: "d", UserPrincipalName: "a@b.c", Action: events.ActionDeprovision}
	if events.RequestedType(r) != events.TypeDeprovisionRequested || events.RequestedType(events.Request{}) != events.TypeProvisioningRequested {
		t.Error("RequestedType")
	}
	if !events.Submitted(events.TypeDeprovisionRequested) || events.Submitted(events.TypeDeprovisionAccepted) {
		t.Error("Submitted")
	}
}

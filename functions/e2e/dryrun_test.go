//go:build linux

package e2e_test

// Dry runs through intake's Function URL: intake authenticates and
// validates the requests, then invokes check-license — the planner, which
// reads the tenant — with the normalised requests (Lambda Invoke, here the
// emulator's invoke API of a check-license instance of its own).

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/door/httpapi"
)

// startInstance starts one more emulator of step's function with its
// stack environment and extra variables; it stops when t ends.
func (s *stack) startInstance(t *testing.T, step string, extra map[string]string) *awslocal.RIE {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := append([]string(nil), s.fns[step].env...)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	r, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{
		Bootstrap:    filepath.Join(functionsDir, step),
		Env:          env,
		FunctionName: s.name + "-" + step,
	})
	if err != nil {
		t.Fatalf("%s instance: %v", step, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("%s instance: %v", step, err)
		}
		if t.Failed() {
			t.Logf("%s instance, output (tail):\n%s", step, tail(r.Output(), 16<<10))
		}
	})
	return r
}

// TestE2EDryRun posts a batch that says "dryRun": true to intake's URL:
// 200 with one plan per request — a free UPN and number to create, a UPN
// taken by a user, a number the tenant does not have — planned by
// check-license from reads of the simulated tenant only. Nothing is
// queued, claimed or written; an invalid item is refused by intake's
// validator (400) before the planner is invoked; and without a planner
// the door answers 501.
func TestE2EDryRun(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{noPollers: true})
	planner := s.startInstance(t, events.StepCheckLicense, nil)
	// The emulator's invoke API is /2015-03-31/functions/function/invocations:
	// the template's RAPROV_DRY_RUN_FUNCTION (check-license's ARN) is
	// "function" in this stack (stackConfig's Refs).
	u := &urlInstance{s: s, rie: s.startInstance(t, events.StepIntake, map[string]string{"AWS_ENDPOINT_URL_LAMBDA": planner.Endpoint})}

	st := s.sim.Server.State()
	var free string
	for _, n := range st.Teams.Numbers {
		if n.AssignmentTargetID == "" && n.IsoCountryCode == "US" && n.NumberType == teamssim.NumberTypeCallingPlan &&
			n.HasCapability(teamssim.CapabilityVoiceApplicationAssignment) {
			free = n.TelephoneNumber
			break
		}
	}
	if free == "" {
		t.Fatal("the simulator has no free US number for an auto attendant")
	}
	before := s.sim.Server.Snapshot()
	logged := len(s.sim.Server.Requests())

	batch, _ := json.Marshal([]map[string]any{
		{"requestId": "e2e-dry-1", "displayName": "Dry main line", "userPrincipalName": "e2e-dry-1@contoso.com", "accountType": "AA",
			"usageLocation": "US", "phoneNumber": free, "dryRun": true},
		{"requestId": "e2e-dry-2", "displayName": "Dry Adele", "userPrincipalName": "AdeleV@contoso.com", "accountType": "CQ",
			"usageLocation": "US", "dryRun": true},
		{"requestId": "e2e-dry-3", "displayName": "Dry unknown number", "userPrincipalName": "e2e-dry-3@contoso.com", "accountType": "AA",
			"usageLocation": "US", "phoneNumber": "+12065550199", "dryRun": true},
	})
	post := func(body []byte) (int, []byte) {
		resp, _ := u.call(t, http.MethodPost, "/requests", map[string]string{
			"Content-Type": "application/json", httpapi.SignatureHeader: httpapi.Sign(intakeKey, time.Now(), body),
		}, body)
		return resp.StatusCode, []byte(resp.Body)
	}
	code, b := post(batch)
	if code != http.StatusOK {
		t.Fatalf("dry run: %d %s, want 200", code, b)
	}
	var got httpapi.DryRun
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	type verdict struct{ ID, Verdict, Outcome, Number string }
	var have []verdict
	for _, p := range got.Plans {
		have = append(have, verdict{p.RequestID, p.Verdict, p.Outcome, p.Number})
	}
	want := []verdict{
		{"e2e-dry-1", httpapi.VerdictCreate, "completed", "free"},
		{"e2e-dry-2", httpapi.VerdictFail, "upn_conflict", ""},
		{"e2e-dry-3", httpapi.VerdictFail, "number_not_found", "not found"},
	}
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("plans (-want +got):\n%s\n%s", d, b)
	}
	if !got.DryRun || got.License == nil || got.License.FreeAfter != got.License.FreeBefore-1 {
		t.Errorf("answer %s: want dryRun and the SKU's seats, one taken", b)
	}

	// An invalid item: intake's validator refuses the batch; the planner
	// is not asked.
	invalid, _ := json.Marshal([]map[string]any{
		{"requestId": "e2e-dry-4", "displayName": "Dry bad number", "userPrincipalName": "e2e-dry-4@contoso.com", "accountType": "AA",
			"usageLocation": "US", "phoneNumber": "12345", "dryRun": true},
	})
	if code, b := post(invalid); code != http.StatusBadRequest || !strings.Contains(string(b), "phoneNumber") {
		t.Errorf("invalid dry run: %d %s, want 400 naming phoneNumber", code, b)
	}

	// Reads only: no write reached the tenant, nothing was queued, claimed
	// or recorded.
	var reads int
	for _, rec := range s.sim.Server.Requests()[logged:] {
		if rec.Method == http.MethodGet {
			reads++
		} else if !strings.HasSuffix(rec.Path, "/oauth2/v2.0/token") {
			t.Errorf("the dry run wrote: %s %s", rec.Method, rec.Path)
		}
	}
	if reads == 0 {
		t.Error("the simulator saw no read: the plan did not come from the tenant")
	}
	if diff := before.Diff(s.sim.Server.Snapshot()); len(diff) != 0 {
		t.Errorf("the dry run changed the tenant:\n%s", strings.Join(diff, "\n"))
	}
	if n := s.count(t, s.queues.URL(events.StepIntake)); n != 0 {
		t.Errorf("intake's queue holds %d messages after the dry run", n)
	}
	if resp, _ := u.get(t, "/requests/e2e-dry-1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a dry-run request: %d, want 404 (nothing recorded)", resp.StatusCode)
	}

	// Without a planner the door says so.
	bare := &urlInstance{s: s, rie: s.startInstance(t, events.StepIntake, map[string]string{"RAPROV_DRY_RUN_FUNCTION": ""})}
	body := []byte(`{"requestId":"e2e-dry-5","displayName":"Dry","userPrincipalName":"e2e-dry-5@contoso.com","accountType":"AA","usageLocation":"US","dryRun":true}`)
	resp, v := bare.call(t, http.MethodPost, "/requests", map[string]string{
		"Content-Type": "application/json", httpapi.SignatureHeader: httpapi.Sign(intakeKey, time.Now(), body),
	}, body)
	if resp.StatusCode != http.StatusNotImplemented || v["reason"] != httpapi.ReasonDryRunUnavailable {
		t.Errorf("dry run without a planner: %d %v, want 501 %s", resp.StatusCode, v, httpapi.ReasonDryRunUnavailable)
	}
}

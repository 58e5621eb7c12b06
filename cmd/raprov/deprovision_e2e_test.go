package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/steps"
)

// TestE2EDeprovision provisions accounts (with number and association, and
// without), deprovisions them by their request ids through the whole
// deprovisioning chain on the embedded default against the simulator, and
// checks that the tenant is as it was before they were provisioned; a
// second deprovision writes nothing, and accounts raprov did not create
// are refused untouched.
func TestE2EDeprovision(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{})
	before := e.sim.Snapshot()

	full := e2eReq("prov-full", "e2e-dep-full", aa, "US", "+12065550143", teamssim.SeedAfterHoursAAID)
	bare := e2eReq("prov-bare", "e2e-dep-bare", cq, "FR", "", "")
	e.submit(t, full, bare)
	for _, o := range e.await(t, full.RequestID, bare.RequestID) {
		mustComplete(t, o)
	}
	if diff := before.Diff(e.sim.Snapshot()); len(diff) == 0 {
		t.Fatal("provisioning changed nothing in the simulator")
	}

	dep := func(target, upn string) events.Request {
		return events.Request{RequestID: events.DeprovisionID(target), UserPrincipalName: upn, Action: events.ActionDeprovision, Target: target}
	}
	e.submit(t, dep(full.RequestID, full.UserPrincipalName), dep(bare.RequestID, bare.UserPrincipalName))
	outs := e.await(t, events.DeprovisionID(full.RequestID), events.DeprovisionID(bare.RequestID))
	for id, o := range outs {
		mustComplete(t, o)
		p := o.Final.Data.Progress
		if o.Final.Data.Request.Action != events.ActionDeprovision || !p.AccountDeleted || !p.LicenseRemoved || p.AccountAbsent {
			t.Errorf("%s: final %+v / %+v", id, o.Final.Data.Request, p)
		}
	}
	if got := outs[events.DeprovisionID(full.RequestID)].Final.Data.Progress.ReleasedNumbers; len(got) != 1 || got[0] != "+12065550143" {
		t.Errorf("released numbers %v", got)
	}
	if diff := before.Diff(e.sim.Snapshot()); len(diff) != 0 {
		t.Errorf("the tenant after deprovisioning differs from before provisioning:\n%s", strings.Join(diff, "\n"))
	}

	// The same deprovision again is a duplicate: nothing is sent. Under a
	// new id it runs, finds nothing left, and writes nothing.
	if sent := e.submit(t, dep(full.RequestID, full.UserPrincipalName)); len(sent) != 0 {
		t.Errorf("a repeated deprovision was sent again: %v", sent)
	}
	writes, _ := e2eWrites(e.sim.Counts())
	again := dep(full.RequestID, full.UserPrincipalName)
	again.RequestID = "deprovision-again"
	e.submit(t, again)
	o := e.await(t, again.RequestID)[again.RequestID]
	mustComplete(t, o)
	if !o.Final.Data.Progress.AccountAbsent {
		t.Errorf("second deprovision: %+v", o.Final.Data.Progress)
	}
	if w, _ := e2eWrites(e.sim.Counts()); w != writes {
		t.Errorf("a deprovision of an absent account wrote %d times", w-writes)
	}
}

// TestE2EDeprovisionBlock: with RAPROV_DEPROVISION_MODE=block the account
// stays, sign-in blocked, without license, number or association.
func TestE2EDeprovisionBlock(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{steps: func(c *steps.Config) { c.DeprovisionMode = steps.DeprovisionBlock }})
	before := e.sim.Snapshot()
	full := e2eReq("prov-full", "e2e-block-full", aa, "US", "+12065550143", teamssim.SeedAfterHoursAAID)
	e.submit(t, full)
	mustComplete(t, e.await(t, full.RequestID)[full.RequestID])
	id := events.DeprovisionID(full.RequestID)
	e.submit(t, events.Request{RequestID: id, UserPrincipalName: full.UserPrincipalName, Action: events.ActionDeprovision, Target: full.RequestID})
	o := e.await(t, id)[id]
	mustComplete(t, o)
	if p := o.Final.Data.Progress; !p.AccountBlocked || p.AccountDeleted {
		t.Errorf("progress %+v", p)
	}
	st := e.sim.State()
	users := usersWithUPN(st, full.UserPrincipalName)
	if len(users) != 1 {
		t.Fatalf("users with the UPN: %+v, want the kept one", users)
	}
	u := users[0]
	if u.AccountEnabled || len(u.AssignedLicenses) != 0 || len(numbersHeldBy(st, u.ID)) != 0 || len(associationsOf(st, u.ID)) != 0 {
		t.Errorf("kept account %+v holds numbers %v, associations %v", u, numbersHeldBy(st, u.ID), associationsOf(st, u.ID))
	}
	after := st.Snapshot()
	if diff := cmp.Diff(before.ConsumedUnits, after.ConsumedUnits); diff != "" {
		t.Errorf("license seats not given back (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.Numbers, after.Numbers); diff != "" {
		t.Errorf("numbers differ from before (-before +after):\n%s", diff)
	}
}

// TestE2EDeprovisionRefusesWhatRaprovDidNotCreate: the seed's resource
// accounts (made by an admin, no ownership mark), an account adopted by a
// request, and one created for another request are never touched.
func TestE2EDeprovisionRefusesWhatRaprovDidNotCreate(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{steps: func(c *steps.Config) { c.AllowAdopt = true }})
	adopted := events.Request{
		RequestID: "prov-adopt", DisplayName: "Sales UK", UserPrincipalName: "ra-sales-uk@contoso.com",
		AccountType: cq, UsageLocation: "GB", PhoneNumber: "+442079460321", Adopt: true,
	}
	mine := e2eReq("prov-mine", "e2e-dep-mine", aa, "US", "", "")
	e.submit(t, adopted, mine)
	for _, o := range e.await(t, adopted.RequestID, mine.RequestID) {
		mustComplete(t, o)
	}
	before := e.sim.Snapshot()
	writes, _ := e2eWrites(e.sim.Counts())

	reqs := []events.Request{
		// adopted by a request: raprov did not create it
		{RequestID: "dep-adopted", UserPrincipalName: adopted.UserPrincipalName, Target: adopted.RequestID},
		// no target: any raprov mark would do, but it has none
		{RequestID: "dep-adopted-upn", UserPrincipalName: adopted.UserPrincipalName},
		// created by raprov, but for another request than the target
		{RequestID: "dep-wrong-target", UserPrincipalName: mine.UserPrincipalName, Target: adopted.RequestID},
	}
	ids := make([]string, len(reqs))
	for i := range reqs {
		reqs[i].Action = events.ActionDeprovision
		ids[i] = reqs[i].RequestID
	}
	e.submit(t, reqs...)
	for id, o := range e.await(t, ids...) {
		if f := mustFail(t, o, events.ReasonNotOwned, events.StepUnassociate); f == nil {
			t.Errorf("%s did not fail", id)
		}
	}
	if w, _ := e2eWrites(e.sim.Counts()); w != writes {
		t.Errorf("refused deprovisions wrote %d times", w-writes)
	}
	if diff := before.Diff(e.sim.Snapshot()); len(diff) != 0 {
		t.Errorf("refused deprovisions changed the tenant:\n%s", strings.Join(diff, "\n"))
	}
}

// deprovisionScenarios are TestE2EReasonCodes' paths to the reasons only
// deprovisioning gives.
func deprovisionScenarios() []e2eScenario {
	const (
		stuckID     = "5d1c0b9a-8e7f-4a6b-9c5d-4e3f2a1b0c9d"
		stuckUPN    = "ra-stuck@contoso.com"
		stuckNumber = "+12125550188"
	)
	disabled := false
	stuck := e2eConfig{seed: func(s *graphsim.Seed) {
		s.Users = append(s.Users, graphsim.SeedUser{
			ID: stuckID, UserPrincipalName: stuckUPN, DisplayName: "Stuck", AccountEnabled: &disabled,
			UsageLocation: "US", Department: graphsim.ResourceAccountDepartment, Licenses: []string{"PHONESYSTEM_VIRTUALUSER"},
			ExtensionAttributes: map[string]string{"extensionAttribute15": steps.OwnerMark("prov-stuck")},
		})
		s.Teams.Numbers = append(s.Teams.Numbers, teamssim.Number{
			TelephoneNumber: stuckNumber, NumberType: events.NumberTypeCallingPlan,
			AssignmentStatus: "voiceApplicationAssigned", AssignmentTargetID: stuckID,
			Capabilities: []string{"voiceApplicationAssignment"}, IsoCountryCode: "US",
			FailWith: "The number is locked by a pending port-out order.",
		})
	}}
	unchanged := func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
		if diff := e.base.Snapshot().Diff(e.sim.Snapshot()); len(diff) != 0 {
			t.Errorf("a refused deprovision changed the tenant:\n%s", strings.Join(diff, "\n"))
		}
	}
	dep := func(id, upn, target string) events.Request {
		return events.Request{RequestID: id, UserPrincipalName: upn, Action: events.ActionDeprovision, Target: target}
	}
	return []e2eScenario{
		{
			name: "deprovision an account raprov did not create", reason: events.ReasonNotOwned, step: events.StepUnassociate,
			env: &e2eConfig{}, req: dep("dep-not-owned", "ra-support@contoso.com", ""), check: unchanged,
		},
		{
			name: "deprovision a UPN nobody has", reason: events.ReasonAccountNotFound, step: events.StepUnassociate,
			env: &e2eConfig{}, req: dep("dep-nobody", "ra-nobody@contoso.com", ""), check: unchanged,
		},
		{
			name: "deprovision an account whose number cannot be released", reason: events.ReasonNumberUnassignmentFailed,
			step: events.StepUnassignNumber, env: &stuck, req: dep("dep-stuck", stuckUPN, "prov-stuck"),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				// The account keeps its license and its number: nothing
				// after the number was touched.
				u, ok := userByID(e.sim.State(), stuckID)
				if !ok || len(u.AssignedLicenses) != 1 {
					t.Errorf("the account lost its license or was deleted: %+v", u)
				}
				if n, _ := numberOf(e.sim.State(), stuckNumber); n.AssignmentTargetID != stuckID {
					t.Errorf("number %+v", n)
				}
				if !strings.Contains(f.Message, "port-out") {
					t.Errorf("failure message %q lacks the operation's detail", f.Message)
				}
			},
		},
	}
}

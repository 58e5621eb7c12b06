package dryrun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/dryrun"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

const skuID = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"

// tenant is a read-only tenant behind the mocks: the write functions of
// the mocks stay nil, so a write panics and fails the test.
type tenant struct {
	free      int
	noSku     bool
	users     map[string]steps.Account // by UPN
	numbers   map[string]steps.NumberAssignment
	instances map[string]steps.ApplicationInstance // by object id
	readyErr  error
	lookupErr error
}

func (tn *tenant) ports() dryrun.Ports {
	return dryrun.Ports{
		Licenses: &mock.Licenses{SkuFn: func(_ context.Context, part string) (steps.Sku, error) {
			if tn.noSku {
				return steps.Sku{}, apperr.New(apperr.NotFound, "", "no %s", part)
			}
			return steps.Sku{ID: skuID, PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10 + tn.free, Consumed: 10}, nil
		}},
		Accounts: &mock.Accounts{
			FindByUPNFn: func(_ context.Context, upn string) (*steps.Account, error) {
				if a, ok := tn.users[upn]; ok {
					return &a, nil
				}
				return nil, nil
			},
			GetFn: func(_ context.Context, id string) (steps.Account, error) {
				for _, a := range tn.users {
					if a.ID == id {
						return a, nil
					}
				}
				return steps.Account{}, apperr.New(apperr.NotFound, "", "no user %s", id)
			},
		},
		Numbers: &mock.Numbers{
			LookupFn: func(_ context.Context, e164 string) (*steps.NumberAssignment, error) {
				if tn.lookupErr != nil {
					return nil, tn.lookupErr
				}
				if n, ok := tn.numbers[e164]; ok {
					return &n, nil
				}
				return nil, nil
			},
			AssignedToFn: func(_ context.Context, id string) ([]steps.NumberAssignment, error) {
				var out []steps.NumberAssignment
				for _, n := range tn.numbers {
					if n.AssignmentTargetID == id {
						out = append(out, n)
					}
				}
				return out, nil
			},
		},
		Teams: &mock.TeamsAdmin{
			ReadyFn: func(context.Context) error { return tn.readyErr },
			ApplicationInstanceFn: func(_ context.Context, id string) (*steps.ApplicationInstance, error) {
				if inst, ok := tn.instances[id]; ok {
					return &inst, nil
				}
				return nil, nil
			},
		},
	}
}

func resourceAccount(id, upn, mark string) steps.Account {
	return steps.Account{ID: id, UserPrincipalName: upn, Department: steps.ResourceAccountDepartment, UsageLocation: "US", OwnerMark: mark}
}

func freeNumber(e164, country string) steps.NumberAssignment {
	return steps.NumberAssignment{TelephoneNumber: e164, NumberType: events.NumberTypeCallingPlan, AssignmentStatus: steps.StatusUnassigned,
		Capabilities: []string{steps.CapabilityVoiceApplication}, IsoCountryCode: country}
}

func req(id, upn, number string) events.Request {
	return events.Request{RequestID: id, DisplayName: id, UserPrincipalName: upn, AccountType: events.AccountTypeAutoAttendant,
		UsageLocation: "US", PhoneNumber: number, NumberType: events.NumberTypeCallingPlan}
}

func TestDryRunPlans(t *testing.T) {
	taken := freeNumber("+12065550188", "US")
	taken.AssignmentTargetID, taken.AssignmentStatus = "u-adele", "userAssigned"
	ours := freeNumber("+12065550150", "US")
	ours.AssignmentTargetID, ours.AssignmentStatus = "u-mine", steps.StatusVoiceApplicationAssign
	personal := freeNumber("+12065550160", "US")
	personal.Capabilities = []string{"userAssignment"}
	adopted := resourceAccount("u-old", "ra-old@contoso.com", "")
	adoptedGB := resourceAccount("u-gb", "ra-gb@contoso.com", "")
	adoptedGB.UsageLocation = "GB"
	licensed := resourceAccount("u-mine", "ra-mine@contoso.com", steps.OwnerMark("R-MINE"))
	licensed.AssignedSkuIDs = []string{skuID}
	tn := &tenant{
		free: 2,
		users: map[string]steps.Account{
			"adelev@contoso.com":   {ID: "u-adele", UserPrincipalName: "adelev@contoso.com", AccountEnabled: true},
			"ra-mine@contoso.com":  licensed,
			"ra-other@contoso.com": resourceAccount("u-other", "ra-other@contoso.com", steps.OwnerMark("SOMEONE-ELSE")),
			"ra-old@contoso.com":   adopted,
			"ra-gb@contoso.com":    adoptedGB,
			"ra-cq@contoso.com":    resourceAccount("u-cq", "ra-cq@contoso.com", steps.OwnerMark("R-CQ")),
		},
		numbers: map[string]steps.NumberAssignment{
			"+12065550143":  freeNumber("+12065550143", "US"),
			"+12065550188":  taken,
			"+12065550150":  ours,
			"+12065550160":  personal,
			"+442079460322": freeNumber("+442079460322", "GB"),
		},
		instances: map[string]steps.ApplicationInstance{
			"u-mine": {ObjectID: "u-mine", ApplicationID: steps.AutoAttendantAppID},
			"u-old":  {ObjectID: "u-old", ApplicationID: steps.AutoAttendantAppID},
			"u-cq":   {ObjectID: "u-cq", ApplicationID: steps.CallQueueAppID},
		},
	}
	adopt := req("R-ADOPT", "ra-old@contoso.com", "")
	adopt.Adopt = true
	adoptGB := req("R-ADOPT-GB", "ra-gb@contoso.com", "")
	adoptGB.Adopt = true
	conflicting := req("R-1", "ra-other-name@contoso.com", "")

	tests := []struct {
		req     events.Request
		verdict dryrun.Verdict
		reason  events.Reason
		number  string
		seats   [2]int
		wait    bool
	}{
		{req("R-1", "ra-new@contoso.com", "+12065550143"), dryrun.Create, "", "free", [2]int{2, 1}, false},
		{req("R-MINE", "ra-mine@contoso.com", "+12065550150"), dryrun.Continue, "", "ours", [2]int{1, 1}, false}, // holds the SKU: no seat
		{req("R-2", "ra-dup-number@contoso.com", "+12065550143"), dryrun.Fail, events.ReasonNumberInUse, "held by R-1", [2]int{1, 1}, false},
		{req("R-3", "ra-new@contoso.com", ""), dryrun.Fail, events.ReasonUPNConflict, "", [2]int{1, 1}, false},
		{req("R-4", "adelev@contoso.com", ""), dryrun.Fail, events.ReasonUPNConflict, "", [2]int{1, 1}, false},
		{req("R-5", "ra-x@contoso.com", "+12065550188"), dryrun.Fail, events.ReasonNumberInUse, "in use by u-adele (userAssigned)", [2]int{1, 1}, false},
		{req("R-6", "ra-x@contoso.com", "+12065550160"), dryrun.Fail, events.ReasonNumberNotAssignable, "wrong capability (userAssignment)", [2]int{1, 1}, false},
		{req("R-7", "ra-x@contoso.com", "+442079460322"), dryrun.Fail, events.ReasonNumberCountryMismatch, "wrong country (GB)", [2]int{1, 1}, false},
		{req("R-8", "ra-x@contoso.com", "+12065550199"), dryrun.Fail, events.ReasonNumberNotFound, "not found", [2]int{1, 1}, false},
		{req("R-9", "ra-other@contoso.com", ""), dryrun.Fail, events.ReasonUPNConflict, "", [2]int{1, 1}, false},
		{adoptGB, dryrun.Fail, events.ReasonUPNConflict, "", [2]int{1, 1}, false},
		{req("R-CQ", "ra-cq@contoso.com", ""), dryrun.Fail, events.ReasonUPNConflict, "", [2]int{1, 1}, false}, // bound as a call queue
		{adopt, dryrun.Adopt, "", "", [2]int{1, 0}, false},
		{req("R-10", "ra-late@contoso.com", ""), dryrun.Create, "", "", [2]int{0, 0}, true},
		{conflicting, dryrun.Fail, events.ReasonRequestConflict, "", [2]int{0, 0}, false},
	}
	pl := dryrun.New(tn.ports(), "")
	for _, tt := range tests {
		t.Run(tt.req.RequestID+" "+tt.req.UserPrincipalName, func(t *testing.T) {
			p, err := pl.Plan(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.Verdict != tt.verdict || p.Reason != tt.reason || p.Number != tt.number ||
				[2]int{p.SeatsBefore, p.SeatsAfter} != tt.seats || p.LicenseWait != tt.wait {
				t.Errorf("plan %+v;\nwant verdict %q reason %q number %q seats %v wait %v", p, tt.verdict, tt.reason, tt.number, tt.seats, tt.wait)
			}
			if tt.verdict == dryrun.Fail && p.Detail == "" {
				t.Error("a failing plan without its detail")
			}
		})
	}
	if pl.Free() != 0 {
		t.Errorf("Free() = %d after the file; want 0", pl.Free())
	}
}

func TestDryRunSameRequestTwice(t *testing.T) {
	pl := dryrun.New((&tenant{free: 5}).ports(), "")
	r := req("R-1", "ra-a@contoso.com", "")
	first, err := pl.Plan(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pl.Plan(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if first.Verdict != dryrun.Create || again.Verdict != dryrun.Create || again.SameAs != 1 || again.TakesSeat || pl.Free() != 4 {
		t.Errorf("first %+v, again %+v, free %d; want one creation, one seat", first, again, pl.Free())
	}
}

func TestDryRunNoSubscription(t *testing.T) {
	pl := dryrun.New((&tenant{noSku: true}).ports(), "")
	p, err := pl.Plan(context.Background(), req("R-1", "ra-a@contoso.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	if p.Verdict != dryrun.Create || !p.LicenseWait || !p.Matches("no_license") || !p.Matches("completed") || p.Matches("upn_conflict") {
		t.Errorf("plan %+v; want a creation waiting for a license", p)
	}
	if _, ok := pl.Sku(); ok {
		t.Error("Sku() reports a SKU the tenant lacks")
	}
}

func TestDryRunTeamsRefuses(t *testing.T) {
	tn := &tenant{free: 1, readyErr: apperr.New(apperr.Forbidden, events.ReasonPermissionDenied, "no Teams role")}
	p, err := dryrun.New(tn.ports(), "").Plan(context.Background(), req("R-1", "ra-a@contoso.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	if p.Verdict != dryrun.Fail || p.Reason != events.ReasonPermissionDenied || p.SeatsAfter != 1 {
		t.Errorf("plan %+v; want permission_denied and no seat taken", p)
	}
}

// A read that fails for a passing reason (throttling, an outage) is not a
// verdict: the planner returns it.
func TestDryRunTransientRead(t *testing.T) {
	tn := &tenant{free: 1, lookupErr: apperr.New(apperr.Throttled, "", "slow down")}
	_, err := dryrun.New(tn.ports(), "").Plan(context.Background(), req("R-1", "ra-a@contoso.com", "+12065550143"))
	if !apperr.IsTransient(err) || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("err %v; want the throttling error", err)
	}
}

func TestDryRunReject(t *testing.T) {
	pl := dryrun.New((&tenant{free: 1}).ports(), "")
	p := pl.Reject(req("R-1", "ra-a@fabrikam.com", ""), events.ReasonDomainNotVerified, "not verified")
	if p.Verdict != dryrun.Fail || p.Outcome() != "domain_not_verified" || !p.Matches("domain_not_verified") || p.Matches("") {
		t.Errorf("plan %+v", p)
	}
}

// A deprovision request is planned as the deprovisioning steps would run
// it, with reads only: the account raprov created and what would go with
// it (its seat freed for later rows), refusals as the steps refuse them.
func TestDryRunDeprovision(t *testing.T) {
	mine := resourceAccount("obj-1", "ra-mine@contoso.com", steps.OwnerMark("REQ-1"))
	mine.AssignedSkuIDs = []string{skuID}
	held := freeNumber("+12065550100", "US")
	held.AssignmentStatus, held.AssignmentTargetID = steps.StatusVoiceApplicationAssign, "obj-1"
	tn := &tenant{free: 0, users: map[string]steps.Account{
		"ra-mine@contoso.com":  mine,
		"ra-admin@contoso.com": resourceAccount("obj-2", "ra-admin@contoso.com", ""),
	}, numbers: map[string]steps.NumberAssignment{held.TelephoneNumber: held}}
	pl := dryrun.New(tn.ports(), "PHONESYSTEM_VIRTUALUSER")
	dep := func(id, upn, target string) events.Request {
		return events.Request{RequestID: id, UserPrincipalName: upn, Action: events.ActionDeprovision, Target: target}
	}
	tests := []struct {
		req    events.Request
		want   dryrun.Verdict
		reason events.Reason
		detail string
	}{
		{dep("D-1", "ra-mine@contoso.com", "REQ-1"), dryrun.Remove, "", "association, number +12065550100, license, then the account"},
		{dep("D-2", "ra-admin@contoso.com", ""), dryrun.Fail, events.ReasonNotOwned, "no raprov ownership mark"},
		{dep("D-3", "ra-mine@contoso.com", "REQ-9"), dryrun.Fail, events.ReasonNotOwned, "not for REQ-9"},
		{dep("D-4", "ra-gone@contoso.com", "REQ-7"), dryrun.Remove, "", "gone already"},
		{dep("D-5", "ra-typo@contoso.com", ""), dryrun.Fail, events.ReasonAccountNotFound, "no account"},
	}
	for _, tt := range tests {
		p, err := pl.Plan(context.Background(), tt.req)
		if err != nil {
			t.Fatalf("%s: %v", tt.req.RequestID, err)
		}
		if p.Verdict != tt.want || p.Reason != tt.reason || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("%s: %s %s %q; want %s %s containing %q", tt.req.RequestID, p.Verdict, p.Reason, p.Detail, tt.want, tt.reason, tt.detail)
		}
	}
	// The removed license frees a seat: a provisioning row after it gets it.
	p, err := pl.Plan(context.Background(), req("P-1", "ra-new@contoso.com", ""))
	if err != nil || p.Verdict != dryrun.Create || !p.TakesSeat || p.LicenseWait {
		t.Errorf("after the removal: %+v %v", p, err)
	}
}

package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

// tenant is a small stateful stand-in for the Microsoft side of
// deprovisioning: users, one license SKU, numbers with their holders,
// associations, and asynchronous unassignments that finish on the next
// poll. It counts writes so tests can assert that a repeat writes nothing.
type tenant struct {
	users   map[string]*steps.Account // by object id
	numbers map[string]string         // e164 → holder object id ("" = free)
	assoc   map[string]string         // object id → configuration id
	ops     map[string]string         // operation id → e164
	opState string                    // status operations report once polled
	writes  []string
}

const skuID = "sku-vu"

func newTenant() *tenant {
	return &tenant{users: map[string]*steps.Account{}, numbers: map[string]string{}, assoc: map[string]string{}, ops: map[string]string{}, opState: steps.OperationSucceeded}
}

// ours adds an account raprov created for request owner, licensed, with
// number and association.
func (t *tenant) ours(id, upn, owner, number string) {
	t.users[id] = &steps.Account{ID: id, UserPrincipalName: upn, Department: steps.ResourceAccountDepartment,
		AssignedSkuIDs: []string{skuID, "sku-other"}, OwnerMark: steps.OwnerMark(owner)}
	if number != "" {
		t.numbers[number] = id
	}
	t.assoc[id] = "aa-1"
}

func (t *tenant) FindByUPN(_ context.Context, upn string) (*steps.Account, error) {
	for _, u := range t.users {
		if strings.EqualFold(u.UserPrincipalName, upn) {
			c := *u
			return &c, nil
		}
	}
	return nil, nil
}

func (t *tenant) Get(_ context.Context, id string) (steps.Account, error) {
	u, ok := t.users[id]
	if !ok {
		return steps.Account{}, apperr.New(apperr.NotFound, "", "user %s not found", id)
	}
	return *u, nil
}

func (t *tenant) Create(context.Context, steps.NewAccount) (steps.Account, error) { panic("create") }
func (t *tenant) SetUsageLocation(context.Context, string, string) error          { panic("patch") }

func (t *tenant) Unassociate(_ context.Context, id string) error {
	if _, ok := t.assoc[id]; ok {
		t.writes = append(t.writes, "unassociate "+id)
		delete(t.assoc, id)
	}
	return nil
}

func (t *tenant) AssignedTo(_ context.Context, id string) ([]steps.NumberAssignment, error) {
	var out []steps.NumberAssignment
	for n, holder := range t.numbers {
		if holder == id {
			out = append(out, steps.NumberAssignment{TelephoneNumber: n, NumberType: events.NumberTypeCallingPlan, AssignmentTargetID: id})
		}
	}
	slices.SortFunc(out, func(a, b steps.NumberAssignment) int { return strings.Compare(a.TelephoneNumber, b.TelephoneNumber) })
	return out, nil
}

func (t *tenant) Unassign(_ context.Context, e164, numberType string) (string, error) {
	t.writes = append(t.writes, "unassign "+e164)
	id := "op-" + e164
	t.ops[id] = e164
	return id, nil
}

func (t *tenant) Operation(_ context.Context, id string) (steps.Operation, error) {
	n, ok := t.ops[id]
	if !ok {
		return steps.Operation{}, apperr.New(apperr.NotFound, "", "no operation %s", id)
	}
	if t.opState == steps.OperationSucceeded {
		t.numbers[n] = ""
	}
	return steps.Operation{ID: id, Status: t.opState, Numbers: []steps.OperationNumber{{StatusDetail: "detail of " + n}}}, nil
}

func (t *tenant) Lookup(context.Context, string) (*steps.NumberAssignment, error) { panic("lookup") }
func (t *tenant) Assign(context.Context, steps.AssignNumberRequest) (string, error) {
	panic("assign")
}
func (t *tenant) Inventory(context.Context) ([]steps.NumberAssignment, error) { panic("inventory") }

func (t *tenant) Sku(_ context.Context, part string) (steps.Sku, error) {
	return steps.Sku{ID: skuID, PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10}, nil
}
func (t *tenant) AssignLicense(context.Context, string, string) error { panic("assign license") }

func (t *tenant) RemoveLicense(_ context.Context, id, sku string) error {
	u := t.users[id]
	if i := slices.Index(u.AssignedSkuIDs, sku); i >= 0 {
		t.writes = append(t.writes, "remove license "+id)
		u.AssignedSkuIDs = slices.Delete(u.AssignedSkuIDs, i, i+1)
	}
	return nil
}

func (t *tenant) Delete(_ context.Context, id string) error {
	if _, ok := t.users[id]; ok {
		t.writes = append(t.writes, "delete "+id)
		delete(t.users, id)
	}
	return nil
}

func (t *tenant) Block(_ context.Context, id string) error {
	t.writes = append(t.writes, "block "+id)
	t.users[id].AccountEnabled = false
	return nil
}

// deprovisionChain runs the deprovisioning steps against tn, from one
// deprovision.accepted event, with the production retry middleware, and
// returns the event that reaches complete.
func deprovisionChain(t *testing.T, tn *tenant, cfg steps.Config, req events.Request) events.Event {
	t.Helper()
	fns := map[string]steps.Step{
		events.StepUnassociate:    steps.Unassociate(tn, tn, cfg),
		events.StepUnassignNumber: steps.UnassignNumber(tn, tn, tn, cfg),
		events.StepRemoveLicense:  steps.RemoveLicense(tn, tn, tn, cfg),
		events.StepRemoveAccount:  steps.RemoveAccount(tn, tn, cfg),
	}
	req.Action = events.ActionDeprovision
	ev := events.New(events.TypeDeprovisionAccepted, events.Source(events.StepIntake), events.Data{Request: req})
	for hops := 0; hops < 20; hops++ {
		step := events.Destination(ev)
		if step == events.StepComplete {
			return ev
		}
		out, err := run(t, step, fns[step], cfg, ev)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(out) != 1 {
			t.Fatalf("%s emitted %d events", step, len(out))
		}
		ev = out[0]
	}
	t.Fatal("the chain did not reach complete in 20 hops")
	return events.Event{}
}

func TestDeprovisionRemovesWhatRaprovCreated(t *testing.T) {
	for _, mode := range []string{steps.DeprovisionDelete, steps.DeprovisionBlock} {
		t.Run(mode, func(t *testing.T) {
			now := t0
			cfg := testConfig(&now)
			cfg.DeprovisionMode = mode
			tn := newTenant()
			tn.ours("obj-1", "main@contoso.com", "REQ-1", "+12065550100")
			tn.numbers["+12065550199"] = "obj-1" // assigned by someone later: released too
			tn.ours("obj-2", "other@contoso.com", "REQ-2", "+12065550101")

			end := deprovisionChain(t, tn, cfg, events.Request{RequestID: "D-1", UserPrincipalName: "main@contoso.com", Target: "REQ-1"})
			if end.Type != events.TypeAccountRemoved {
				t.Fatalf("reached complete with %s (%+v)", end.Type, end.Data.Failure)
			}
			p := end.Data.Progress
			if p.ObjectID != "obj-1" || p.Owner != "REQ-1" || !p.Unassociated || !p.LicenseRemoved || p.AccountAbsent {
				t.Errorf("progress %+v", p)
			}
			if !slices.Equal(p.ReleasedNumbers, []string{"+12065550100", "+12065550199"}) {
				t.Errorf("released %v", p.ReleasedNumbers)
			}
			want := []string{"unassociate obj-1", "unassign +12065550100", "unassign +12065550199", "remove license obj-1"}
			if mode == steps.DeprovisionDelete {
				want = append(want, "delete obj-1")
				if !p.AccountDeleted || p.AccountBlocked || tn.users["obj-1"] != nil {
					t.Errorf("delete mode: progress %+v, user %+v", p, tn.users["obj-1"])
				}
			} else {
				want = append(want, "block obj-1")
				u := tn.users["obj-1"]
				if p.AccountDeleted || !p.AccountBlocked || u == nil || !slices.Equal(u.AssignedSkuIDs, []string{"sku-other"}) {
					t.Errorf("block mode: progress %+v, user %+v (only raprov's license goes)", p, u)
				}
			}
			if !slices.Equal(tn.writes, want) {
				t.Errorf("writes %q, want %q", tn.writes, want)
			}
			if tn.numbers["+12065550101"] != "obj-2" || tn.assoc["obj-2"] != "aa-1" || tn.users["obj-2"] == nil {
				t.Error("another request's account was touched")
			}
		})
	}
}

// A repeat of the whole chain (a re-delivery after the first one finished,
// a second request for the same target) writes nothing and ends well.
func TestDeprovisionAgainWritesNothing(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	tn := newTenant()
	tn.ours("obj-1", "main@contoso.com", "REQ-1", "+12065550100")
	req := events.Request{RequestID: "D-1", UserPrincipalName: "main@contoso.com", Target: "REQ-1"}
	deprovisionChain(t, tn, cfg, req)
	before := len(tn.writes)
	end := deprovisionChain(t, tn, cfg, req)
	if end.Type != events.TypeAccountRemoved || !end.Data.Progress.AccountAbsent {
		t.Fatalf("second run ended %s with %+v", end.Type, end.Data.Progress)
	}
	if len(tn.writes) != before {
		t.Errorf("second run wrote %q", tn.writes[before:])
	}
	// Without a target an absent account is most likely a typo.
	req.Target = ""
	end = deprovisionChain(t, tn, cfg, req)
	if end.Type != events.TypeProvisioningFailed || end.Data.Failure.Reason != events.ReasonAccountNotFound {
		t.Errorf("no target, no account: %s %+v", end.Type, end.Data.Failure)
	}
}

// Every account raprov did not create, or no longer only a resource
// account, is refused before the first write.
func TestDeprovisionRefusesAccountsNotOwned(t *testing.T) {
	tests := []struct {
		name   string
		change func(*steps.Account)
		target string
	}{
		{"no mark", func(a *steps.Account) { a.OwnerMark = "" }, "REQ-1"},
		{"no mark, no target", func(a *steps.Account) { a.OwnerMark = "" }, ""},
		{"foreign mark", func(a *steps.Account) { a.OwnerMark = "contoso:asset:7" }, ""},
		{"another request's", func(a *steps.Account) {}, "REQ-9"},
		{"synced from on-premises", func(a *steps.Account) { a.OnPremisesSynced = true }, "REQ-1"},
		{"sign-in enabled since", func(a *steps.Account) { a.AccountEnabled = true }, "REQ-1"},
		{"department changed", func(a *steps.Account) { a.Department = "Sales" }, "REQ-1"},
		{"empty mark id", func(a *steps.Account) { a.OwnerMark = steps.OwnerMark("") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			cfg := testConfig(&now)
			tn := newTenant()
			tn.ours("obj-1", "main@contoso.com", "REQ-1", "+12065550100")
			tt.change(tn.users["obj-1"])
			end := deprovisionChain(t, tn, cfg, events.Request{RequestID: "D-1", UserPrincipalName: "main@contoso.com", Target: tt.target})
			if end.Type != events.TypeProvisioningFailed || end.Data.Failure.Reason != events.ReasonNotOwned {
				t.Fatalf("ended %s %+v, want not_owned", end.Type, end.Data.Failure)
			}
			if end.Data.Failure.Step != events.StepUnassociate || len(tn.writes) != 0 {
				t.Errorf("failed at %s after writes %q", end.Data.Failure.Step, tn.writes)
			}
		})
	}
}

// Each writing step checks ownership again: an event that reaches
// remove-account naming someone else's account (forged, or the account
// changed hands meanwhile) removes nothing.
func TestDeprovisionLaterStepsCheckOwnershipAgain(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	tn := newTenant()
	tn.ours("obj-1", "main@contoso.com", "REQ-1", "")
	tn.users["obj-ceo"] = &steps.Account{ID: "obj-ceo", UserPrincipalName: "ceo@contoso.com", AccountEnabled: true, AssignedSkuIDs: []string{skuID}}
	for _, c := range []struct {
		step string
		typ  string
		fn   steps.Step
	}{
		{events.StepUnassignNumber, events.TypeAccountUnassociated, steps.UnassignNumber(tn, tn, tn, cfg)},
		{events.StepRemoveLicense, events.TypeNumberUnassigned, steps.RemoveLicense(tn, tn, tn, cfg)},
		{events.StepRemoveAccount, events.TypeLicenseRemoved, steps.RemoveAccount(tn, tn, cfg)},
	} {
		forged := events.New(c.typ, "raprov/x", events.Data{
			Request:  events.Request{RequestID: "REQ-1", UserPrincipalName: "main@contoso.com", Action: events.ActionDeprovision},
			Progress: events.Progress{ObjectID: "obj-ceo", Owner: "REQ-1"},
		})
		out, err := run(t, c.step, c.fn, cfg, forged)
		wantFailure(t, out, err, events.ReasonNotOwned)
	}
	if len(tn.writes) != 0 || tn.users["obj-ceo"] == nil {
		t.Errorf("writes %q", tn.writes)
	}
}

func TestUnassignNumberPollsAndFails(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	tn := newTenant()
	tn.ours("obj-1", "main@contoso.com", "REQ-1", "+12065550100")
	tn.opState = steps.OperationRunning
	step := steps.UnassignNumber(tn, tn, tn, cfg)
	in := events.New(events.TypeAccountUnassociated, events.Source(events.StepUnassociate), events.Data{
		Request:  events.Request{RequestID: "REQ-1", UserPrincipalName: "main@contoso.com", Action: events.ActionDeprovision},
		Progress: events.Progress{ObjectID: "obj-1", Owner: "REQ-1"},
	})
	out, err := run(t, events.StepUnassignNumber, step, cfg, in)
	pending := one(t, out, err, events.TypeNumberUnassignmentPending)
	if pending.Data.Progress.OperationID == "" || pending.Delay <= 0 || pending.Data.Progress.UnassignNumber != "+12065550100" {
		t.Fatalf("pending %+v delay %s", pending.Data.Progress, pending.Delay)
	}
	out, err = run(t, events.StepUnassignNumber, step, cfg, pending)
	again := one(t, out, err, events.TypeNumberUnassignmentPending)
	if again.Data.Progress.NumberPolls != 1 || again.Delay <= pending.Delay {
		t.Errorf("second poll %+v delay %s", again.Data.Progress, again.Delay)
	}
	now = now.Add(cfg.NumberWait)
	out, err = run(t, events.StepUnassignNumber, step, cfg, again)
	wantFailure(t, out, err, events.ReasonRetriesExhausted)

	tn.opState = steps.OperationFailed
	now = t0
	out, err = run(t, events.StepUnassignNumber, step, cfg, pending)
	wantFailure(t, out, err, events.ReasonNumberUnassignmentFailed)
	if tn.users["obj-1"] == nil || !slices.Contains(tn.users["obj-1"].AssignedSkuIDs, skuID) {
		t.Error("a failed unassignment went on to remove the license or the account")
	}
}

func TestRemoveAccountUnknownModeIsRefused(t *testing.T) {
	cfg := steps.DefaultConfig()
	cfg.DeprovisionMode = "shred"
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "RAPROV_DEPROVISION_MODE") {
		t.Errorf("Check() = %v", err)
	}
	if err := steps.DefaultConfig().Check(); err != nil {
		t.Errorf("default Check() = %v", err)
	}
}

func TestIntakeAcceptsDeprovision(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	claims := &mock.Claims{ClaimFn: func(_ context.Context, _, ev, fp string) (string, string, error) { return ev, fp, nil }}
	in := events.New(events.TypeDeprovisionRequested, "raprov/submit", events.Data{Request: events.Request{
		RequestID: "D-1", UserPrincipalName: "Main@Contoso.com", Target: "REQ-1", DisplayName: "ignored",
	}})
	out, err := run(t, events.StepIntake, steps.Intake(claims, intakeNormalizer(cfg), cfg), cfg, in)
	ev := one(t, out, err, events.TypeDeprovisionAccepted)
	r := ev.Data.Request
	if r.Action != events.ActionDeprovision || r.UserPrincipalName != "main@contoso.com" || r.Target != "REQ-1" || r.DisplayName != "" {
		t.Errorf("accepted %+v", r)
	}
	// A provisioning event that names the deprovision action is refused.
	in = events.New(events.TypeProvisioningRequested, "raprov/submit", events.Data{Request: events.Request{
		RequestID: "P-1", UserPrincipalName: "main@contoso.com", Action: events.ActionDeprovision,
	}})
	out, err = run(t, events.StepIntake, steps.Intake(claims, intakeNormalizer(cfg), cfg), cfg, in)
	ev = one(t, out, err, events.TypeProvisioningFailed)
	if ev.Data.Failure.Field != "action" {
		t.Errorf("failure %+v", ev.Data.Failure)
	}
}

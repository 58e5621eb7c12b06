package steps_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testConfig(now *time.Time) steps.Config {
	c := steps.DefaultConfig()
	c.Now = func() time.Time { return *now }
	c.MaxAttempts = 3
	return c
}

func request() events.Event {
	return events.New(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense), events.Data{
		Request: events.Request{
			RequestID: "REQ-1", DisplayName: "Main line", UserPrincipalName: "main@contoso.com",
			AccountType: events.AccountTypeAutoAttendant, UsageLocation: "US",
			PhoneNumber: "+12065550100", NumberType: events.NumberTypeCallingPlan,
		},
		Progress: events.Progress{SkuID: "sku-1", ObjectID: "obj-1"},
	})
}

// run applies the production middleware that turns errors into events.
func run(t *testing.T, name string, s steps.Step, cfg steps.Config, in events.Event) ([]events.Event, error) {
	t.Helper()
	return steps.Wrap(s, steps.Recover(), steps.Retry(name, cfg))(context.Background(), in)
}

func one(t *testing.T, out []events.Event, err error, wantType string) events.Event {
	t.Helper()
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if len(out) != 1 {
		t.Fatalf("emitted %d events, want 1: %+v", len(out), out)
	}
	if out[0].Type != wantType {
		t.Fatalf("type = %s, want %s (failure %+v)", out[0].Type, wantType, out[0].Data.Failure)
	}
	return out[0]
}

func wantFailure(t *testing.T, out []events.Event, err error, reason events.Reason) {
	t.Helper()
	ev := one(t, out, err, events.TypeProvisioningFailed)
	if ev.Data.Failure == nil || ev.Data.Failure.Reason != reason {
		t.Fatalf("failure = %+v, want reason %s", ev.Data.Failure, reason)
	}
	if ev.Subject != "REQ-1" {
		t.Errorf("subject = %q", ev.Subject)
	}
}

// wantParkedOut checks that a wait for Teams ended: the request fails with
// reason and the input is dead-lettered with it, for a replay once Teams
// has caught up.
func wantParkedOut(t *testing.T, out []events.Event, err error, reason events.Reason) {
	t.Helper()
	dl, ok := steps.AsDeadLetter(err)
	if !ok || dl.Reason != string(reason) || len(out) != 0 {
		t.Fatalf("out %v err %v, want the input dead-lettered with %s", out, err, reason)
	}
	wantFailure(t, dl.Emit, nil, reason)
}

func TestCheckLicense(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	seats := 0
	found := true
	lic := &mock.Licenses{SkuFn: func(_ context.Context, part string) (steps.Sku, error) {
		if !found {
			return steps.Sku{}, apperr.New(apperr.NotFound, "", "no sku")
		}
		return steps.Sku{ID: "sku-9", PartNumber: part, CapabilityStatus: "Enabled", Enabled: 10, Consumed: 10 - seats}, nil
	}}
	step := steps.CheckLicense(lic, freeNumber(), nil, nil, cfg)
	in := request()
	in.Type = events.TypeProvisioningAccepted
	in.Data.Progress = events.Progress{}

	out, err := run(t, events.StepCheckLicense, step, cfg, in)
	wait := one(t, out, err, events.TypeProvisioningAccepted)
	if wait.Delay != time.Minute || !wait.Data.Progress.LicenseWaitSince.Equal(t0) || wait.Data.Progress.LicenseChecks != 1 {
		t.Fatalf("parked event = delay %v, progress %+v", wait.Delay, wait.Data.Progress)
	}

	now = t0.Add(3 * time.Minute)
	found = false
	out, err = run(t, events.StepCheckLicense, step, cfg, wait)
	wait2 := one(t, out, err, events.TypeProvisioningAccepted)
	if wait2.Delay != 2*time.Minute || !wait2.Data.Progress.LicenseWaitSince.Equal(t0) {
		t.Fatalf("second park = delay %v, progress %+v", wait2.Delay, wait2.Data.Progress)
	}

	found, seats = true, 1
	out, err = run(t, events.StepCheckLicense, step, cfg, wait2)
	avail := one(t, out, err, events.TypeLicenseAvailable)
	if avail.Data.Progress.SkuID != "sku-9" || avail.Delay != 0 {
		t.Fatalf("available = %+v", avail)
	}

	seats = 0
	now = t0.Add(24 * time.Hour)
	out, err = run(t, events.StepCheckLicense, step, cfg, wait2)
	wantFailure(t, out, err, events.ReasonNoLicense)
}

func TestCheckLicenseTransient(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	lic := &mock.Licenses{SkuFn: func(context.Context, string) (steps.Sku, error) {
		return steps.Sku{}, &apperr.Error{Code: apperr.Throttled, RetryAfter: 7 * time.Second}
	}}
	in := request()
	in.Type = events.TypeProvisioningAccepted
	out, err := run(t, events.StepCheckLicense, steps.CheckLicense(lic, freeNumber(), nil, nil, cfg), cfg, in)
	retry := one(t, out, err, events.TypeProvisioningAccepted)
	if retry.Attempt != 1 || retry.Delay != 7*time.Second {
		t.Fatalf("retry attempt %d delay %v, want 1 and Retry-After 7s", retry.Attempt, retry.Delay)
	}
	retry.Attempt = cfg.MaxAttempts - 1
	out, err = run(t, events.StepCheckLicense, steps.CheckLicense(lic, freeNumber(), nil, nil, cfg), cfg, retry)
	dl, ok := steps.AsDeadLetter(err)
	if !ok || dl.Reason != string(events.ReasonRetriesExhausted) || len(out) != 0 {
		t.Fatalf("exhausted: out %v err %v", out, err)
	}
	wantFailure(t, dl.Emit, nil, events.ReasonRetriesExhausted)
}

// freeNumber is an inventory where request()'s number is free.
func freeNumber() *mock.Numbers {
	return &mock.Numbers{LookupFn: func(context.Context, string) (*steps.NumberAssignment, error) { return freeRecord(), nil }}
}

type accountWorld struct {
	user     *steps.Account
	instance *steps.ApplicationInstance
	created  []steps.NewAccount
	bound    []string
	reads    int // application instance reads
	lookups  int // FindByUPN calls
}

func (w *accountWorld) ports() (*mock.Accounts, *mock.TeamsAdmin) {
	acc := &mock.Accounts{
		FindByUPNFn: func(_ context.Context, upn string) (*steps.Account, error) {
			w.lookups++
			return w.user, nil
		},
		CreateFn: func(_ context.Context, a steps.NewAccount) (steps.Account, error) {
			if w.user != nil {
				return steps.Account{}, apperr.New(apperr.Conflict, events.ReasonUPNConflict, "UPN taken")
			}
			w.created = append(w.created, a)
			return steps.Account{ID: "new-1", UserPrincipalName: a.UserPrincipalName, Department: a.Department, UsageLocation: a.UsageLocation}, nil
		},
	}
	teams := &mock.TeamsAdmin{
		ApplicationInstanceFn: func(context.Context, string) (*steps.ApplicationInstance, error) {
			w.reads++
			return w.instance, nil
		},
		BindFn: func(_ context.Context, id, app string) error {
			w.bound = append(w.bound, id+"/"+app)
			return nil
		},
	}
	return acc, teams
}

func TestCreateAccount(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	tests := []struct {
		name        string
		user        *steps.Account
		instance    *steps.ApplicationInstance
		wantReason  events.Reason
		wantCreated int
		wantBound   []string
		wantReused  bool
		adopt       bool
		wantAdopted bool
		held        []steps.NumberAssignment // numbers the existing account holds
	}{
		{name: "new account", wantCreated: 1, wantBound: []string{"new-1/" + steps.AutoAttendantAppID}},
		{
			name:       "our account, bound",
			user:       &steps.Account{ID: "old-1", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-1")},
			instance:   &steps.ApplicationInstance{ObjectID: "old-1", ApplicationID: steps.AutoAttendantAppID},
			wantReused: true,
		},
		{
			name:       "our account, crash before bind",
			user:       &steps.Account{ID: "old-1", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-1")},
			wantBound:  []string{"old-1/" + steps.AutoAttendantAppID},
			wantReused: true,
		},
		{name: "normal user", user: &steps.Account{ID: "u-1", Department: "Sales", AccountEnabled: true}, wantReason: events.ReasonUPNConflict},
		{name: "normal user, adopt", adopt: true, user: &steps.Account{ID: "u-1", Department: "Sales", AccountEnabled: true}, wantReason: events.ReasonUPNConflict},
		{
			// Someone else's production auto attendant line: never taken over.
			name:       "foreign resource account of the same type",
			user:       &steps.Account{ID: "prod-1", Department: steps.ResourceAccountDepartment},
			instance:   &steps.ApplicationInstance{ObjectID: "prod-1", ApplicationID: steps.AutoAttendantAppID},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:       "raprov account of another request",
			user:       &steps.Account{ID: "other-1", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-0")},
			instance:   &steps.ApplicationInstance{ObjectID: "other-1", ApplicationID: steps.AutoAttendantAppID},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:        "foreign resource account, adopt",
			adopt:       true,
			user:        &steps.Account{ID: "prod-1", Department: steps.ResourceAccountDepartment},
			instance:    &steps.ApplicationInstance{ObjectID: "prod-1", ApplicationID: steps.AutoAttendantAppID},
			wantReused:  true,
			wantAdopted: true,
		},
		{
			// A mark proves nothing on an account that is not a cloud
			// resource account: anyone editing attributes can copy it.
			name:       "marked person",
			user:       &steps.Account{ID: "u-2", Department: "Sales", AccountEnabled: true, OwnerMark: steps.OwnerMark("REQ-1")},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:       "marked synced account",
			user:       &steps.Account{ID: "s-1", Department: steps.ResourceAccountDepartment, OnPremisesSynced: true, OwnerMark: steps.OwnerMark("REQ-1")},
			wantReason: events.ReasonUPNConflict,
		},
		{
			// raprov binds only accounts it creates: an adopted account
			// must be a resource account of the type already.
			name:       "adopt an unbound account",
			adopt:      true,
			user:       &steps.Account{ID: "ub-1", Department: steps.ResourceAccountDepartment},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:       "adopt an account of another usage location",
			adopt:      true,
			user:       &steps.Account{ID: "de-1", Department: steps.ResourceAccountDepartment, UsageLocation: "DE"},
			instance:   &steps.ApplicationInstance{ObjectID: "de-1", ApplicationID: steps.AutoAttendantAppID},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:       "adopt an account that holds another number",
			adopt:      true,
			user:       &steps.Account{ID: "held-1", Department: steps.ResourceAccountDepartment},
			instance:   &steps.ApplicationInstance{ObjectID: "held-1", ApplicationID: steps.AutoAttendantAppID},
			held:       []steps.NumberAssignment{{TelephoneNumber: "+12065550142", AssignmentTargetID: "held-1"}},
			wantReason: events.ReasonUPNConflict,
		},
		{
			name:       "call queue account",
			adopt:      true,
			user:       &steps.Account{ID: "cq-1", Department: steps.ResourceAccountDepartment},
			instance:   &steps.ApplicationInstance{ObjectID: "cq-1", ApplicationID: steps.CallQueueAppID},
			wantReason: events.ReasonUPNConflict,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &accountWorld{user: tt.user, instance: tt.instance}
			acc, teams := w.ports()
			in := available()
			in.Data.Request.Adopt = tt.adopt
			nums := &mock.Numbers{AssignedToFn: func(context.Context, string) ([]steps.NumberAssignment, error) { return tt.held, nil }}
			out, err := run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, nums, cfg), cfg, in)
			if tt.wantReason != "" {
				wantFailure(t, out, err, tt.wantReason)
				if len(w.created)+len(w.bound) != 0 {
					t.Errorf("side effects on conflict: created %v bound %v", w.created, w.bound)
				}
				return
			}
			ev := one(t, out, err, events.TypeAccountCreated)
			if len(w.created) != tt.wantCreated {
				t.Fatalf("created %d accounts, want %d", len(w.created), tt.wantCreated)
			}
			wantLookups := 1 // a taken UPN is looked up
			if tt.wantCreated == 1 {
				wantLookups = 0
			}
			if w.lookups != wantLookups {
				t.Errorf("looked the UPN up %d times, want %d (only when the create finds it taken)", w.lookups, wantLookups)
			}
			if tt.wantCreated == 1 {
				if w.reads != 0 {
					t.Errorf("read the application instance of an account it just created (%d reads)", w.reads)
				}
				c := w.created[0]
				if c.Department != steps.ResourceAccountDepartment || c.UsageLocation != "US" || c.MailNickname != "main" {
					t.Errorf("create call = %+v: usageLocation and department belong in the create call", c)
				}
				if c.OwnerMark != steps.OwnerMark("REQ-1") {
					t.Errorf("create call carries owner mark %q, want this request's", c.OwnerMark)
				}
			}
			if len(w.bound) != len(tt.wantBound) || (len(w.bound) > 0 && w.bound[0] != tt.wantBound[0]) {
				t.Errorf("bound %v, want %v", w.bound, tt.wantBound)
			}
			if ev.Data.Progress.AccountReused != tt.wantReused || ev.Data.Progress.AccountAdopted != tt.wantAdopted || ev.Data.Progress.ObjectID == "" {
				t.Errorf("progress %+v", ev.Data.Progress)
			}
		})
	}
}

func TestCreateAccountReplication(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	w := &accountWorld{}
	acc, teams := w.ports()
	acc.CreateFn = func(context.Context, steps.NewAccount) (steps.Account, error) {
		return steps.Account{}, apperr.New(apperr.Conflict, events.ReasonUPNConflict, "exists")
	}
	out, err := run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, available())
	if ev := one(t, out, err, events.TypeLicenseAvailable); ev.Attempt != 1 {
		t.Fatalf("conflict on a UPN the directory did not list must be retried, got %+v", ev)
	}

	w = &accountWorld{}
	acc, teams = w.ports()
	teams.BindFn = func(context.Context, string, string) error { return apperr.New(apperr.NotFound, "", "unknown user") }
	out, err = run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, available())
	retry := one(t, out, err, events.TypeLicenseAvailable)
	if retry.Attempt != 0 || retry.Data.Progress.ObjectID != "new-1" || retry.Delay != cfg.TeamsSyncRecheck.Initial ||
		!retry.Data.Progress.TeamsWaitSince.Equal(t0) || retry.Data.Progress.TeamsWaits != 1 {
		t.Fatalf("bind before Teams sees the user must park (not count as a retry) with the new account's id, got %+v delay %v", retry, retry.Delay)
	}
	// Parking grows its delay and is not bounded by MaxAttempts...
	park := retry
	for i := 0; i < cfg.MaxAttempts+2; i++ {
		now = now.Add(park.Delay)
		park = runOne(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, park, events.TypeLicenseAvailable)
	}
	if park.Delay <= cfg.TeamsSyncRecheck.Initial || len(w.created) != 1 {
		t.Fatalf("after %d parks: delay %v, created %d", park.Data.Progress.TeamsWaits, park.Delay, len(w.created))
	}
	// ...but by TeamsSyncWait: then the request fails with a clear reason.
	now = t0.Add(cfg.TeamsSyncWait)
	out, err = run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, park)
	wantParkedOut(t, out, err, events.ReasonTeamsNotReady)
	// A replay of the dead letter waits afresh instead of failing at once.
	replay := park
	replay.ReplayCount++
	if again := runOne(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, replay, events.TypeLicenseAvailable); !again.Data.Progress.TeamsWaitSince.Equal(now) || again.Data.Progress.TeamsWaits != 1 {
		t.Fatalf("replayed wait %+v, want a new one", again.Data.Progress)
	}
	now = t0

	// A transient bind failure is retried with the account's id too.
	w2 := &accountWorld{}
	acc2, teams2 := w2.ports()
	teams2.BindFn = func(context.Context, string, string) error { return apperr.New(apperr.Unavailable, "", "503") }
	out, err = run(t, events.StepCreateAccount, steps.CreateAccount(acc2, teams2, &mock.Numbers{}, cfg), cfg, available())
	if again := one(t, out, err, events.TypeLicenseAvailable); again.Attempt != 1 || again.Data.Progress.ObjectID != "new-1" {
		t.Fatalf("transient bind failure must be retried keeping the new account's id, got %+v", again.Data.Progress)
	}
	teams.BindFn = func(context.Context, string, string) error { return apperr.New(apperr.NotFound, "", "unknown user") }

	// The retry neither looks the user up nor creates it again.
	acc.FindByUPNFn = nil
	acc.CreateFn = nil
	teams.BindFn = func(context.Context, string, string) error { return nil }
	ev := runOne(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, retry, events.TypeAccountCreated)
	if ev.Data.Progress.ObjectID != "new-1" || ev.Data.Progress.AccountReused || ev.Data.Progress.TeamsWaits != 0 {
		t.Fatalf("progress %+v", ev.Data.Progress)
	}
	if len(w.created) != 1 {
		t.Fatalf("created %d accounts, want 1", len(w.created))
	}
}

// available is create-account's input: no account learned yet.
func available() events.Event {
	in := request()
	in.Data.Progress.ObjectID = ""
	return in
}

func TestAssignLicense(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	var assigned, patched int
	acc := &steps.Account{ID: "obj-1"}
	accounts := &mock.Accounts{
		GetFn: func(context.Context, string) (steps.Account, error) { return *acc, nil },
		SetUsageLocationFn: func(_ context.Context, _, loc string) error {
			patched++
			acc.UsageLocation = loc
			return nil
		},
	}
	var assignErr error
	lic := &mock.Licenses{AssignLicenseFn: func(context.Context, string, string) error {
		assigned++
		return assignErr
	}}
	step := steps.AssignLicense(accounts, lic, cfg)
	in := request()
	in.Type = events.TypeAccountCreated

	runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeLicenseAssigned)
	if assigned != 1 || patched != 0 {
		t.Fatalf("fresh account: assigned %d patched %d, want 1 and 0 (no read, no patch)", assigned, patched)
	}

	in.Data.Progress.AccountReused = true
	runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeLicenseAssigned)
	if assigned != 2 || patched != 1 {
		t.Fatalf("reused account without usage location: assigned %d patched %d", assigned, patched)
	}

	acc.AssignedSkuIDs = []string{"SKU-1"}
	ev := runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeLicenseAssigned)
	if assigned != 2 || !ev.Data.Progress.LicenseReused {
		t.Fatalf("already licensed: assigned %d, progress %+v", assigned, ev.Data.Progress)
	}

	acc.AssignedSkuIDs = nil
	assignErr = apperr.New(apperr.Invalid, events.ReasonNoLicense, "no seats")
	back := runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeProvisioningAccepted)
	if back.Data.Progress.ObjectID != "obj-1" {
		t.Errorf("back to waiting must keep the account: %+v", back.Data.Progress)
	}
	if back.Delay != cfg.LicenseRecheck.Initial || back.Data.Progress.LicenseChecks != 1 || !back.Data.Progress.LicenseWaitSince.Equal(t0) {
		t.Errorf("back to waiting must be paced and bounded: delay %v progress %+v", back.Delay, back.Data.Progress)
	}

	assignErr = apperr.New(apperr.NotFound, "", "replication")
	if ev := runOne(t, events.StepAssignLicense, step, cfg, in, events.TypeAccountCreated); ev.Attempt != 1 {
		t.Errorf("404 after create must retry: %+v", ev)
	}
}

func runOne(t *testing.T, name string, s steps.Step, cfg steps.Config, in events.Event, wantType string) events.Event {
	t.Helper()
	out, err := run(t, name, s, cfg, in)
	return one(t, out, err, wantType)
}

// freeRecord is request()'s number, free in the inventory.
func freeRecord() *steps.NumberAssignment {
	return &steps.NumberAssignment{
		TelephoneNumber: "+12065550100", NumberType: "callingPlan", AssignmentStatus: "unassigned",
		Capabilities: []string{"voiceApplicationAssignment"}, IsoCountryCode: "US", ActivationState: "activated",
	}
}

func TestAssignNumber(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	free := freeRecord
	tests := []struct {
		name   string
		number func() *steps.NumberAssignment
		reason events.Reason
		want   string
	}{
		{"free", free, "", events.TypeNumberAssignmentPending},
		{"not in inventory", func() *steps.NumberAssignment { return nil }, events.ReasonNumberNotFound, ""},
		{"in use", func() *steps.NumberAssignment {
			n := free()
			n.AssignmentTargetID, n.AssignmentStatus = "someone", "userAssigned"
			return n
		}, events.ReasonNumberInUse, ""},
		{"user-only number", func() *steps.NumberAssignment {
			n := free()
			n.Capabilities = []string{"userAssignment"}
			return n
		}, events.ReasonNumberNotAssignable, ""},
		{"other country", func() *steps.NumberAssignment {
			n := free()
			n.IsoCountryCode = "CA"
			return n
		}, events.ReasonNumberCountryMismatch, ""},
		{"already ours", func() *steps.NumberAssignment {
			n := free()
			n.AssignmentTargetID, n.AssignmentStatus = "obj-1", "voiceApplicationAssigned"
			return n
		}, "", events.TypeNumberAssigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var assigns []steps.AssignNumberRequest
			nums := &mock.Numbers{
				LookupFn: func(context.Context, string) (*steps.NumberAssignment, error) { return tt.number(), nil },
				AssignFn: func(_ context.Context, r steps.AssignNumberRequest) (string, error) {
					assigns = append(assigns, r)
					return "op-1", nil
				},
			}
			in := request()
			in.Type = events.TypeLicenseAssigned
			out, err := run(t, events.StepAssignNumber, steps.AssignNumber(nums, cfg), cfg, in)
			if tt.reason != "" {
				wantFailure(t, out, err, tt.reason)
				if len(assigns) != 0 {
					t.Errorf("assigned despite failure: %v", assigns)
				}
				return
			}
			ev := one(t, out, err, tt.want)
			if tt.want == events.TypeNumberAssignmentPending {
				if ev.Data.Progress.OperationID != "op-1" || ev.Delay <= 0 {
					t.Errorf("pending event %+v delay %v", ev.Data.Progress, ev.Delay)
				}
				want := steps.AssignNumberRequest{TelephoneNumber: "+12065550100", AssignmentTargetID: "obj-1", NumberType: "callingPlan"}
				if len(assigns) != 1 || assigns[0] != want {
					t.Errorf("assign calls %+v, want %+v", assigns, want)
				}
			}
		})
	}
}

func TestAssignNumberPolling(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	status := steps.OperationRunning
	starts := 0
	nums := &mock.Numbers{
		OperationFn: func(_ context.Context, id string) (steps.Operation, error) {
			return steps.Operation{ID: id, Status: status, Numbers: []steps.OperationNumber{{StatusDetail: "target not licensed"}}}, nil
		},
		LookupFn: func(context.Context, string) (*steps.NumberAssignment, error) {
			return &steps.NumberAssignment{NumberType: "callingPlan", Capabilities: []string{"voiceApplicationAssignment"}, IsoCountryCode: "US"}, nil
		},
		AssignFn: func(context.Context, steps.AssignNumberRequest) (string, error) {
			starts++
			return "op-2", nil
		},
	}
	step := steps.AssignNumber(nums, cfg)
	in := request()
	in.Type = events.TypeNumberAssignmentPending
	in.Data.Progress.OperationID = "op-1"
	in.Data.Progress.NumberPendingSince = t0

	poll := runOne(t, events.StepAssignNumber, step, cfg, in, events.TypeNumberAssignmentPending)
	if poll.Data.Progress.NumberPolls != 1 || poll.Delay <= cfg.NumberPoll.Initial {
		t.Fatalf("poll progress %+v delay %v", poll.Data.Progress, poll.Delay)
	}

	// A failed operation the inventory does not explain is Teams not
	// knowing the license yet: park with growing delays, then start again.
	status = steps.OperationFailed
	parked := runOne(t, events.StepAssignNumber, step, cfg, poll, events.TypeNumberAssignmentPending)
	if starts != 0 || parked.Data.Progress.OperationID != "" || parked.Delay != cfg.TeamsSyncRecheck.Initial ||
		parked.Data.Progress.NumberAttempts != 1 || parked.Attempt != 0 {
		t.Fatalf("parked: starts %d progress %+v delay %v", starts, parked.Data.Progress, parked.Delay)
	}
	restart := runOne(t, events.StepAssignNumber, step, cfg, parked, events.TypeNumberAssignmentPending)
	if starts != 1 || restart.Data.Progress.OperationID != "op-2" {
		t.Fatalf("restart: starts %d progress %+v", starts, restart.Data.Progress)
	}
	// Well past the old budget of three back-to-back tries, it still waits...
	for i := 0; i < 5; i++ {
		parked = runOne(t, events.StepAssignNumber, step, cfg, restart, events.TypeNumberAssignmentPending)
		restart = runOne(t, events.StepAssignNumber, step, cfg, parked, events.TypeNumberAssignmentPending)
	}
	if parked.Delay <= cfg.TeamsSyncRecheck.Initial {
		t.Fatalf("parking delay does not grow: %v", parked.Delay)
	}
	// ...until TeamsSyncWait has passed since the first failure.
	now = t0.Add(cfg.TeamsSyncWait)
	out, err := run(t, events.StepAssignNumber, step, cfg, restart)
	wantParkedOut(t, out, err, events.ReasonNumberAssignmentFailed)
	now = t0

	// A failed operation for a number that is ours already (an earlier
	// Assign went through) ends the step, it does not start again.
	startsBefore := starts
	ours := nums.LookupFn
	nums.LookupFn = func(context.Context, string) (*steps.NumberAssignment, error) {
		return &steps.NumberAssignment{NumberType: "callingPlan", Capabilities: []string{"voiceApplicationAssignment"}, IsoCountryCode: "US",
			AssignmentTargetID: "obj-1", AssignmentStatus: "voiceApplicationAssigned", ActivationState: "activated"}, nil
	}
	reused := runOne(t, events.StepAssignNumber, step, cfg, restart, events.TypeNumberAssigned)
	if !reused.Data.Progress.NumberReused || starts != startsBefore || reused.Data.Progress.TeamsWaits != 0 {
		t.Fatalf("number already ours: progress %+v, starts %d", reused.Data.Progress, starts)
	}
	nums.LookupFn = ours

	status = steps.OperationSucceeded
	done := runOne(t, events.StepAssignNumber, step, cfg, restart, events.TypeNumberAssigned)
	if done.Delay != 0 {
		t.Errorf("assigned event delayed %v", done.Delay)
	}

	status = steps.OperationRunning
	now = t0.Add(cfg.NumberWait)
	out, err = run(t, events.StepAssignNumber, step, cfg, poll)
	wantFailure(t, out, err, events.ReasonRetriesExhausted)

	// A status raprov does not know is an error, never "still running".
	now = t0
	for _, st := range []string{"", "paused"} {
		status = st
		if out, err := run(t, events.StepAssignNumber, step, cfg, poll); err == nil {
			t.Errorf("status %q: emitted %+v, want an error", st, out)
		}
	}
}

func TestAssociate(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	var calls []string
	var assocErr error
	teams := &mock.TeamsAdmin{AssociateFn: func(_ context.Context, a steps.Association) error {
		calls = append(calls, fmt.Sprintf("%s/%s/%s/created=%t", a.ConfigurationID, a.ConfigurationType, strings.Join(a.ObjectIDs, ","), a.Created))
		return assocErr
	}}
	step := steps.Associate(teams, cfg)
	in := request()
	in.Type = events.TypeNumberAssigned
	ev := runOne(t, events.StepAssociate, step, cfg, in, events.TypeAccountAssociated)
	if !ev.Data.Progress.AssociationSkipped || len(calls) != 0 {
		t.Fatalf("no associateWith: %+v calls %v", ev.Data.Progress, calls)
	}
	in.Data.Request.AssociateWith = "aa-1"
	in.Data.Request.AccountType = events.AccountTypeCallQueue
	runOne(t, events.StepAssociate, step, cfg, in, events.TypeAccountAssociated)
	// An account the request reused may be associated elsewhere: the
	// adapter must look before it writes.
	in.Data.Progress.AccountReused = true
	runOne(t, events.StepAssociate, step, cfg, in, events.TypeAccountAssociated)
	if want := []string{"aa-1/CallQueue/obj-1/created=true", "aa-1/CallQueue/obj-1/created=false"}; fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	// "Not found" for an account Teams knows is the configuration's.
	var instance *steps.ApplicationInstance = &steps.ApplicationInstance{ObjectID: "obj-1", ApplicationID: steps.CallQueueAppID}
	teams.ApplicationInstanceFn = func(context.Context, string) (*steps.ApplicationInstance, error) { return instance, nil }
	assocErr = apperr.New(apperr.NotFound, "", "no such call queue")
	out, err := run(t, events.StepAssociate, step, cfg, in)
	wantFailure(t, out, err, events.ReasonAssociationFailed)

	// For an account Teams does not know yet, the request parks until
	// TeamsSyncWait, then fails with teams_not_ready.
	instance = nil
	park := runOne(t, events.StepAssociate, step, cfg, in, events.TypeNumberAssigned)
	if park.Delay != cfg.TeamsSyncRecheck.Initial || park.Attempt != 0 || park.Data.Progress.TeamsWaits != 1 {
		t.Fatalf("parked %+v delay %v", park.Data.Progress, park.Delay)
	}
	now = t0.Add(cfg.TeamsSyncWait)
	out, err = run(t, events.StepAssociate, step, cfg, park)
	wantParkedOut(t, out, err, events.ReasonTeamsNotReady)
}

func TestComplete(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	var notified []events.Event
	var notifyErr error
	n := &mock.Notifier{NotifyFn: func(_ context.Context, url string, final events.Event) error {
		notified = append(notified, final)
		return notifyErr
	}}
	step := steps.Complete(n, nil, cfg)
	in := request()
	in.Type = events.TypeAccountAssociated
	ev := runOne(t, events.StepComplete, step, cfg, in, events.TypeProvisioningCompleted)
	if events.Destination(ev) != events.Results || len(notified) != 0 {
		t.Fatalf("completed goes to results without callback: dest %s notified %d", events.Destination(ev), len(notified))
	}

	failed := in.Fail(events.Source(events.StepAssignNumber), events.Failure{Reason: events.ReasonNumberInUse, Message: "taken"})
	failed.Data.Request.CallbackURL = "https://hooks.example.com/raprov"
	ev = runOne(t, events.StepComplete, step, cfg, failed, events.TypeProvisioningFailed)
	if ev.Data.Failure.Reason != events.ReasonNumberInUse || ev.Data.Failure.Step != events.StepAssignNumber || events.Destination(ev) != events.Results {
		t.Fatalf("failed passthrough %+v dest %s", ev.Data.Failure, events.Destination(ev))
	}
	if len(notified) != 1 || notified[0].ID != ev.ID {
		t.Fatalf("callback got %d events", len(notified))
	}

	again := runOne(t, events.StepComplete, step, cfg, failed.Retry(0), events.TypeProvisioningFailed)
	if again.ID != ev.ID {
		t.Errorf("the same outcome must keep its id across re-deliveries: %s vs %s", again.ID, ev.ID)
	}

	notifyErr = &apperr.Error{Code: apperr.Unavailable}
	retry := runOne(t, events.StepComplete, step, cfg, failed, events.TypeProvisioningFailed)
	if retry.Attempt != 1 || events.Destination(retry) != events.StepComplete {
		t.Fatalf("callback outage must retry the input: attempt %d dest %s", retry.Attempt, events.Destination(retry))
	}
	notifyErr = apperr.New(apperr.Invalid, "", "400 from callback")
	out, err := run(t, events.StepComplete, step, cfg, failed)
	dl, ok := steps.AsDeadLetter(err)
	if !ok || dl.Reason != "callback_failed" || len(out) != 0 || len(dl.Emit) != 1 || dl.Emit[0].Type != events.TypeProvisioningFailed {
		t.Fatalf("rejected callback: out %v err %v", out, err)
	}
}

func TestFailureMessagesCarryNoCause(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	cause := errors.New(`Get "https://graph.example/v1.0/users?$filter=userPrincipalName eq 'main@contoso.com'": token=SECRET`)
	for _, e := range []*apperr.Error{
		{Code: apperr.Invalid, Reason: events.ReasonRejected, Message: "rejected by Graph", Err: cause},
		{Code: apperr.Unavailable, Message: "graph unavailable", Err: cause},
	} {
		s := steps.Step(func(context.Context, events.Event) ([]events.Event, error) { return nil, e })
		in := request()
		in.Attempt = cfg.MaxAttempts - 1
		out, err := run(t, events.StepCheckLicense, s, cfg, in)
		if dl, ok := steps.AsDeadLetter(err); ok {
			out = dl.Emit
			if strings.Contains(dl.Detail, "SECRET") {
				t.Errorf("dead-letter detail carries the cause: %q", dl.Detail)
			}
		}
		if len(out) != 1 || out[0].Data.Failure == nil || strings.Contains(out[0].Data.Failure.Message, "SECRET") {
			t.Errorf("failure %+v carries the wrapped cause", out)
		}
	}
}

func TestRetryDelayIsCapped(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	s := steps.Step(func(context.Context, events.Event) ([]events.Event, error) {
		return nil, &apperr.Error{Code: apperr.Throttled, RetryAfter: 1000 * time.Hour}
	})
	ev := runOne(t, events.StepComplete, s, cfg, request(), events.TypeLicenseAvailable)
	if ev.Delay != steps.MaxRetryDelay {
		t.Fatalf("delay %v, want the cap %v", ev.Delay, steps.MaxRetryDelay)
	}
}

func TestRecoverAndInternal(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	panicky := steps.Step(func(context.Context, events.Event) ([]events.Event, error) { panic("boom") })
	if _, err := run(t, events.StepIntake, panicky, cfg, request()); err == nil {
		t.Fatal("panic must become an error")
	}
	bug := errors.New("unexpected response")
	buggy := steps.Step(func(context.Context, events.Event) ([]events.Event, error) { return nil, bug })
	if _, err := run(t, events.StepIntake, buggy, cfg, request()); !errors.Is(err, bug) {
		t.Fatalf("unclassified errors must be returned for redelivery, got %v", err)
	}
}

// A create refused for a conflict on another property (the mail addresses
// of an existing account) still finds the account by its UPN.
func TestCreateAccountOtherConflict(t *testing.T) {
	now := t0
	cfg := testConfig(&now)
	proxy := apperr.New(apperr.Conflict, events.ReasonRejected, "another object with the same proxyAddresses already exists")

	w := &accountWorld{
		user:     &steps.Account{ID: "old-1", Department: steps.ResourceAccountDepartment, OwnerMark: steps.OwnerMark("REQ-1")},
		instance: &steps.ApplicationInstance{ObjectID: "old-1", ApplicationID: steps.AutoAttendantAppID},
	}
	acc, teams := w.ports()
	acc.CreateFn = func(context.Context, steps.NewAccount) (steps.Account, error) { return steps.Account{}, proxy }
	ev := runOne(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, available(), events.TypeAccountCreated)
	if ev.Data.Progress.ObjectID != "old-1" || !ev.Data.Progress.AccountReused || w.lookups != 1 {
		t.Fatalf("progress %+v after %d lookups, want old-1 reused after one", ev.Data.Progress, w.lookups)
	}

	// Nobody holds the UPN: the conflict is someone else's, and final.
	w = &accountWorld{}
	acc, teams = w.ports()
	acc.CreateFn = func(context.Context, steps.NewAccount) (steps.Account, error) { return steps.Account{}, proxy }
	out, err := run(t, events.StepCreateAccount, steps.CreateAccount(acc, teams, &mock.Numbers{}, cfg), cfg, available())
	wantFailure(t, out, err, events.ReasonRejected)
}

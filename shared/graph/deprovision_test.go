package graph_test

// Contract tests of the removals (steps.AccountRemover, LicenseRemover,
// NumberUnassigner) against the Graph simulator, and of a whole
// provision-then-deprovision round trip with the Teams admin adapter.

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// Routes of the request log.
const (
	routeGetUser       = "GET /v1.0/users/{id}"
	routePatchUser     = "PATCH /v1.0/users/{id}"
	routeDeleteUser    = "DELETE /v1.0/users/{id}"
	routeAssignLicense = "POST /v1.0/users/{id}/assignLicense"
	routeUnassign      = "POST /v1.0/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber"
	routeUnassociate   = "DELETE /Teams.VoiceApps/applicationinstanceassociations/{objectId}"
)

// licensedAccount creates a resource account with the virtual user license.
func licensedAccount(t *testing.T, c *graph.Client, alias string) steps.Account {
	t.Helper()
	ctx := context.Background()
	acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: alias + "@contoso.com", DisplayName: alias, UsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
		t.Fatal(err)
	}
	return acc
}

func consumed(t *testing.T, f *fixture) int {
	t.Helper()
	return f.sim.Snapshot().ConsumedUnits[virtualUser]
}

func TestDelete(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()
	acc := licensedAccount(t, c, "ra-delete")
	seats := consumed(t, f)
	f.sim.ResetLog()

	if err := c.Delete(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, acc.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	if got := consumed(t, f); got != seats-1 {
		t.Errorf("consumedUnits = %d, want %d: the deletion frees the seat", got, seats-1)
	}
	// Again, and for a user that never existed: gone is gone. The DELETE
	// is sent (a read first would cost every first call a read), and its
	// 404 is success.
	if err := c.Delete(ctx, acc.ID); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if err := c.Delete(ctx, "00000000-0000-0000-0000-00000000dead"); err != nil {
		t.Errorf("Delete of an unknown user: %v", err)
	}
	if n := f.sim.Counts()[routeDeleteUser]; n.Total != 3 || n.ByStatus[http.StatusNoContent] != 1 || n.ByStatus[http.StatusNotFound] != 2 {
		t.Errorf("DELETE requests = %+v, want one 204 and two 404", n)
	}
	wantAppErr(t, c.Delete(ctx, ""), apperr.Invalid, events.ReasonInvalidRequest)
}

func TestBlock(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()

	t.Run("enabled user: one PATCH, then none", func(t *testing.T) {
		const adele = "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01" // seeded, sign-in allowed
		f.sim.ResetLog()
		for range 2 {
			if err := c.Block(ctx, adele); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.Get(ctx, adele)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountEnabled {
			t.Error("accountEnabled still true")
		}
		counts := f.sim.Counts()
		if n := counts[routePatchUser]; n.Total != 1 {
			t.Errorf("PATCH requests = %+v, want 1: the second Block finds the user blocked", n)
		}
		if n := counts[routeGetUser]; n.ResourceUnits != 3 { // two $select reads and the Get above, 1 RU each
			t.Errorf("GET requests = %+v, want 3 resource units", n)
		}
	})
	t.Run("raprov's own account is created blocked: no write", func(t *testing.T) {
		acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-block@contoso.com", DisplayName: "Block", UsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		f.sim.ResetLog()
		if err := c.Block(ctx, acc.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.sim.Counts()[routePatchUser]; n.Total != 0 {
			t.Errorf("PATCH requests = %+v, want none", n)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		wantAppErr(t, c.Block(ctx, "00000000-0000-0000-0000-00000000dead"), apperr.NotFound, "")
		wantAppErr(t, c.Block(ctx, ""), apperr.Invalid, events.ReasonInvalidRequest)
	})
}

func TestRemoveLicense(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()
	acc := licensedAccount(t, c, "ra-unlicense")
	seats := consumed(t, f)
	f.sim.ResetLog()

	for range 2 {
		if err := c.RemoveLicense(ctx, acc.ID, strings.ToUpper(graphsim.VirtualUserSkuID)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Get(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.HasSku(graphsim.VirtualUserSkuID) {
		t.Errorf("account still licensed: %+v", got)
	}
	if n := consumed(t, f); n != seats-1 {
		t.Errorf("consumedUnits = %d, want %d", n, seats-1)
	}
	if n := f.sim.Counts()[routeAssignLicense]; n.Total != 1 || n.ByStatus[http.StatusOK] != 1 {
		t.Errorf("assignLicense requests = %+v, want one: the second call finds no license", n)
	}

	t.Run("removed between the read and the write", func(t *testing.T) {
		if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
			t.Fatal(err)
		}
		f.sim.InjectFault(graphsim.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/users/" + acc.ID + "/assignLicense",
			Status: http.StatusBadRequest, Code: "Request_BadRequest", Message: "User does not have a corresponding license."})
		if err := c.RemoveLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
			t.Errorf("Graph's 400 for a license the user lacks: %v, want success", err)
		}
	})
	t.Run("other refusals stay errors", func(t *testing.T) {
		f.sim.InjectFault(graphsim.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/users/" + acc.ID + "/assignLicense",
			Status: http.StatusBadRequest, Code: "Request_BadRequest", Message: "Something else."})
		wantAppErr(t, c.RemoveLicense(ctx, acc.ID, graphsim.VirtualUserSkuID), apperr.Invalid, events.ReasonRejected)
	})
	t.Run("invalid arguments and unknown user", func(t *testing.T) {
		wantAppErr(t, c.RemoveLicense(ctx, acc.ID, "PHONESYSTEM_VIRTUALUSER"), apperr.Invalid, events.ReasonInvalidRequest)
		wantAppErr(t, c.RemoveLicense(ctx, "", graphsim.VirtualUserSkuID), apperr.Invalid, events.ReasonInvalidRequest)
		wantAppErr(t, c.RemoveLicense(ctx, "00000000-0000-0000-0000-00000000dead", graphsim.VirtualUserSkuID), apperr.NotFound, "")
	})
}

func TestUnassign(t *testing.T) {
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{OperationStepDelay: 20 * time.Millisecond}})
	c := f.client(t, f.config())
	ctx := context.Background()
	const tel = "+13125550104" // the seeded support account's

	f.sim.ResetLog()
	for i := range 2 { // the second finds the number unassigned: succeeds
		id, err := c.Unassign(ctx, tel, "callingPlan")
		if err != nil {
			t.Fatal(err)
		}
		if op, _ := pollOperation(t, c, id); op.Status != steps.OperationSucceeded {
			t.Errorf("unassign #%d: operation %+v, want succeeded", i+1, op)
		}
		n, err := c.Lookup(ctx, tel)
		if err != nil {
			t.Fatal(err)
		}
		if n == nil || n.AssignmentStatus != "unassigned" || n.AssignmentTargetID != "" || n.ActivationState != "activated" {
			t.Errorf("number after unassign #%d = %+v", i+1, n)
		}
	}
	if n := f.sim.Counts()[routeUnassign]; n.Total != 2 || n.ByStatus[http.StatusAccepted] != 2 {
		t.Errorf("unassignNumber requests = %+v", n)
	}

	id, err := c.Unassign(ctx, "+19995550100", "callingPlan")
	if err != nil {
		t.Fatal(err)
	}
	if op, _ := pollOperation(t, c, id); op.Status != steps.OperationFailed ||
		!strings.Contains(op.Numbers[0].StatusDetail, "not found in the tenant's telephone number inventory") {
		t.Errorf("unknown number: %+v, want failed as assignNumber's", op)
	}
	_, err = c.Unassign(ctx, tel, "")
	wantAppErr(t, err, apperr.Invalid, events.ReasonInvalidRequest)
}

// TestRemovalErrors: throttling and failures of each removal's write map to
// the transient kinds with the server's Retry-After, refusals to Invalid.
func TestRemovalErrors(t *testing.T) {
	const adele = "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01"
	calls := []struct {
		name, method, path string
		call               func(context.Context, *graph.Client) error
	}{
		{"Delete", http.MethodDelete, "/v1.0/users/", func(ctx context.Context, c *graph.Client) error {
			return c.Delete(ctx, teamssim.SeedSalesUKAccountID)
		}},
		{"Block", http.MethodPatch, "/v1.0/users/", func(ctx context.Context, c *graph.Client) error {
			return c.Block(ctx, adele)
		}},
		{"RemoveLicense", http.MethodPost, "/v1.0/users/", func(ctx context.Context, c *graph.Client) error {
			return c.RemoveLicense(ctx, teamssim.SeedSalesUKAccountID, graphsim.VirtualUserSkuID)
		}},
		{"Unassign", http.MethodPost, "/v1.0/admin/teams/", func(ctx context.Context, c *graph.Client) error {
			_, err := c.Unassign(ctx, "+442079460321", "callingPlan")
			return err
		}},
	}
	faults := []struct {
		status     int
		retryAfter time.Duration
		code       apperr.Code
		reason     events.Reason
	}{
		{http.StatusTooManyRequests, 30 * time.Second, apperr.Throttled, ""},
		{http.StatusServiceUnavailable, 30 * time.Second, apperr.Unavailable, ""},
		{http.StatusInternalServerError, 0, apperr.Unavailable, ""},
		{http.StatusConflict, 0, apperr.Conflict, ""},
		{http.StatusForbidden, 0, apperr.Forbidden, events.ReasonPermissionDenied},
	}
	f := startSim(t, graphsim.Config{})
	for _, call := range calls {
		for _, fault := range faults {
			t.Run(call.name+"/"+http.StatusText(fault.status), func(t *testing.T) {
				c := f.client(t, f.config()) // a budget of its own: a 429 pauses it
				before := f.sim.Snapshot()
				f.sim.InjectFault(graphsim.Fault{Method: call.method, PathPrefix: call.path, Status: fault.status, RetryAfter: fault.retryAfter})
				e := wantAppErr(t, call.call(context.Background(), c), fault.code, fault.reason)
				if e.RetryAfter != fault.retryAfter {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, fault.retryAfter)
				}
				if d := before.Diff(f.sim.Snapshot()); d != nil {
					t.Errorf("a failed removal changed the tenant: %v", d)
				}
			})
		}
	}
}

// TestRemovalForbidden: without the permission a removal needs, Graph's 403
// is Forbidden with reason permission_denied and nothing changes.
func TestRemovalForbidden(t *testing.T) {
	tests := []struct {
		without string
		call    func(context.Context, *graph.Client) error
	}{
		{graphsim.PermUserReadWriteAll, func(ctx context.Context, c *graph.Client) error {
			return c.Delete(ctx, teamssim.SeedSalesUKAccountID)
		}},
		{graphsim.PermUserReadWriteAll, func(ctx context.Context, c *graph.Client) error {
			return c.RemoveLicense(ctx, teamssim.SeedSalesUKAccountID, graphsim.VirtualUserSkuID)
		}},
		{graphsim.PermTeamsTelephoneNumberReadWriteAll, func(ctx context.Context, c *graph.Client) error {
			_, err := c.Unassign(ctx, "+442079460321", "callingPlan")
			return err
		}},
	}
	for _, tt := range tests {
		g := graphsim.LeastPrivilege().Without(tt.without)
		f := startSim(t, graphsim.Config{Grants: &g})
		before := f.sim.Snapshot()
		wantAppErr(t, tt.call(context.Background(), f.client(t, f.config())), apperr.Forbidden, events.ReasonPermissionDenied)
		if d := before.Diff(f.sim.Snapshot()); d != nil {
			t.Errorf("without %s: the tenant changed: %v", tt.without, d)
		}
	}
}

// teamsClient returns a Teams admin adapter for the simulator sharing c's
// credential, as cmd/raprov wires them.
func teamsClient(t *testing.T, f *fixture, c *graph.Client) *teamsadmin.Client {
	t.Helper()
	cfg := teamsadmin.DefaultConfig()
	cfg.BaseURL = f.ts.URL
	cfg.MaxRetries = 0
	tc, err := teamsadmin.New(cfg, c.Credential(), teamsadmin.WithHTTPClient(f.ts.Client()),
		teamsadmin.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// provision makes a resource account the way the provisioning chain does:
// user, license, application instance, number, association.
func provision(t *testing.T, c *graph.Client, tc *teamsadmin.Client, alias, tel string) steps.Account {
	t.Helper()
	ctx := context.Background()
	acc := licensedAccount(t, c, alias)
	if err := tc.Bind(ctx, acc.ID, steps.CallQueueAppID); err != nil {
		t.Fatal(err)
	}
	id, err := c.Assign(ctx, steps.AssignNumberRequest{TelephoneNumber: tel, AssignmentTargetID: acc.ID, NumberType: "callingPlan"})
	if err != nil {
		t.Fatal(err)
	}
	if op, _ := pollOperation(t, c, id); op.Status != steps.OperationSucceeded {
		t.Fatalf("assign: %+v", op)
	}
	if err := tc.Associate(ctx, steps.Association{ConfigurationID: teamssim.SeedSalesCQID, ConfigurationType: "CallQueue",
		ObjectIDs: []string{acc.ID}, Created: true}); err != nil {
		t.Fatal(err)
	}
	return acc
}

// deprovision removes it in Microsoft's order: association, number, license,
// account.
func deprovision(t *testing.T, c *graph.Client, tc *teamsadmin.Client, id, tel string) {
	t.Helper()
	ctx := context.Background()
	if err := tc.Unassociate(ctx, id); err != nil {
		t.Fatalf("Unassociate: %v", err)
	}
	op, err := c.Unassign(ctx, tel, "callingPlan")
	if err != nil {
		t.Fatalf("Unassign: %v", err)
	}
	if got, _ := pollOperation(t, c, op); got.Status != steps.OperationSucceeded {
		t.Fatalf("unassign operation: %+v", got)
	}
	if err := c.RemoveLicense(ctx, id, graphsim.VirtualUserSkuID); err != nil {
		t.Fatalf("RemoveLicense: %v", err)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// TestProvisionThenDeprovision: deprovisioning in Microsoft's order leaves
// the tenant exactly as it was before the provision, and each removal
// writes once.
func TestProvisionThenDeprovision(t *testing.T) {
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{OperationStepDelay: 10 * time.Millisecond}})
	c := f.client(t, f.config())
	tc := teamsClient(t, f, c)
	const tel = "+12125550178"
	before := f.sim.Snapshot()

	acc := provision(t, c, tc, "ra-roundtrip", tel)
	if d := before.Diff(f.sim.Snapshot()); len(d) != 5 { // user, sku, number, instance, association
		t.Errorf("provisioning changed %d things, want 5:\n%s", len(d), strings.Join(d, "\n"))
	}

	f.sim.ResetLog()
	deprovision(t, c, tc, acc.ID, tel)
	if d := before.Diff(f.sim.Snapshot()); d != nil {
		t.Errorf("after deprovisioning the tenant differs from before:\n%s", strings.Join(d, "\n"))
	}
	counts := f.sim.Counts()
	for _, route := range []string{routeUnassociate, routeUnassign, routeAssignLicense, routeDeleteUser} {
		if n := counts[route]; n.Total != 1 || n.Writes != 1 {
			t.Errorf("%s: %+v, want one write", route, n)
		}
	}

	// A repeated deprovision changes nothing and writes only where a read
	// cannot tell: Unassign starts an operation, Delete's 404.
	f.sim.ResetLog()
	ctx := context.Background()
	if err := tc.Unassociate(ctx, acc.ID); err != nil {
		t.Errorf("Unassociate again: %v", err)
	}
	if op, err := c.Unassign(ctx, tel, "callingPlan"); err != nil {
		t.Errorf("Unassign again: %v", err)
	} else if got, _ := pollOperation(t, c, op); got.Status != steps.OperationSucceeded {
		t.Errorf("unassign again: %+v", got)
	}
	// The user is gone: RemoveLicense reports it rather than guessing.
	wantAppErr(t, c.RemoveLicense(ctx, acc.ID, graphsim.VirtualUserSkuID), apperr.NotFound, "")
	if err := c.Delete(ctx, acc.ID); err != nil {
		t.Errorf("Delete again: %v", err)
	}
	counts = f.sim.Counts()
	if n := counts[routeUnassociate].Total + counts[routeAssignLicense].Total; n != 0 {
		t.Errorf("repeated deprovision sent %d association deletes or license writes, want 0", n)
	}
	if d := before.Diff(f.sim.Snapshot()); d != nil {
		t.Errorf("after the repeated deprovision:\n%s", strings.Join(d, "\n"))
	}
}

// TestDeleteBeforeUnassign: deleting the account before unassigning its
// number leaves the number assigned to the deleted id, updatePending, and a
// later unassignment fails: the order matters.
func TestDeleteBeforeUnassign(t *testing.T) {
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{OperationStepDelay: 10 * time.Millisecond}})
	c := f.client(t, f.config())
	tc := teamsClient(t, f, c)
	ctx := context.Background()
	const tel = "+12125550179"
	acc := provision(t, c, tc, "ra-wrongorder", tel)

	if err := tc.Unassociate(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	n, err := c.Lookup(ctx, tel)
	if err != nil {
		t.Fatal(err)
	}
	if n == nil || n.AssignmentTargetID != acc.ID || n.AssignmentStatus == "unassigned" || n.ActivationState != "updatePending" {
		t.Fatalf("number after deleting its holder = %+v, want still assigned to %s, updatePending", n, acc.ID)
	}
	id, err := c.Unassign(ctx, tel, "callingPlan")
	if err != nil {
		t.Fatal(err)
	}
	if op, _ := pollOperation(t, c, id); op.Status != steps.OperationFailed {
		t.Errorf("unassigning the stuck number: %+v, want failed", op)
	}
	if held, err := c.AssignedTo(ctx, acc.ID); err != nil || len(held) != 1 {
		t.Errorf("AssignedTo(deleted account) = %+v, %v; want the stuck number", held, err)
	}
}

package graph_test

// Contract tests of telephone number operations: both body forms Microsoft
// shows for GET …/operations/{id}, statuses the client cannot read, and the
// Teams sync delay of new and newly licensed accounts.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// TestOperationBodyForms: the operation reads the same whether the simulator
// serves the bare entity or, as Learn's example shows, the entity wrapped in
// "value".
func TestOperationBodyForms(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrapped=%v", wrap), func(t *testing.T) {
			f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{WrapOperations: wrap}})
			c := f.client(t, f.config())
			ctx := context.Background()

			tests := []struct {
				target, wantStatus, wantDetail string
			}{
				// Already the reception account's: succeeds, nothing changes.
				{teamssim.SeedReceptionAccountID, steps.OperationSucceeded, ""},
				{teamssim.SeedSupportAccountID, steps.OperationFailed, "is already assigned to another target"},
			}
			for _, tt := range tests {
				id, err := c.Assign(ctx, steps.AssignNumberRequest{TelephoneNumber: "+12065550142", AssignmentTargetID: tt.target, NumberType: "callingPlan"})
				if err != nil {
					t.Fatal(err)
				}
				op, _ := pollOperation(t, c, id)
				if op.Status != tt.wantStatus || len(op.Numbers) != 1 || !strings.Contains(op.Numbers[0].StatusDetail, tt.wantDetail) ||
					!strings.Contains(op.Numbers[0].ResourceLocation, "/numberAssignments/") {
					t.Errorf("operation = %+v, want %s with detail %q", op, tt.wantStatus, tt.wantDetail)
				}
			}
		})
	}
}

// TestOperationUnreadableStatus: an operation whose status is empty, missing
// or unknown is an Internal error, not an operation still running that the
// step would poll for hours.
func TestOperationUnreadableStatus(t *testing.T) {
	sim, err := graphsim.New(graphsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{
		"empty":          `{"id":"empty","createdDateTime":"2026-03-04T05:06:07Z","status":"","numbers":[]}`,
		"missing":        `{"id":"missing","numbers":[]}`,
		"wrapped-empty":  `{"value":{"id":"wrapped-empty","status":""}}`,
		"future":         `{"value":{"id":"future","status":"unknownFutureValue"}}`,
		"other-casing":   `{"id":"other-casing","status":"Succeeded","numbers":[]}`,
		"wrapped-failed": `{"value":{"id":"wrapped-failed","status":"failed","numbers":[{"resourceLocation":"x","status":"failed","statusDetail":"no"}]}}`,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/admin/teams/telephoneNumberManagement/operations/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, bodies[r.PathValue("id")])
	})
	mux.Handle("/", sim.Handler()) // token endpoint and everything else
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	f := &fixture{sim: sim, ts: ts}
	c := f.client(t, f.config())
	ctx := context.Background()

	for _, id := range []string{"empty", "missing", "wrapped-empty", "future"} {
		_, err := c.Operation(ctx, id)
		e := wantAppErr(t, err, apperr.Internal, "")
		if !strings.Contains(e.Message, "unknown status") {
			t.Errorf("%s: message %q", id, e.Message)
		}
	}
	op, err := c.Operation(ctx, "other-casing")
	if err != nil || op.Status != steps.OperationSucceeded {
		t.Errorf("other casing = %+v, %v; want succeeded", op, err)
	}
	op, err = c.Operation(ctx, "wrapped-failed")
	if err != nil || op.Status != steps.OperationFailed || op.ID != "wrapped-failed" || len(op.Numbers) != 1 || op.Numbers[0].StatusDetail != "no" {
		t.Errorf("wrapped failed = %+v, %v", op, err)
	}
}

// TestAssignDuringTeamsSyncDelay: Graph accepts an assignment to an account
// Teams does not know yet, or whose license it has not seen, and the
// operation fails; once Teams has caught up the same assignment succeeds.
func TestAssignDuringTeamsSyncDelay(t *testing.T) {
	const (
		seeded = "d36f7a8b-9c0d-4e1f-8a2b-6c7d8e9fa0b1" // in the directory for a year, no license
		number = "+15125550132"
	)
	seed := graphsim.DefaultSeed()
	seed.Users = append(seed.Users, graphsim.SeedUser{ID: seeded, UserPrincipalName: "ra-old@contoso.com",
		DisplayName: "Old", UsageLocation: "US", Department: graphsim.ResourceAccountDepartment})
	f := startSim(t, graphsim.Config{Seed: seed, Knobs: graphsim.Knobs{TeamsSyncDelay: time.Hour}})
	c := f.client(t, f.config())
	ctx := context.Background()
	assign := func(target string) steps.Operation {
		t.Helper()
		id, err := c.Assign(ctx, steps.AssignNumberRequest{TelephoneNumber: number, AssignmentTargetID: target, NumberType: "callingPlan"})
		if err != nil {
			t.Fatalf("Assign: %v (accepted even when Teams does not know the target)", err)
		}
		op, _ := pollOperation(t, c, id)
		return op
	}

	created, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-new@contoso.com", DisplayName: "New", UsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, created.ID, graphsim.VirtualUserSkuID); err != nil {
		t.Fatal(err)
	}
	if op := assign(created.ID); op.Status != steps.OperationFailed || !strings.Contains(op.Numbers[0].StatusDetail, "was not found") {
		t.Errorf("new account: operation %+v, want failed: not found", op)
	}

	if err := c.AssignLicense(ctx, seeded, graphsim.VirtualUserSkuID); err != nil {
		t.Fatal(err)
	}
	if op := assign(seeded); op.Status != steps.OperationFailed || !strings.Contains(op.Numbers[0].StatusDetail, "has no license") {
		t.Errorf("newly licensed account: operation %+v, want failed: no license", op)
	}

	k := f.sim.Knobs()
	k.TeamsSyncDelay = 0
	f.sim.SetKnobs(k)
	if op := assign(seeded); op.Status != steps.OperationSucceeded {
		t.Errorf("once Teams has the license: operation %+v, want succeeded", op)
	}
}

package graphsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

const (
	tnm              = "/v1.0/admin/teams/telephoneNumberManagement"
	associationsPath = "/Teams.VoiceApps/applicationinstanceassociations/"
	receptionNumber  = "+12065550142" // the seeded reception account's
	supportNumber    = "+13125550104" // the seeded support account's
)

// number returns the simulator's record of tel.
func number(t *testing.T, sim *graphsim.Server, tel string) graphsim.SnapshotNumber {
	t.Helper()
	for _, n := range sim.Snapshot().Numbers {
		if n.TelephoneNumber == tel {
			return n
		}
	}
	t.Fatalf("number %s not in the inventory", tel)
	return graphsim.SnapshotNumber{}
}

// operation starts a number action and returns its final state, reading
// the simulator's state until the operation is done.
func (e *env) operation(t *testing.T, action string, body map[string]any) teamssim.OperationState {
	t.Helper()
	resp, b := e.do(t, http.MethodPost, tnm+"/numberAssignments/"+action, body)
	wantStatus(t, resp, b, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	id, ok := strings.CutPrefix(loc[strings.Index(loc, "/operations('"):], "/operations('")
	if !ok {
		t.Fatalf("Location %q", loc)
	}
	id = strings.TrimSuffix(id, "')")
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, op := range e.sim.State().Teams.Operations {
			if op.ID == id && (op.Status == teamssim.OperationSucceeded || op.Status == teamssim.OperationFailed) {
				return op
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s not done after 5s", id)
		}
		if e.clock != nil {
			e.clock.Advance(time.Second)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func hasInstance(st graphsim.Snapshot, id string) (instance, association bool) {
	for _, i := range st.ApplicationInstances {
		instance = instance || strings.EqualFold(i.ObjectID, id)
	}
	for _, a := range st.Associations {
		association = association || strings.EqualFold(a.ObjectID, id)
	}
	return instance, association
}

// TestDeleteUserBeforeUnassigning: deleting a resource account that still
// holds its number frees the license and drops its Teams instance and
// association, but the number stays assigned to the deleted id, stuck in
// updatePending: unassigning or reassigning it fails from then on.
func TestDeleteUserBeforeUnassigning(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	id := teamssim.SeedReceptionAccountID
	before := e.sim.Snapshot()

	resp, b := e.do(t, http.MethodDelete, "/v1.0/users/"+id, nil)
	wantStatus(t, resp, b, http.StatusNoContent)

	after := e.sim.Snapshot()
	if got, want := after.ConsumedUnits[graphsim.VirtualUserSkuPartNumber], before.ConsumedUnits[graphsim.VirtualUserSkuPartNumber]-1; got != want {
		t.Errorf("consumedUnits = %d, want %d", got, want)
	}
	if inst, assoc := hasInstance(after, id); inst || assoc {
		t.Errorf("after the delete: instance %v, association %v; want neither", inst, assoc)
	}
	stuck := number(t, e.sim, receptionNumber)
	if stuck.AssignmentStatus != teamssim.StatusVoiceApplicationAssigned || stuck.AssignmentTargetID != id ||
		stuck.ActivationState != teamssim.ActivationUpdatePending {
		t.Errorf("number after the delete = %+v, want still assigned to %s, updatePending", stuck, id)
	}

	op := e.operation(t, "unassignNumber", map[string]any{"telephoneNumber": receptionNumber, "numberType": "callingPlan"})
	if op.Status != teamssim.OperationFailed || !strings.Contains(op.StatusDetail, "no longer exists") {
		t.Errorf("unassign after the delete = %+v, want failed", op)
	}
	op = e.operation(t, "assignNumber", map[string]any{"telephoneNumber": receptionNumber, "numberType": "callingPlan", "assignmentTargetId": teamssim.SeedSupportAccountID})
	if op.Status != teamssim.OperationFailed {
		t.Errorf("reassign after the delete = %+v, want failed", op)
	}
	if got := number(t, e.sim, receptionNumber); got != stuck {
		t.Errorf("number = %+v, want it still stuck as %+v", got, stuck)
	}

	resp, b = e.do(t, http.MethodDelete, "/v1.0/users/"+id, nil)
	wantError(t, resp, b, http.StatusNotFound, "Request_ResourceNotFound", id)
	c := e.sim.Counts()["DELETE /v1.0/users/{id}"]
	if c.Writes != 2 || c.ByStatus[http.StatusNoContent] != 1 || c.ByStatus[http.StatusNotFound] != 1 || c.ResourceUnits != 2 {
		t.Errorf("DELETE counts = %+v, want two writes: 204 and 404", c)
	}
}

// TestUnassignStartedBeforeDelete: an unassignment still running when the
// account is deleted completes and releases the number.
func TestUnassignStartedBeforeDelete(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{OperationStepDelay: time.Second}})
	resp, b := e.do(t, http.MethodPost, tnm+"/numberAssignments/unassignNumber", map[string]any{"telephoneNumber": supportNumber, "numberType": "callingPlan"})
	wantStatus(t, resp, b, http.StatusAccepted)
	resp, b = e.do(t, http.MethodDelete, "/v1.0/users/"+teamssim.SeedSupportAccountID, nil)
	wantStatus(t, resp, b, http.StatusNoContent)
	if got := number(t, e.sim, supportNumber); got.ActivationState != teamssim.ActivationAssignmentPending {
		t.Errorf("number while the unassignment runs = %+v, want assignmentPending", got)
	}
	e.clock.Advance(2 * time.Second)
	want := graphsim.SnapshotNumber{TelephoneNumber: supportNumber, ActivationState: teamssim.ActivationActivated, AssignmentStatus: teamssim.StatusUnassigned}
	if got := number(t, e.sim, supportNumber); got != want {
		t.Errorf("number = %+v, want %+v", got, want)
	}
}

// TestUnassignNumber: unassignNumber releases the number; a number that is
// not assigned succeeds again; one not in the inventory fails as
// assignNumber's does.
func TestUnassignNumber(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	body := map[string]any{"telephoneNumber": supportNumber, "numberType": "callingPlan"}
	for i := range 2 {
		op := e.operation(t, "unassignNumber", body)
		if op.Status != teamssim.OperationSucceeded || op.Action != "unassignNumber" {
			t.Errorf("unassign #%d = %+v, want succeeded", i+1, op)
		}
		want := graphsim.SnapshotNumber{TelephoneNumber: supportNumber, ActivationState: teamssim.ActivationActivated, AssignmentStatus: teamssim.StatusUnassigned}
		if got := number(t, e.sim, supportNumber); got != want {
			t.Errorf("number after unassign #%d = %+v, want %+v", i+1, got, want)
		}
	}
	unknown := e.operation(t, "unassignNumber", map[string]any{"telephoneNumber": "+19995550100", "numberType": "callingPlan"})
	if unknown.Status != teamssim.OperationFailed || !strings.Contains(unknown.StatusDetail, "was not found in the tenant's telephone number inventory") {
		t.Errorf("unknown number = %+v", unknown)
	}
	if c := e.sim.Counts()["POST "+tnm+"/numberAssignments/unassignNumber"]; c.Writes != 3 || c.ByStatus[http.StatusAccepted] != 3 {
		t.Errorf("unassignNumber counts = %+v, want 3 accepted writes", c)
	}
}

// TestRemoveAssociation: DELETE on an instance's association removes it;
// none left (or no instance) is 404.
func TestRemoveAssociation(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	teams := e.token(t, graphsim.TeamsAdminScope)
	del := func(id string) (*http.Response, []byte) {
		return e.doWith(t, teams, http.MethodDelete, associationsPath+id, nil, nil)
	}
	resp, b := del(teamssim.SeedReceptionAccountID)
	wantStatus(t, resp, b, http.StatusOK)
	if !strings.Contains(string(b), `"result":"Success"`) {
		t.Errorf("body = %s", b)
	}
	if _, assoc := hasInstance(e.sim.Snapshot(), teamssim.SeedReceptionAccountID); assoc {
		t.Error("association still there")
	}
	for _, id := range []string{teamssim.SeedReceptionAccountID, teamssim.SeedSalesUKAccountID, "00000000-0000-0000-0000-00000000beef"} {
		resp, b = del(id)
		wantStatus(t, resp, b, http.StatusNotFound)
	}
	resp, b = del("not-a-guid")
	wantStatus(t, resp, b, http.StatusBadRequest)
	resp, b = e.doWith(t, teams, http.MethodGet, associationsPath+teamssim.SeedReceptionAccountID, nil, nil)
	wantStatus(t, resp, b, http.StatusNotFound)
	if c := e.sim.Counts()["DELETE "+associationsPath+"{objectId}"]; c.Total != 5 || c.ByStatus[http.StatusOK] != 1 {
		t.Errorf("counts = %+v", c)
	}
}

// TestSnapshotDiff: a deprovision in the right order (unassociate,
// unassign, remove the license, delete) of an account the simulator
// provisioned leaves the snapshot as it was; Diff names what differs
// otherwise.
func TestSnapshotDiff(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	teams := e.token(t, graphsim.TeamsAdminScope)
	before := e.sim.Snapshot()
	if d := before.Diff(e.sim.Snapshot()); d != nil {
		t.Fatalf("two snapshots of one state differ: %v", d)
	}

	// Provision: user, license, instance, number, association.
	id := e.createUser(t, newUser("ra-roundtrip"))
	resp, b := e.do(t, http.MethodPost, "/v1.0/users/"+id+"/assignLicense", assignBody(graphsim.VirtualUserSkuID))
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.doWith(t, teams, http.MethodPost, "/Teams.PlatformService/v2/ApplicationInstances/"+id+"/sync?applicationId="+teamssim.CallQueueAppID, nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	const tel = "+12125550178"
	if op := e.operation(t, "assignNumber", map[string]any{"telephoneNumber": tel, "numberType": "callingPlan", "assignmentTargetId": id}); op.Status != teamssim.OperationSucceeded {
		t.Fatalf("assign = %+v", op)
	}
	resp, b = e.doWith(t, teams, http.MethodPost, strings.TrimSuffix(associationsPath, "/"),
		map[string]any{"ConfigurationId": teamssim.SeedSalesCQID, "ConfigurationType": "CallQueue", "EndpointsId": []string{id}}, nil)
	wantStatus(t, resp, b, http.StatusOK)

	d := before.Diff(e.sim.Snapshot())
	for _, want := range []string{"user " + id + " added", "number " + tel + " changed", "application instance " + id + " added",
		"association " + id + " added", "sku " + graphsim.VirtualUserSkuPartNumber + ": consumedUnits"} {
		if !containsLine(d, want) {
			t.Errorf("diff after provisioning lacks %q:\n%s", want, strings.Join(d, "\n"))
		}
	}

	// Deprovision in Microsoft's order.
	resp, b = e.doWith(t, teams, http.MethodDelete, associationsPath+id, nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if op := e.operation(t, "unassignNumber", map[string]any{"telephoneNumber": tel, "numberType": "callingPlan"}); op.Status != teamssim.OperationSucceeded {
		t.Fatalf("unassign = %+v", op)
	}
	resp, b = e.do(t, http.MethodPost, "/v1.0/users/"+id+"/assignLicense",
		map[string]any{"addLicenses": []any{}, "removeLicenses": []string{graphsim.VirtualUserSkuID}})
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.do(t, http.MethodDelete, "/v1.0/users/"+id, nil)
	wantStatus(t, resp, b, http.StatusNoContent)
	if d := before.Diff(e.sim.Snapshot()); d != nil {
		t.Errorf("state after deprovisioning differs from before:\n%s", strings.Join(d, "\n"))
	}

	// The admin API serves the same snapshot.
	resp, b = e.doWith(t, "", http.MethodGet, "/_sim/snapshot", nil, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if d := e.sim.Snapshot().Diff(decode[graphsim.Snapshot](t, b)); d != nil {
		t.Errorf("GET /_sim/snapshot differs: %v", d)
	}
}

func containsLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

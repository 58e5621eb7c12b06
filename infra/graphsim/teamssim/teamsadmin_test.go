package teamssim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

const (
	appInstances = "/Teams.PlatformService/v2/ApplicationInstances"
	associations = "/Teams.VoiceApps/applicationinstanceassociations"
)

type instanceJSON struct {
	ObjectID          string  `json:"objectId"`
	DisplayName       string  `json:"displayName"`
	UserPrincipalName string  `json:"userPrincipalName"`
	ApplicationID     string  `json:"applicationId"`
	PhoneNumber       *string `json:"phoneNumber"`
}

// bind sends the bind request the Teams module's generated code describes:
// the object id in the path, the query as given, no body.
func (e *env) bind(t *testing.T, objectID, query string) (*http.Response, []byte) {
	t.Helper()
	return e.do(t, http.MethodPost, appInstances+"/"+objectID+"/sync"+query, "")
}

func TestBindApplicationInstance(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	const newAccount = "a0000000-0000-4000-8000-0000000000ff"
	aa, cq := "?applicationId="+teamssim.AutoAttendantAppID, "?applicationId="+teamssim.CallQueueAppID
	steps := []struct {
		name       string
		before     func()
		objectID   string
		query      string
		body       string
		wantStatus int
		wantApp    string
	}{
		{name: "a body", objectID: unboundUser, query: aa, body: `{"applicationId":"` + teamssim.AutoAttendantAppID + `"}`, wantStatus: http.StatusBadRequest},
		{name: "unknown query parameter", objectID: unboundUser, query: aa + "&tenant=x", wantStatus: http.StatusBadRequest},
		{name: "repeated query parameter", objectID: unboundUser, query: aa + "&applicationId=" + teamssim.AutoAttendantAppID, wantStatus: http.StatusBadRequest},
		{name: "not an AA or CQ application id", objectID: unboundUser, query: "?applicationId=00000000-0000-0000-0000-000000000001", wantStatus: http.StatusBadRequest},
		{name: "missing applicationId", objectID: unboundUser, wantStatus: http.StatusBadRequest},
		{name: "object id not a GUID", objectID: "user@contoso.com", query: aa, wantStatus: http.StatusBadRequest},
		{name: "acsResourceId not a GUID", objectID: unboundUser, query: aa + "&acsResourceId=x", wantStatus: http.StatusBadRequest},
		{name: "user not in the directory yet", objectID: newAccount, query: cq, wantStatus: http.StatusNotFound},
		{name: "user replicated", before: func() {
			e.dir.add(teamssim.DirUser{ID: newAccount, UserPrincipalName: "new@contoso.com", DisplayName: "New", UsageLocation: "US", Licensed: true})
		}, objectID: newAccount, query: cq, wantStatus: http.StatusOK, wantApp: teamssim.CallQueueAppID},
		{name: "bind as auto attendant, parameter name in other casing, with an ACS resource", objectID: unboundUser,
			query: "?ApplicationID=" + teamssim.AutoAttendantAppID + "&acsResourceId=3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", wantStatus: http.StatusOK, wantApp: teamssim.AutoAttendantAppID},
		{name: "same binding again is a no-op", objectID: unboundUser, query: aa, wantStatus: http.StatusOK, wantApp: teamssim.AutoAttendantAppID},
		{name: "other application id conflicts", objectID: unboundUser, query: cq, wantStatus: http.StatusConflict},
		{name: "seeded instance rebound with its own id", objectID: cqAccount, query: cq, wantStatus: http.StatusOK, wantApp: teamssim.CallQueueAppID},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		var resp *http.Response
		var b []byte
		if s.body != "" {
			resp, b = e.do(t, http.MethodPost, appInstances+"/"+s.objectID+"/sync"+s.query, s.body)
		} else {
			resp, b = e.bind(t, s.objectID, s.query)
		}
		if s.wantApp == "" {
			wantError(t, resp, b, s.wantStatus)
			continue
		}
		if resp.StatusCode != s.wantStatus || string(bytes.TrimSpace(b)) != "true" {
			t.Fatalf("%s: %d %s, want %d true", s.name, resp.StatusCode, b, s.wantStatus)
		}
		got := getJSON[instanceJSON](t, e, appInstances+"/"+s.objectID)
		if got.ApplicationID != s.wantApp || got.ObjectID == "" || got.UserPrincipalName == "" || got.DisplayName == "" {
			t.Errorf("%s: instance %+v, want applicationId %s and the directory's names", s.name, got, s.wantApp)
		}
	}

	got := getJSON[instanceJSON](t, e, appInstances+"/"+newAccount)
	want := instanceJSON{ObjectID: newAccount, DisplayName: "New", UserPrincipalName: "new@contoso.com", ApplicationID: teamssim.CallQueueAppID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bound instance (-want +got):\n%s", diff)
	}

	// Bound, licensed and in the number's country: the account now gets a
	// service number as a resource account.
	op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, unboundUser, "callingPlan")))
	if op.Status != "succeeded" {
		t.Fatalf("assigning after binding: %s", op.Status)
	}
	if n := e.number(t, serviceNumber); n.AssignmentStatus != "voiceApplicationAssigned" {
		t.Errorf("assignmentStatus = %s, want voiceApplicationAssigned", n.AssignmentStatus)
	}

	// Learn's way to re-map: the empty application id removes the mapping.
	if resp, b := e.bind(t, newAccount, "?applicationId=00000000-0000-0000-0000-000000000000"); resp.StatusCode != http.StatusOK {
		t.Fatalf("removing the mapping: %d %s", resp.StatusCode, b)
	}
	resp, b := e.do(t, http.MethodGet, appInstances+"/"+newAccount, "")
	wantError(t, resp, b, http.StatusNotFound)
	if resp, b := e.bind(t, newAccount, aa); resp.StatusCode != http.StatusOK {
		t.Fatalf("re-mapping: %d %s", resp.StatusCode, b)
	}
	if got := getJSON[instanceJSON](t, e, appInstances+"/"+newAccount); got.ApplicationID != teamssim.AutoAttendantAppID {
		t.Errorf("re-mapped instance %+v", got)
	}
}

// TestBindOldShapeRefused: the shape raprov sent before, a POST of
// {objectId, applicationId} to the collection, binds nothing.
func TestBindOldShapeRefused(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	body, _ := json.Marshal(map[string]string{"objectId": unboundUser, "applicationId": teamssim.AutoAttendantAppID})
	resp, b := e.do(t, http.MethodPost, appInstances, string(body))
	wantError(t, resp, b, http.StatusMethodNotAllowed)
	if resp, b := e.do(t, http.MethodGet, appInstances+"/"+unboundUser, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after the old bind shape the user is an instance: %d %s", resp.StatusCode, b)
	}
}

func TestListApplicationInstances(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	if op := getJSON[operationJSON](t, e, e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan"))); op.Status != "succeeded" {
		t.Fatalf("assignment: %s", op.Status)
	}

	type page struct {
		ApplicationInstances []instanceJSON `json:"applicationInstances"`
		SkipToken            *string        `json:"skipToken"`
	}
	var got []instanceJSON
	var sizes []int
	next := appInstances + "?pageSize=2"
	for next != "" && len(sizes) < 10 {
		p := getJSON[page](t, e, next)
		sizes = append(sizes, len(p.ApplicationInstances))
		got = append(got, p.ApplicationInstances...)
		next = ""
		if p.SkipToken != nil {
			next = appInstances + "?pageSize=2&skipToken=" + *p.SkipToken
		}
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	phones := map[string]*string{}
	for _, a := range got {
		phones[a.ObjectID] = a.PhoneNumber
	}
	if len(phones) != len(testSeed().ApplicationInstances) {
		t.Errorf("listed %d distinct instances, want %d", len(phones), len(testSeed().ApplicationInstances))
	}
	if p := phones[aaAccount]; p == nil || *p != "tel:"+serviceNumber {
		t.Errorf("phoneNumber of %s = %v, want tel:%s", aaAccount, p, serviceNumber)
	}
	if p := phones[cqAccount]; p != nil {
		t.Errorf("phoneNumber of %s = %s, want null", cqAccount, *p)
	}

	for _, q := range []string{"?pageSize=0", "?pageSize=many", "?pageSize=1001", "?skipToken=%21%21"} {
		resp, b := e.do(t, http.MethodGet, appInstances+q, "")
		wantError(t, resp, b, http.StatusBadRequest)
	}
}

func TestGetApplicationInstance(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	if got := getJSON[instanceJSON](t, e, appInstances+"/"+cqAccount); got.ApplicationID != teamssim.CallQueueAppID || got.PhoneNumber != nil {
		t.Errorf("instance = %+v", got)
	}
	resp, b := e.do(t, http.MethodGet, appInstances+"/"+unboundUser, "")
	wantError(t, resp, b, http.StatusNotFound)
}

func associateBody(configID, configType string, endpoints ...string) string {
	b, _ := json.Marshal(map[string]any{"ConfigurationId": configID, "ConfigurationType": configType, "EndpointsId": endpoints})
	return string(b)
}

func associateBodyWithPriority(priority any, configID, configType string, endpoints ...string) string {
	b, _ := json.Marshal(map[string]any{"ConfigurationId": configID, "ConfigurationType": configType, "EndpointsId": endpoints, "CallPriority": priority})
	return string(b)
}

func TestAssociate(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	steps := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"malformed body", `{"ConfigurationId":`, http.StatusBadRequest},
		{"old camelCase shape", `{"configurationId":"` + aaConfig + `","configurationType":"AutoAttendant","endpointsId":["` + aaAccount + `"]}`, http.StatusBadRequest},
		{"unknown property", `{"ConfigurationId":"` + aaConfig + `","ConfigurationType":"AutoAttendant","EndpointsId":["` + aaAccount + `"],"Tenant":"x"}`, http.StatusBadRequest},
		{"call priority 0", associateBodyWithPriority(0, aaConfig, "AutoAttendant", aaAccount), http.StatusBadRequest},
		{"call priority 6", associateBodyWithPriority(6, aaConfig, "AutoAttendant", aaAccount), http.StatusBadRequest},
		{"call priority not a number", associateBodyWithPriority("high", aaConfig, "AutoAttendant", aaAccount), http.StatusBadRequest},
		{"endpoint unknown to Teams", associateBody(aaConfig, "AutoAttendant", "a0000000-0000-4000-8000-0000000000ee"), http.StatusNotFound},
		{"invalid configurationType", associateBody(aaConfig, "HuntGroup", aaAccount), http.StatusBadRequest},
		{"no endpoints", associateBody(aaConfig, "AutoAttendant"), http.StatusBadRequest},
		{"missing configurationId", associateBody("", "AutoAttendant", aaAccount), http.StatusBadRequest},
		{"unknown configuration", associateBody("c0000000-0000-4000-8000-0000000000ee", "AutoAttendant", aaAccount), http.StatusNotFound},
		{"configurationType differs from the configuration's", associateBody(cqConfig, "AutoAttendant", aaAccount), http.StatusBadRequest},
		{"endpoint not an application instance", associateBody(aaConfig, "AutoAttendant", unboundUser), http.StatusBadRequest},
		{"call queue instance on an auto attendant", associateBody(aaConfig, "AutoAttendant", cqAccount), http.StatusBadRequest},
		{"auto attendant instance on a call queue", associateBody(cqConfig, "CallQueue", aaAccount), http.StatusBadRequest},
		{"one bad endpoint rejects the request", associateBody(aaConfig, "AutoAttendant", gbAccount, cqAccount), http.StatusBadRequest},
		{"associate", associateBody(aaConfig, "AutoAttendant", aaAccount), http.StatusOK},
		{"same association again", associateBody(aaConfig, "AutoAttendant", aaAccount), http.StatusOK},
		{"already associated elsewhere", associateBody(aaConfig2, "AutoAttendant", aaAccount), http.StatusConflict},
		{"call queue with a call priority", associateBodyWithPriority(1, cqConfig, "CallQueue", cqAccount), http.StatusOK},
	}
	for _, s := range steps {
		resp, b := e.do(t, http.MethodPost, associations, s.body)
		if s.wantStatus != http.StatusOK {
			wantError(t, resp, b, s.wantStatus)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d; %s", s.name, resp.StatusCode, b)
		}
		var req struct {
			EndpointsID []string `json:"EndpointsId"`
		}
		_ = json.Unmarshal([]byte(s.body), &req)
		type result struct{ EndpointID, Result string }
		got := mustDecode[struct{ Results []result }](t, b)
		want := []result{{EndpointID: req.EndpointsID[0], Result: "Success"}}
		if diff := cmp.Diff(want, got.Results); diff != "" {
			t.Errorf("%s: results (-want +got):\n%s", s.name, diff)
		}
	}

	type association struct {
		ID                string `json:"id"`
		ConfigurationID   string `json:"configurationId"`
		ConfigurationType string `json:"configurationType"`
		CallPriority      int    `json:"callPriority"`
	}
	got := getJSON[association](t, e, associations+"/"+aaAccount)
	if diff := cmp.Diff(association{aaAccount, aaConfig, "AutoAttendant", teamssim.DefaultCallPriority}, got); diff != "" {
		t.Errorf("association (-want +got):\n%s", diff)
	}
	got = getJSON[association](t, e, associations+"/"+cqAccount)
	if diff := cmp.Diff(association{cqAccount, cqConfig, "CallQueue", 1}, got); diff != "" {
		t.Errorf("association with a call priority (-want +got):\n%s", diff)
	}
	for _, id := range []string{gbAccount, unboundUser} {
		resp, b := e.do(t, http.MethodGet, associations+"/"+id, "")
		wantError(t, resp, b, http.StatusNotFound)
	}
	if n := len(e.sim.State().Associations); n != 2 {
		t.Errorf("state has %d associations, want 2", n)
	}
}

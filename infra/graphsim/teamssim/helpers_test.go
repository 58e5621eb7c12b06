package teamssim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

const tnm = "/v1.0/admin/teams/telephoneNumberManagement"

// Directory users of the test tenant.
const (
	aaAccount        = "a0000000-0000-4000-8000-000000000001" // licensed, US, bound to the AA app
	cqAccount        = "a0000000-0000-4000-8000-000000000002" // licensed, US, bound to the CQ app
	unlicensedRA     = "a0000000-0000-4000-8000-000000000003" // unlicensed, US, bound to the AA app
	unboundUser      = "a0000000-0000-4000-8000-000000000004" // licensed, US, not an application instance
	gbAccount        = "a0000000-0000-4000-8000-000000000005" // licensed, GB, bound to the AA app
	otherUser        = "a0000000-0000-4000-8000-000000000006" // holds +13125550111
	noLocationRA     = "a0000000-0000-4000-8000-000000000007" // licensed, no usage location, bound to the AA app
	aaConfig         = "c0000000-0000-4000-8000-00000000000a"
	aaConfig2        = "c0000000-0000-4000-8000-00000000000b"
	cqConfig         = "c0000000-0000-4000-8000-00000000000c"
	serviceNumber    = "+12065550143" // US, voiceApplicationAssignment + conferenceAssignment
	userNumber       = "+12125550190" // US, userAssignment
	anyNumber        = "+15125550132" // US, all three capabilities
	gbServiceNumber  = "+442079460322"
	inUseNumber      = "+13125550111" // userAssigned to otherUser
	directRouting    = "+14255550119" // no country
	failingNumber    = "+12065550142" // seeded with failWith
	failingNumberMsg = "The number is locked by a pending port order."
)

type fakeDirectory struct {
	mu    sync.Mutex
	users map[string]teamssim.DirUser
}

func (d *fakeDirectory) User(id string) (teamssim.DirUser, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[id]
	return u, ok
}

func (d *fakeDirectory) add(u teamssim.DirUser) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[u.ID] = u
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv   *httptest.Server
	sim   *teamssim.Sim
	clock *fakeClock
	dir   *fakeDirectory
}

func testSeed() teamssim.Seed {
	svc := []string{teamssim.CapabilityConferenceAssignment, teamssim.CapabilityVoiceApplicationAssignment}
	usr := []string{teamssim.CapabilityUserAssignment}
	all := []string{teamssim.CapabilityConferenceAssignment, teamssim.CapabilityVoiceApplicationAssignment, teamssim.CapabilityUserAssignment}
	cp := func(tel, country, city string, caps []string) teamssim.Number {
		return teamssim.Number{TelephoneNumber: tel, NumberType: teamssim.NumberTypeCallingPlan, Capabilities: caps, IsoCountryCode: country, City: city}
	}
	inUse := cp(inUseNumber, "US", "Chicago", usr)
	inUse.AssignmentStatus = teamssim.StatusUserAssigned
	inUse.AssignmentTargetID = otherUser
	inUse.AssignmentCategory = "primary"
	failing := cp(failingNumber, "US", "Seattle", svc)
	failing.FailWith = failingNumberMsg
	return teamssim.Seed{
		Numbers: []teamssim.Number{
			cp(serviceNumber, "US", "Seattle", svc),
			cp(userNumber, "US", "New York", usr),
			cp(anyNumber, "US", "Austin", all),
			cp(gbServiceNumber, "GB", "London", svc),
			inUse,
			failing,
			{TelephoneNumber: directRouting, NumberType: teamssim.NumberTypeDirectRouting, Capabilities: all},
		},
		ApplicationInstances: []teamssim.AppInstance{
			{ObjectID: aaAccount, UserPrincipalName: "aa@contoso.com", DisplayName: "AA", ApplicationID: teamssim.AutoAttendantAppID},
			{ObjectID: cqAccount, UserPrincipalName: "cq@contoso.com", DisplayName: "CQ", ApplicationID: teamssim.CallQueueAppID},
			{ObjectID: unlicensedRA, UserPrincipalName: "unlicensed@contoso.com", DisplayName: "Unlicensed", ApplicationID: teamssim.AutoAttendantAppID},
			{ObjectID: gbAccount, UserPrincipalName: "gb@contoso.com", DisplayName: "GB", ApplicationID: teamssim.AutoAttendantAppID},
			{ObjectID: noLocationRA, UserPrincipalName: "noloc@contoso.com", DisplayName: "No location", ApplicationID: teamssim.AutoAttendantAppID},
		},
		Configurations: []teamssim.Configuration{
			{ID: aaConfig, Type: teamssim.ConfigurationAutoAttendant, Name: "Reception"},
			{ID: aaConfig2, Type: teamssim.ConfigurationAutoAttendant, Name: "After hours"},
			{ID: cqConfig, Type: teamssim.ConfigurationCallQueue, Name: "Support"},
		},
	}
}

func newEnv(t *testing.T, seed teamssim.Seed, delay time.Duration) *env {
	t.Helper()
	dir := &fakeDirectory{users: map[string]teamssim.DirUser{}}
	for _, u := range []teamssim.DirUser{
		{ID: aaAccount, UserPrincipalName: "aa@contoso.com", DisplayName: "AA", UsageLocation: "US", Licensed: true},
		{ID: cqAccount, UserPrincipalName: "cq@contoso.com", DisplayName: "CQ", UsageLocation: "US", Licensed: true},
		{ID: unlicensedRA, UserPrincipalName: "unlicensed@contoso.com", DisplayName: "Unlicensed", UsageLocation: "US"},
		{ID: unboundUser, UserPrincipalName: "user@contoso.com", DisplayName: "User", UsageLocation: "US", Licensed: true},
		{ID: gbAccount, UserPrincipalName: "gb@contoso.com", DisplayName: "GB", UsageLocation: "GB", Licensed: true},
		{ID: otherUser, UserPrincipalName: "other@contoso.com", DisplayName: "Other", UsageLocation: "US", Licensed: true},
		{ID: noLocationRA, UserPrincipalName: "noloc@contoso.com", DisplayName: "No location", Licensed: true},
	} {
		dir.add(u)
	}
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	sim := teamssim.New(teamssim.Config{Directory: dir, Seed: seed, OperationStepDelay: delay, Now: clock.Now})
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, sim: sim, clock: clock, dir: dir}
}

// do sends a request to a path of the server or to an absolute URL and
// returns the response with its body read.
func (e *env) do(t *testing.T, method, target, body string) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = e.srv.URL + target
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// getJSON GETs target, requires 200 and decodes the body into a T.
func getJSON[T any](t *testing.T, e *env, target string) T {
	t.Helper()
	resp, b := e.do(t, http.MethodGet, target, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", target, resp.StatusCode, b)
	}
	return mustDecode[T](t, b)
}

func mustDecode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError requires status and a Graph error body with a code and message.
func wantError(t *testing.T, resp *http.Response, body []byte, status int) graphError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	ge := mustDecode[graphError](t, body)
	if ge.Error.Code == "" || ge.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %s", body)
	}
	return ge
}

type numberJSON struct {
	ID                 string   `json:"id"`
	TelephoneNumber    string   `json:"telephoneNumber"`
	NumberType         string   `json:"numberType"`
	ActivationState    string   `json:"activationState"`
	AssignmentStatus   string   `json:"assignmentStatus"`
	AssignmentTargetID *string  `json:"assignmentTargetId"`
	AssignmentCategory *string  `json:"assignmentCategory"`
	Capabilities       []string `json:"capabilities"`
	IsoCountryCode     *string  `json:"isoCountryCode"`
	LocationID         *string  `json:"locationId"`
}

type numberPage struct {
	Context  string       `json:"@odata.context"`
	NextLink string       `json:"@odata.nextLink"`
	Value    []numberJSON `json:"value"`
}

// number reads one number through the list endpoint.
func (e *env) number(t *testing.T, tel string) numberJSON {
	t.Helper()
	p := getJSON[numberPage](t, e, tnm+"/numberAssignments?$filter="+url.QueryEscape("telephoneNumber eq '"+tel+"'"))
	if len(p.Value) != 1 {
		t.Fatalf("number %s: got %d results", tel, len(p.Value))
	}
	return p.Value[0]
}

type operationJSON struct {
	ID              string `json:"id"`
	CreatedDateTime string `json:"createdDateTime"`
	Status          string `json:"status"`
	Numbers         []struct {
		ResourceLocation string  `json:"resourceLocation"`
		Status           string  `json:"status"`
		StatusDetail     *string `json:"statusDetail"`
	} `json:"numbers"`
}

// start posts an assignNumber or unassignNumber body, requires 202 with an
// empty body and returns the Location header.
func (e *env) start(t *testing.T, action, body string) string {
	t.Helper()
	resp, b := e.do(t, http.MethodPost, tnm+"/numberAssignments/"+action, body)
	if resp.StatusCode != http.StatusAccepted || len(b) != 0 {
		t.Fatalf("%s = %d %q, want 202 with no body", action, resp.StatusCode, b)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s: no Location header", action)
	}
	return loc
}

func assignBody(tel, target, numberType string) string {
	b, _ := json.Marshal(map[string]string{"telephoneNumber": tel, "assignmentTargetId": target, "numberType": numberType})
	return string(b)
}

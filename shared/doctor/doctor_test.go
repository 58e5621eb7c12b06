package doctor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/doctor"
	"github.com/raprov/raprov/shared/permissions"
	"github.com/raprov/raprov/shared/steps"
)

const (
	tenantID   = "11111111-2222-3333-4444-555555555555"
	clientID   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	graphScope = "https://graph.microsoft.com/.default"
	teamsScope = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
	instanceID = "6a1d3f5b-2c4e-4a7b-9d8f-0e2c4a6b8d51"
)

// jwt returns an unsigned token carrying claims.
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256"}`)) + "." + enc.EncodeToString(b) + ".c2ln"
}

// answer is one canned Graph answer.
type answer struct {
	status int
	body   string
	err    error
}

// fakeGraph answers AccessToken and Read from tables.
type fakeGraph struct {
	t      testing.TB
	tokens map[string]string // scope → token
	tokErr map[string]error
	reads  map[string]answer // path → answer
	asked  []string
}

func (f *fakeGraph) AccessToken(_ context.Context, scope string) (string, error) {
	if err := f.tokErr[scope]; err != nil {
		return "", err
	}
	return f.tokens[scope], nil
}

func (f *fakeGraph) Read(_ context.Context, path string, q url.Values) (int, []byte, error) {
	f.asked = append(f.asked, path+"?"+q.Encode())
	a, ok := f.reads[path]
	if !ok {
		return 404, []byte(`{"error":{"code":"NotFound","message":"no such path"}}`), nil
	}
	return a.status, []byte(a.body), a.err
}

// fakeTeams answers the Teams probes.
type fakeTeams struct {
	token      string
	tokErr     error
	listStatus int
	list       []steps.ApplicationInstance
	listErr    error
	getStatus  int
	get        *steps.ApplicationInstance
	getErr     error
}

func (f *fakeTeams) AccessToken(context.Context) (string, error) { return f.token, f.tokErr }

func (f *fakeTeams) ListOne(context.Context) (int, []steps.ApplicationInstance, error) {
	return f.listStatus, f.list, f.listErr
}

func (f *fakeTeams) GetOne(_ context.Context, id string) (int, *steps.ApplicationInstance, error) {
	return f.getStatus, f.get, f.getErr
}

var reception = steps.ApplicationInstance{ObjectID: instanceID, UserPrincipalName: "ra-reception@contoso.com",
	ApplicationID: steps.AutoAttendantAppID, DisplayName: "Reception"}

// healthy returns a tenant where every check passes.
func healthy(t testing.TB) (doctor.Setup, *fakeGraph, *fakeTeams) {
	s := doctor.Setup{
		TenantID: tenantID, ClientID: clientID, Credential: "client secret",
		AuthorityHost: "https://login.microsoftonline.com/", GraphBaseURL: "https://graph.microsoft.com/v1.0",
		GraphScope: graphScope, TeamsBaseURL: "https://api.interfaces.records.teams.microsoft.com", TeamsScope: teamsScope,
		TeamsListPath: "/Teams.PlatformService/v2/ApplicationInstances",
		TeamsGetPath:  "/Teams.PlatformService/v2/ApplicationInstances/{objectId}", TeamsLookup: "get",
		SkuPartNumber: "PHONESYSTEM_VIRTUALUSER", OwnerAttribute: 15,
	}
	consent := permissions.Consent()
	g := &fakeGraph{
		t: t,
		tokens: map[string]string{
			graphScope: jwt(t, map[string]any{"aud": "https://graph.microsoft.com", "tid": tenantID, "appid": clientID, "roles": consent.Permissions, "exp": 4102444800}),
		},
		reads: map[string]answer{
			"/subscribedSkus": {200, `{"value":[{"skuPartNumber":"ENTERPRISEPACK","capabilityStatus":"Enabled","consumedUnits":1,"prepaidUnits":{"enabled":5}},
				{"skuPartNumber":"PHONESYSTEM_VIRTUALUSER","capabilityStatus":"Enabled","consumedUnits":3,"prepaidUnits":{"enabled":25}}]}`, nil},
			"/admin/teams/telephoneNumberManagement/numberAssignments": {200, `{"value":[{"telephoneNumber":"+12065550100","assignmentStatus":"unassigned","capabilities":["voiceApplicationAssignment"]}]}`, nil},
			"/users": {200, `{"value":[{"id":"` + instanceID + `","userPrincipalName":"ra-reception@contoso.com","onPremisesExtensionAttributes":{"extensionAttribute15":"raprov:request:r1","extensionAttribute1":"x"}}]}`, nil},
		},
	}
	tm := &fakeTeams{
		token:      jwt(t, map[string]any{"aud": []string{"48ac35b8-9aa8-4d74-927d-1f4a14a0b239"}, "tid": tenantID, "azp": clientID, "wids": consent.Roles}),
		listStatus: 200, list: []steps.ApplicationInstance{reception}, getStatus: 200, get: &reception}
	return s, g, tm
}

func result(t *testing.T, rep doctor.Report, check string) doctor.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no result for %q in %+v", check, rep.Results)
	return doctor.Result{}
}

func TestRunHealthy(t *testing.T) {
	s, g, tm := healthy(t)
	rep := doctor.Run(context.Background(), s, g, tm)
	if rep.Exit != doctor.ExitOK {
		t.Errorf("exit %d, want 0: %+v", rep.Exit, rep.Results)
	}
	want := map[string]doctor.Status{
		"configuration": doctor.OK, "tokens": doctor.OK, "license": doctor.OK, "teams admin": doctor.OK,
		"numbers": doctor.OK, "owner attribute": doctor.OK, "verified domains": doctor.Skip,
	}
	for check, st := range want {
		if got := result(t, rep, check); got.Status != st {
			t.Errorf("%s: %s (%s), want %s", check, got.Status, got.Summary, st)
		}
	}
	if got := result(t, rep, "license").Summary; !strings.Contains(got, "22 of 25 seats free") {
		t.Errorf("license summary %q", got)
	}
	// The doctor reads only what it documents.
	for _, a := range g.asked {
		if strings.Contains(a, "organization") {
			t.Errorf("read %s without the permission", a)
		}
	}
}

func TestRunFindings(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*doctor.Setup, *fakeGraph, *fakeTeams)
		check  string
		status doctor.Status
		exit   int
		say    string // in the summary
	}{
		{"configuration unusable", func(s *doctor.Setup, _ *fakeGraph, _ *fakeTeams) { s.Err = errors.New("tenant id is required") },
			"configuration", doctor.Fail, doctor.ExitConfig, "tenant id is required"},
		{"national cloud", func(s *doctor.Setup, _ *fakeGraph, _ *fakeTeams) {
			s.Cloud, s.TeamsAuth = "gcchigh", "delegated (raprov login)"
			s.GraphBaseURL, s.GraphScope, s.AuthorityHost = "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default", "https://login.microsoftonline.us/"
		}, "configuration", doctor.Warn, doctor.ExitOK, "cloud gcchigh; client secret"},
		{"scope of another cloud", func(s *doctor.Setup, _ *fakeGraph, _ *fakeTeams) {
			s.GraphBaseURL, s.AuthorityHost = "https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us/"
		}, "configuration", doctor.Warn, doctor.ExitOK, "the Graph token scope names graph.microsoft.com"},
		{"credentials refused", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.tokErr = map[string]error{graphScope: apperr.New(apperr.Forbidden, "", "token request failed: HTTP 401")}
		}, "tokens", doctor.Fail, doctor.ExitConfig, "no Graph token"},
		{"token endpoint unreachable", func(_ *doctor.Setup, g *fakeGraph, tm *fakeTeams) {
			err := apperr.New(apperr.Unavailable, "", "no response")
			g.tokErr, tm.tokErr = map[string]error{graphScope: err}, err
		}, "tokens", doctor.Fail, doctor.ExitUnreachable, "no Teams admin token"},
		{"token of another tenant", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.tokens[graphScope] = jwt(t, map[string]any{"tid": "99999999-2222-3333-4444-555555555555", "roles": permissions.Consent().Permissions})
		}, "tokens", doctor.Fail, doctor.ExitFailed, "is for tenant 99999999"},
		{"opaque token", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) { tm.token = "opaque" },
			"tokens", doctor.Warn, doctor.ExitOK, "cannot be read"},
		{"missing role", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			tm.token = jwt(t, map[string]any{"wids": []string{permissions.RoleTeamsAdministrator, "0997a1d0-0d1d-4acb-b408-d5ca73121e90"}})
		}, "tokens", doctor.Fail, doctor.ExitFailed, "missing User Administrator"},
		{"broad permission", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.tokens[graphScope] = jwt(t, map[string]any{"roles": append(permissions.Consent().Permissions, permissions.DirectoryReadWriteAll, permissions.UserReadAll)})
		}, "tokens", doctor.Warn, doctor.ExitOK, "more than raprov needs: Directory.ReadWrite.All"},
		{"no SKU", func(s *doctor.Setup, _ *fakeGraph, _ *fakeTeams) { s.SkuPartNumber = "MCOCAP" },
			"license", doctor.Fail, doctor.ExitFailed, "no MCOCAP subscription (it has: ENTERPRISEPACK, PHONESYSTEM_VIRTUALUSER)"},
		{"no free seat", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/subscribedSkus"] = answer{200, `{"value":[{"skuPartNumber":"PHONESYSTEM_VIRTUALUSER","capabilityStatus":"Enabled","consumedUnits":5,"prepaidUnits":{"enabled":5}}]}`, nil}
		}, "license", doctor.Warn, doctor.ExitOK, "0 of 5 seats free"},
		{"suspended", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/subscribedSkus"] = answer{200, `{"value":[{"skuPartNumber":"PHONESYSTEM_VIRTUALUSER","capabilityStatus":"Suspended","consumedUnits":0,"prepaidUnits":{"enabled":5}}]}`, nil}
		}, "license", doctor.Fail, doctor.ExitFailed, "Suspended"},
		{"skus refused", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/subscribedSkus"] = answer{403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`, nil}
		}, "license", doctor.Fail, doctor.ExitFailed, "HTTP 403 Authorization_RequestDenied"},
		{"Graph unreachable", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/subscribedSkus"] = answer{0, "", apperr.New(apperr.Unavailable, "", "network error")}
		}, "license", doctor.Fail, doctor.ExitUnreachable, "no answer"},
		{"no instance to get", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) { tm.list = nil },
			"teams admin", doctor.Warn, doctor.ExitOK, "lists no application instance"},
		{"get route not found", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			tm.getStatus, tm.get, tm.getErr = 404, nil, errors.New("teams admin get instance: GET /x: HTTP 404: NotFound")
		}, "teams admin", doctor.Fail, doctor.ExitFailed, "list 200, but the get route answered 404 NotFound"},
		{"get route not found, lookup list", func(s *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			s.TeamsLookup = "list"
			tm.getStatus, tm.get, tm.getErr = 404, nil, errors.New("HTTP 404: NotFound")
		}, "teams admin", doctor.Warn, doctor.ExitOK, "answered 404"},
		{"get route returns another object", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			other := reception
			other.ObjectID, other.UserPrincipalName = "0a1d3f5b-2c4e-4a7b-9d8f-0e2c4a6b8d52", "ra-support@contoso.com"
			tm.get = &other
		}, "teams admin", doctor.Fail, doctor.ExitFailed, "another object"},
		{"list refused", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			tm.listStatus, tm.list, tm.listErr = 403, nil, errors.New("teams admin list instances: GET /x: HTTP 403: Access Denied.")
		}, "teams admin", doctor.Fail, doctor.ExitFailed, "answered 403 Access Denied."},
		{"back end unreachable", func(_ *doctor.Setup, _ *fakeGraph, tm *fakeTeams) {
			tm.listStatus, tm.list, tm.listErr = 0, nil, apperr.New(apperr.Unavailable, "", "dial tcp: refused")
		}, "teams admin", doctor.Fail, doctor.ExitUnreachable, "no answer"},
		{"numbers as Learn's example shows them", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/admin/teams/telephoneNumberManagement/numberAssignments"] = answer{200, `{"value":{"telephoneNumber":"+1","assignmentStatus":"userAssigned"}}`, nil}
		}, "numbers", doctor.OK, doctor.ExitOK, "1 numbers on the first page, 0 unassigned"},
		{"foreign owner value", func(_ *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.reads["/users"] = answer{200, `{"value":[{"userPrincipalName":"ra-a@contoso.com","onPremisesExtensionAttributes":{"extensionAttribute15":"CC-42"}},
				{"userPrincipalName":"ra-b@contoso.com","onPremisesExtensionAttributes":{"extensionAttribute15":null}}],"@odata.nextLink":"https://graph/next"}`, nil}
		}, "owner attribute", doctor.Warn, doctor.ExitOK, "on 1 of the first 2 resource accounts"},
		{"another owner attribute", func(s *doctor.Setup, _ *fakeGraph, _ *fakeTeams) { s.OwnerAttribute = 1 },
			"owner attribute", doctor.Warn, doctor.ExitOK, "extensionAttribute1 holds values"},
		{"verified domains readable", func(s *doctor.Setup, g *fakeGraph, _ *fakeTeams) {
			g.tokens[graphScope] = jwt(t, map[string]any{"roles": append(permissions.Consent().Permissions, permissions.OrganizationReadAll)})
			g.reads["/organization"] = answer{200, `{"value":[{"verifiedDomains":[{"name":"contoso.com"},{"name":"contoso.onmicrosoft.com"}]}]}`, nil}
			s.VerifiedDomains = []string{"contoso.com", "fabrikam.com"}
		}, "verified domains", doctor.Warn, doctor.ExitOK, "not verified: fabrikam.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, g, tm := healthy(t)
			tt.edit(&s, g, tm)
			rep := doctor.Run(context.Background(), s, g, tm)
			res := result(t, rep, tt.check)
			if res.Status != tt.status || !strings.Contains(res.Summary, tt.say) {
				t.Errorf("%s: %s %q, want %s containing %q", tt.check, res.Status, res.Summary, tt.status, tt.say)
			}
			if res.Status != doctor.OK && res.Status != doctor.Skip && res.Action == "" {
				t.Errorf("%s: no action for %s", tt.check, res.Status)
			}
			if rep.Exit != tt.exit {
				t.Errorf("exit %d, want %d", rep.Exit, tt.exit)
			}
		})
	}
}

func TestDecodeClaims(t *testing.T) {
	tok := jwt(t, map[string]any{"aud": "https://graph.microsoft.com", "tid": tenantID, "azp": clientID,
		"roles": []string{"User.ReadWrite.All"}, "wids": []string{permissions.RoleTeamsAdministrator}, "exp": 1700000000})
	c, err := doctor.DecodeClaims(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != tenantID || c.AppID != clientID || len(c.Audience) != 1 || c.Roles[0] != "User.ReadWrite.All" ||
		c.Wids[0] != permissions.RoleTeamsAdministrator || c.ExpiresAt.Unix() != 1700000000 {
		t.Errorf("claims %+v", c)
	}
	for _, bad := range []string{"secret-looking-opaque-token", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		_, err := doctor.DecodeClaims(bad)
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("DecodeClaims(%q) = %v: want an error that does not repeat the token", bad, err)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain ra@contoso.com": "plain ra@contoso.com",
		"ra-\x1b[2Jevil":       `ra-\x1b[2Jevil`,
		"line\nbreak\ttab\r":   `line\nbreak\ttab\r`,
		"bell\x07del\x7f":      `bell\x07del\x7f`,
		"c1\u009bcsi":          `c1\u009bcsi`,
		"rtl\u202eoverride":    `rtl\u202eoverride`,
		"iso\u2066late\u2069":  `iso\u2066late\u2069`,
		"sep\u2028":            `sep\u2028`,
		"mark\u200f\u061c":     `mark\u200f\u061c`,
		"bad\xffbyte":          `bad\xffbyte`,
		"Zoë Ångström → 東京 ✓":  "Zoë Ångström → 東京 ✓",
	} {
		if got := doctor.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	var b bytes.Buffer
	rep := doctor.Report{Results: []doctor.Result{{Check: "owner attribute", Status: doctor.Warn,
		Summary: "x\x1b]0;title\x07", Action: "do\u202e", Details: []string{"ra-\x1b[31m@contoso.com"}}}, Exit: 0}
	if err := doctor.Render(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Errorf("output holds control characters: %q", out)
	}
	if !strings.Contains(out, `[warn] owner attribute  x\x1b]0;title\x07`) || !strings.Contains(out, "0 ok, 1 warnings, 0 failed, 0 skipped: exit 0") {
		t.Errorf("output:\n%s", out)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func respond(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"rid-1"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

func TestRecorderRefusesWrites(t *testing.T) {
	sent := 0
	rec := doctor.NewRecorder(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return respond(200, `{}`), nil
	}))
	hc := &http.Client{Transport: rec}
	for _, tt := range []struct {
		method, url string
		allowed     bool
	}{
		{http.MethodGet, "https://graph.microsoft.com/v1.0/users", true},
		{http.MethodPost, "https://login.microsoftonline.com/t/oauth2/v2.0/token", true},
		{http.MethodPost, "https://graph.microsoft.com/v1.0/users", false},
		{http.MethodPatch, "https://graph.microsoft.com/v1.0/users/x", false},
		{http.MethodDelete, "https://graph.microsoft.com/v1.0/users/x", false},
		{http.MethodPost, "https://api.interfaces.records.teams.microsoft.com/Teams.PlatformService/v2/ApplicationInstances/x/sync", false},
		{http.MethodPut, "https://login.microsoftonline.com/t/oauth2/v2.0/token", false},
	} {
		before := sent
		req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader("body"))
		resp, err := hc.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := sent > before; got != tt.allowed {
			t.Errorf("%s %s: sent %v, want %v", tt.method, tt.url, got, tt.allowed)
		}
		if !tt.allowed && !errors.Is(err, doctor.ErrRefused) {
			t.Errorf("%s %s: error %v, want ErrRefused", tt.method, tt.url, err)
		}
	}
	if got := len(rec.Requests()); got != 7 {
		t.Errorf("recorded %d requests, want 7 (refused ones too)", got)
	}
}

func TestCaptureRedacts(t *testing.T) {
	token := jwt(t, map[string]any{"roles": []string{"User.ReadWrite.All"}})
	answers := map[string]string{
		"/" + tenantID + "/oauth2/v2.0/token": `{"token_type":"Bearer","expires_in":3599,"access_token":"` + token + `"}`,
		"/v1.0/users": `{"value":[{"id":"` + strings.ToUpper(instanceID) + `","userPrincipalName":"ra-reception@contoso.com",` +
			`"onPremisesExtensionAttributes":{"extensionAttribute15":"CC-4711 Jane Doe"}}]}`,
		"/Teams.PlatformService/v2/ApplicationInstances/" + instanceID:  `{"objectId":"` + instanceID + `","userPrincipalName":"ra-reception@contoso.com"}`,
		"/v1.0/admin/teams/telephoneNumberManagement/numberAssignments": `{"value":[{"telephoneNumber":"+12065550100","assignmentTargetId":"` + instanceID + `"}]}`,
		"/v1.0/subscribedSkus": "plain text answer with " + token + " inside",
	}
	rec := doctor.NewRecorder(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return respond(200, answers[r.URL.Path]), nil
	}))
	hc := &http.Client{Transport: rec}
	for path := range answers {
		method := http.MethodGet
		if strings.HasSuffix(path, "/token") {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, "https://example.test"+path+"?client_secret=s3cret&$top=1", strings.NewReader("client_secret=s3cret"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// The caller still gets the whole answer.
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != answers[path] {
			t.Errorf("%s: caller got %q", path, got)
		}
	}
	setup := doctor.Setup{TenantID: tenantID, ClientID: clientID}
	rep := doctor.Report{Results: []doctor.Result{{Check: "teams admin", Summary: "list 200, get 200: the get route returns the listed instance ra-reception@contoso.com"}}}
	var b bytes.Buffer
	if err := rec.WriteCapture(&b, setup, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, secret := range []string{token, "eyJ", "s3cret", "ra-reception@contoso.com", instanceID, strings.ToUpper(instanceID),
		tenantID, clientID, "+12065550100", "Jane Doe"} {
		if strings.Contains(out, secret) {
			t.Errorf("capture holds %q", secret)
		}
	}
	var doc struct {
		Setup    struct{ TenantID string }
		Results  []struct{ Summary string }
		Requests []struct {
			URL  string
			Body json.RawMessage
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("capture is not JSON: %v\n%s", err, out)
	}
	// One value, one pseudonym: in URLs, bodies and the report alike.
	ps := regexp.MustCompile(`~[0-9a-f]{12}`)
	upn := ps.FindString(doc.Results[0].Summary)
	if upn == "" {
		t.Fatalf("summary %q not pseudonymised", doc.Results[0].Summary)
	}
	var instancePs string
	for _, q := range doc.Requests {
		if strings.Contains(q.URL, "/ApplicationInstances/") {
			instancePs = ps.FindString(q.URL)
			if !strings.Contains(string(q.Body), upn) || !strings.Contains(string(q.Body), instancePs) {
				t.Errorf("instance body %s: want pseudonyms %s and %s", q.Body, upn, instancePs)
			}
		}
	}
	if instancePs == "" || strings.Count(out, instancePs) < 3 {
		t.Errorf("the instance id's pseudonym %q should appear in the URL and in the users, instance and number bodies:\n%s", instancePs, out)
	}
	if !strings.Contains(out, `"access_token": "[REDACTED]"`) {
		t.Errorf("access_token not redacted:\n%s", out)
	}
}

// pseudonyms matches the capture's pseudonyms (see capture.go).
var pseudonyms = regexp.MustCompile(`~[0-9a-f]{12}`)

// captureTimes are the capture's own timestamps (its "time" members).
var captureTimes = regexp.MustCompile(`"time":\s*"[^"]*"`)

// Bodies that are not JSON, or were cut, cannot be walked key by key: what
// looks like an address, a GUID or a long number is pseudonymised in them
// (with the pseudonym it gets elsewhere in the file), and they stay short.
func TestCaptureRedactsTextBodies(t *testing.T) {
	const (
		upn    = "ra-reception@contoso.com"
		number = "+12065550100"
		guid   = "0F8FAD5B-D9CB-469F-A165-70867728950E"
	)
	// A listing longer than the Recorder keeps: it is cut mid-entry.
	var big strings.Builder
	big.WriteString(`{"value":[`)
	for i := 0; big.Len() < 300<<10; i++ {
		fmt.Fprintf(&big, `{"id":"%08x-0000-4000-8000-%012x","userPrincipalName":"user%c%c@contoso.com","businessPhones":["+1206555%04d"],"displayName":"Jane %c%c Doe"},`,
			i, i, 'a'+i%26, 'a'+i/26%26, i%10000, 'a'+i%26, 'a'+i/26%26)
	}
	// Cut at maxCaptureBody... or here, at 4 KiB, six digits into a number.
	pad := 4<<10 - len("<html><body>") - len("+120655")
	answers := map[string]string{
		"/html": `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>` +
			`<p>No account ` + upn + ` (object ` + guid + `) for ` + number + `; tenant ` + strings.ToLower(tenantID) +
			`.</p><p>Correlation 2024-05-06T07:08:09Z</p></body></html>`,
		"/truncated": `{"value":[{"id":"` + strings.ToLower(guid) + `","userPrincipalName":"` + upn + `","telephoneNumber":"` + number +
			`","displayName":"Sales Queue","mobilePhone":"0049 171 23`,
		"/json": `{"userPrincipalName":"` + upn + `"}`,
		"/big":  big.String(),
		"/edge": "<html><body>" + strings.Repeat(" ", pad) + "+12065550177 and more",
		"/many": strings.Repeat("a@b.cd ", 1000),
	}
	rec := doctor.NewRecorder(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return respond(502, answers[r.URL.Path]), nil
	}))
	hc := &http.Client{Transport: rec}
	for path := range answers {
		resp, err := hc.Get("https://example.test" + path)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(resp.Body); string(got) != answers[path] {
			t.Errorf("%s: the caller did not get the whole answer", path)
		}
		resp.Body.Close()
	}
	var b bytes.Buffer
	if err := rec.WriteCapture(&b, doctor.Setup{TenantID: tenantID, ClientID: clientID}, doctor.Report{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Pseudonyms are random-looking hex, and the capture's own times carry
	// nanoseconds: a short digit run may occur in either by chance, so the
	// leaks are looked for around them.
	bare := pseudonyms.ReplaceAllString(out, "~P")
	bare = captureTimes.ReplaceAllString(bare, `"time":"~T"`)
	for _, leak := range []string{upn, "@contoso.com", number, "2065550", guid, strings.ToLower(guid), tenantID,
		"Sales Queue", "0049", "Jane", "120655"} {
		if strings.Contains(bare, leak) {
			t.Errorf("capture holds %q", leak)
		}
	}
	var doc struct {
		Requests []struct {
			URL           string
			Body          json.RawMessage
			BodyTruncated bool
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("capture is not JSON: %v\n%s", err, out)
	}
	ps := regexp.MustCompile(`~[0-9a-f]{12}`)
	bodies := map[string]string{}
	for _, q := range doc.Requests {
		path := strings.TrimPrefix(q.URL, "https://example.test")
		var body string
		if err := json.Unmarshal(q.Body, &body); err != nil && path != "/json" {
			t.Errorf("%s: body %s is not text", path, q.Body)
		}
		bodies[path] = body
		if len(body) > 4<<10 {
			t.Errorf("%s: body of %d bytes, want at most 4 KiB", path, len(body))
		}
		if want := path == "/big" || path == "/edge" || path == "/many"; q.BodyTruncated != want {
			t.Errorf("%s: bodyTruncated %v, want %v", path, q.BodyTruncated, want)
		}
		// No digit outside a pseudonym: no number, or piece of one, is left.
		if path == "/big" || path == "/edge" {
			if rest := ps.ReplaceAllString(body, ""); strings.ContainsAny(rest, "0123456789") {
				t.Errorf("%s: digits left in %q", path, rest)
			}
		}
	}
	// One value, one pseudonym, whichever body names it.
	var jsonBody struct{ UserPrincipalName string }
	for _, q := range doc.Requests {
		if strings.HasSuffix(q.URL, "/json") {
			_ = json.Unmarshal(q.Body, &jsonBody)
		}
	}
	upnPs := jsonBody.UserPrincipalName
	if !ps.MatchString(upnPs) || !strings.Contains(bodies["/html"], upnPs) || !strings.Contains(bodies["/truncated"], upnPs) {
		t.Errorf("UPN pseudonym %q not used in the text bodies:\n%s", upnPs, out)
	}
	if !strings.Contains(bodies["/html"], "Correlation 2024-05-06T07:08:09Z") || !strings.Contains(bodies["/html"], "502 Bad Gateway") {
		t.Errorf("html body lost what is not personal: %q", bodies["/html"])
	}
}

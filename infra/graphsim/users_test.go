package graphsim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim"
)

func TestCreateUserRules(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	with := func(change func(map[string]any)) map[string]any {
		b := newUser("rule")
		change(b)
		return b
	}
	tests := []struct {
		name    string
		body    any
		message string
		target  string
		detail  string
	}{
		{"no accountEnabled", with(func(b map[string]any) { delete(b, "accountEnabled") }), "Property accountEnabled value is required but is empty or missing.", "", ""},
		{"no displayName", with(func(b map[string]any) { delete(b, "displayName") }), "Property displayName value is required", "", ""},
		{"no mailNickname", with(func(b map[string]any) { delete(b, "mailNickname") }), "Property mailNickname value is required", "", ""},
		{"no userPrincipalName", with(func(b map[string]any) { delete(b, "userPrincipalName") }), "Property userPrincipalName value is required", "", ""},
		{"no passwordProfile", with(func(b map[string]any) { delete(b, "passwordProfile") }), "Property passwordProfile value is required", "", ""},
		{"no password", with(func(b map[string]any) { b["passwordProfile"] = map[string]any{} }), "A password must be specified to create a new user.", "", ""},
		{"space in alias", with(func(b map[string]any) { b["userPrincipalName"] = "main line@contoso.com" }), "Property userPrincipalName is invalid.", "userPrincipalName", "InvalidValue"},
		{"accent in alias", with(func(b map[string]any) { b["userPrincipalName"] = "rézeption@contoso.com" }), "Property userPrincipalName is invalid.", "userPrincipalName", "InvalidValue"},
		{"no domain", with(func(b map[string]any) { b["userPrincipalName"] = "reception" }), "Property userPrincipalName is invalid.", "userPrincipalName", "InvalidValue"},
		{"unverified domain", with(func(b map[string]any) { b["userPrincipalName"] = "rule@fabrikam.com" }), "The domain portion of the userPrincipalName property is invalid.", "userPrincipalName", "InvalidValue"},
		{"bad mailNickname", with(func(b map[string]any) { b["mailNickname"] = "a b" }), "Invalid value specified for property 'mailNickname' of resource 'User'.", "mailNickname", "InvalidValue"},
		{"bad usageLocation", with(func(b map[string]any) { b["usageLocation"] = "USA" }), "Invalid value specified for property 'usageLocation' of resource 'User'.", "usageLocation", "InvalidValue"},
		{"weak password", with(func(b map[string]any) { b["passwordProfile"] = map[string]any{"password": "password"} }), "The specified password does not comply with password complexity requirements.", "", ""},
		{"unknown property", with(func(b map[string]any) { b["favouriteColour"] = "blue" }), "Property 'favouriteColour' does not exist as a declared property or extension property.", "", ""},
		{"read-only property", with(func(b map[string]any) { b["assignedLicenses"] = []any{} }), "Property 'assignedLicenses' is read-only and cannot be set.", "", ""},
		{"duplicate userPrincipalName", with(func(b map[string]any) { b["userPrincipalName"] = "ADELEV@contoso.com" }), "Another object with the same value for property userPrincipalName already exists.", "userPrincipalName", "ObjectConflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do(t, http.MethodPost, "/v1.0/users", tt.body)
			g := wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", tt.message)
			if tt.detail != "" && (len(g.Error.Details) != 1 || g.Error.Details[0].Code != tt.detail || g.Error.Details[0].Target != tt.target) {
				t.Errorf("details = %+v, want %s on %s", g.Error.Details, tt.detail, tt.target)
			}
		})
	}
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", "{not json")
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload")
	if n := len(e.sim.State().Users); n != len(graphsim.DefaultSeed().Users) {
		t.Errorf("users = %d after failed creations, want the seed's %d", n, len(graphsim.DefaultSeed().Users))
	}
}

func TestCreateUser(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("o'neil.aa"))
	wantStatus(t, resp, b, http.StatusCreated)
	created := decode[map[string]any](t, b)
	id, _ := created["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("id = %q: %v", id, err)
	}
	if created["userPrincipalName"] != "o'neil.aa@contoso.com" || created["displayName"] != "RA o'neil.aa" {
		t.Errorf("created = %v", created)
	}
	if _, ok := created["department"]; ok {
		t.Errorf("department returned without $select: %v", created)
	}
	if !strings.HasSuffix(resp.Header.Get("Location"), "/v1.0/users/"+id) {
		t.Errorf("Location = %q", resp.Header.Get("Location"))
	}

	resp, b = e.do(t, http.MethodGet, "/v1.0/users/"+id+"?$select=id,department,usageLocation,accountEnabled,assignedLicenses", nil)
	wantStatus(t, resp, b, http.StatusOK)
	got := decode[map[string]any](t, b)
	want := map[string]any{"id": id, "department": "Microsoft Communication Application Instance", "usageLocation": "US", "accountEnabled": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["displayName"]; ok {
		t.Errorf("$select returned displayName: %v", got)
	}
	if l, ok := got["assignedLicenses"].([]any); !ok || len(l) != 0 {
		t.Errorf("assignedLicenses = %v, want []", got["assignedLicenses"])
	}
	st := e.sim.State()
	u := st.Users[len(st.Users)-1]
	if u.ID != id || u.CreatedDateTime.IsZero() || u.Department == "" {
		t.Errorf("state user = %+v", u)
	}
}

func TestGetUser(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	const adele = "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01"
	for _, key := range []string{adele, "AdeleV@contoso.com", "adelev@CONTOSO.com", url.PathEscape("o'brien@contoso.com")} {
		resp, b := e.do(t, http.MethodGet, "/v1.0/users/"+key, nil)
		wantStatus(t, resp, b, http.StatusOK)
		got := decode[map[string]any](t, b)
		for _, p := range []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"} {
			if _, ok := got[p]; !ok {
				t.Errorf("%s: default property %s missing", key, p)
			}
		}
		if _, ok := got["usageLocation"]; ok {
			t.Errorf("%s: usageLocation returned without $select", key)
		}
		if resp.Header.Get("x-ms-resource-unit") != "2" {
			t.Errorf("x-ms-resource-unit = %q, want 2", resp.Header.Get("x-ms-resource-unit"))
		}
	}
	resp, b := e.do(t, http.MethodGet, "/v1.0/users/"+adele+"?$select=displayName", nil)
	wantStatus(t, resp, b, http.StatusOK)
	if resp.Header.Get("x-ms-resource-unit") != "1" {
		t.Errorf("x-ms-resource-unit with $select = %q, want 1", resp.Header.Get("x-ms-resource-unit"))
	}
	resp, b = e.do(t, http.MethodGet, "/v1.0/users/"+adele+"?$select=shoeSize", nil)
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "Could not find a property named 'shoesize'")
	resp, b = e.do(t, http.MethodGet, "/v1.0/users/nobody@contoso.com", nil)
	wantError(t, resp, b, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
	resp, b = e.do(t, http.MethodGet, "/v1.0/groups", nil)
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'groups'.")
	resp, b = e.do(t, http.MethodPut, "/v1.0/users/"+adele, "{}")
	wantStatus(t, resp, b, http.StatusMethodNotAllowed)
}

type userPage struct {
	Value    []userBody `json:"value"`
	NextLink string     `json:"@odata.nextLink"`
}

func TestListUsersFilter(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	filter := func(f string) string {
		return "/v1.0/users?$filter=" + url.QueryEscape(f) + "&$select=id,userPrincipalName,department"
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'o''brien@contoso.com'", []string{"o'brien@contoso.com"}},
		{"userPrincipalName eq 'O''BRIEN@contoso.com'", []string{"o'brien@contoso.com"}},
		{"userPrincipalName eq 'obrien@contoso.com'", nil},
		{"department eq 'Microsoft Communication Application Instance' and usageLocation eq 'GB'", []string{"ra-sales-uk@contoso.com"}},
		// A clause on id or userPrincipalName is looked up; the others still apply.
		{"usageLocation eq 'GB' and userPrincipalName eq 'ra-sales-uk@contoso.com'", []string{"ra-sales-uk@contoso.com"}},
		{"usageLocation eq 'US' and userPrincipalName eq 'ra-sales-uk@contoso.com'", nil},
		{"id eq '7B9D1F3A-5C7E-4A9B-8D1F-3E5A7C9E1B03'", []string{"o'brien@contoso.com"}},
		{"id eq '7b9d1f3a-5c7e-4a9b-8d1f-3e5a7c9e1b03' and userPrincipalName eq 'AdeleV@contoso.com'", nil},
	}
	for _, tt := range tests {
		resp, b := e.do(t, http.MethodGet, filter(tt.filter), nil)
		wantStatus(t, resp, b, http.StatusOK)
		page := decode[userPage](t, b)
		var got []string
		for _, u := range page.Value {
			got = append(got, u.UserPrincipalName)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %q, want %q", tt.filter, got, tt.want)
		}
	}
	resp, b := e.do(t, http.MethodGet, filter("jobTitle eq 'x'"), nil)
	wantError(t, resp, b, http.StatusBadRequest, "Request_UnsupportedQuery", "property 'jobTitle'")
	resp, b = e.do(t, http.MethodGet, filter("userPrincipalName eq 'unterminated"), nil)
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "unterminated")
}

func TestListUsersPaging(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	var all []string
	next := e.ts.URL + "/v1.0/users?$top=3&$select=id"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		u, _ := url.Parse(next)
		resp, b := e.do(t, http.MethodGet, u.RequestURI(), nil)
		wantStatus(t, resp, b, http.StatusOK)
		page := decode[userPage](t, b)
		for _, v := range page.Value {
			all = append(all, v.ID)
		}
		next = page.NextLink
	}
	if len(all) != len(graphsim.DefaultSeed().Users) {
		t.Errorf("paged through %d users, want %d", len(all), len(graphsim.DefaultSeed().Users))
	}
}

func TestUpdateUser(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	const patti = "PattiF@contoso.onmicrosoft.com"
	resp, b := e.do(t, http.MethodPatch, "/v1.0/users/"+patti, map[string]any{"usageLocation": "DE", "department": "Legal", "jobTitle": "Counsel"})
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = e.do(t, http.MethodGet, "/v1.0/users/"+patti+"?$select=usageLocation,department,jobTitle", nil)
	wantStatus(t, resp, b, http.StatusOK)
	got := decode[map[string]any](t, b)
	if got["usageLocation"] != "DE" || got["department"] != "Legal" || got["jobTitle"] != "Counsel" {
		t.Errorf("after PATCH: %v", got)
	}
	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+patti, map[string]any{"usageLocation": "Germany"})
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "'usageLocation'")
	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+patti, map[string]any{"userPrincipalName": "AlexW@contoso.com"})
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName")
	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/ghost@contoso.com", map[string]any{"usageLocation": "DE"})
	wantError(t, resp, b, http.StatusNotFound, "Request_ResourceNotFound", "ghost@contoso.com")
}

func TestDeleteUserFreesLicenses(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	before := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).ConsumedUnits
	resp, b := e.do(t, http.MethodDelete, "/v1.0/users/ra-support@contoso.com", nil)
	wantStatus(t, resp, b, http.StatusNoContent)
	if got := skuByPart(t, e, graphsim.VirtualUserSkuPartNumber).ConsumedUnits; got != before-1 {
		t.Errorf("consumedUnits = %d, want %d", got, before-1)
	}
	resp, b = e.do(t, http.MethodGet, "/v1.0/users/ra-support@contoso.com", nil)
	wantStatus(t, resp, b, http.StatusNotFound)
}

func TestReplicationDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{ReplicationDelay: delay}})
	id := e.createUser(t, newUser("fresh")) // created at t0
	upn := "fresh@contoso.com"
	checks := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/v1.0/users/" + id, nil},
		{http.MethodGet, "/v1.0/users/" + upn, nil},
		{http.MethodPatch, "/v1.0/users/" + id, map[string]any{"usageLocation": "US"}},
		{http.MethodPost, "/v1.0/users/" + id + "/assignLicense", assignBody(graphsim.VirtualUserSkuID)},
		{http.MethodGet, "/v1.0/users/" + id + "/licenseDetails", nil},
	}
	filter := "/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq '"+upn+"'")
	// Not found at creation and until 1 ns before the delay has passed.
	for _, wait := range []time.Duration{0, delay - time.Nanosecond} {
		e.clock.Advance(wait)
		for _, c := range checks {
			resp, b := e.do(t, c.method, c.path, c.body)
			key := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(c.path, "/v1.0/users/"), "/assignLicense"), "/licenseDetails")
			g := wantError(t, resp, b, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist")
			if want := e.clock.Now().UTC().Format("2006-01-02T15:04:05"); g.Error.InnerError.Date != want {
				t.Errorf("innerError.date = %q, want the clock's %q", g.Error.InnerError.Date, want)
			}
		}
		resp, b := e.do(t, http.MethodGet, filter, nil)
		wantStatus(t, resp, b, http.StatusOK)
		if n := len(decode[userPage](t, b).Value); n != 0 {
			t.Errorf("$filter found %d users %v after creation", n, wait)
		}
	}
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("fresh"))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "Another object with the same value")

	// Found exactly at the delay.
	e.clock.Advance(time.Nanosecond)
	for _, c := range checks {
		resp, b := e.do(t, c.method, c.path, c.body)
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s after replication: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
	resp, b = e.do(t, http.MethodGet, filter, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if n := len(decode[userPage](t, b).Value); n != 1 {
		t.Errorf("$filter found %d users after replication, want 1", n)
	}
	for _, u := range e.sim.State().Users {
		if u.ID == id && !u.CreatedDateTime.Equal(t0) {
			t.Errorf("createdDateTime = %v, want the clock's %v", u.CreatedDateTime, t0)
		}
	}
}

func TestGzipRequestBody(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(newUser("zipped")); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	gz := http.Header{"Content-Encoding": {"gzip"}}
	resp, b := e.doWith(t, e.graphToken, http.MethodPost, "/v1.0/users", buf.String(), gz)
	wantStatus(t, resp, b, http.StatusCreated)

	resp, b = e.doWith(t, e.graphToken, http.MethodPost, "/v1.0/users", `{"displayName":"x"}`, gz)
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "not gzip")
	resp, b = e.doWith(t, e.graphToken, http.MethodPost, "/v1.0/users", `{}`, http.Header{"Content-Encoding": {"br"}})
	wantStatus(t, resp, b, http.StatusUnsupportedMediaType)
}

package graphsim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRequirementFallback: a Teams route missing from the table is not left
// open, and no other route without a row is served to anyone.
func TestRequirementFallback(t *testing.T) {
	tests := []struct {
		method, pattern, path string
		want                  []string // least privileged grants
	}{
		{http.MethodGet, "GET " + tnmPath + "/new", tnmPath + "/new", []string{PermTeamsTelephoneNumberReadAll}},
		{http.MethodPost, "POST " + tnmPath + "/numberAssignments/updateNumber", tnmPath + "/numberAssignments/updateNumber", []string{PermTeamsTelephoneNumberReadWriteAll}},
		{http.MethodDelete, "DELETE " + associationsPath + "/{objectId}", associationsPath + "/x", []string{RoleTeamsAdministrator}},
		{http.MethodPost, "POST " + appInstancesPath + "/{objectId}/bind", appInstancesPath + "/x/bind", []string{RoleTeamsAdministrator, RoleUserAdministrator}},
	}
	for _, tt := range tests {
		r := requirementOf(tt.method, tt.pattern, tt.path)
		if !slices.Equal(r.Least(), tt.want) {
			t.Errorf("%s: least %v, want %v", tt.pattern, r.Least(), tt.want)
		}
	}
	r := requirementOf(http.MethodGet, "GET /v1.0/groups", "/v1.0/groups")
	if r.allowed([]string{PermDirectoryReadWriteAll, RoleGlobalAdministrator}) {
		t.Error("a route without a row is served")
	}
}

// TestRequirementsNameServedRoutes: every row of the table is a route the
// simulator serves, so the table documents no route that does not exist.
func TestRequirementsNameServedRoutes(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range Requirements {
		method, pattern, _ := strings.Cut(req.Route, " ")
		r, err := http.NewRequest(method, "https://sim"+samplePath(pattern), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := s.mux.Handler(r); routeKey(method, got) != req.Route {
			t.Errorf("%s: served by %q", req.Route, got)
		}
	}
}

// samplePath fills a pattern's wildcards.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

func samplePath(pattern string) string { return wildcard.ReplaceAllString(pattern, "x") }

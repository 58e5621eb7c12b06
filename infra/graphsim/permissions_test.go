package graphsim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
)

// claimsOf decodes an access token's payload (the simulator's own tokens).
func claimsOf(t *testing.T, token string) (roles, wids []string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Roles []string `json:"roles"`
		Wids  []string `json:"wids"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Roles, c.Wids
}

func TestTokensCarryGrants(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	least := graphsim.LeastPrivilege()
	roles, wids := claimsOf(t, e.graphToken)
	if !slices.Equal(roles, least.Permissions) || len(wids) != 0 {
		t.Errorf("Graph token: roles %v wids %v, want roles %v", roles, wids, least.Permissions)
	}
	roles, wids = claimsOf(t, e.token(t, graphsim.TeamsAdminScope))
	if !slices.Equal(wids, least.Roles) || len(roles) != 0 {
		t.Errorf("Teams token: roles %v wids %v, want wids %v", roles, wids, least.Roles)
	}

	only := graphsim.Grants{Permissions: []string{graphsim.PermUserReadAll}}
	e = newEnv(t, graphsim.Config{Grants: &only})
	if roles, _ := claimsOf(t, e.graphToken); !slices.Equal(roles, only.Permissions) {
		t.Errorf("configured grants: roles %v", roles)
	}
	if _, wids := claimsOf(t, e.token(t, graphsim.TeamsAdminScope)); len(wids) != 0 {
		t.Errorf("configured grants: wids %v, want none", wids)
	}
}

// samplePath fills a route pattern's wildcards.
func samplePath(route string) (method, path string) {
	method, path, _ = strings.Cut(route, " ")
	return method, strings.NewReplacer(
		"{id}", "00000000-0000-0000-0000-00000000beef",
		"{objectId}", "00000000-0000-0000-0000-00000000beef",
		"{segment}", "operations('00000000-0000-0000-0000-00000000beef')",
	).Replace(path)
}

// TestEveryRouteChecksItsRequirement: for every row of the permission
// table, a token without any grant is refused with the right shape, a token
// with exactly the row's least privileged grants is not, and a token
// lacking one of them is.
func TestEveryRouteChecksItsRequirement(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	tokenFor := func(g graphsim.Grants, teams bool) string {
		e.sim.SetGrants(g)
		if teams {
			return e.token(t, graphsim.TeamsAdminScope)
		}
		return e.token(t, graphsim.GraphScope)
	}
	for _, req := range graphsim.Requirements {
		t.Run(req.Route, func(t *testing.T) {
			method, path := samplePath(req.Route)
			teams := !strings.HasPrefix(path, "/v1.0/")
			grant := func(names []string) graphsim.Grants {
				if teams {
					return graphsim.Grants{Roles: names}
				}
				return graphsim.Grants{Permissions: names}
			}
			var body any
			if method == http.MethodPost || method == http.MethodPatch {
				body = map[string]any{}
			}

			resp, b := e.doWith(t, tokenFor(graphsim.Grants{}, teams), method, path, body, nil)
			wantRefused(t, resp, b, teams)

			resp, b = e.doWith(t, tokenFor(grant(req.Least()), teams), method, path, body, nil)
			if resp.StatusCode == http.StatusForbidden {
				t.Errorf("least privileged grants %v refused: %s", req.Least(), b)
			}
			for _, missing := range req.Least() {
				held := slices.DeleteFunc(req.Least(), func(s string) bool { return s == missing })
				resp, b = e.doWith(t, tokenFor(grant(held), teams), method, path, body, nil)
				wantRefused(t, resp, b, teams)
			}
			// Every alternative of a group is accepted in place of the least privileged one.
			for i, alts := range req.AllOf {
				for _, alt := range alts[1:] {
					held := req.Least()
					held[i] = alt
					resp, b = e.doWith(t, tokenFor(grant(held), teams), method, path, body, nil)
					if resp.StatusCode == http.StatusForbidden {
						t.Errorf("grants %v refused: %s", held, b)
					}
				}
			}
		})
	}
}

func wantRefused(t *testing.T, resp *http.Response, b []byte, teams bool) {
	t.Helper()
	if teams {
		if resp.StatusCode != http.StatusForbidden || string(b) != "Access Denied." {
			t.Errorf("status %d body %q, want 403 Access Denied.", resp.StatusCode, b)
		}
		return
	}
	wantError(t, resp, b, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

func TestRefusedRequestChangesNothing(t *testing.T) {
	g := graphsim.LeastPrivilege().Without(graphsim.PermUserReadWriteAll)
	e := newEnv(t, graphsim.Config{Grants: &g})
	before := len(e.sim.State().Users)
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("refused"))
	wantError(t, resp, b, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	if after := len(e.sim.State().Users); after != before {
		t.Errorf("users %d → %d after a refused create", before, after)
	}
	if c := e.sim.Counts()["POST /v1.0/users"]; c.Total != 1 || c.ByStatus[http.StatusForbidden] != 1 {
		t.Errorf("counts = %+v", c)
	}
	// Unknown routes keep Graph's answer to them, whatever the grants.
	resp, b = e.do(t, http.MethodGet, "/v1.0/nothingHere", nil)
	wantError(t, resp, b, http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'nothingHere'.")
}

func TestGrantsApplyToNewTokensOnly(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	old := e.graphToken
	e.sim.SetGrants(graphsim.LeastPrivilege().Without(graphsim.PermUserReadWriteAll))
	resp, b := e.doWith(t, old, http.MethodPost, "/v1.0/users", newUser("oldtoken"), nil)
	wantStatus(t, resp, b, http.StatusCreated)
	resp, b = e.doWith(t, e.token(t, graphsim.GraphScope), http.MethodPost, "/v1.0/users", newUser("newtoken"), nil)
	wantError(t, resp, b, http.StatusForbidden, "Authorization_RequestDenied", "")
}

func TestAdminGrants(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	admin := func(method string, body any) (*http.Response, []byte) {
		return e.doWith(t, "", method, "/_sim/grants", body, nil)
	}
	resp, b := admin(http.MethodGet, nil)
	wantStatus(t, resp, b, http.StatusOK)
	if got := decode[graphsim.Grants](t, b); !slices.Equal(got.Permissions, graphsim.LeastPrivilege().Permissions) || !slices.Equal(got.Roles, graphsim.LeastPrivilege().Roles) {
		t.Errorf("GET grants = %+v", got)
	}
	want := graphsim.Grants{Permissions: []string{graphsim.PermDirectoryReadWriteAll}, Roles: []string{graphsim.RoleGlobalAdministrator}}
	resp, b = admin(http.MethodPut, want)
	wantStatus(t, resp, b, http.StatusOK)
	if got := e.sim.Grants(); !slices.Equal(got.Permissions, want.Permissions) || !slices.Equal(got.Roles, want.Roles) {
		t.Errorf("after PUT: %+v", got)
	}
	resp, b = admin(http.MethodPut, `{"permissions":[],"scopes":[]}`)
	wantStatus(t, resp, b, http.StatusBadRequest)
}

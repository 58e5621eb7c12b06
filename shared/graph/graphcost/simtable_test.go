package graphcost_test

import (
	"net/url"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/graph/graphcost"
)

// TestAgreesWithSimulator compares the client's cost table with the Graph
// simulator's own transcription of Microsoft's throttling page. The two are
// written independently, so a mistake in either is a disagreement here
// rather than one shared by the budget and the simulator that tests it.
func TestAgreesWithSimulator(t *testing.T) {
	const tnm = "/v1.0/admin/teams/telephoneNumberManagement"
	queries := map[string]url.Values{
		"":                nil,
		"$select":         {"$select": {"id,userPrincipalName"}},
		"$select $top=1":  {"$select": {"id"}, "$top": {"1"}, "$filter": {"userPrincipalName eq 'a@contoso.com'"}},
		"$top=100":        {"$top": {"100"}},
		"$expand":         {"$expand": {"manager"}},
		"$select $expand": {"$select": {"id"}, "$expand": {"manager"}},
	}
	// Every request raprov makes and every route the simulator serves.
	requests := []struct{ method, path string }{
		{"GET", "/v1.0/subscribedSkus"},
		{"GET", "/v1.0/subscribedSkus/00000000-0000-0000-0000-0000000000aa_440eaaa8-b3e0-484b-a8be-62870b9ba70a"},
		{"GET", "/v1.0/users"},
		{"POST", "/v1.0/users"},
		{"GET", "/v1.0/users/5d7e9f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a"},
		{"GET", "/v1.0/users/o'brien@contoso.com"},
		{"PATCH", "/v1.0/users/5d7e9f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a"},
		{"DELETE", "/v1.0/users/5d7e9f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a"},
		{"GET", "/v1.0/users/5d7e9f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a/licenseDetails"},
		{"POST", "/v1.0/users/5d7e9f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a/assignLicense"},
		{"GET", tnm + "/numberAssignments"},
		{"GET", tnm + "/numberAssignments/abc"},
		{"POST", tnm + "/numberAssignments/assignNumber"},
		{"POST", tnm + "/numberAssignments/unassignNumber"},
		{"GET", tnm + "/operations/abc"},
		{"GET", tnm + "/operations('abc')"},
		{"GET", "/Teams.PlatformService/v2/ApplicationInstances"},
		{"POST", "/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token"},
	}
	for _, r := range requests {
		for name, q := range queries {
			if r.method != "GET" && name != "" {
				continue
			}
			client := graphcost.Of(r.method, r.path, q)
			sim := graphsim.CostOf(r.method, r.path, q)
			if serviceName(client.Service) != sim.Service || client.Write != sim.Write ||
				(sim.Service != "" && client.ResourceUnits != sim.ResourceUnits) {
				t.Errorf("%s %s ?%s: client %+v, simulator %+v", r.method, r.path, name, client, sim)
			}
		}
	}

	for _, users := range []int{0, 49, 50, 500, 501, 100000} {
		sim := graphsim.IdentityResourceUnitQuota(users)
		if got := graphcost.ResourceUnitsPerWindow(users); got != sim.Limit || graphcost.ResourceUnitWindow != sim.Window {
			t.Errorf("%d users: client %d RU per %s, simulator %d per %s", users, got, graphcost.ResourceUnitWindow, sim.Limit, sim.Window)
		}
	}
	if w := graphsim.IdentityWriteQuota; graphcost.WritesPerWindow != w.Limit || graphcost.WriteWindow != w.Window {
		t.Errorf("writes: client %d per %s, simulator %d per %s", graphcost.WritesPerWindow, graphcost.WriteWindow, w.Limit, w.Window)
	}
	if q := graphsim.TeamsQuota; graphcost.TeamsPerWindow != q.Limit || graphcost.TeamsWindow != q.Window {
		t.Errorf("teams: client %d per %s, simulator %d per %s", graphcost.TeamsPerWindow, graphcost.TeamsWindow, q.Limit, q.Window)
	}
}

func serviceName(s graphcost.Service) string {
	switch s {
	case graphcost.Identity:
		return graphsim.ServiceIdentity
	case graphcost.Teams:
		return graphsim.ServiceTeams
	}
	return ""
}

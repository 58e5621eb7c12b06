package permissions_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/permissions"
)

// simRoute is the simulator's route key of a product call: Graph routes
// carry the version segment there.
func simRoute(c permissions.Call) string {
	if c.Audience != permissions.Graph {
		return c.Route
	}
	method, path, _ := strings.Cut(c.Route, " ")
	return method + " /v1.0" + path
}

// sorted returns each group sorted, keeping the first (least privileged)
// alternative first, so that two tables agree whatever order they list the
// higher privileged ones in.
func sorted(groups [][]string) [][]string {
	out := make([][]string, len(groups))
	for i, g := range groups {
		rest := slices.Clone(g[1:])
		slices.Sort(rest)
		out[i] = append([]string{g[0]}, rest...)
	}
	return out
}

// TestAgreesWithSimulator: every call raprov makes has the same
// requirement in the simulator's table, the same least privileged grant
// first, and the documented consent set is the simulator's default.
func TestAgreesWithSimulator(t *testing.T) {
	sim := map[string]graphsim.Requirement{}
	for _, r := range graphsim.Requirements {
		sim[r.Route] = r
	}
	for _, c := range permissions.Calls {
		r, ok := sim[simRoute(c)]
		if !ok {
			if c.Optional {
				t.Logf("%s: the simulator does not serve this optional call", c.Route)
				continue
			}
			t.Errorf("%s: not in graphsim.Requirements", c.Route)
			continue
		}
		if diff := cmp.Diff(sorted(r.AllOf), sorted(c.AllOf)); diff != "" {
			t.Errorf("%s: requirement differs from the simulator's (-sim +product):\n%s", c.Route, diff)
		}
	}
	least := graphsim.LeastPrivilege()
	consent := permissions.Consent()
	if diff := cmp.Diff(least.Permissions, consent.Permissions); diff != "" {
		t.Errorf("consented permissions differ from graphsim.LeastPrivilege (-sim +product):\n%s", diff)
	}
	if diff := cmp.Diff(least.Roles, consent.Roles); diff != "" {
		t.Errorf("consented roles differ from graphsim.LeastPrivilege (-sim +product):\n%s", diff)
	}
	for id, name := range graphsim.DirectoryRoleNames {
		if got := permissions.Name(id); got != name {
			t.Errorf("role %s: name %q, simulator says %q", id, got, name)
		}
	}
}

// TestConsentIsLeast: the consent set meets every call, every group names
// one of its entries, and none of them can be dropped.
func TestConsentIsLeast(t *testing.T) {
	consent := permissions.Consent()
	for _, a := range []permissions.Audience{permissions.Graph, permissions.TeamsAdmin} {
		held := consent.Of(a)
		if gaps := permissions.Missing(a, held); len(gaps) > 0 {
			t.Errorf("%s: consent lacks %+v", a, gaps)
		}
		for _, c := range permissions.Calls {
			if c.Audience != a || c.Optional {
				continue
			}
			for _, g := range c.AllOf {
				if !slices.ContainsFunc(g, func(v string) bool { return slices.Contains(held, v) }) {
					t.Errorf("%s: group %v holds no consent entry", c.Route, g)
				}
			}
		}
		for _, drop := range held {
			less := slices.DeleteFunc(slices.Clone(held), func(v string) bool { return v == drop })
			gaps := permissions.Missing(a, less)
			if len(gaps) != 1 || gaps[0].Grant != drop || len(gaps[0].Routes) == 0 {
				t.Errorf("without %s: gaps %+v, want exactly %s with the calls needing it", drop, gaps, drop)
			}
		}
	}
}

func TestMissingNamesConsentEntry(t *testing.T) {
	// Organization.Read.All meets subscribedSkus: nothing missing there.
	held := []string{permissions.UserReadWriteAll, permissions.OrganizationReadAll, permissions.TeamsTelephoneNumberReadWriteAll}
	if gaps := permissions.Missing(permissions.Graph, held); len(gaps) != 0 {
		t.Errorf("gaps %+v, want none", gaps)
	}
	// Global Administrator meets both roles; case does not matter.
	if gaps := permissions.Missing(permissions.TeamsAdmin, []string{strings.ToUpper(permissions.RoleGlobalAdministrator)}); len(gaps) != 0 {
		t.Errorf("gaps %+v, want none", gaps)
	}
	// Without User.ReadWrite.All, User.Read.All still reads users but
	// cannot create them: the gap names User.ReadWrite.All.
	gaps := permissions.Missing(permissions.Graph, []string{permissions.UserReadAll, permissions.LicenseAssignmentReadAll, permissions.TeamsTelephoneNumberReadWriteAll})
	if len(gaps) != 1 || gaps[0].Grant != permissions.UserReadWriteAll {
		t.Fatalf("gaps %+v, want User.ReadWrite.All", gaps)
	}
	if !slices.ContainsFunc(gaps[0].Routes, func(r string) bool { return strings.HasPrefix(r, "POST /users ") }) {
		t.Errorf("routes %v do not name POST /users", gaps[0].Routes)
	}
}

func TestBroad(t *testing.T) {
	for grant, want := range map[string]bool{
		permissions.DirectoryReadWriteAll:         true,
		permissions.DirectoryReadAll:              true,
		permissions.OrganizationReadWriteAll:      true,
		permissions.LicenseAssignmentReadWriteAll: true,
		"RoleManagement.ReadWrite.Directory":      true,
		permissions.RoleGlobalAdministrator:       true,
		permissions.OrganizationReadAll:           false,
		permissions.UserReadAll:                   false,
		permissions.RoleTeamsAdministrator:        false,
	} {
		if got := permissions.Broad(grant); got != want {
			t.Errorf("Broad(%s) = %v, want %v", grant, got, want)
		}
	}
}

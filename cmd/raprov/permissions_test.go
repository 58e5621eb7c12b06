package main

// End-to-end permission tests: the chain against a simulator whose tokens
// carry exactly the application permissions and directory roles
// docs/permissions.md asks for, then with each of them removed in turn.

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// permReq is the request of every permission scenario: an auto attendant
// with a number and an association, so that every call raprov makes is made.
func permReq(id string) events.Request {
	return e2eReq(id, "e2e-"+id, aa, "US", "+12125550178", teamssim.SeedMainReceptionAAID)
}

// TestPermissionsLeastPrivilege: the documented set is enough for the whole
// chain, and so are the higher privileged alternatives Microsoft lists.
func TestPermissionsLeastPrivilege(t *testing.T) {
	t.Parallel()
	least := graphsim.LeastPrivilege()
	tests := []struct {
		name   string
		grants graphsim.Grants
	}{
		{"documented set", least},
		{"Organization.Read.All instead of LicenseAssignment.Read.All", graphsim.Grants{
			Permissions: append(least.Without(graphsim.PermLicenseAssignmentReadAll).Permissions, graphsim.PermOrganizationReadAll),
			Roles:       least.Roles,
		}},
		{"Global Administrator instead of both roles", graphsim.Grants{
			Permissions: least.Permissions,
			Roles:       []string{graphsim.RoleGlobalAdministrator},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := tt.grants
			e := startE2E(t, e2eConfig{sim: func(c *graphsim.Config) { c.Grants = &g }})
			req := permReq("perm-ok")
			e.submit(t, req)
			o := e.await(t, req.RequestID)[req.RequestID]
			mustComplete(t, o)
			e2eAccount(t, e.sim.State(), o.Final.Data.Request)
			for route, c := range e.sim.Counts() {
				if c.ByStatus[403] > 0 {
					t.Errorf("%s: %d refused", route, c.ByStatus[403])
				}
			}
			// licenseDetails is delegated-only (Learn: "Application: Not
			// supported"); the simulator serves it, so check raprov does
			// not use it.
			if c := e.sim.Counts()["GET /v1.0/users/{id}/licenseDetails"]; c.Total != 0 {
				t.Errorf("raprov called licenseDetails %d times; it is not available to applications", c.Total)
			}
		})
	}
}

// TestPermissionsEachRemoved: without one permission or role, the first step
// that needs it fails the request with permission_denied, once, and nothing
// after the refused call happens.
func TestPermissionsEachRemoved(t *testing.T) {
	t.Parallel()
	// What a request leaves in the tenant when its step fails.
	type left int
	const (
		nothing     left = iota // no user: every change refused before the first write
		unboundUser             // the created user, unlicensed, without application instance
	)
	type removal struct {
		without string
		step    string
		refused string // the route refused
		left    left
	}
	tests := []removal{
		{graphsim.PermUserReadWriteAll, events.StepCreateAccount, "POST /v1.0/users", nothing},
		{graphsim.PermLicenseAssignmentReadAll, events.StepCheckLicense, "GET /v1.0/subscribedSkus", nothing},
		{graphsim.PermTeamsTelephoneNumberReadWriteAll, events.StepCheckLicense,
			"GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments", nothing},
		// create-account asks the back end first (a list read needing the
		// Teams role): no user is created for an app Teams refuses.
		{graphsim.RoleTeamsAdministrator, events.StepCreateAccount, "GET /Teams.PlatformService/v2/ApplicationInstances", nothing},
		// Only the bind needs User Administrator, and no read shows that
		// role beforehand: the created user is left, unlicensed and unbound.
		{graphsim.RoleUserAdministrator, events.StepCreateAccount, "POST /Teams.PlatformService/v2/ApplicationInstances/{objectId}/sync", unboundUser},
	}
	least := graphsim.LeastPrivilege()
	for _, name := range slices.Concat(least.Permissions, least.Roles) {
		if !slices.ContainsFunc(tests, func(tt removal) bool { return tt.without == name }) {
			t.Errorf("%s is granted but no scenario removes it", name)
		}
	}
	for _, tt := range tests {
		label := tt.without
		if n, ok := graphsim.DirectoryRoleNames[tt.without]; ok {
			label = n
		}
		t.Run("without "+label, func(t *testing.T) {
			t.Parallel()
			g := least.Without(tt.without)
			e := startE2E(t, e2eConfig{sim: func(c *graphsim.Config) { c.Grants = &g }})
			req := permReq("perm-denied")
			e.submit(t, req)
			o := e.await(t, req.RequestID)[req.RequestID]
			f := mustFail(t, o, events.ReasonPermissionDenied, tt.step)
			if !strings.Contains(f.Message, "403") {
				t.Errorf("message %q does not name the refusal", f.Message)
			}

			// Refused once and not retried: permission_denied is permanent.
			counts := e.sim.Counts()
			if c := counts[tt.refused]; c.ByStatus[403] != 1 {
				t.Errorf("%s: %d refused, want 1 (counts %+v)", tt.refused, c.ByStatus[403], c)
			}
			for route, c := range counts {
				if route != tt.refused && c.ByStatus[403] > 0 {
					t.Errorf("%s: %d refused, want only %s refused", route, c.ByStatus[403], tt.refused)
				}
			}
			if runs := e.callsWhere(func(c e2eCall) bool { return c.step == tt.step }); len(runs) != 1 {
				t.Errorf("%s ran %d times, want once", tt.step, len(runs))
			}
			if dls, err := e.store.DeadLetters().List(t.Context(), "", 10); err != nil || len(dls) != 0 {
				t.Errorf("dead letters %+v (%v), want none", dls, err)
			}

			st, base := e.sim.State(), e.base
			users := usersWithUPN(st, req.UserPrincipalName)
			switch tt.left {
			case nothing:
				if len(users) != 0 || len(st.Users) != len(base.Users) {
					t.Errorf("users %d → %d (%+v), want none created", len(base.Users), len(st.Users), users)
				}
			case unboundUser:
				if len(users) != 1 || len(st.Users) != len(base.Users)+1 {
					t.Fatalf("users %d → %d (%+v), want the one created", len(base.Users), len(st.Users), users)
				}
				if u := users[0]; len(u.AssignedLicenses) != 0 {
					t.Errorf("created user licensed: %+v", u.AssignedLicenses)
				}
				if inst, ok := instanceOf(st, users[0].ID); ok {
					t.Errorf("application instance bound although refused: %+v", inst)
				}
			}
			if got, want := virtualUserSku(t, st).ConsumedUnits, virtualUserSku(t, base).ConsumedUnits; got != want {
				t.Errorf("consumed units %d → %d", want, got)
			}
			if n, ok := numberOf(st, req.PhoneNumber); !ok || n.AssignmentTargetID != "" || len(assignOps(st, req.PhoneNumber)) != 0 {
				t.Errorf("number %+v (in inventory %v), operations %d: want it untouched", n, ok, len(assignOps(st, req.PhoneNumber)))
			}
			if len(st.Teams.ApplicationInstances) != len(base.Teams.ApplicationInstances) ||
				len(st.Teams.Associations) != len(base.Teams.Associations) {
				t.Errorf("instances %d → %d, associations %d → %d", len(base.Teams.ApplicationInstances), len(st.Teams.ApplicationInstances),
					len(base.Teams.Associations), len(st.Teams.Associations))
			}
		})
	}
}

// TestPermissionsDocumented: the simulator's default grants are exactly what
// docs/permissions.md tells an administrator to grant.
func TestPermissionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	consent := regexp.MustCompile("So one app registration needs \\*\\*([^*]+)\\*\\*").FindStringSubmatch(text)
	if consent == nil {
		t.Fatal(`docs/permissions.md: no "So one app registration needs **…**" sentence`)
	}
	var documented []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(consent[1], -1) {
		documented = append(documented, m[1])
	}
	least := graphsim.LeastPrivilege()
	if !sameSet(documented, least.Permissions) {
		t.Errorf("docs/permissions.md asks for %v; the simulator grants %v", documented, least.Permissions)
	}
	for _, id := range least.Roles {
		name := graphsim.DirectoryRoleNames[id]
		if name == "" || !strings.Contains(text, "| **"+name+"** |") {
			t.Errorf("role %s (%s) is not in docs/permissions.md's role table", id, name)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

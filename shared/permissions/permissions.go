// Package permissions is raprov's one table of what its app registration
// must hold, per call: Microsoft Graph application permissions (the roles
// claim of its Graph tokens) and Microsoft Entra directory roles (the wids
// claim of its tokens for the Teams admin back end). docs/permissions.md is
// its prose and cites the sources; `raprov doctor` compares a tenant's
// tokens with it. The Graph simulator keeps a table of its own
// (graphsim.Requirements, it imports nothing of the product); this
// package's test checks that the two agree.
//
// It imports nothing, so any binary may use it.
package permissions

import (
	"slices"
	"strings"
)

// Microsoft Graph application permissions (app roles) raprov's calls accept.
const (
	DirectoryReadAll                 = "Directory.Read.All"
	DirectoryReadWriteAll            = "Directory.ReadWrite.All"
	LicenseAssignmentReadAll         = "LicenseAssignment.Read.All"
	LicenseAssignmentReadWriteAll    = "LicenseAssignment.ReadWrite.All"
	OrganizationReadAll              = "Organization.Read.All"
	OrganizationReadWriteAll         = "Organization.ReadWrite.All"
	TeamsTelephoneNumberReadAll      = "TeamsTelephoneNumber.Read.All"
	TeamsTelephoneNumberReadWriteAll = "TeamsTelephoneNumber.ReadWrite.All"
	UserReadAll                      = "User.Read.All"
	UserReadWriteAll                 = "User.ReadWrite.All"
)

// Microsoft Entra built-in directory roles, by template id (the wids claim).
// The ids are those of Microsoft's "Microsoft Entra built-in roles" page
// (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"
	RoleTeamsAdministrator  = "69091246-20e8-4a56-aa4d-066075b2a7a8"
	RoleUserAdministrator   = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// RoleNames names the directory roles above as the Entra admin center
// shows them.
var RoleNames = map[string]string{
	RoleGlobalAdministrator: "Global Administrator",
	RoleTeamsAdministrator:  "Teams Administrator",
	RoleUserAdministrator:   "User Administrator",
}

// Name returns the display name of a grant: a role's name for a known role
// template id, else the grant itself (permissions are their own names).
func Name(grant string) string {
	if n, ok := RoleNames[strings.ToLower(grant)]; ok {
		return n
	}
	return grant
}

// Audience says which token carries the grants a call is checked against.
type Audience string

const (
	// Graph calls are authorised by the roles claim (application
	// permissions) of the token for https://graph.microsoft.com.
	Graph Audience = "graph"
	// TeamsAdmin calls (the Teams admin back end) are authorised by the wids
	// claim (directory roles) of the token for the "Skype and Teams Tenant
	// Admin API".
	TeamsAdmin Audience = "teamsadmin"
)

// Call is one kind of request raprov makes and what its token must carry:
// every group of AllOf, each met by any one of its alternatives. The first
// alternative of a group is its least privileged one.
type Call struct {
	// Route is "METHOD path": Graph paths relative to the version segment
	// (/v1.0), Teams admin paths as the adapter's defaults.
	Route    string
	Audience Audience
	AllOf    [][]string
	// By names what makes the call: a step, or the doctor.
	By string
	// Optional calls are made only when the token already allows them (the
	// doctor's read of the verified domains); Consent need not cover them.
	Optional bool
	// Source is the Microsoft page the requirement comes from.
	Source string
}

// Groups of alternatives, least privileged first, as the Permissions
// sections of the Learn pages list them (application column).
var (
	readSkus = []string{LicenseAssignmentReadAll, OrganizationReadAll, OrganizationReadWriteAll,
		DirectoryReadAll, DirectoryReadWriteAll}
	readUsers    = []string{UserReadAll, UserReadWriteAll, DirectoryReadAll, DirectoryReadWriteAll}
	writeUsers   = []string{UserReadWriteAll, DirectoryReadWriteAll}
	assignLic    = []string{LicenseAssignmentReadWriteAll, UserReadWriteAll, DirectoryReadWriteAll}
	readNumbers  = []string{TeamsTelephoneNumberReadAll, TeamsTelephoneNumberReadWriteAll}
	editNumbers  = []string{TeamsTelephoneNumberReadWriteAll}
	readOrg      = []string{OrganizationReadAll, DirectoryReadAll, OrganizationReadWriteAll, DirectoryReadWriteAll}
	teamsAdmin   = []string{RoleTeamsAdministrator, RoleGlobalAdministrator}
	userAdmin    = []string{RoleUserAdministrator, RoleGlobalAdministrator}
	numbersRoute = "/admin/teams/telephoneNumberManagement"
	appInstances = "/Teams.PlatformService/v2/ApplicationInstances"
	associations = "/Teams.VoiceApps/applicationinstanceassociations"
)

const (
	learn        = "https://learn.microsoft.com/graph/api/"
	teamsAppOnly = "https://learn.microsoft.com/microsoftteams/teams-powershell-application-authentication"
	raBlog       = "https://techcommunity.microsoft.com/blog/microsoftteamsblog/upcoming-changes-for-creating-and-managing-teams-phone-resource-accounts/4170766"
)

// Calls is every request raprov makes (the doctor's reads included) and
// what it needs. The Teams admin rows are partly inferred: see
// docs/permissions.md, "What the simulator checks".
var Calls = []Call{
	{Route: "GET /subscribedSkus", Audience: Graph, AllOf: [][]string{readSkus}, By: "check-license, remove-license, doctor", Source: learn + "subscribedsku-list"},
	{Route: "GET /users", Audience: Graph, AllOf: [][]string{readUsers}, By: "create-account, unassociate, doctor", Source: learn + "user-list"},
	{Route: "GET /users/{id}", Audience: Graph, AllOf: [][]string{readUsers}, By: "create-account, assign-license, unassign-number, remove-license, remove-account", Source: learn + "user-get"},
	{Route: "POST /users", Audience: Graph, AllOf: [][]string{writeUsers}, By: "create-account", Source: learn + "user-post-users"},
	{Route: "PATCH /users/{id}", Audience: Graph, AllOf: [][]string{writeUsers}, By: "assign-license, remove-account (block)", Source: learn + "user-update"},
	{Route: "POST /users/{id}/assignLicense", Audience: Graph, AllOf: [][]string{assignLic}, By: "assign-license, remove-license", Source: learn + "user-assignlicense"},
	{Route: "GET " + numbersRoute + "/numberAssignments", Audience: Graph, AllOf: [][]string{readNumbers}, By: "check-license, assign-number, unassign-number, doctor",
		Source: learn + "teamsadministration-telephonenumbermanagementroot-list-numberassignments"},
	{Route: "POST " + numbersRoute + "/numberAssignments/assignNumber", Audience: Graph, AllOf: [][]string{editNumbers}, By: "assign-number",
		Source: learn + "teamsadministration-numberassignment-assignnumber"},
	{Route: "GET " + numbersRoute + "/operations/{id}", Audience: Graph, AllOf: [][]string{readNumbers}, By: "assign-number, unassign-number",
		Source: learn + "teamsadministration-telephonenumberlongrunningoperation-get"},
	{Route: "POST " + numbersRoute + "/numberAssignments/unassignNumber", Audience: Graph, AllOf: [][]string{editNumbers}, By: "unassign-number",
		Source: learn + "teamsadministration-numberassignment-unassignnumber"},
	{Route: "DELETE /users/{id}", Audience: Graph, AllOf: [][]string{{UserReadWriteAll}}, By: "remove-account", Source: learn + "user-delete"},
	{Route: "GET /organization", Audience: Graph, AllOf: [][]string{readOrg}, By: "doctor", Optional: true, Source: learn + "organization-list"},

	{Route: "GET " + appInstances, Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin}, By: "create-account, doctor", Source: teamsAppOnly},
	{Route: "GET " + appInstances + "/{objectId}", Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin}, By: "create-account, doctor", Source: teamsAppOnly},
	{Route: "POST " + appInstances + "/{objectId}/sync", Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin, userAdmin}, By: "create-account", Source: teamsAppOnly + "; " + raBlog},
	{Route: "POST " + associations, Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin}, By: "associate", Source: teamsAppOnly},
	{Route: "GET " + associations + "/{objectId}", Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin}, By: "associate, unassociate", Source: teamsAppOnly},
	{Route: "DELETE " + associations + "/{objectId}", Audience: TeamsAdmin, AllOf: [][]string{teamsAdmin}, By: "unassociate", Source: teamsAppOnly},
}

// Grants is a set of Graph application permissions and directory role
// template ids.
type Grants struct {
	Permissions []string `json:"permissions"`
	Roles       []string `json:"roles"`
}

// Consent returns what docs/permissions.md tells an administrator to grant
// raprov's app registration: the least that covers every call it makes.
func Consent() Grants {
	return Grants{
		Permissions: []string{UserReadWriteAll, LicenseAssignmentReadAll, TeamsTelephoneNumberReadWriteAll},
		Roles:       []string{RoleTeamsAdministrator, RoleUserAdministrator},
	}
}

// Of returns the grants of g that the audience's token carries.
func (g Grants) Of(a Audience) []string {
	if a == TeamsAdmin {
		return g.Roles
	}
	return g.Permissions
}

// Allowed reports whether held meets every group of c.
func (c Call) Allowed(held []string) bool {
	for _, alts := range c.AllOf {
		if !anyHeld(alts, held) {
			return false
		}
	}
	return true
}

func anyHeld(alts, held []string) bool {
	return slices.ContainsFunc(alts, func(a string) bool { return contains(held, a) })
}

// contains reports whether list holds v, case-insensitively (Graph
// permission names and GUIDs both compare so).
func contains(list []string, v string) bool {
	return slices.ContainsFunc(list, func(h string) bool { return strings.EqualFold(h, v) })
}

// Gap is a grant the token lacks and the calls that need it.
type Gap struct {
	// Grant is what to grant: the entry of Consent that meets the calls.
	Grant string
	// Routes are the calls refused without it, with what makes them.
	Routes []string
}

// Missing returns what the token of audience a, carrying held, lacks for
// raprov's (non-optional) calls, each as the Consent entry to grant, in
// Consent's order.
func Missing(a Audience, held []string) []Gap {
	consent := Consent().Of(a)
	byGrant := map[string]*Gap{}
	for _, c := range Calls {
		if c.Audience != a || c.Optional {
			continue
		}
		for _, alts := range c.AllOf {
			if anyHeld(alts, held) {
				continue
			}
			grant := alts[0]
			for _, cg := range consent {
				if contains(alts, cg) {
					grant = cg
					break
				}
			}
			g := byGrant[grant]
			if g == nil {
				g = &Gap{Grant: grant}
				byGrant[grant] = g
			}
			g.Routes = append(g.Routes, c.Route+" ("+c.By+")")
		}
	}
	var out []Gap
	for _, cg := range consent {
		if g := byGrant[cg]; g != nil {
			out = append(out, *g)
			delete(byGrant, cg)
		}
	}
	for _, g := range byGrant { // a group without a Consent entry; the test keeps this empty
		out = append(out, *g)
	}
	return out
}

// Beyond returns the grants of held that Consent does not list for
// audience a, in held's order.
func Beyond(a Audience, held []string) []string {
	consent := Consent().Of(a)
	var out []string
	for _, h := range held {
		if !contains(consent, h) {
			out = append(out, h)
		}
	}
	return out
}

// Broad reports whether a grant beyond Consent gives more than raprov
// should hold: Global Administrator, any directory-wide permission
// (Directory.*, RoleManagement.*, AppRoleAssignment.*), and any other
// write permission (*.ReadWrite.*, *.Write.*). Extra read permissions
// (Organization.Read.All, User.Read.All) are not broad: they are the
// higher-privileged alternatives some tenants must grant.
func Broad(grant string) bool {
	g := strings.ToLower(grant)
	switch {
	case g == RoleGlobalAdministrator:
		return true
	case strings.HasPrefix(g, "directory."), strings.HasPrefix(g, "rolemanagement."), strings.HasPrefix(g, "approleassignment."):
		return true
	case strings.Contains(g, ".readwrite."), strings.Contains(g, ".write."):
		return true
	}
	return false
}

// CanCall reports whether held (the token of c's audience) allows the call
// with the given route.
func CanCall(route string, held []string) bool {
	for _, c := range Calls {
		if c.Route == route {
			return c.Allowed(held)
		}
	}
	return false
}

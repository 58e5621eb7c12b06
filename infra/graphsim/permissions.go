package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Microsoft Graph application permissions (app roles) the simulator knows.
const (
	PermDirectoryReadAll                 = "Directory.Read.All"
	PermDirectoryReadWriteAll            = "Directory.ReadWrite.All"
	PermLicenseAssignmentReadAll         = "LicenseAssignment.Read.All"
	PermLicenseAssignmentReadWriteAll    = "LicenseAssignment.ReadWrite.All"
	PermOrganizationReadAll              = "Organization.Read.All"
	PermOrganizationReadWriteAll         = "Organization.ReadWrite.All"
	PermTeamsTelephoneNumberReadAll      = "TeamsTelephoneNumber.Read.All"
	PermTeamsTelephoneNumberReadWriteAll = "TeamsTelephoneNumber.ReadWrite.All"
	PermUserReadAll                      = "User.Read.All"
	PermUserReadWriteAll                 = "User.ReadWrite.All"
)

// Microsoft Entra directory roles, by template id (the wids claim).
const (
	RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"
	RoleTeamsAdministrator  = "69091246-20e8-4a56-aa4d-066075b2a7a8"
	RoleUserAdministrator   = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// DirectoryRoleNames names the directory roles above, as the Entra admin
// center shows them.
var DirectoryRoleNames = map[string]string{
	RoleGlobalAdministrator: "Global Administrator",
	RoleTeamsAdministrator:  "Teams Administrator",
	RoleUserAdministrator:   "User Administrator",
}

// Grants is what a tenant granted the simulated application: Microsoft Graph
// application permissions with admin consent (the roles claim of its Graph
// tokens) and the Microsoft Entra directory roles of its service principal,
// by template id (the wids claim of its Teams admin back-end tokens).
type Grants struct {
	Permissions []string `json:"permissions"`
	Roles       []string `json:"roles"`
}

// LeastPrivilege returns the grants docs/permissions.md tells an
// administrator to give raprov: exactly what its calls need, no more.
func LeastPrivilege() Grants {
	return Grants{
		Permissions: []string{PermUserReadWriteAll, PermLicenseAssignmentReadAll, PermTeamsTelephoneNumberReadWriteAll},
		Roles:       []string{RoleTeamsAdministrator, RoleUserAdministrator},
	}
}

// Without returns g less the named permissions and role template ids.
func (g Grants) Without(names ...string) Grants {
	drop := func(s []string) []string {
		return slices.DeleteFunc(slices.Clone(s), func(v string) bool {
			return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, v) })
		})
	}
	return Grants{Permissions: drop(g.Permissions), Roles: drop(g.Roles)}
}

func (g Grants) clone() Grants {
	return Grants{Permissions: slices.Clone(g.Permissions), Roles: slices.Clone(g.Roles)}
}

// Requirement is what one route needs: every group in AllOf, each satisfied
// by any one of its alternatives. Alternatives are Graph application
// permissions for Graph routes and directory role template ids for the
// Teams admin back end. The first alternative of a group is its least
// privileged one.
type Requirement struct {
	Route string
	AllOf [][]string
	// Source is the Microsoft page the requirement comes from.
	Source string
}

// Least returns the least privileged grant of each group.
func (r Requirement) Least() []string {
	out := make([]string, 0, len(r.AllOf))
	for _, alts := range r.AllOf {
		if len(alts) > 0 {
			out = append(out, alts[0])
		}
	}
	return out
}

// Graph's "Least privileged / Higher privileged" application permissions,
// per route; the sources are the Permissions sections of the Learn pages.
var (
	readSkus = []string{PermLicenseAssignmentReadAll, PermOrganizationReadAll, PermOrganizationReadWriteAll,
		PermDirectoryReadAll, PermDirectoryReadWriteAll}
	readUsers   = []string{PermUserReadAll, PermUserReadWriteAll, PermDirectoryReadAll, PermDirectoryReadWriteAll}
	writeUsers  = []string{PermUserReadWriteAll, PermDirectoryReadWriteAll}
	assignLic   = []string{PermLicenseAssignmentReadWriteAll, PermUserReadWriteAll, PermDirectoryReadWriteAll}
	readNumbers = []string{PermTeamsTelephoneNumberReadAll, PermTeamsTelephoneNumberReadWriteAll}
	editNumbers = []string{PermTeamsTelephoneNumberReadWriteAll}
	teamsAdmin  = []string{RoleTeamsAdministrator, RoleGlobalAdministrator}
	userAdmin   = []string{RoleUserAdministrator, RoleGlobalAdministrator}
)

const learn = "https://learn.microsoft.com/graph/api/"

// Requirements is the simulator's one permission table: every API route it
// serves and what the caller's token must carry for it.
var Requirements = []Requirement{
	{"GET /v1.0/subscribedSkus", [][]string{readSkus}, learn + "subscribedsku-list"},
	{"GET /v1.0/subscribedSkus/{id}", [][]string{readSkus}, learn + "subscribedsku-get"},
	{"POST /v1.0/users", [][]string{writeUsers}, learn + "user-post-users"},
	{"GET /v1.0/users", [][]string{readUsers}, learn + "user-list"},
	{"GET /v1.0/users/{id}", [][]string{readUsers}, learn + "user-get"},
	// Learn names User.ManageIdentities.All (identities only) and
	// User.EnableDisableAccount.All (accountEnabled only) as well; the
	// simulator does not check which properties a PATCH sets.
	{"PATCH /v1.0/users/{id}", [][]string{writeUsers}, learn + "user-update"},
	{"DELETE /v1.0/users/{id}", [][]string{{PermUserReadWriteAll}}, learn + "user-delete"},
	// Learn: "Application: Not supported." The simulator serves it to the
	// readers of users instead, for its own tests; raprov must not call it
	// (cmd/raprov's permission test checks that it does not).
	{"GET /v1.0/users/{id}/licenseDetails", [][]string{readUsers}, learn + "user-list-licensedetails"},
	{"POST /v1.0/users/{id}/assignLicense", [][]string{assignLic}, learn + "user-assignlicense"},

	{"GET " + tnmPath + "/numberAssignments", [][]string{readNumbers}, learn + "teamsadministration-telephonenumbermanagementroot-list-numberassignments"},
	{"GET " + tnmPath + "/numberAssignments/{id}", [][]string{readNumbers}, learn + "teamsadministration-numberassignment-get"},
	{"POST " + tnmPath + "/numberAssignments/assignNumber", [][]string{editNumbers}, learn + "teamsadministration-numberassignment-assignnumber"},
	{"POST " + tnmPath + "/numberAssignments/unassignNumber", [][]string{editNumbers}, learn + "teamsadministration-numberassignment-unassignnumber"},
	{"GET " + tnmPath + "/operations/{id}", [][]string{readNumbers}, learn + "teamsadministration-telephonenumberlongrunningoperation-get"},
	{"GET " + tnmPath + "/{segment}", [][]string{readNumbers}, learn + "teamsadministration-telephonenumberlongrunningoperation-get"},

	// The Teams admin back end authorises by the directory roles in the
	// token. Reading and associating needs a Teams role; creating or
	// binding a resource account also needs user management (Microsoft
	// Teams Blog, 18 June 2024). See docs/permissions.md.
	{"GET " + appInstancesPath, [][]string{teamsAdmin}, teamsAppOnly},
	{"GET " + appInstancesPath + "/{objectId}", [][]string{teamsAdmin}, teamsAppOnly},
	{"POST " + appInstancesPath + "/{objectId}/sync", [][]string{teamsAdmin, userAdmin}, teamsAppOnly + "; " + resourceAccountBlog},
	{"POST " + appInstancesPath, [][]string{teamsAdmin, userAdmin}, teamsAppOnly + "; " + resourceAccountBlog},
	{"POST " + associationsPath, [][]string{teamsAdmin}, teamsAppOnly},
	{"GET " + associationsPath + "/{objectId}", [][]string{teamsAdmin}, teamsAppOnly},
	{"DELETE " + associationsPath + "/{objectId}", [][]string{teamsAdmin}, teamsAppOnly},
}

// Paths of the Teams side (teamssim serves them).
const (
	tnmPath          = "/v1.0/admin/teams/telephoneNumberManagement"
	appInstancesPath = "/Teams.PlatformService/v2/ApplicationInstances"
	associationsPath = "/Teams.VoiceApps/applicationinstanceassociations"

	teamsAppOnly        = "https://learn.microsoft.com/microsoftteams/teams-powershell-application-authentication"
	resourceAccountBlog = "https://techcommunity.microsoft.com/blog/microsoftteamsblog/upcoming-changes-for-creating-and-managing-teams-phone-resource-accounts/4170766"
)

var requirementsByRoute = func() map[string]Requirement {
	m := make(map[string]Requirement, len(Requirements))
	for _, r := range Requirements {
		m[r.Route] = r
	}
	return m
}()

// requirementOf returns the requirement of the route pattern matched. A
// route missing from the table falls back to its family, so that a route
// added to teamssim is not left open: reads of telephone number management
// need a read permission and its actions the write one; the Teams admin
// back end needs a Teams role, and user management too for any change to
// application instances. Any other route without a row is refused.
func requirementOf(method, pattern, path string) Requirement {
	route := routeKey(method, pattern)
	if r, ok := requirementsByRoute[route]; ok {
		return r
	}
	switch {
	case strings.HasPrefix(path, tnmPath+"/") && method == http.MethodGet:
		return Requirement{Route: route, AllOf: [][]string{readNumbers}}
	case strings.HasPrefix(path, tnmPath+"/"):
		return Requirement{Route: route, AllOf: [][]string{editNumbers}}
	case method != http.MethodGet && strings.HasPrefix(strings.ToLower(path), strings.ToLower(appInstancesPath)):
		return Requirement{Route: route, AllOf: [][]string{teamsAdmin, userAdmin}}
	case isTeamsBackEnd(path):
		return Requirement{Route: route, AllOf: [][]string{teamsAdmin}}
	}
	return Requirement{Route: route, AllOf: [][]string{{}}} // nothing grants it
}

// allowed reports whether held satisfies r.
func (r Requirement) allowed(held []string) bool {
	for _, alts := range r.AllOf {
		if !slices.ContainsFunc(alts, func(a string) bool {
			return slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(a, h) })
		}) {
			return false
		}
	}
	return true
}

// authorize checks the principal's token against the route's requirement
// and writes the refusal when it falls short: Graph's 403
// Authorization_RequestDenied for /v1.0, the Teams admin back end's plain
// "Access Denied." otherwise.
//
// For the Teams admin back end, app-only and delegated tokens are checked
// alike by the directory roles in wids (the application's, or the
// signed-in user's); a delegated token must also carry the
// user_impersonation scope.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, pattern string, p principal) bool {
	req := requirementOf(r.Method, pattern, r.URL.Path)
	held := p.roles
	if p.audience == teamsAudience {
		held = p.wids
	}
	delegatedOK := p.scope == "" || slices.Contains(strings.Fields(p.scope), delegatedTeamsScope)
	if delegatedOK && req.allowed(held) {
		return true
	}
	if p.audience == teamsAudience {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, "Access Denied.")
		return false
	}
	odata.WriteError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

// Grants returns what the application holds now; tokens issued from now on
// carry it.
func (s *Server) Grants() Grants {
	s.grantsMu.RLock()
	defer s.grantsMu.RUnlock()
	return s.grants.clone()
}

// SetGrants changes what the application holds. As in Entra, tokens
// already issued keep the permissions and roles they were issued with until
// they expire; only new tokens carry g.
func (s *Server) SetGrants(g Grants) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	s.grants = g.clone()
}

// adminGetGrants serves GET /_sim/grants.
func (s *Server) adminGetGrants(w http.ResponseWriter, _ *http.Request) {
	odata.WriteJSON(w, http.StatusOK, s.Grants())
}

// adminPutGrants serves PUT /_sim/grants: the body replaces the grants.
func (s *Server) adminPutGrants(w http.ResponseWriter, r *http.Request) {
	var g Grants
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "grants: "+err.Error())
		return
	}
	s.SetGrants(g)
	odata.WriteJSON(w, http.StatusOK, s.Grants())
}

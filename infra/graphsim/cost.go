package graphsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The simulator's own transcription of Microsoft Graph's throttling cost
// model. It is deliberately independent of the client's table
// (shared/graph/graphcost): a test there compares the two, so a mistake in
// either shows up as a disagreement instead of being shared by both sides.
//
// Source: https://learn.microsoft.com/graph/throttling-limits, section
// "Identity and access service limits" (limits, base request costs, "Other
// factors that affect a request cost"). The Teams administration quota is
// not on that page; it comes from shared/MICROSOFT.md.

// Throttling services, as RequestRecord.Service names them.
const (
	ServiceIdentity = "identity"
	ServiceTeams    = "teams"
)

// Cost is what one request draws from its service's quotas.
type Cost struct {
	// Service is ServiceIdentity, ServiceTeams or "" (not metered).
	Service string
	// ResourceUnits is the request's resource-unit cost (identity); a Teams
	// request counts 1.
	ResourceUnits int
	// Write reports whether the request counts against the identity write
	// quota.
	Write bool
}

// Quota is a number of units allowed per sliding window.
type Quota struct {
	Limit  int
	Window time.Duration
}

// Graph's quotas per application and tenant.
var (
	// IdentityWriteQuota: 3,000 requests per 2 minutes and 30 seconds.
	IdentityWriteQuota = Quota{Limit: 3000, Window: 150 * time.Second}
	// TeamsQuota: Teams administration (telephone number management)
	// requests, 15,000 per 10 s (shared/MICROSOFT.md; not on the
	// throttling page).
	TeamsQuota = Quota{Limit: 15000, Window: 10 * time.Second}
)

// IdentityResourceUnitQuota is the resource-unit quota of an
// application+tenant pair: S 3,500, M 5,000, L 8,000 per 10 seconds, where
// "S - under 50 users, M - between 50 and 500 users, and L - above 500
// users".
func IdentityResourceUnitQuota(tenantUsers int) Quota {
	q := Quota{Window: 10 * time.Second}
	switch {
	case tenantUsers < 50:
		q.Limit = 3500
	case tenantUsers <= 500:
		q.Limit = 5000
	default:
		q.Limit = 8000
	}
	return q
}

// baseCost is one row of the page's base request cost table. Paths are
// relative to the version segment, compared case-insensitively; "{id}"
// stands for one segment. The page does not say whether a row covers the
// paths below it; the simulator reads a row as covering them unless a
// longer row matches (so GET users/{id} costs 2 like GET users, as
// shared/MICROSOFT.md reads it). The other reading (rows exact, GET
// users/{id} 1) is possible; raprov's reads carry $select and cost 1 under
// both.
type baseCost struct {
	method, path  string
	resourceUnits int
	writes        int
}

// identityBaseCosts is the table, row for row. "Any request cost that
// applies to a request path starting with me/ also applies to equivalent
// requests starting with users/{id | userPrincipalName}/": see costOfPath.
var identityBaseCosts = []baseCost{
	{http.MethodGet, "applications", 2, 0},
	{http.MethodGet, "applications/{id}/extensionProperties", 2, 0},
	{http.MethodGet, "contracts", 3, 0},
	{http.MethodPost, "directoryObjects/getByIds", 3, 0},
	{http.MethodGet, "domains/{id}/domainNameReferences", 4, 0},
	{http.MethodPost, "getObjectsById", 3, 0},
	{http.MethodGet, "groups/{id}/members", 3, 0},
	{http.MethodGet, "groups/{id}/transitiveMembers", 5, 0},
	{http.MethodPost, "isMemberOf", 4, 0},
	{http.MethodPost, "me/checkMemberGroups", 4, 0},
	{http.MethodPost, "me/checkMemberObjects", 4, 0},
	{http.MethodPost, "me/getMemberGroups", 2, 0},
	{http.MethodPost, "me/getMemberObjects", 2, 0},
	{http.MethodGet, "me/licenseDetails", 2, 0},
	{http.MethodGet, "me/memberOf", 2, 0},
	{http.MethodGet, "me/ownedObjects", 2, 0},
	{http.MethodGet, "me/transitiveMemberOf", 2, 0},
	{http.MethodGet, "oauth2PermissionGrants", 2, 0},
	{http.MethodGet, "oauth2PermissionGrants/{id}", 2, 0},
	{http.MethodGet, "servicePrincipals/{id}/appRoleAssignments", 2, 0},
	{http.MethodGet, "subscribedSkus", 3, 0},
	{http.MethodGet, "users", 2, 0},
	// Any identity path not listed: GET 1 RU; POST, PATCH, PUT, DELETE 1 RU
	// and 1 write (see unlistedCost).
}

// identityRoots are the first path segments metered as identity and
// access: the roots of the cost table's paths.
var identityRoots = map[string]bool{
	"users": true, "me": true, "subscribedskus": true, "applications": true, "contracts": true,
	"directoryobjects": true, "domains": true, "getobjectsbyid": true, "groups": true,
	"ismemberof": true, "oauth2permissiongrants": true, "serviceprincipals": true,
}

// CostOf returns what a request to Graph costs. path is the URL path with
// its version prefix (/v1.0/users/...); anything outside /v1.0 (token
// endpoint, Teams admin back end, admin API) is not metered.
func CostOf(method, path string, query url.Values) Cost {
	rest, ok := strings.CutPrefix(path, "/v1.0/")
	if !ok {
		return Cost{}
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(segs) >= 2 && strings.EqualFold(segs[0], "admin") && strings.EqualFold(segs[1], "teams"):
		return Cost{Service: ServiceTeams, ResourceUnits: 1}
	case !identityRoots[strings.ToLower(segs[0])]:
		return Cost{}
	}
	ru, writes := costOfPath(strings.ToUpper(method), segs)
	// Other factors that affect a request cost.
	if query.Get("$select") != "" {
		ru--
	}
	if query.Get("$expand") != "" {
		ru++
	}
	if top, err := strconv.Atoi(query.Get("$top")); err == nil && top < 20 {
		ru--
	}
	// "A request cost can never be lower than 1."
	return Cost{Service: ServiceIdentity, ResourceUnits: max(ru, 1), Write: writes > 0}
}

// costOfPath looks the request up in the base cost table: the row with
// the longest path covering it, a users/{id}/... path also as its me/...
// equivalent.
func costOfPath(method string, segs []string) (resourceUnits, writes int) {
	candidates := [][]string{segs}
	if len(segs) >= 3 && strings.EqualFold(segs[0], "users") {
		candidates = append(candidates, append([]string{"me"}, segs[2:]...))
	}
	best, found := 0, false
	for _, c := range candidates {
		for _, row := range identityBaseCosts {
			if n := pathCovers(row.path, c); row.method == method && n > best {
				best, found = n, true
				resourceUnits, writes = row.resourceUnits, row.writes
			}
		}
	}
	if !found {
		return unlistedCost(method)
	}
	return resourceUnits, writes
}

// unlistedCost is the table's last rows: any identity path not listed.
func unlistedCost(method string) (resourceUnits, writes int) {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return 1, 1
	}
	return 1, 0
}

// pathCovers returns the number of segments of pattern when the request
// path segs is pattern or lies below it, else 0.
func pathCovers(pattern string, segs []string) int {
	want := strings.Split(pattern, "/")
	if len(want) > len(segs) {
		return 0
	}
	for i, w := range want {
		if w != "{id}" && !strings.EqualFold(w, segs[i]) {
			return 0
		}
	}
	return len(want)
}

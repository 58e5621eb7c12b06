// Package graphcost is Microsoft Graph's published throttling cost model for
// the calls raprov makes. The simulator enforces it and the client budget
// paces by it, so both agree on what a call costs.
//
// Identity and access (users, licenses, subscribedSkus), per app and tenant:
// 3,500 / 5,000 / 8,000 resource units per 10 s (tenant under 50 / 50–500 /
// over 500 users) and 3,000 writes per 150 s. Base costs, from the page's
// table: GET users and anything below it 2 RU, GET subscribedSkus and below
// 3 RU (reading a row as covering the paths below it, as shared/MICROSOFT.md
// does; the page does not say), POST/PATCH/PUT/DELETE 1 RU and 1 write.
// $select lowers the cost by 1, $expand raises it by 1, $top below 20
// lowers it by 1; never below 1. Teams administration calls count against a
// separate limit of 15,000 requests per 10 s per app and tenant
// (shared/MICROSOFT.md; not on the throttling page).
// Source: https://learn.microsoft.com/graph/throttling-limits
//
// The Graph simulator keeps its own transcription (graphsim.CostOf); a test
// in this package compares the two.
package graphcost

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Service is the throttling scope a call belongs to.
type Service int

// Services.
const (
	// Other calls are not metered (token endpoint, simulator admin API, Teams admin back end).
	Other Service = iota
	// Identity is identity and access: users, licenses, subscribedSkus.
	Identity
	// Teams is Teams administration: telephone number management.
	Teams
)

// Cost is what one call draws from its service's budget.
type Cost struct {
	Service       Service
	ResourceUnits int  // for Identity; 1 per request for Teams
	Write         bool // counts against the write quota (Identity only)
}

// Windows and limits of the identity and Teams quotas.
const (
	ResourceUnitWindow = 10 * time.Second
	WriteWindow        = 150 * time.Second
	WritesPerWindow    = 3000
	TeamsWindow        = 10 * time.Second
	TeamsPerWindow     = 15000
)

// ResourceUnitsPerWindow returns the identity resource-unit quota per 10 s for
// a tenant with the given number of users.
func ResourceUnitsPerWindow(tenantUsers int) int {
	switch {
	case tenantUsers < 50:
		return 3500
	case tenantUsers <= 500:
		return 5000
	default:
		return 8000
	}
}

// Of returns the cost of a Graph v1.0 call. path is the URL path including
// the /v1.0 prefix; query is the URL's query.
func Of(method, path string, query url.Values) Cost {
	p := strings.Trim(strings.ToLower(strings.TrimPrefix(path, "/v1.0")), "/")
	segs := strings.Split(p, "/")
	switch {
	case strings.HasPrefix(p, "admin/teams/"):
		return Cost{Service: Teams, ResourceUnits: 1}
	case segs[0] != "users" && segs[0] != "subscribedskus":
		return Cost{Service: Other}
	}
	if method != http.MethodGet && method != http.MethodHead {
		return Cost{Service: Identity, ResourceUnits: 1, Write: true}
	}
	ru := 2
	if segs[0] == "subscribedskus" {
		ru = 3
	}
	if query.Get("$select") != "" {
		ru--
	}
	if query.Get("$expand") != "" {
		ru++
	}
	if top, err := strconv.Atoi(query.Get("$top")); err == nil && top < 20 {
		ru--
	}
	return Cost{Service: Identity, ResourceUnits: max(ru, 1)}
}

// Package graphcost is Microsoft Graph's published throttling cost model for
// the calls raprov makes. The simulator enforces it and the client budget
// paces by it, so both agree on what a call costs.
//
// Identity and access (users, licenses, subscribedSkus), per app and tenant:
// 3,500 / 5,000 / 8,000 resource units per 10 s (tenant under 50 / 50–500 /
// over 500 users) and 3,000 writes per 150 s. GET user 2 RU, GET
// subscribedSkus 3 RU, POST/PATCH/DELETE 1 RU and 1 write; $select lowers a
// read by 1 RU (never below 1). Teams administration calls count against a
// separate limit of 15,000 requests per 10 s per app and tenant.
// Source: https://learn.microsoft.com/graph/throttling-limits
package graphcost

import (
	"net/http"
	"net/url"
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
	p := strings.ToLower(strings.TrimPrefix(path, "/v1.0"))
	switch {
	case strings.HasPrefix(p, "/admin/teams/"):
		return Cost{Service: Teams, ResourceUnits: 1}
	case strings.HasPrefix(p, "/users"), strings.HasPrefix(p, "/subscribedskus"):
	default:
		return Cost{Service: Other}
	}
	if method != http.MethodGet && method != http.MethodHead {
		return Cost{Service: Identity, ResourceUnits: 1, Write: true}
	}
	ru := 2
	if strings.HasPrefix(p, "/subscribedskus") {
		ru = 3
	}
	if query.Get("$select") != "" {
		ru--
	}
	return Cost{Service: Identity, ResourceUnits: max(ru, 1)}
}

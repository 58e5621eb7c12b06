package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/raprov/raprov/events"
)

// Planner plans provisioning requests without submitting them: from reads
// of the tenant only, what the chain would create and assign for each
// request and what it would fail on (raprov's shared/dryrun behind an
// adapter). Requests come validated and normalised, in the order of the
// POST; they are planned in that order, as the chain would meet them one
// after the other. Plan returns one Plan per request, in order, or an
// error when the tenant could not be read (answered 503).
type Planner interface {
	Plan(ctx context.Context, reqs []events.Request) (DryRun, error)
}

// Verdicts of a Plan.
const (
	VerdictCreate   = "create"   // the UPN is free: the account would be created
	VerdictContinue = "continue" // the UPN is a resource account raprov created for this request id
	VerdictAdopt    = "adopt"    // the request adopts an existing resource account of its type
	VerdictRemove   = "remove"   // a deprovision request: the account raprov created would be removed
	VerdictFail     = "fail"     // the request would fail with Plan.Reason
)

// DryRun answers a POST /requests whose requests say "dryRun": true (200).
type DryRun struct {
	DryRun bool   `json:"dryRun"` // always true: nothing was queued
	Plans  []Plan `json:"plans"`  // one per request, in order
	// License is the resource-account SKU before and after the requests;
	// nil when the tenant has no such subscription.
	License *LicensePlan `json:"license,omitempty"`
}

// LicensePlan is the resource-account SKU's free seats before and after
// the requests of a dry run.
type LicensePlan struct {
	SKU        string `json:"sku"`
	FreeBefore int    `json:"freeBefore"`
	FreeAfter  int    `json:"freeAfter"`
}

// Plan is what the chain would do with one request.
type Plan struct {
	Index             *int   `json:"index,omitempty"` // the batch item; absent for a single request
	RequestID         string `json:"requestId"`
	UserPrincipalName string `json:"userPrincipalName"`
	// Outcome is "completed" when the request would succeed, else the
	// reason code it would fail with (as Reason).
	Outcome string `json:"outcome"`
	Verdict string `json:"verdict"` // one of the Verdict* values
	Reason  string `json:"reason,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// ObjectID is the existing account a continue or adopt plan goes on with.
	ObjectID string `json:"objectId,omitempty"`
	// PhoneNumber is the requested number (E.164) and Number what the
	// tenant's inventory says of it: free, ours, in use by …, not found, …
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Number      string `json:"number,omitempty"`
	// TakesSeat says a license would be assigned; SeatsBefore and
	// SeatsAfter are the SKU's free seats around this request, the earlier
	// requests counted. LicenseWait says none is free: the request would
	// wait for one (up to LICENSE_WAIT, then fail no_license).
	TakesSeat   bool `json:"takesSeat"`
	SeatsBefore int  `json:"seatsBefore"`
	SeatsAfter  int  `json:"seatsAfter"`
	LicenseWait bool `json:"licenseWait,omitempty"`
	// SameAs is the index of an earlier item of the batch with the same
	// request id and content: the chain would run it once.
	SameAs *int `json:"sameAs,omitempty"`
}

// dryRunUnavailable is the 501 of a dry run on a host without a Planner.
func dryRunUnavailable() ErrorResponse {
	return ErrorResponse{
		Error: "dry runs are not available on this server: it has no read access to the tenant. " +
			"raprov serve plans them when it reaches Microsoft Graph itself (RAPROV_GRAPH_TENANT_ID, or a simulator at --graph-url); " +
			"raprov run --dry-run FILE plans a request file from any host that can read the tenant (docs/dry-run.md)",
		Field:  "dryRun",
		Reason: ReasonDryRunUnavailable,
	}
}

// dryRunMode tells whether the decoded items of a POST are a dry run: true
// when every item that could be decoded says "dryRun": true. Items that
// disagree are an error (400): a batch is planned or submitted as a whole.
func dryRunMode(b body) (bool, *bodyError) {
	dry, real := 0, 0
	for _, d := range b.items {
		switch {
		case len(d.errs) > 0:
		case d.dryRun:
			dry++
		default:
			real++
		}
	}
	if dry > 0 && real > 0 {
		return false, badRequest("dryRun", reasonInvalid,
			"%d requests of the batch say dryRun and %d do not: a batch is a dry run only when every request says \"dryRun\": true", dry, real)
	}
	return dry > 0, nil
}

// dryRun answers the valid requests reqs of a dry run with their plans.
// Nothing is submitted and no request id is claimed.
func (h *handler) dryRun(w http.ResponseWriter, r *http.Request, reqs []events.Request, batch bool) {
	out, err := h.planner.Plan(r.Context(), reqs)
	if err != nil {
		h.log.WarnContext(r.Context(), "http: dry run failed", "requests", len(reqs), "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, ErrorResponse{
			Error:  "the dry run could not read the tenant; try again later",
			Reason: ReasonUnavailable,
		})
		return
	}
	if len(out.Plans) != len(reqs) {
		h.log.ErrorContext(r.Context(), "http: planner answered unexpected results", "requests", len(reqs), "plans", len(out.Plans))
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
		return
	}
	out.DryRun = true
	for i := range out.Plans {
		p := &out.Plans[i]
		if batch {
			p.Index = index(i)
		} else {
			p.Index, p.SameAs = nil, nil
		}
	}
	h.log.InfoContext(r.Context(), "http: dry run answered", "requests", len(reqs))
	writeJSON(w, http.StatusOK, out)
}

// dryRunQuery reports whether a query names a dry run (dryRun, dry_run,
// dry-run, any case): a POST's query is not signed and never read, so a
// sender who put the flag there must learn it is in the wrong place
// rather than have the requests submitted.
func dryRunQuery(rawQuery string) bool {
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		name = strings.NewReplacer("_", "", "-", "", "%5F", "", "%5f", "", "%2D", "", "%2d", "").Replace(strings.ToLower(name))
		if name == "dryrun" {
			return true
		}
	}
	return false
}

package httpapi

import (
	"net/http"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/plan"
)

// The dry run's answer and its planner, under the names the door's
// documentation uses (package plan holds them, so that a host planning
// dry runs elsewhere links none of the door).
type (
	Planner     = plan.Planner
	DryRun      = plan.DryRun
	LicensePlan = plan.LicensePlan
	Plan        = plan.Plan
)

// Verdicts of a Plan.
const (
	VerdictCreate   = plan.VerdictCreate
	VerdictContinue = plan.VerdictContinue
	VerdictAdopt    = plan.VerdictAdopt
	VerdictRemove   = plan.VerdictRemove
	VerdictFail     = plan.VerdictFail
)

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

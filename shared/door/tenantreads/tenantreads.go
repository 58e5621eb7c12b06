// Package tenantreads gives the HTTP door (shared/door/httpapi) its reads of
// the tenant: the plan.Planner of POST /requests with "dryRun": true, which
// plans with shared/dryrun (reads only), and the Accounts check of DELETE
// /requests/{id}, which tells whether an account carries a request's
// ownership mark. `raprov serve` and, on AWS, check-license (which plans
// intake's dry runs) wire it to their Graph and Teams-admin adapters; it
// links neither them nor the door itself.
package tenantreads

import (
	"context"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/plan"
	"github.com/raprov/raprov/shared/dryrun"
	"github.com/raprov/raprov/shared/steps"
)

// NewPlanner returns the planner of dry runs over the tenant's ports,
// counting seats of the SKU with part number sku.
func NewPlanner(ports dryrun.Ports, sku string) plan.Planner {
	return planner{ports: ports, sku: sku}
}

// NewAccounts returns the DELETE /requests/{id} account check over a (an
// plan.Accounts).
func NewAccounts(a steps.Accounts) Accounts { return Accounts{a} }

// Accounts tells whether an account is the one raprov created for a
// request: it carries that request's ownership mark (steps.OwnerMark).
type Accounts struct{ accounts steps.Accounts }

// CreatedFor reports whether an account has the userPrincipalName upn and
// whether it carries the ownership mark of requestID.
func (a Accounts) CreatedFor(ctx context.Context, upn, requestID string) (exists, created bool, err error) {
	acc, err := a.accounts.FindByUPN(ctx, upn)
	if err != nil || acc == nil {
		return false, false, err
	}
	return true, acc.OwnerMark == steps.OwnerMark(requestID), nil
}

// planner plans the requests of one dry run with shared/dryrun: reads
// only, the requests in order against one reading of the tenant.
type planner struct {
	ports dryrun.Ports
	sku   string
}

// Plan plans reqs with a dryrun.Planner of its own (one is not safe for
// concurrent use, and each POST is one file's worth of requests).
func (p planner) Plan(ctx context.Context, reqs []events.Request) (plan.DryRun, error) {
	pl := dryrun.New(p.ports, p.sku)
	out := plan.DryRun{DryRun: true, Plans: make([]plan.Plan, len(reqs))}
	for i, r := range reqs {
		one, err := pl.Plan(ctx, r)
		if err != nil {
			return plan.DryRun{}, fmt.Errorf("dry run of request %d (%s): %w", i+1, r.RequestID, err)
		}
		out.Plans[i] = doorPlan(one)
	}
	if sku, ok := pl.Sku(); ok {
		out.License = &plan.LicensePlan{SKU: sku.PartNumber, FreeBefore: sku.Free(), FreeAfter: pl.Free()}
	}
	return out, nil
}

// verdicts maps shared/dryrun's verdicts to the doors'.
var verdicts = map[dryrun.Verdict]string{
	dryrun.Create:   plan.VerdictCreate,
	dryrun.Continue: plan.VerdictContinue,
	dryrun.Adopt:    plan.VerdictAdopt,
	dryrun.Remove:   plan.VerdictRemove,
	dryrun.Fail:     plan.VerdictFail,
}

// doorPlan is p as the doors answer it.
func doorPlan(p dryrun.Plan) plan.Plan {
	out := plan.Plan{
		RequestID:         p.Request.RequestID,
		UserPrincipalName: p.Request.UserPrincipalName,
		Outcome:           p.Outcome(),
		Verdict:           verdicts[p.Verdict],
		ObjectID:          p.ObjectID,
		PhoneNumber:       p.Request.PhoneNumber,
		Number:            p.Number,
		TakesSeat:         p.TakesSeat,
		SeatsBefore:       p.SeatsBefore,
		SeatsAfter:        p.SeatsAfter,
		LicenseWait:       p.LicenseWait,
	}
	if p.Verdict == dryrun.Fail {
		out.Reason, out.Detail = string(p.Reason), p.Detail
	}
	if p.SameAs > 0 {
		i := p.SameAs - 1
		out.SameAs = &i
	}
	return out
}

// Command check-license is the Lambda function of the check-license step: it
// checks the requested number before anything is created and holds it, then
// waits for a free Virtual User license (see steps.CheckLicense).
//
// The same bootstrap plans the dry runs of intake's HTTP door: intake, which
// validates them, invokes it with the normalised requests
// (sqs.DryRunInvocation), and it answers their plan (httpapi.DryRun) from
// reads of the tenant only (shared/dryrun through shared/door/tenantreads).
package main

import (
	"context"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/door/plan"
	"github.com/raprov/raprov/shared/door/tenantreads"
	"github.com/raprov/raprov/shared/dryrun"
	"github.com/raprov/raprov/shared/numbercache"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport/sqs"
)

func main() {
	graphhost.RunWithPlanner(events.StepCheckLicense, func(h *host.Host, m *graphhost.Microsoft) (steps.Step, sqs.Planned) {
		licenses := skucache.New(m.Graph, h.Steps.SkuCacheTTL, h.Steps.Now)
		numbers := numbercache.New(m.Graph, h.Steps.NumberCacheTTL, h.Steps.Now)
		planner := tenantreads.NewPlanner(dryrun.Ports{Licenses: m.Graph, Accounts: m.Graph, Numbers: m.Graph, Teams: m.Teams}, h.Steps.SkuPartNumber)
		return steps.CheckLicense(licenses, numbers, m.Graph, h.Holds, h.Steps), planned(planner)
	})
}

// maxPlanned is the most requests one dry run plans: the HTTP door's
// largest batch (httpapi.DefaultMaxBatch).
const maxPlanned = 1000

// planned answers a dry-run invocation with planner's plan; more requests
// than the HTTP door accepts in a batch are refused.
func planned(planner plan.Planner) sqs.Planned {
	return func(ctx context.Context, reqs []events.Request) (any, error) {
		if len(reqs) > maxPlanned {
			return nil, fmt.Errorf("dry run of %d requests: at most %d are planned at once", len(reqs), maxPlanned)
		}
		return planner.Plan(ctx, reqs)
	}
}

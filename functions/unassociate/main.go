// Command unassociate is the Lambda function of the unassociate step, the
// first of deprovisioning: it finds the account by its UPN through Graph,
// checks that raprov created it, and removes its auto attendant or call
// queue association (see steps.Unassociate).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepUnassociate, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.Unassociate(m.Graph, m.Teams, h.Steps)
	})
}

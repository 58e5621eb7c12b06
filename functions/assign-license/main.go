// Command assign-license is the Lambda function of the assign-license step:
// it sets the usage location when missing and assigns the Virtual User
// license (see steps.AssignLicense).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepAssignLicense, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.AssignLicense(m.Graph, skucache.New(m.Graph, h.Steps.SkuCacheTTL, h.Steps.Now), h.Steps)
	})
}

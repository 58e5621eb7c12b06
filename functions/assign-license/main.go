// Command assign-license is the Lambda function of the assign-license step:
// it sets the usage location when missing and assigns the Virtual User
// license (see steps.AssignLicense).
package main

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	h, err := host.Load()
	if err != nil {
		host.Exit(events.StepAssignLicense, err)
	}
	m, err := graphhost.Connect(context.Background(), h)
	if err != nil {
		host.Exit(events.StepAssignLicense, err)
	}
	licenses := skucache.New(m.Graph, h.Steps.SkuCacheTTL, h.Steps.Now)
	h.Start(events.StepAssignLicense, steps.AssignLicense(m.Graph, licenses, h.Steps))
}

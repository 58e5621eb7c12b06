// Command remove-license is the Lambda function of the remove-license step
// of deprovisioning: it checks the account's ownership again and takes back
// the resource-account license (RAPROV_SKU_PART_NUMBER), and only that one
// (see steps.RemoveLicense).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepRemoveLicense, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.RemoveLicense(m.Graph, skucache.New(m.Graph, h.Steps.SkuCacheTTL, h.Steps.Now), m.Graph, h.Steps)
	})
}

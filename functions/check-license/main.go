// Command check-license is the Lambda function of the check-license step: it
// checks the requested number before anything is created and holds it, then
// waits for a free Virtual User license (see steps.CheckLicense).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/numbercache"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepCheckLicense, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		licenses := skucache.New(m.Graph, h.Steps.SkuCacheTTL, h.Steps.Now)
		numbers := numbercache.New(m.Graph, h.Steps.NumberCacheTTL, h.Steps.Now)
		return steps.CheckLicense(licenses, numbers, m.Graph, h.Holds, h.Steps)
	})
}

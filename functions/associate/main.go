// Command associate is the Lambda function of the associate step: it
// associates the resource account with its auto attendant or call queue when
// the request names one (see steps.Associate).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepAssociate, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.Associate(m.Teams, h.Steps)
	})
}

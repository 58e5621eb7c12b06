// Command assign-number is the Lambda function of the assign-number step: it
// assigns the service number and follows the asynchronous operation (see
// steps.AssignNumber).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepAssignNumber, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.AssignNumber(m.Graph, h.Steps)
	})
}

// Command unassign-number is the Lambda function of the unassign-number
// step of deprovisioning: it checks the account's ownership again,
// unassigns every number the account holds and follows each asynchronous
// operation (see steps.UnassignNumber).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepUnassignNumber, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.UnassignNumber(m.Graph, m.Graph, m.Graph, h.Steps)
	})
}

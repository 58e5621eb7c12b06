// Command assign-number is the Lambda function of the assign-number step: it
// assigns the service number and follows the asynchronous operation (see
// steps.AssignNumber).
package main

import (
	"context"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	h, err := host.Load()
	if err != nil {
		host.Exit(events.StepAssignNumber, err)
	}
	m, err := graphhost.Connect(context.Background(), h)
	if err != nil {
		host.Exit(events.StepAssignNumber, err)
	}
	h.Start(events.StepAssignNumber, steps.AssignNumber(m.Graph, h.Steps))
}

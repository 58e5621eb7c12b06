// Command associate is the Lambda function of the associate step: it
// associates the resource account with its auto attendant or call queue when
// the request names one (see steps.Associate).
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
		host.Exit(events.StepAssociate, err)
	}
	m, err := graphhost.Connect(context.Background(), h)
	if err != nil {
		host.Exit(events.StepAssociate, err)
	}
	h.Start(events.StepAssociate, steps.Associate(m.Teams, h.Steps))
}

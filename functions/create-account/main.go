// Command create-account is the Lambda function of the create-account step:
// it creates the resource account (marked as raprov's) or continues the one
// this request created, and binds its Teams application instance (see
// steps.CreateAccount).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepCreateAccount, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.CreateAccount(m.Graph, m.Teams, m.Graph, h.Steps)
	})
}

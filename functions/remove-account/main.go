// Command remove-account is the Lambda function of the remove-account step,
// the last of deprovisioning: it checks the account's ownership once more
// and deletes it, or keeps it with sign-in blocked when
// RAPROV_DEPROVISION_MODE is block (see steps.RemoveAccount). A mode that
// is neither ends the init (host.Run checks the step configuration).
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	graphhost.Run(events.StepRemoveAccount, func(h *host.Host, m *graphhost.Microsoft) steps.Step {
		return steps.RemoveAccount(m.Graph, m.Graph, h.Steps)
	})
}

// Command intake is the Lambda function of the intake step: it validates and
// normalises each provisioning.requested event and claims its request id
// (see steps.Intake). It is the only function that links the validator and
// its phone-number library, and it does not link Graph.
package main

import (
	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	host.Run(events.StepIntake, func(h *host.Host) (steps.Step, error) {
		normalize := validate.Normalizer(validate.Options{VerifiedDomains: h.Steps.VerifiedDomains, CallbackAllowedHosts: h.Steps.CallbackAllowedHosts})
		return steps.Intake(h.Claims, normalize, h.Steps), nil
	})
}

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
	h, err := host.Load()
	if err != nil {
		host.Exit(events.StepIntake, err)
	}
	normalize := validate.Normalizer(validate.Options{VerifiedDomains: h.Steps.VerifiedDomains, CallbackAllowedHosts: h.Steps.CallbackAllowedHosts})
	h.Start(events.StepIntake, steps.Intake(h.Claims, normalize, h.Steps))
}

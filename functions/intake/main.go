// Command intake is the Lambda function of the intake step: it validates and
// normalises each provisioning.requested event and claims its request id
// (see steps.Intake). It is the only function that links the validator and
// its phone-number library, and it does not link Graph.
//
// The same bootstrap answers the function's Lambda Function URL: raprov's
// signed HTTP door (functions/internal/httpdoor), which queues requests on
// intake's own queue and reads the ledger. An invocation is an SQS batch or
// a Function URL request by its shape (sqs.Dispatch).
package main

import (
	"context"
	"net/http"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/shared/steps"
)

func main() {
	host.RunWithURL(events.StepIntake, func(h *host.Host) (steps.Step, http.Handler, error) {
		door, err := httpdoor.Connect(context.Background(), h)
		if err != nil {
			return nil, nil, err
		}
		return steps.Intake(h.Claims, httpdoor.Normalizer(h.Steps), h.Steps), door, nil
	})
}

// Command intake is the Lambda function of the intake step: it validates and
// normalises each provisioning.requested event and claims its request id
// (see steps.Intake). It is the only function that links the validator and
// its phone-number library, and it does not link Graph.
//
// The same bootstrap answers the function's Lambda Function URL: raprov's
// signed HTTP door (functions/internal/httpdoor), which queues requests on
// intake's own queue and reads the ledger; and the scheduled bulk door
// (functions/internal/bulkdoor): EventBridge Scheduler invokes it with
// {"raprov":"bulk-scan"} and it makes one pass over the bulk bucket's
// prefix. An invocation is an SQS batch, a Function URL request or the
// scheduled scan by its shape (sqs.DispatchScheduled).
package main

import (
	"context"
	"net/http"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/bulkdoor"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport/sqs"
)

func main() {
	host.RunWithDoors(events.StepIntake, func(h *host.Host) (steps.Step, http.Handler, sqs.Scheduled, error) {
		door, err := httpdoor.Connect(context.Background(), h)
		if err != nil {
			return nil, nil, nil, err
		}
		scan, err := bulkdoor.Connect(h)
		if err != nil {
			return nil, nil, nil, err
		}
		return steps.Intake(h.Claims, httpdoor.Normalizer(h.Steps), h.Steps), door, scan, nil
	})
}

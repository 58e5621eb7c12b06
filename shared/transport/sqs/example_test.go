package sqs_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// A step's Lambda main (functions/<step>/main.go): the caller builds the
// SQS client (here with the Lambda environment's credentials provider,
// elided), the queues come from the environment, and the handler starts
// with the compile-time-checked lambda.StartHandlerFunc.
func Example() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var creds aws.CredentialsProvider // e.g. from the function's role
	client := awssqs.New(awssqs.Options{Region: os.Getenv("AWS_REGION"), Credentials: creds})
	queues, err := sqs.QueuesFromEnv()
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	sender := sqs.NewSender(client, queues, sqs.SenderOptions{Logger: log /* Ledger: the DynamoDB ledger */})
	step := func(_ context.Context, in events.Event) ([]events.Event, error) {
		return []events.Event{in.Next(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense))}, nil
	}
	r := runner.New(events.StepCheckLicense, step, runner.Options{MaxReceive: 5, Logger: log})
	lambda.StartHandlerFunc(sqs.NewHandler(r, sender, sqs.HandlerOptions{Logger: log}))
}

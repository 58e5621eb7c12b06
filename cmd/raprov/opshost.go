package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqssubmit"
)

// Transports the operator commands (submit, status, dlq) work against,
// chosen by RAPROV_TRANSPORT.
const (
	transportLocal = "local"
	transportSQS   = "sqs"
)

// opsHost is where the operator commands find a deployment's queues,
// dead letters and ledger.
type opsHost interface {
	Ledger() ledger.Ledger
	DeadLetters() transport.DeadLetters
	// Submit queues requests for intake, as embedded.Submit does.
	submission.Submitter
	// Where names the deployment in messages.
	Where() string
	Close() error
}

// openOps opens the host s.Transport names. An unusable setting is a
// configuration error (exit 3), a local database that cannot be opened an
// unreachable queue (exit 4).
func openOps(ctx context.Context, s settings) (opsHost, error) {
	switch s.Transport {
	case "", transportLocal:
		store, err := local.Open(ctx, s.DB, local.Options{})
		if err != nil {
			return nil, unreachableError(err)
		}
		return localOps{store: store, db: s.DB}, nil
	case transportSQS:
		return openSQSOps(ctx, s)
	}
	return nil, configError(fmt.Errorf("RAPROV_TRANSPORT=%q: want %s or %s", s.Transport, transportLocal, transportSQS))
}

// localOps is the embedded default's SQLite store.
type localOps struct {
	store *local.Store
	db    string
}

func (l localOps) Ledger() ledger.Ledger { return l.store.Ledger() }
func (l localOps) Where() string         { return l.db }
func (l localOps) Close() error          { return l.store.Close() }
func (l localOps) DeadLetters() transport.DeadLetters {
	return localDeadLetters{DeadLetters: l.store.DeadLetters(), store: l.store}
}
func (l localOps) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
	return embedded.Submit(ctx, l.store, traceParent, reqs...)
}

// localDeadLetters registers a dead letter's queue before requeueing it
// (the store sends only to queues opened on it).
type localDeadLetters struct {
	transport.DeadLetters
	store *local.Store
}

func (d localDeadLetters) Requeue(ctx context.Context, id string, body []byte) error {
	dl, err := d.Get(ctx, id)
	if err != nil {
		return err
	}
	d.store.Queue(dl.Queue, local.QueueOptions{})
	return d.DeadLetters.Requeue(ctx, id, body)
}

// sqsOps is a deployment on AWS: its SQS queues and DynamoDB table, found
// through RAPROV_SQS_QUEUE_URL_PREFIX and RAPROV_DYNAMODB_TABLE, with the
// AWS SDK's usual configuration (profile, region, credentials,
// AWS_ENDPOINT_URL_*).
type sqsOps struct {
	queues sqs.Queues
	dls    *sqs.DeadLetters
	ledger *dynamoledger.Ledger
	submit *sqssubmit.Submitter
}

func openSQSOps(ctx context.Context, s settings) (*sqsOps, error) {
	if s.QueueURLPrefix == "" || s.Table == "" {
		return nil, configError(fmt.Errorf("RAPROV_TRANSPORT=sqs needs RAPROV_SQS_QUEUE_URL_PREFIX and RAPROV_DYNAMODB_TABLE (the stack's outputs; see docs/aws.md)"))
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, configError(fmt.Errorf("AWS configuration: %w", err))
	}
	queues, err := sqs.NewQueues(s.QueueURLPrefix)
	if err != nil {
		return nil, configError(err)
	}
	client := sqs.NewClient(cfg)
	ddb := dynamodb.NewFromConfig(cfg)
	l := dynamoledger.New(ddb, s.Table, dynamoledger.Options{})
	submit, err := sqssubmit.New(sqs.NewSender(client, queues, sqs.SenderOptions{Ledger: l}), dynamoledger.NewClaims(ddb, s.Table))
	if err != nil {
		return nil, err
	}
	return &sqsOps{
		queues: queues,
		dls:    sqs.NewDeadLetters(client, queues, sqs.DeadLettersOptions{}),
		ledger: l,
		submit: submit,
	}, nil
}

func (a *sqsOps) Ledger() ledger.Ledger              { return a.ledger }
func (a *sqsOps) DeadLetters() transport.DeadLetters { return a.dls }
func (a *sqsOps) Where() string                      { return a.queues.URL(events.StepIntake) }
func (a *sqsOps) Close() error                       { return nil }

// Submit sends each request whose id is not claimed yet to the intake
// queue, which claims it (sqssubmit.Submitter.Submit).
func (a *sqsOps) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
	return a.submit.Submit(ctx, traceParent, reqs)
}

// withOps runs a command against the host the settings select.
func withOps(s *settings, cfgErr *error, run func(cmd *cobra.Command, args []string, ops opsHost) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if *cfgErr != nil {
			return *cfgErr
		}
		ops, err := openOps(cmd.Context(), *s)
		if err != nil {
			return err
		}
		defer ops.Close()
		return run(cmd, args, ops)
	}
}

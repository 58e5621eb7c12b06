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
	sender *sqs.Sender
	dls    *sqs.DeadLetters
	ledger *dynamoledger.Ledger
	claims *dynamoledger.Claims
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
	return &sqsOps{
		queues: queues,
		sender: sqs.NewSender(client, queues, sqs.SenderOptions{Ledger: l}),
		dls:    sqs.NewDeadLetters(client, queues, sqs.DeadLettersOptions{}),
		ledger: l,
		claims: dynamoledger.NewClaims(ddb, s.Table),
	}, nil
}

func (a *sqsOps) Ledger() ledger.Ledger              { return a.ledger }
func (a *sqsOps) DeadLetters() transport.DeadLetters { return a.dls }
func (a *sqsOps) Where() string                      { return a.queues.URL(events.StepIntake) }
func (a *sqsOps) Close() error                       { return nil }

// Submit sends each request whose id is not claimed yet to the intake
// queue, which claims it. A request whose id is claimed already is
// reported as a duplicate (same request) or a conflict (another request)
// and not sent. Two submitters racing for one id both send; intake lets
// the first through and drops or refuses the other. Claiming here instead
// would lose a request whose send failed after its claim.
func (a *sqsOps) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
	out := make([]submission.Submitted, len(reqs))
	var msgs []transport.Message
	var record []ledger.Entry
	for i, r := range reqs {
		p := submission.Prepare(traceParent, r)
		out[i] = submission.Submitted{Outcome: submission.Sent, Event: p.Event}
		if p.RequestID != "" {
			holder, fp, err := a.claims.Holder(ctx, p.RequestID)
			if err != nil {
				return nil, err
			}
			if out[i].Outcome = p.Against(holder, fp); out[i].Outcome != submission.Sent {
				continue
			}
		}
		body, err := events.Encode(p.Event)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		msgs = append(msgs, transport.Message{Body: body})
		record = append(record, p.Record()...)
	}
	if err := a.sender.Publish(ctx, map[string][]transport.Message{events.StepIntake: msgs}, record); err != nil {
		return nil, err
	}
	return out, nil
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

package sqs_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/runner/runnertest"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// TestRunnerScenarios runs the scenarios every host of the runner passes
// on fauxqs, each step's handler fed as Lambda's event source mapping
// would: batches of up to ten, records not reported as failed deleted.
func TestRunnerScenarios(t *testing.T) {
	t.Parallel()
	runnertest.Run(t, host{})
}

type host struct{}

func (host) Open(t *testing.T, fns map[string]steps.Step, opts runnertest.Options) runnertest.Chain {
	maxReceive := cmp.Or(opts.MaxReceive, runner.DefaultMaxReceive)
	c := mustClient(t)
	// A one-second visibility timeout lets failed records come back
	// quickly; the redrive policy leaves the handler the delivery after
	// its MaxReceive.
	qs := mustQueues(t, c, queueConfig{Visibility: time.Second, MaxReceiveCount: maxReceive + 1})
	log := slog.New(slog.DiscardHandler)
	l := memledger.New()
	s := sqs.NewSender(c, qs, sqs.SenderOptions{Ledger: l, Logger: log})
	ch := &chain{c: c, qs: qs, ledger: l, handlers: map[string]sqs.Handler{},
		dl: sqs.NewDeadLetters(c, qs, sqs.DeadLettersOptions{Wait: -1, Visibility: 5 * time.Second})}
	for _, name := range events.AllSteps {
		r := runner.New(name, fns[name], runner.Options{MaxReceive: maxReceive, Logger: log})
		ch.handlers[name] = sqs.NewHandler(r, s, sqs.HandlerOptions{Concurrency: 2, Logger: log})
	}
	return ch
}

type chain struct {
	c        *awssqs.Client
	qs       sqs.Queues
	ledger   ledger.Ledger
	handlers map[string]sqs.Handler
	dl       *sqs.DeadLetters
}

func (c *chain) Run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, h := range c.handlers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := poll(ctx, c.c, c.qs, name, h, 1); err != nil && ctx.Err() == nil {
					t.Errorf("poll %s: %v", name, err)
					return
				}
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func (c *chain) Send(ctx context.Context, queue string, body []byte) error {
	url := c.qs.URL(queue)
	_, err := c.c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: &url, MessageBody: ptr(string(body))})
	return err
}

// Interrupt receives the next message n times and lets its one-second
// visibility timeout run out each time.
func (c *chain) Interrupt(ctx context.Context, queue string, n int) error {
	url := c.qs.URL(queue)
	for i := range n {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := c.c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 1, VisibilityTimeout: 1})
			if err != nil {
				return err
			}
			if len(out.Messages) == 1 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("interrupt %d of %d: no message on %s", i+1, n, queue)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func (c *chain) Status(ctx context.Context, id string) (ledger.Status, error) {
	return c.ledger.Get(ctx, id)
}

func (c *chain) DeadLetters(ctx context.Context) ([]transport.DeadLetter, error) {
	return c.dl.List(ctx, "", 100)
}

func (c *chain) Replay(ctx context.Context, d transport.DeadLetter, body []byte) error {
	return c.dl.Requeue(ctx, d.ID, body)
}

func ptr[T any](v T) *T { return &v }

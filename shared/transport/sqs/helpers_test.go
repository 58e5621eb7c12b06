package sqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

// mustClient returns an SQS client of the shared fauxqs.
func mustClient(tb testing.TB) *awssqs.Client { return sqstest.Client(tb) }

// queueConfig is how a test's queues are created.
type queueConfig = sqstest.Config

// mustQueues creates a fresh set of queues named after a unique prefix.
func mustQueues(tb testing.TB, c *awssqs.Client, cfg queueConfig) sqs.Queues {
	return sqstest.Queues(tb, c, cfg)
}

// receive receives up to max messages of url at once, with every attribute,
// hiding them for visibility.
func receive(tb testing.TB, c *awssqs.Client, url string, max int, visibility time.Duration) []types.Message {
	tb.Helper()
	out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: int32(max), VisibilityTimeout: int32(visibility / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		tb.Fatalf("receive %s: %v", url, err)
	}
	return out.Messages
}

// drain receives every message of url (hiding each for a minute) until
// want have come or the deadline passes.
func drain(tb testing.TB, c *awssqs.Client, url string, want int, within time.Duration) []types.Message {
	tb.Helper()
	var all []types.Message
	deadline := time.Now().Add(within)
	for len(all) < want && time.Now().Before(deadline) {
		got := receive(tb, c, url, 10, time.Minute)
		all = append(all, got...)
		if len(got) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return all
}

// count returns the approximate number of messages of url, visible or not.
func count(tb testing.TB, c *awssqs.Client, url string) int { return sqstest.Count(tb, c, url) }

// send sends raw bodies to a queue.
func send(tb testing.TB, c *awssqs.Client, url string, bodies ...[]byte) {
	tb.Helper()
	for _, b := range bodies {
		if _, err := c.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(string(b))}); err != nil {
			tb.Fatalf("send to %s: %v", url, err)
		}
	}
}

// record converts a received message into the record Lambda's event
// source mapping hands the function.
func record(m types.Message) lambdaevents.SQSMessage { return sqstest.Record(m, "") }

// rec builds a record by hand.
func rec(id string, body []byte, received int) lambdaevents.SQSMessage {
	return lambdaevents.SQSMessage{
		MessageId: id, ReceiptHandle: "rh-" + id, Body: string(body),
		Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(received)},
	}
}

// poll receives one batch from the queue called name, runs the handler on
// it and, as the event source mapping does, deletes the records it did not
// report as failed. It returns how many records it handled.
func poll(ctx context.Context, c *awssqs.Client, qs sqs.Queues, name string, h sqs.Handler, wait int32) (int, error) {
	url := qs.URL(name)
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil || len(out.Messages) == 0 {
		return 0, err
	}
	var ev lambdaevents.SQSEvent
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, record(m))
	}
	resp, err := h(ctx, ev)
	if err != nil {
		return len(ev.Records), nil // the whole batch comes back
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range out.Messages {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		if _, err := c.DeleteMessage(context.WithoutCancel(ctx), &awssqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			return len(ev.Records), err
		}
	}
	return len(ev.Records), nil
}

// logBuffer collects JSON log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines decodes the JSON log lines.
func (l *logBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// mustEncode encodes an event.
func mustEncode(tb testing.TB, ev events.Event) []byte {
	tb.Helper()
	b, err := events.Encode(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// accepted returns a provisioning.accepted event (check-license's input).
func accepted(id string) events.Event {
	return events.New(events.TypeProvisioningAccepted, events.Source(events.StepIntake), events.Data{Request: events.Request{RequestID: id}})
}

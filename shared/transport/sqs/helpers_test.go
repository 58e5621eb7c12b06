package sqs_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// mustClient returns an SQS client of the shared fauxqs.
func mustClient(tb testing.TB) *awssqs.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := awslocal.SharedSQS(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return awssqs.New(awssqs.Options{
		Region:       awslocal.SQSRegion,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// queueConfig is how a test's queues are created.
type queueConfig struct {
	// Visibility is each queue's visibility timeout; default 30 s.
	Visibility time.Duration
	// MaxReceiveCount, when set, gives each step's queue a redrive policy
	// to its dead-letter queue.
	MaxReceiveCount int
	// Skip names queues not to create (their URLs lead nowhere).
	Skip []string
}

// mustQueues creates a fresh set of queues named after a unique prefix:
// every queue of sqs.Names and each step's dead-letter queue.
func mustQueues(tb testing.TB, c *awssqs.Client, cfg queueConfig) sqs.Queues {
	tb.Helper()
	ctx := context.Background()
	b := make([]byte, 5)
	rand.Read(b)
	name := "t" + hex.EncodeToString(b) + "-"
	vis := fmt.Sprint(int(cmp.Or(cfg.Visibility, 30*time.Second) / time.Second))
	var prefix string
	create := func(q string, attrs map[string]string) string {
		out, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name + q), Attributes: attrs})
		if err != nil {
			tb.Fatalf("create queue %s: %v", q, err)
		}
		url := aws.ToString(out.QueueUrl)
		prefix = strings.TrimSuffix(url, q)
		return url
	}
	skip := map[string]bool{}
	for _, s := range cfg.Skip {
		skip[s] = true
	}
	for _, q := range sqs.Names() {
		attrs := map[string]string{"VisibilityTimeout": vis}
		if q != events.Results && !skip[q+sqs.DLQSuffix] {
			dlq := create(q+sqs.DLQSuffix, nil)
			if cfg.MaxReceiveCount > 0 {
				a, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: &dlq, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
				if err != nil {
					tb.Fatal(err)
				}
				policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": a.Attributes["QueueArn"], "maxReceiveCount": cfg.MaxReceiveCount})
				attrs["RedrivePolicy"] = string(policy)
			}
		}
		if !skip[q] {
			create(q, attrs)
		}
	}
	qs, err := sqs.NewQueues(prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return qs
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
func count(tb testing.TB, c *awssqs.Client, url string) int {
	tb.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		var k int
		fmt.Sscan(v, &k)
		n += k
	}
	return n
}

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
func record(m types.Message) lambdaevents.SQSMessage {
	r := lambdaevents.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Attributes: m.Attributes, MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{},
		EventSource: "aws:sqs", AWSRegion: awslocal.SQSRegion,
	}
	for k, v := range m.MessageAttributes {
		r.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue}
	}
	return r
}

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

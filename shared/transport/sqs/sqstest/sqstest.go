// Package sqstest creates SQS clients and fresh sets of a chain's queues on
// the local SQS stand-in (infra/awslocal's fauxqs), for the tests of every
// package that runs the AWS host.
package sqstest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	lambdaevents "github.com/aws/aws-lambda-go/events"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// Client returns an SQS client of the shared fauxqs, starting it if needed.
func Client(tb testing.TB) *awssqs.Client {
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

// Config is how a test's queues are created.
type Config struct {
	// Visibility is each queue's visibility timeout; default 30 s.
	Visibility time.Duration
	// MaxReceiveCount, when set, gives each step's queue a redrive policy
	// to its dead-letter queue.
	MaxReceiveCount int
	// Skip names queues not to create (their URLs lead nowhere).
	Skip []string
}

// Queues creates a fresh set of queues named after a unique prefix:
// every queue of sqs.Names and each step's dead-letter queue.
func Queues(tb testing.TB, c *awssqs.Client, cfg Config) sqs.Queues {
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

// Count returns how many messages the queue at url holds: visible, in
// flight and delayed (SQS's approximate counts).
func Count(tb testing.TB, c *awssqs.Client, url string) int {
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
		k, err := strconv.Atoi(v)
		if err != nil {
			tb.Fatalf("queue %s: count %q: %v", url, v, err)
		}
		n += k
	}
	return n
}

// Record is the Lambda record of a message received from the queue arn, in
// the shape Lambda's SQS event source mapping delivers it.
func Record(m types.Message, arn string) lambdaevents.SQSMessage {
	r := lambdaevents.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             m.Attributes,
		MessageAttributes:      map[string]lambdaevents.SQSMessageAttribute{},
		EventSourceARN:         arn,
		EventSource:            "aws:sqs",
		AWSRegion:              awslocal.SQSRegion,
	}
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
	for k, v := range m.MessageAttributes {
		r.MessageAttributes[k] = lambdaevents.SQSMessageAttribute{
			DataType:         aws.ToString(v.DataType),
			StringValue:      v.StringValue,
			BinaryValue:      v.BinaryValue,
			StringListValues: append([]string{}, v.StringListValues...),
			BinaryListValues: append([][]byte{}, v.BinaryListValues...),
		}
	}
	return r
}

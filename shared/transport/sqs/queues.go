package sqs

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/raprov/raprov/events"
)

// EnvQueueURLPrefix names the environment variable that holds the queue
// URL prefix (see Queues).
const EnvQueueURLPrefix = "RAPROV_SQS_QUEUE_URL_PREFIX"

// DLQSuffix ends the name of a step's dead-letter queue: the dead letters of
// queue "assign-license" are in "assign-license-dlq".
const DLQSuffix = "-dlq"

// Queues names the queues of one deployment. A queue's URL is Prefix
// followed by its name (a step name of events.AllSteps, or events.Results); a
// step's dead-letter queue is Prefix + name + DLQSuffix. With the prefix
// "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-", intake's
// queue is ".../raprov-intake" and its dead-letter queue ".../raprov-intake-dlq".
type Queues struct {
	Prefix string
}

// NewQueues returns the queues under prefix, which must be an absolute URL.
func NewQueues(prefix string) (Queues, error) {
	u, err := url.Parse(prefix)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return Queues{}, fmt.Errorf("sqs: queue URL prefix %q is not an absolute URL", prefix)
	}
	return Queues{Prefix: prefix}, nil
}

// QueuesFromEnv returns the queues under $RAPROV_SQS_QUEUE_URL_PREFIX.
func QueuesFromEnv() (Queues, error) {
	p := strings.TrimSpace(os.Getenv(EnvQueueURLPrefix))
	if p == "" {
		return Queues{}, fmt.Errorf("sqs: %s is not set", EnvQueueURLPrefix)
	}
	return NewQueues(p)
}

// URL returns the URL of the queue called name.
func (q Queues) URL(name string) string { return q.Prefix + name }

// DLQ returns the URL of the dead-letter queue of the queue called name.
func (q Queues) DLQ(name string) string { return q.Prefix + name + DLQSuffix }

// Names lists every queue of the chain: one per step (events.AllSteps), then
// events.Results. Each step's queue has a dead-letter queue; Results has none.
func Names() []string {
	return append(slices.Clone(events.AllSteps), events.Results)
}

// SendAPI is the SQS call a Sender makes; *sqs.Client implements it.
type SendAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// VisibilityAPI is the SQS call the handler makes to back off a record it
// leaves for redelivery; *sqs.Client implements it.
type VisibilityAPI interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// API is every SQS call this package makes; *sqs.Client implements it. The
// caller builds the client (region, credentials, endpoint): this package
// does not link the SDK's configuration loader.
type API interface {
	SendAPI
	VisibilityAPI
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	PurgeQueue(ctx context.Context, in *sqs.PurgeQueueInput, optFns ...func(*sqs.Options)) (*sqs.PurgeQueueOutput, error)
}

var _ API = (*sqs.Client)(nil)

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

// awsDeployment is a deployment's queues and table on the local stand-ins,
// with the variables that point the operator commands at it.
type awsDeployment struct {
	sqs    *awssqs.Client
	queues sqs.Queues
	claims *dynamoledger.Claims
}

func newAWSDeployment(t *testing.T) *awsDeployment {
	t.Helper()
	ctx := context.Background()
	c := sqstest.Client(t)
	queues := sqstest.Queues(t, c, sqstest.Config{Visibility: 2 * time.Second})
	ddbLocal, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fauxqs, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddb := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ddbLocal.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}),
	})
	b := make([]byte, 4)
	rand.Read(b)
	table := "raprov-" + hex.EncodeToString(b)
	if err := dynamoledger.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"RAPROV_TRANSPORT":            "sqs",
		"RAPROV_SQS_QUEUE_URL_PREFIX": queues.Prefix,
		"RAPROV_DYNAMODB_TABLE":       table,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_ENDPOINT_URL_SQS":        fauxqs.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB":   ddbLocal.Endpoint,
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	return &awsDeployment{sqs: c, queues: queues, claims: dynamoledger.NewClaims(ddb, table)}
}

// bodies receives every message of a queue (hiding them for a while).
func (d *awsDeployment) bodies(t *testing.T, queue string) []string {
	t.Helper()
	var out []string
	for range 5 {
		r, err := d.sqs.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, VisibilityTimeout: 30, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			out = append(out, aws.ToString(m.Body))
		}
		if len(r.Messages) == 0 && len(out) > 0 {
			break
		}
	}
	return out
}

// The operator commands work on an AWS deployment as they do locally:
// submit sends to the intake queue and refuses known ids, status reads
// DynamoDB and names the queue a request waits in, dlq lists, replays and
// purges the SQS dead-letter queues.
func TestOperatorCommandsOnAWS(t *testing.T) {
	d := newAWSDeployment(t)
	ctx := context.Background()
	csv := filepath.Join(t.TempDir(), "lines.csv")
	rows := "requestId,displayName,userPrincipalName,accountType,usageLocation\n" +
		"AWS-1,Reception,reception@contoso.com,AA,US\n" +
		"AWS-2,Sales queue,sales@contoso.com,CQ,US\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := executeCmd(newSubmitCmd(), csv)
	if err != nil || !strings.Contains(out, "submitted 2 requests to "+d.queues.URL(events.StepIntake)) {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	sent := d.bodies(t, d.queues.URL(events.StepIntake))
	if len(sent) != 2 {
		t.Fatalf("intake queue holds %d messages, want 2", len(sent))
	}
	for _, b := range sent {
		ev, err := events.Decode([]byte(b))
		if err != nil || ev.Type != events.TypeProvisioningRequested {
			t.Fatalf("queued %s: %v", b, err)
		}
	}

	// Once intake has claimed AWS-1, the same row is a duplicate and a
	// different request under its id a conflict: neither is sent.
	ev, _ := events.Decode([]byte(sent[0]))
	norm, _ := validate.Normalize(ev.Data.Request, validate.Options{})
	if _, _, err := d.claims.Claim(ctx, norm.RequestID, ev.ID, norm.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	again := "requestId,displayName,userPrincipalName,accountType,usageLocation\n" +
		ev.Data.Request.RequestID + "," + ev.Data.Request.DisplayName + "," + ev.Data.Request.UserPrincipalName + "," + ev.Data.Request.AccountType + ",US\n" +
		ev.Data.Request.RequestID + ",Another line,other@contoso.com,AA,US\n"
	if err := os.WriteFile(csv, []byte(again), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = executeCmd(newSubmitCmd(), csv)
	if code, ok := err.(exitCode); !ok || code != 1 || !strings.Contains(out, "already submitted") || !strings.Contains(out, "request_conflict") {
		t.Fatalf("resubmit: %v\n%s", err, out)
	}

	out, err = executeCmd(newStatusCmd(), ev.Data.Request.RequestID)
	if err != nil || !strings.Contains(out, "in progress, waiting in the intake queue") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// A dead letter of check-license, as the handler parks one.
	parked := events.New(events.TypeProvisioningAccepted, events.Source(events.StepIntake), events.Data{Request: events.Request{RequestID: "AWS-3"}})
	body, _ := events.Encode(parked)
	if _, err := d.sqs.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(d.queues.DLQ(events.StepCheckLicense)), MessageBody: aws.String(string(body)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			sqs.AttrReason:      {DataType: aws.String("String"), StringValue: aws.String("retries_exhausted")},
			sqs.AttrSourceQueue: {DataType: aws.String("String"), StringValue: aws.String(events.StepCheckLicense)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	out, err = executeCmd(newDLQCmd(), "list")
	if err != nil || !strings.Contains(out, "AWS-3") || !strings.Contains(out, "retries_exhausted") {
		t.Fatalf("dlq list: %v\n%s", err, out)
	}
	var id string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "AWS-3") {
			id = strings.Fields(line)[0]
		}
	}
	out, err = executeCmd(newDLQCmd(), "replay", id)
	if err != nil || !strings.Contains(out, "replayed "+id+" to "+events.StepCheckLicense) {
		t.Fatalf("dlq replay: %v\n%s", err, out)
	}
	back := d.bodies(t, d.queues.URL(events.StepCheckLicense))
	if len(back) != 1 {
		t.Fatalf("check-license queue holds %d messages after the replay, want 1", len(back))
	}
	if ev, err := events.Decode([]byte(back[0])); err != nil || ev.ReplayCount != 1 || ev.Subject != "AWS-3" {
		t.Fatalf("replayed %+v, %v; want AWS-3 with replaycount 1", ev, err)
	}
	if out, err = executeCmd(newDLQCmd(), "list"); err != nil || strings.Contains(out, "AWS-3") {
		t.Fatalf("after the replay the dead letter is still listed: %v\n%s", err, out)
	}
}

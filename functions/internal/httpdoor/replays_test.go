//go:build unix

package httpdoor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

// Two instances of the function, each with its own host and clients, share
// the signatures they accepted through the DynamoDB table: a POST accepted
// by one is refused when replayed to the other, and queued once. With the
// table out of reach, the door refuses (503) and queues nothing.
func TestConnectRefusesReplayOnAnotherInstance(t *testing.T) {
	ctx := context.Background()
	loadHost(t, "[\""+key1+"\"]") // the keys' secret and the runtime's variables
	ddb, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatalf("DynamoDB Local did not start (its tests need java and javac 17+ and npm on PATH): %v", err)
	}
	region, table := awslocal.SQSRegion, fmt.Sprint("raprov-httpdoor-replays-", time.Now().UnixNano()) // DynamoDB Local lives as long as the process
	c := dynamodb.New(dynamodb.Options{
		Region:       region,
		BaseEndpoint: aws.String(ddb.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIA", "key", ""), // the host's: DynamoDB Local keeps tables per key and region
	})
	if err := dynamoledger.CreateTable(ctx, c, table); err != nil {
		t.Fatal(err)
	}
	sqsc := sqstest.Client(t)
	qs := sqstest.Queues(t, sqsc, sqstest.Config{})
	sqsLocal, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_REGION": region, "RAPROV_DYNAMODB_TABLE": table, "RAPROV_SQS_QUEUE_URL_PREFIX": qs.Prefix,
		"AWS_ENDPOINT_URL_DYNAMODB": ddb.Endpoint, "AWS_ENDPOINT_URL_SQS": sqsLocal.Endpoint,
	} {
		t.Setenv(k, v)
	}
	instance := func() http.Handler {
		t.Helper()
		h, err := host.Load()
		if err != nil {
			t.Fatal(err)
		}
		h.Log = slog.New(slog.DiscardHandler)
		door, err := httpdoor.Connect(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return door
	}
	post := func(door http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/requests", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpapi.SignatureHeader, sig)
		w := httptest.NewRecorder()
		door.ServeHTTP(w, req)
		return w
	}
	a, b := instance(), instance()
	body := []byte(`{"displayName":"Front desk","userPrincipalName":"ra-frontdesk@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`)
	sig := httpapi.Sign(key1, time.Now(), body)
	if w := post(a, body, sig); w.Code != http.StatusAccepted {
		t.Fatalf("POST on instance a: %d %s", w.Code, w.Body)
	}
	if w := post(b, body, sig); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "signature already used") {
		t.Errorf("the same POST replayed on instance b: %d %s", w.Code, w.Body)
	}
	if n := sqstest.Count(t, sqsc, qs.URL(events.StepIntake)); n != 1 {
		t.Errorf("%d messages in intake's queue, want 1", n)
	}

	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9") // nothing listens there
	down := instance()
	w := post(down, body, httpapi.Sign(key1, time.Now().Add(-time.Second), body))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"reason":"unavailable"`) {
		t.Errorf("POST with the table out of reach: %d %s; want 503 unavailable", w.Code, w.Body)
	}
	if n := sqstest.Count(t, sqsc, qs.URL(events.StepIntake)); n != 1 {
		t.Errorf("%d messages in intake's queue after the refused POST, want 1", n)
	}
}

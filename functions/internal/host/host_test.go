package host

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Setenv("RAPROV_SQS_QUEUE_URL_PREFIX", "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-")
	t.Setenv("RAPROV_DYNAMODB_TABLE", "raprov")
	t.Setenv("RAPROV_MAX_RECEIVE", "4")
	t.Setenv("RAPROV_LICENSE_WAIT", "2h")
	aws := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "key", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9"}
	h, err := load(env(aws), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if h.Settings.MaxReceive != 4 || h.Steps.LicenseWait != 2*time.Hour || h.AWS.Region != "eu-west-1" {
		t.Fatalf("settings %+v, steps wait %s, region %s", h.Settings, h.Steps.LicenseWait, h.AWS.Region)
	}
	if got := h.Sender.Queues().URL("intake"); got != "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-intake" {
		t.Fatalf("intake queue %s", got)
	}
	if u := endpoint(env(aws), "SQS"); u == nil || *u != "http://127.0.0.1:9" {
		t.Fatalf("SQS endpoint %v", u)
	}
	if u := endpoint(env(aws), "DYNAMODB"); u != nil {
		t.Fatalf("DynamoDB endpoint %v, want the service's own", *u)
	}
}

func TestLoadRefusesIncompleteConfiguration(t *testing.T) {
	full := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "key"}
	for _, c := range []struct {
		name, unset string
		aws         map[string]string
		want        string
	}{
		{name: "no queue prefix", unset: "RAPROV_SQS_QUEUE_URL_PREFIX", aws: full, want: "SQS_QUEUE_URL_PREFIX"},
		{name: "no table", unset: "RAPROV_DYNAMODB_TABLE", aws: full, want: "DYNAMODB_TABLE"},
		{name: "no region", aws: map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "key"}, want: "AWS_REGION"},
		{name: "no credentials", aws: map[string]string{"AWS_REGION": "eu-west-1"}, want: "AWS_ACCESS_KEY_ID"},
		{name: "unknown deprovision mode", aws: full, want: "RAPROV_DEPROVISION_MODE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("RAPROV_SQS_QUEUE_URL_PREFIX", "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-")
			t.Setenv("RAPROV_DYNAMODB_TABLE", "raprov")
			if c.want == "RAPROV_DEPROVISION_MODE" {
				t.Setenv("RAPROV_DEPROVISION_MODE", "shred")
			}
			if c.unset != "" {
				t.Setenv(c.unset, "")
			}
			_, err := load(env(c.aws), io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}

func TestRetryBackoffGrowsToACap(t *testing.T) {
	prev := time.Duration(0)
	for r := 1; r <= 20; r++ {
		d := RetryBackoff(r)
		if d < prev || d > 5*time.Minute {
			t.Fatalf("RetryBackoff(%d) = %s after %s", r, d, prev)
		}
		prev = d
	}
	if RetryBackoff(1) != 10*time.Second || RetryBackoff(20) != 5*time.Minute {
		t.Fatalf("RetryBackoff(1) = %s, (20) = %s", RetryBackoff(1), RetryBackoff(20))
	}
}

// DynamoDB keeps the retry defaults the current SDK gives it (4 attempts,
// 25 ms base) although its service module is pinned to a release that
// only had them behind a flag.
func TestDynamoDBRetryDefaults(t *testing.T) {
	var o dynamodb.Options
	dynamoDBOptions(env(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}))(&o)
	if o.Retryer == nil || o.Retryer.MaxAttempts() != 4 {
		t.Fatalf("retryer %v, want 4 attempts", o.Retryer)
	}
	if o.BaseEndpoint == nil || *o.BaseEndpoint != "http://127.0.0.1:8000" {
		t.Fatalf("endpoint %v", o.BaseEndpoint)
	}
}

package sqs_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/transport/sqs"
)

func TestQueues(t *testing.T) {
	qs, err := sqs.NewQueues("https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := qs.URL(events.StepIntake), "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-intake"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got, want := qs.DLQ(events.StepAssignLicense), "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-assign-license-dlq"; got != want {
		t.Errorf("DLQ = %q, want %q", got, want)
	}
	want := []string{"intake", "check-license", "create-account", "assign-license", "assign-number", "associate",
		"unassociate", "unassign-number", "remove-license", "remove-account", "complete", "results"}
	if diff := cmp.Diff(want, sqs.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "raprov-", "/123/raprov-", "://x"} {
		if _, err := sqs.NewQueues(bad); err == nil {
			t.Errorf("NewQueues(%q) succeeded", bad)
		}
	}
}

func TestQueuesFromEnv(t *testing.T) {
	t.Setenv(sqs.EnvQueueURLPrefix, " http://127.0.0.1:4566/000000000000/ ")
	qs, err := sqs.QueuesFromEnv()
	if err != nil || qs.URL("complete") != "http://127.0.0.1:4566/000000000000/complete" {
		t.Fatalf("QueuesFromEnv = %+v, %v", qs, err)
	}
	t.Setenv(sqs.EnvQueueURLPrefix, "")
	if _, err := sqs.QueuesFromEnv(); err == nil {
		t.Fatal("QueuesFromEnv without the variable succeeded")
	}
}

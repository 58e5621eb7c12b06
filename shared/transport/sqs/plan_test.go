package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// A dry-run invocation reaches the planner with its requests, decoded
// strictly; near misses, and any door the function does not serve, are
// ErrUnknownEvent and reach nothing.
func TestDispatchDryRun(t *testing.T) {
	var got [][]events.Request
	plan := func(_ context.Context, reqs []events.Request) (any, error) {
		got = append(got, reqs)
		return map[string]int{"plans": len(reqs)}, nil
	}
	d := sqs.DispatchDoors(noQueue(t), sqs.Doors{Plan: plan}, slog.New(slog.DiscardHandler))
	payload, _ := json.Marshal(sqs.DryRunInvocation{Raprov: sqs.DryRunKind, Requests: []events.Request{
		{RequestID: "HR-1", UserPrincipalName: "ra-1@contoso.com"}, {RequestID: "HR-2", UserPrincipalName: "ra-2@contoso.com"},
	}})
	out, err := d(context.Background(), payload)
	if err != nil || len(got) != 1 || len(got[0]) != 2 || got[0][1].RequestID != "HR-2" {
		t.Fatalf("dry run: %v, planned %+v", err, got)
	}
	if m, ok := out.(map[string]int); !ok || m["plans"] != 2 {
		t.Errorf("answered %#v, want the planner's result", out)
	}

	got = nil
	for _, p := range []string{
		`{"raprov":"dry-run"}`,
		`{"raprov":"dry-run","requests":[]}`,
		`{"raprov":"dry-run","requests":[{"requestId":"x"}],"extra":1}`,
		`{"raprov":"dry-run","requests":[{"requestId":"x","nosuchfield":1}]}`,
		`{"raprov":"dry-run","requests":"x"}`,
		sqs.ScheduledBulkScan,                                          // no scan door here
		`{"version":"2.0","requestContext":{"http":{"method":"GET"}}}`, // no URL door
	} {
		if _, err := d(context.Background(), json.RawMessage(p)); !errors.Is(err, sqs.ErrUnknownEvent) || len(got) != 0 {
			t.Errorf("%s: %v, %d plans; want ErrUnknownEvent and no plan", p, err, len(got))
		}
	}
	// Without a planner the invocation is unknown; without a queue, a batch.
	bare := sqs.DispatchDoors(nil, sqs.Doors{}, slog.New(slog.DiscardHandler))
	if _, err := bare(context.Background(), payload); !errors.Is(err, sqs.ErrUnknownEvent) {
		t.Errorf("dry run without a planner: %v", err)
	}
	if _, err := bare(context.Background(), json.RawMessage(`{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`)); !errors.Is(err, sqs.ErrUnknownEvent) {
		t.Errorf("SQS batch without a queue: %v", err)
	}
	// The planner's error is the invocation's.
	boom := errors.New("boom")
	d = sqs.DispatchDoors(noQueue(t), sqs.Doors{Plan: func(context.Context, []events.Request) (any, error) { return nil, boom }}, slog.New(slog.DiscardHandler))
	if _, err := d(context.Background(), payload); !errors.Is(err, boom) {
		t.Errorf("planner error: got %v", err)
	}
}

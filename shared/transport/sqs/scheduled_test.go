package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/raprov/raprov/shared/transport/sqs"
)

// The scheduled invocation is recognised by its exact shape, and answered by
// the scan; every near miss stays ErrUnknownEvent and reaches nothing.
func TestDispatchScheduled(t *testing.T) {
	noWeb := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the HTTP handler was called") })
	calls := 0
	scan := func(context.Context) (any, error) {
		calls++
		return map[string]int{"files": 1}, nil
	}
	d := sqs.DispatchScheduled(noQueue(t), noWeb, scan, slog.New(slog.DiscardHandler))
	for _, payload := range []string{sqs.ScheduledBulkScan, ` { "raprov" : "bulk-scan" } `, "{\"raprov\":\"bulk\\u002dscan\"}"} {
		calls = 0
		out, err := d(context.Background(), json.RawMessage(payload))
		if err != nil || calls != 1 {
			t.Fatalf("%s: %v, %d scans; want one scan", payload, err, calls)
		}
		if m, ok := out.(map[string]int); !ok || m["files"] != 1 {
			t.Errorf("%s: answered %#v, want the scan's result", payload, out)
		}
	}
	for _, payload := range []string{
		`{"raprov":"bulk-scan","x":1}`,
		`{"Raprov":"bulk-scan"}`,
		`{"RAPROV":"bulk-scan"}`,
		`{"raprov":"Bulk-Scan"}`,
		`{"raprov":"bulk-scan "}`,
		`{"raprov":["bulk-scan"]}`,
		`{"raprov":null}`,
		`{"raprov":{"bulk-scan":true}}`,
		`{"raprov":"bulk-scan","requestContext":{}}`,
		`["bulk-scan"]`,
		`"bulk-scan"`,
		`{}`,
		// EventBridge Scheduler's default for a target without Input, and
		// a scheduled rule's event.
		`{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`,
	} {
		calls = 0
		if _, err := d(context.Background(), json.RawMessage(payload)); !errors.Is(err, sqs.ErrUnknownEvent) || calls != 0 {
			t.Errorf("%s: %v, %d scans; want ErrUnknownEvent and no scan", payload, err, calls)
		}
	}
	// Without a scan (Dispatch), the scheduled payload is unknown too.
	var got []seen
	plain := sqs.Dispatch(noQueue(t), echo(&got), slog.New(slog.DiscardHandler))
	if _, err := plain(context.Background(), json.RawMessage(sqs.ScheduledBulkScan)); !errors.Is(err, sqs.ErrUnknownEvent) || len(got) != 0 {
		t.Errorf("Dispatch answered the scheduled payload: %v (%d requests)", err, len(got))
	}
	// The scan's error is the invocation's.
	boom := errors.New("boom")
	d = sqs.DispatchScheduled(noQueue(t), noWeb, func(context.Context) (any, error) { return nil, boom }, slog.New(slog.DiscardHandler))
	if _, err := d(context.Background(), json.RawMessage(sqs.ScheduledBulkScan)); !errors.Is(err, boom) {
		t.Errorf("scan error: got %v", err)
	}
}

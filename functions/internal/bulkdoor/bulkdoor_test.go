package bulkdoor_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/bulkdoor"
	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/submission"
)

var quiet = bulkdir.Options{Logger: slog.New(slog.DiscardHandler)}

// Without a bucket the scheduled invocation is refused, clearly.
func TestNoBucketRefuses(t *testing.T) {
	_, err := bulkdoor.Scanner(nil, nil, nil, quiet)(context.Background())
	if !errors.Is(err, bulkdoor.ErrNoBulkDoor) || !strings.Contains(err.Error(), "RAPROV_BULK_BUCKET") {
		t.Fatalf("got %v, want ErrNoBulkDoor naming RAPROV_BULK_BUCKET", err)
	}
}

// A pass over a store answers counts, never a row's content; a pass whose
// invocation has less than Margin left does nothing and fails.
func TestScannerSummary(t *testing.T) {
	dir := t.TempDir()
	csv := "userPrincipalName,displayName,accountType,usageLocation\n" +
		"bd-1@contoso.com,BD 1,autoAttendant,US\n" +
		"bd-2@contoso.com,BD 2,callQueue,US\n" +
		"bd-3@contoso.com,BD 3,autoAttendant,US,extra\n"
	if err := os.WriteFile(filepath.Join(dir, "batch.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := bulkdir.NewFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sent int
	sub := submission.SubmitterFunc(func(_ context.Context, _ string, reqs []events.Request) ([]submission.Submitted, error) {
		out := make([]submission.Submitted, len(reqs))
		for i, r := range reqs {
			out[i] = submission.Submitted{Outcome: submission.Sent, Event: events.Event{ID: r.RequestID}}
			sent++
		}
		return out, nil
	})
	scan := bulkdoor.Scanner(store, sub, memledger.New(), quiet)

	ctx, cancel := context.WithTimeout(context.Background(), bulkdoor.Margin/2)
	defer cancel()
	if _, err := scan(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a pass with less than Margin left: %v, want DeadlineExceeded", err)
	}

	var s bulkdoor.Summary
	for range 2 { // a folder's file is complete on its second sighting
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := scan(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		s = out.(bulkdoor.Summary)
	}
	want := bulkdoor.Summary{Files: 1, Running: 1, Rows: 3, Invalid: 1, Pending: 2, Sent: 2}
	if s != want || sent != 2 {
		t.Fatalf("summary %+v (%d sent), want %+v", s, sent, want)
	}
	b, _ := json.Marshal(s)
	for _, secret := range []string{"bd-1", "contoso", "batch.csv", "extra"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("summary %s quotes %q", b, secret)
		}
	}
}

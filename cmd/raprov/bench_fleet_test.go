package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestFleetStaysBelowTheLimit runs a crash-looping Lambda fleet against the
// throttling simulator: K instances of Share K, each replaced after 5–25 %
// of a write window. With the fix (instances start empty) the share of 429
// responses stays under half the bench's 2 % target. It asserts ratios only:
// a loaded machine makes the run slower, which only lowers the pressure on
// the quota. The window is 2 s (twice the bench's) so that the slack of the
// headroom, 10 % of a window, is 200 ms of arrival jitter.
func TestFleetStaysBelowTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions 800 accounts against the simulator")
	}
	for _, k := range []int{2, 10} {
		sc := fleetScenario{
			instances: k, startEmpty: true, accounts: 400, headroom: 0.9,
			writesPerWindow: 600, scale: 2.0 / 150, minLife: 0.05, maxLife: 0.25, handlers: 1, seed: 7,
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		r, err := runFleet(ctx, sc, slog.New(slog.DiscardHandler))
		cancel()
		if err != nil {
			t.Fatalf("K=%d: %v", k, err)
		}
		t.Logf("K=%d: %d instances, %d of %d calls answered 429, %.2f × floor", k, r.starts, r.throttled, r.calls, r.floorRatio())
		if r.writes != 2*sc.accounts {
			t.Errorf("K=%d: %d writes admitted, want 2 per account (%d)", k, r.writes, 2*sc.accounts)
		}
		if r.starts <= k {
			t.Errorf("K=%d: %d instances started: no churn", k, r.starts)
		}
		if got, limit := r.throttledShare(), targetFleetThrottledShare/2; got >= limit {
			t.Errorf("K=%d: %.2f %% of calls answered 429, want under %.1f %%", k, got*100, limit*100)
		}
	}
}

func TestFleetTableVerdicts(t *testing.T) {
	fix := fleetScenario{instances: 5, startEmpty: true, writesPerWindow: 600, scale: 1.0 / 150}
	before := fix
	before.startEmpty = false
	tests := []struct {
		name   string
		result fleetResult
		want   string // the row's last column
		ok     bool
	}{
		{"fix under the target", fleetResult{scenario: fix, calls: 2000, throttled: 39, writes: 2000, wall: 3700 * time.Millisecond}, "PASS", true},
		{"fix at the target", fleetResult{scenario: fix, calls: 2000, throttled: 40, writes: 2000, wall: 3700 * time.Millisecond}, "FAIL", false},
		{"fix without calls", fleetResult{scenario: fix}, "FAIL", false},
		{"before has no target", fleetResult{scenario: before, calls: 2000, throttled: 300, writes: 2000, wall: 3300 * time.Millisecond}, "info", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := printFleetTable(&out, []fleetResult{tt.result}); got != tt.ok {
				t.Errorf("printFleetTable = %v, want %v", got, tt.ok)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if fields := strings.Fields(lines[len(lines)-1]); fields[len(fields)-1] != tt.want {
				t.Errorf("row %q, want verdict %s", lines[len(lines)-1], tt.want)
			}
		})
	}
	// The floor is the quota's time for the writes: 2,000 writes at 600
	// per 1 s window take 3⅓ s.
	r := fleetResult{scenario: fix, writes: 2000, wall: 4 * time.Second}
	if got := r.floorRatio(); got < 1.19 || got > 1.21 {
		t.Errorf("floor ratio = %.3f, want 1.2", got)
	}
}

// A small fleet section end to end: every scenario runs and the table has
// a row for each.
func TestBenchFleetSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs seven fleets against the simulator")
	}
	var out bytes.Buffer
	f := benchFlags{requests: 30, headroom: 0.9, timeout: time.Minute}
	results, err := benchFleet(context.Background(), f, slog.New(slog.DiscardHandler), &out)
	if err != nil {
		t.Fatalf("benchFleet: %v\n%s", err, out.String())
	}
	printFleetTable(&out, results)
	table := out.String()
	for _, want := range []string{
		"fleet: 30 accounts", "K=2, Share 2", "K=10, Share 10", "K=5, Share none",
		"full (before)", "empty (fix)", "full (no share)", "of 60 calls",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("output lacks %q:\n%s", want, table)
		}
	}
}

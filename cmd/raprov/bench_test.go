package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// Every generated request passes intake's validation unchanged, with a
// number of its own that the default seed does not hold.
func TestBenchRequestsAreValidAndDistinct(t *testing.T) {
	const n = 2500 // more than the 555-01XX lines of all US area codes
	reqs, err := benchRequests(n)
	if err != nil {
		t.Fatal(err)
	}
	seeded := map[string]bool{}
	for _, num := range teamssim.DefaultSeed().Numbers {
		seeded[num.TelephoneNumber] = true
	}
	domains := graphsim.DefaultSeed().VerifiedDomains
	numbers, upns := map[string]bool{}, map[string]bool{}
	types := map[string]int{}
	for i, r := range reqs {
		got, errs := validate.Normalize(r, validate.Options{VerifiedDomains: domains})
		if len(errs) > 0 {
			t.Fatalf("request %d %+v: %v", i, r, errs)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Fatalf("request %d is not normalised (-generated +normalised):\n%s", i, diff)
		}
		if numbers[r.PhoneNumber] || seeded[r.PhoneNumber] {
			t.Fatalf("request %d: number %s used twice or seeded", i, r.PhoneNumber)
		}
		if upns[r.UserPrincipalName] {
			t.Fatalf("request %d: UPN %s used twice", i, r.UserPrincipalName)
		}
		if benchConfigurations[r.AccountType] != r.AssociateWith {
			t.Fatalf("request %d: a %s associated with %s", i, r.AccountType, r.AssociateWith)
		}
		numbers[r.PhoneNumber], upns[r.UserPrincipalName] = true, true
		types[r.AccountType]++
	}
	if types[events.AccountTypeAutoAttendant] != n/2 || types[events.AccountTypeCallQueue] != n/2 {
		t.Errorf("account types %v, want an even mix", types)
	}
}

func TestSumCounts(t *testing.T) {
	counts := map[string]graphsim.EndpointCount{
		"POST /{tenant}/oauth2/v2.0/token":    {Total: 2},
		"GET /v1.0/subscribedSkus":            {Total: 10, Reads: 10},
		"GET /v1.0/users":                     {Total: 12, Reads: 12, Throttled: 2},
		"POST /v1.0/users":                    {Total: 11, Writes: 11, Throttled: 1},
		"POST /v1.0/users/{id}/assignLicense": {Total: 10, Writes: 10},
		"GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments":               {Total: 10, Reads: 10},
		"POST /v1.0/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber": {Total: 10, Writes: 10},
		"POST /Teams.PlatformService/v2/ApplicationInstances":                             {Total: 10, Writes: 10},
	}
	want := callCounts{total: 75, throttled: 3, identityReads: 20, identityWrites: 20}
	if got := sumCounts(counts); got != want {
		t.Errorf("sumCounts = %+v, want %+v", got, want)
	}
}

func TestWriteFloor(t *testing.T) {
	tests := []struct {
		writes int
		scale  float64
		want   time.Duration
	}{
		{3000, 1, 150 * time.Second}, // one quota: one window
		{2000, 1, 100 * time.Second}, // 20 writes per second
		{2000, 0.1, 10 * time.Second},
		{2000, 0.01, time.Second},
		{0, 0.1, 0},
	}
	for _, tt := range tests {
		if got := writeFloor(tt.writes, tt.scale); got != tt.want {
			t.Errorf("writeFloor(%d, %g) = %v, want %v", tt.writes, tt.scale, got, tt.want)
		}
	}
}

func TestBenchTableVerdicts(t *testing.T) {
	good := func() (runResult, runResult, *runResult) {
		un := runResult{requests: 1000, completed: 1000, wall: 1600 * time.Millisecond, calls: callCounts{total: 12000, identityWrites: 2000}}
		th := runResult{requests: 1000, completed: 1000, wall: 21 * time.Second,
			calls: callCounts{total: 12010, throttled: 10, identityReads: 2000, identityWrites: 2000}}
		seq := runResult{requests: 100, completed: 100, wall: 2 * time.Second}
		return un, th, &seq
	}
	results := func(rows []benchRow) []string {
		var out []string
		for _, r := range rows {
			switch {
			case r.pass == nil:
				out = append(out, "info")
			case *r.pass:
				out = append(out, "PASS")
			default:
				out = append(out, "FAIL")
			}
		}
		return out
	}
	tests := []struct {
		name   string
		modify func(un, th, seq *runResult)
		want   []string
	}{
		{"all met", func(un, th, seq *runResult) {}, []string{"PASS", "PASS", "PASS", "PASS", "PASS", "info", "info"}},
		{"slow chain", func(un, th, seq *runResult) { un.wall = 2500 * time.Millisecond },
			[]string{"PASS", "FAIL", "PASS", "PASS", "PASS", "info", "info"}},
		{"slow pacing", func(un, th, seq *runResult) { th.wall = 23 * time.Second }, // floor 20 s at scale 0.2
			[]string{"PASS", "PASS", "FAIL", "PASS", "PASS", "info", "info"}},
		{"redundant writes", func(un, th, seq *runResult) { th.calls.identityWrites = 2300 },
			[]string{"PASS", "PASS", "PASS", "FAIL", "PASS", "info", "info"}},
		{"many 429s", func(un, th, seq *runResult) { th.calls.throttled = 300 },
			[]string{"PASS", "PASS", "PASS", "PASS", "FAIL", "info", "info"}},
		{"failed requests", func(un, th, seq *runResult) {
			th.completed, th.failures = 999, map[string]int{"no_license": 1}
			seq.completed, seq.failures = 99, map[string]int{"number_in_use": 1}
		}, []string{"FAIL", "PASS", "PASS", "PASS", "PASS", "FAIL", "info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			un, th, seq := good()
			tt.modify(&un, &th, seq)
			rows := benchTable(0.2, un, th, seq, 100<<10)
			if diff := cmp.Diff(tt.want, results(rows)); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			var out bytes.Buffer
			allMet := printBenchTable(&out, rows)
			if wantMet := !strings.Contains(strings.Join(tt.want, " "), "FAIL"); allMet != wantMet {
				t.Errorf("printBenchTable = %v, want %v", allMet, wantMet)
			}
		})
	}
}

// A small run end to end: every request completes, the simulator counts two
// identity writes per account and the table has every row.
func TestRunBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the chain three times")
	}
	var out bytes.Buffer
	f := benchFlags{requests: 20, repeat: 2, sequential: 3, scale: 0.01, headroom: 0.9, concurrency: 4, db: t.TempDir(), timeout: time.Minute}
	err := runBench(context.Background(), f, &out)
	var ec exitCode
	if err != nil && !errors.As(err, &ec) { // missed targets are expected at this size
		t.Fatalf("runBench: %v\n%s", err, out.String())
	}
	table := out.String()
	for _, want := range []string{
		"unthrottled 20 of 20; throttled 20 of 20", "median of 2 runs",
		"2.00 writes, 0.05 reads", // one subscribedSkus read for 20 accounts
		"1. unthrottled throughput", "2. throttled wall time ÷ write floor", "4. 429 responses (throttled)",
		"5. sequential baseline, one at a time", "3 of 3 in", "peak RSS",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("output lacks %q:\n%s", want, table)
		}
	}
}

func TestMedian(t *testing.T) {
	run := func(completed int, wall time.Duration) runResult {
		return runResult{requests: completed, completed: completed, wall: wall}
	}
	runs := []runResult{run(1000, 2*time.Second), run(1000, time.Second), run(1000, 4*time.Second)}
	m := median(runs)
	if m.perSecond() != 500 || !slices.Equal(m.rates, []float64{500, 1000, 250}) {
		t.Errorf("median = %.0f/s with rates %v, want 500/s and every run's rate in run order", m.perSecond(), m.rates)
	}
	// An even count takes the lower middle: never the better of two.
	if m := median(runs[:2]); m.perSecond() != 500 {
		t.Errorf("median of two = %.0f/s, want the lower, 500/s", m.perSecond())
	}
	if m := median(runs[:1]); m.rates != nil || m.perSecond() != 500 {
		t.Errorf("median of one = %+v", m)
	}
	// A run that lost requests is reported, and fails the completion row,
	// even when it is not the median.
	short := run(1000, time.Second)
	short.completed, short.failures = 998, map[string]int{"retries_exhausted": 2}
	m = median([]runResult{run(1000, 2*time.Second), short, run(1000, 4*time.Second)})
	if len(m.incomplete) != 1 || !strings.Contains(m.incomplete[0], "998 of 1000") {
		t.Fatalf("incomplete = %q, want the short run", m.incomplete)
	}
	th := run(1000, 20*time.Second)
	if rows := benchTable(0.2, m, th, nil, 0); rows[0].pass == nil || *rows[0].pass || !strings.Contains(rows[0].measured, "another unthrottled run 998 of 1000") {
		t.Errorf("completion row = %+v, want FAIL naming the short run", rows[0])
	}
}

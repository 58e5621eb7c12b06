package main

// Issue 10, "done when": a 200-row file dropped in raprov serve's bulk
// folder runs through the real chain (the embedded default, the Graph
// adapters, the simulator): its 190 good rows complete, its 10 bad rows
// are reported with their lines and reasons, the file moves to processed/
// beside its report, and dropping it again changes nothing in the tenant.

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/door/bulkdir"
)

// bulkRow is one row of the generated file and what it must end as.
type bulkRow struct {
	upn, displayName, accountType, usageLocation, phone, action string
	raw                                                         string // the whole line, for a row that is not written field by field
	// outcome is completed, failed or invalid; reason is a prefix of the
	// report's reason of a bad row (failed: the reason code).
	outcome, reason string
}

// bulk200 returns the 200 rows: 190 good ones (auto attendants and call
// queues, every other one with a number, some with action provision
// written out) and 10 bad ones of different kinds, caught by the file
// parser (invalid) or by the chain before anything is written (failed).
func bulk200(numbers []string) []bulkRow {
	var rows []bulkRow
	good := func(i int) bulkRow {
		r := bulkRow{upn: fmt.Sprintf("ra-bulk-%03d@contoso.com", i), displayName: fmt.Sprintf("Bulk line %d", i),
			accountType: []string{"AA", "CallQueue"}[i%2], usageLocation: "US", outcome: "completed"}
		if i%2 == 0 {
			r.phone = numbers[i]
		}
		if i%7 == 0 {
			r.action = "provision"
		}
		return r
	}
	bad := map[int]bulkRow{
		10:  {upn: "not-an-upn", displayName: "Bad UPN", accountType: "AA", usageLocation: "US", outcome: "failed", reason: "invalid_request: "},
		30:  {upn: "ra-bad-type@contoso.com", displayName: "Bad type", accountType: "Receptionist", usageLocation: "US", outcome: "failed", reason: "invalid_request: "},
		50:  {upn: "ra-bad-country@contoso.com", displayName: "Bad country", accountType: "AA", usageLocation: "XX", outcome: "failed", reason: "invalid_request: "},
		70:  {upn: "ra-bad-phone@contoso.com", displayName: "Bad phone", accountType: "AA", usageLocation: "US", phone: "+1 555 12", outcome: "failed", reason: "invalid_request: "},
		90:  {upn: "ra-bulk-002@contoso.com", displayName: "Same UPN as line 3", accountType: "AA", usageLocation: "US", outcome: "invalid", reason: `userPrincipalName "ra-bulk-002@contoso.com" is already requested on line 3`},
		110: {upn: "ra-dup-number@contoso.com", displayName: "Same number as line 5", accountType: "AA", usageLocation: "US", phone: numbers[4], outcome: "invalid", reason: fmt.Sprintf("phoneNumber %q is already requested on line 5", numbers[4])},
		130: {upn: "ra-bad-domain@fabrikam.com", displayName: "Unverified domain", accountType: "AA", usageLocation: "US", outcome: "failed", reason: "domain_not_verified: "},
		150: {upn: "ra-no-such-number@contoso.com", displayName: "Number not in the inventory", accountType: "AA", usageLocation: "US", phone: "+12065550199", outcome: "failed", reason: "number_not_found: "},
		170: {upn: "ra-bad-action@contoso.com", displayName: "Bad action", accountType: "AA", usageLocation: "US", action: "remove", outcome: "invalid", reason: `action "remove" must be provision (or empty) or deprovision`},
		190: {raw: "ra-extra@contoso.com,Extra field,AA,US,,,surplus", outcome: "invalid", reason: "the row has 7 fields; the header has 6"},
	}
	n := 1 // ra-bulk-001 is on line 2
	for i := 1; i <= 200; i++ {
		if b, ok := bad[i]; ok {
			rows = append(rows, b)
			continue
		}
		rows = append(rows, good(n))
		n++
	}
	return rows
}

func bulkCSV(rows []bulkRow) string {
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName,applicationType,usageLocation,phoneNumber,action\r\n")
	for _, r := range rows {
		if r.raw != "" {
			b.WriteString(r.raw + "\r\n")
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s\r\n", r.upn, r.displayName, r.accountType, r.usageLocation, r.phone, r.action)
	}
	return b.String()
}

// dropFile writes content to dir/name as a writer should: through a
// dotfile renamed into place, so the watcher never sees half of it.
func dropFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// awaitReport waits for a file moved to dir/processed beside its report,
// other than those in seen, and returns the report's path. (The watcher
// writes the report through a dotfile, then moves the file.)
func awaitReport(t *testing.T, dir string, seen map[string]bool, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, bulkdir.ProcessedDir, "*.report.csv"))
		for _, m := range matches {
			if seen[m] || strings.HasPrefix(filepath.Base(m), ".") {
				continue
			}
			if _, err := os.Stat(strings.TrimSuffix(m, ".report.csv")); err == nil {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no new report in %s after %s", filepath.Join(dir, bulkdir.ProcessedDir), within)
	return ""
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// bulkNumbers returns n free US Calling Plan service numbers that are not
// in the default seed: 555-01XX lines, reserved for fiction (line 0199 is
// left out: +12065550199 is the file's number that is not in the
// inventory).
func bulkNumbers(t *testing.T, n int) []string {
	t.Helper()
	seeded := map[string]bool{}
	for _, num := range teamssim.DefaultSeed().Numbers {
		seeded[num.TelephoneNumber] = true
	}
	var out []string
	for _, area := range []int{206, 212, 312, 415, 512} {
		for line := 100; line <= 198 && len(out) < n; line++ {
			if tel := fmt.Sprintf("+1%d555%04d", area, line); !seeded[tel] {
				out = append(out, tel)
			}
		}
	}
	if len(out) < n {
		t.Fatalf("%d numbers, want %d", len(out), n)
	}
	return out
}

// bulkSeed is the default tenant with 400 resource-account licenses and
// numbers in its inventory, free for auto attendants and call queues.
func bulkSeed(numbers []string) graphsim.Seed {
	seed := graphsim.DefaultSeed()
	seed.SetFreeUnits(graphsim.VirtualUserSkuPartNumber, 400)
	var template teamssim.Number
	for _, n := range seed.Teams.Numbers {
		if n.NumberType == teamssim.NumberTypeCallingPlan && n.HasCapability(teamssim.CapabilityVoiceApplicationAssignment) {
			template = n
			break
		}
	}
	for _, tel := range numbers {
		n := template
		n.ID, n.TelephoneNumber, n.IsoCountryCode, n.City = "", tel, "US", ""
		n.AssignmentStatus, n.AssignmentTargetID, n.AssignmentCategory = "", "", ""
		n.Capabilities = []string{teamssim.CapabilityConferenceAssignment, teamssim.CapabilityVoiceApplicationAssignment}
		seed.Teams.Numbers = append(seed.Teams.Numbers, n)
	}
	return seed
}

func TestBulk200(t *testing.T) {
	clearAdapterEnv(t)
	numbers := bulkNumbers(t, 200)
	// A tenant of its own, so that this test's budget (time scale 0.05:
	// Graph's windows 20 times shorter, as the simulator's) is not one an
	// earlier test of the process made.
	tenant := uuid.NewString()
	sim, ca := startSim(t, graphsim.Config{TenantID: tenant, Seed: bulkSeed(numbers),
		Knobs: graphsim.Knobs{TimeScale: 0.05, OperationStepDelay: 20 * time.Millisecond}})
	setenv(t, map[string]string{
		"RAPROV_GRAPH_TENANT_ID":  tenant,
		"RAPROV_GRAPH_TIME_SCALE": "0.05",
		"RAPROV_VERIFIED_DOMAINS": strings.Join(sim.Server.State().VerifiedDomains, ","),
	})
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.MkdirAll(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	startServe(t, dir, "bulk-200-key-0123456789abcdef012345",
		"--graph-url", sim.URL, "--graph-ca", ca, "--watch", drop, "--watch-interval", "100ms")

	rows := bulk200(numbers)
	content := bulkCSV(rows)
	usersBefore := len(sim.Server.State().Users)
	start := time.Now()
	dropFile(t, drop, "requests.csv", content)
	first := awaitReport(t, drop, nil, 2*time.Minute)
	t.Logf("first drop processed in %s", time.Since(start).Round(time.Millisecond))

	// The file is in processed/ beside its report, as dropped.
	if filepath.Base(first) != "requests.csv.report.csv" {
		t.Errorf("report %s, want processed/requests.csv.report.csv", first)
	}
	if got, err := os.ReadFile(filepath.Join(drop, bulkdir.ProcessedDir, "requests.csv")); err != nil || string(got) != content {
		t.Errorf("processed/requests.csv is not the file dropped (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(drop, "requests.csv")); !os.IsNotExist(err) {
		t.Errorf("requests.csv is still in the folder: %v", err)
	}

	// Every row, by its line: 190 completed, the 10 bad ones with their reasons.
	recs := readCSV(t, first)
	if len(recs) != 201 || strings.Join(recs[0], ",") != strings.Join(bulkdir.ReportHeader, ",") {
		t.Fatalf("report has %d lines, header %v; want 200 rows under %v", len(recs)-1, recs[0], bulkdir.ReportHeader)
	}
	completed := 0
	for i, rec := range recs[1:] {
		r, line := rows[i], strconv.Itoa(i+2)
		col := func(name string) string {
			for j, h := range recs[0] {
				if h == name {
					return rec[j]
				}
			}
			return ""
		}
		if col("row") != line {
			t.Errorf("report line %d is for row %s, want %s", i+1, col("row"), line)
			continue
		}
		switch {
		case col("outcome") != r.outcome:
			t.Errorf("line %s (%s): %s %q, want %s %q", line, r.upn, col("outcome"), col("reason"), r.outcome, r.reason)
		case r.outcome == "completed":
			completed++
			if want := bulkdir.RowID("requests.csv", events.Request{UserPrincipalName: r.upn}); col("requestId") != want || col("action") != "provision" ||
				col("account") != r.upn || col("number") != r.phone {
				t.Errorf("line %s: %v, want id %s, action provision, account %s, number %q", line, rec, want, r.upn, r.phone)
			}
		case !strings.HasPrefix(col("reason"), r.reason):
			t.Errorf("line %s: reason %q, want it to start with %q", line, col("reason"), r.reason)
		}
	}
	if completed != 190 {
		t.Errorf("%d rows completed, want 190", completed)
	}

	// The tenant holds the 190 accounts, each with its number.
	st := sim.Server.State()
	if got := len(st.Users) - usersBefore; got != 190 {
		t.Errorf("%d users created, want 190", got)
	}
	for _, r := range rows {
		if r.outcome != "completed" {
			continue
		}
		users := usersWithUPN(st, r.upn)
		if len(users) != 1 {
			t.Errorf("%s: %d users, want 1", r.upn, len(users))
			continue
		}
		held := numbersHeldBy(st, users[0].ID)
		if (r.phone == "") != (len(held) == 0) || (r.phone != "" && held[0].TelephoneNumber != r.phone) {
			t.Errorf("%s holds %+v, want %q", r.upn, held, r.phone)
		}
	}

	// The same file again, under the same name: every row is the request it
	// was, so nothing is written and no account is added; it moves to
	// processed/ under a timestamped name with the same outcomes.
	logged := len(sim.Server.Requests())
	usersAfter := len(st.Users)
	dropFile(t, drop, "requests.csv", content)
	second := awaitReport(t, drop, map[string]bool{first: true}, time.Minute)
	if !strings.HasPrefix(filepath.Base(second), "requests.") || filepath.Base(second) == filepath.Base(first) {
		t.Errorf("second report %s, want a timestamped name", second)
	}
	again := readCSV(t, second)
	if len(again) != len(recs) {
		t.Fatalf("second report has %d lines, the first %d", len(again), len(recs))
	}
	for i := range recs {
		if strings.Join(again[i], ",") != strings.Join(recs[i], ",") {
			t.Errorf("second report line %d: %v, first: %v", i, again[i], recs[i])
		}
	}
	time.Sleep(500 * time.Millisecond) // anything the second drop set off would show by now
	if w := writesSince(sim, logged); len(w) > 0 {
		for _, rec := range w[:min(len(w), 10)] {
			t.Errorf("written after the second drop: %s %s (%d)", rec.Method, rec.Path, rec.Status)
		}
	}
	if n := len(sim.Server.State().Users); n != usersAfter {
		t.Errorf("%d users after the second drop, %d before", n, usersAfter)
	}
	var reads int
	for _, rec := range sim.Server.Requests()[logged:] {
		if rec.Method == http.MethodGet {
			reads++
		}
	}
	t.Logf("second drop: %d reads, no writes", reads)
}

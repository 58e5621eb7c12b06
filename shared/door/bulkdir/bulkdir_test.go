package bulkdir_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/door/bulkdir/bulkdirtest"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

type fixture struct {
	dir    string
	sub    *bulkdirtest.Submitter
	ledger *memledger.Ledger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{dir: t.TempDir(), sub: &bulkdirtest.Submitter{}, ledger: memledger.New()}
}

func (f *fixture) watcher(t *testing.T, mod ...func(*bulkdir.Options)) *bulkdir.Watcher {
	t.Helper()
	opts := bulkdir.Options{
		Dir: f.dir, Submitter: f.sub, Ledger: f.ledger,
		Now:    func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mod {
		m(&opts)
	}
	w, err := bulkdir.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// end records the end of a request in the ledger, as the complete step would.
func (f *fixture) end(t *testing.T, id string, o ledger.Outcome, reason string) {
	t.Helper()
	err := f.ledger.Record(context.Background(), ledger.Entry{
		EventID: "end-" + id, RequestID: id, Type: "raprov.provisioning." + string(o) + ".v1",
		Step: "complete", Outcome: o, Reason: reason,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustScan(t *testing.T, w *bulkdir.Watcher) bulkdir.Report {
	t.Helper()
	rep, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Err != nil {
			t.Fatalf("%s: %v", f.Name, f.Err)
		}
	}
	return rep
}

// only returns the report of the one file a pass saw.
func only(t *testing.T, rep bulkdir.Report) bulkdir.FileReport {
	t.Helper()
	if len(rep.Files) != 1 {
		t.Fatalf("pass saw %d files, want 1: %+v", len(rep.Files), rep.Files)
	}
	return rep.Files[0]
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readReport(t *testing.T, path string) [][]string {
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

func upn(i int) string { return fmt.Sprintf("ra-%03d@contoso.com", i) }

// csv200 returns a CSV of 200 rows, every 20th of which (10 rows) has a
// field too many, and the lines of the bad rows.
func csv200() (string, []int) {
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName,accountType,usageLocation,phoneNumber\r\n")
	var bad []int
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "%s,Account %d,AA,US,+1425555%04d", upn(i), i, i)
		if i%20 == 0 {
			b.WriteString(",extra")
			bad = append(bad, i+1)
		}
		b.WriteString("\r\n")
	}
	return b.String(), bad
}

func TestBulkCSV(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	content, badLines := csv200()
	writeFile(t, filepath.Join(f.dir, "batch.csv"), content)

	if fr := only(t, mustScan(t, w)); fr.Status != bulkdir.Waiting || f.sub.Calls() != 0 {
		t.Fatalf("first sight: %+v, %d submissions; want waiting, none", fr, f.sub.Calls())
	}
	fr := only(t, mustScan(t, w))
	want := bulkdir.FileReport{Name: "batch.csv", Status: bulkdir.Running, Rows: 200, Invalid: 10, Pending: 190, Sent: 190}
	if d := cmp.Diff(want, fr); d != "" {
		t.Fatalf("second pass (-want +got):\n%s", d)
	}
	var wantIDs []string
	for i := 1; i <= 200; i++ {
		if i%20 != 0 {
			wantIDs = append(wantIDs, bulkdir.RowID("batch.csv", events.Request{UserPrincipalName: upn(i)}))
		}
	}
	if d := cmp.Diff(wantIDs, f.sub.SentIDs()); d != "" {
		t.Fatalf("ids sent (-want +got):\n%s", d)
	}

	// Passes before the requests end submit nothing.
	calls := f.sub.Calls()
	fr = only(t, mustScan(t, w))
	if fr.Status != bulkdir.Running || fr.Sent+fr.Duplicate != 0 || f.sub.Calls() != calls {
		t.Fatalf("third pass: %+v, %d submit calls (was %d)", fr, f.sub.Calls(), calls)
	}

	// Every request ends: 185 completed, 5 failed.
	for i, id := range wantIDs {
		if i%38 == 0 {
			f.end(t, id, ledger.Failed, "no_license")
		} else {
			f.end(t, id, ledger.Completed, "")
		}
	}
	fr = only(t, mustScan(t, w))
	if fr.Status != bulkdir.Processed || fr.Completed != 185 || fr.Failed != 5 || fr.Invalid != 10 {
		t.Fatalf("final pass: %+v", fr)
	}
	if fr.MovedTo != "processed/batch.csv" || fr.ReportPath != "processed/batch.csv.report.csv" {
		t.Fatalf("moved to %q, report %q", fr.MovedTo, fr.ReportPath)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "batch.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("batch.csv still in the folder: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(f.dir, "processed", "batch.csv")); string(got) != content {
		t.Fatal("processed/batch.csv is not the file dropped")
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".raprov", "batch.csv.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file left: %v", err)
	}

	recs := readReport(t, filepath.Join(f.dir, "processed", "batch.csv.report.csv"))
	if d := cmp.Diff(bulkdir.ReportHeader, recs[0]); d != "" {
		t.Fatalf("header (-want +got):\n%s", d)
	}
	if len(recs) != 201 {
		t.Fatalf("report has %d rows, want 200", len(recs)-1)
	}
	bad := map[int]bool{}
	for _, l := range badLines {
		bad[l] = true
	}
	k := 0
	for i, rec := range recs[1:] {
		n := i + 1 // data row number; its line is n+1
		line := strconv.Itoa(n + 1)
		if bad[n+1] {
			want := []string{line, "", "invalid", "the row has 6 fields; the header has 5 (quote fields that contain ',')", "", "", ""}
			if d := cmp.Diff(want, rec); d != "" {
				t.Errorf("line %s (-want +got):\n%s", line, d)
			}
			continue
		}
		outcome, reason := "completed", ""
		if k%38 == 0 {
			outcome, reason = "failed", "no_license"
		}
		want := []string{line, wantIDs[k], outcome, reason, upn(n), fmt.Sprintf("+1425555%04d", n), "provision"}
		if d := cmp.Diff(want, rec); d != "" {
			t.Errorf("line %s (-want +got):\n%s", line, d)
		}
		k++
	}

	// The same file dropped again creates nothing: every row is a
	// Duplicate of a request that has ended, so it is processed at once,
	// under a timestamped name.
	writeFile(t, filepath.Join(f.dir, "batch.csv"), content)
	mustScan(t, w)
	fr = only(t, mustScan(t, w))
	if fr.Status != bulkdir.Processed || fr.Sent != 0 || fr.Duplicate != 190 {
		t.Fatalf("same file again: %+v", fr)
	}
	if fr.MovedTo != "processed/batch.20260304T050607Z.csv" {
		t.Fatalf("moved to %q", fr.MovedTo)
	}
	if d := cmp.Diff(recs, readReport(t, filepath.Join(f.dir, fr.ReportPath))); d != "" {
		t.Fatalf("second report differs (-first +second):\n%s", d)
	}
	if n := len(f.sub.SentIDs()); n != 190 {
		t.Fatalf("%d requests sent in all, want 190", n)
	}
}

func TestRescanBeforeCompletion(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	path := filepath.Join(f.dir, "a.csv")
	content := "UPN,DisplayName,ApplicationType,UsageLocation\n" + upn(1) + ",One,CQ,DE\n" + upn(2) + ",Two,CQ,DE\n"
	writeFile(t, path, content)
	mustScan(t, w)
	if fr := only(t, mustScan(t, w)); fr.Sent != 2 {
		t.Fatalf("%+v", fr)
	}

	t.Run("touched, same content", func(t *testing.T) {
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(path, later, later); err != nil {
			t.Fatal(err)
		}
		mustScan(t, w)
		calls := f.sub.Calls()
		fr := only(t, mustScan(t, w))
		if fr.Status != bulkdir.Running || fr.Sent+fr.Duplicate != 0 || f.sub.Calls() != calls {
			t.Fatalf("%+v; submit calls %d → %d", fr, calls, f.sub.Calls())
		}
	})
	t.Run("state lost", func(t *testing.T) {
		// As after a crash between a submission and its state write.
		if err := os.Remove(filepath.Join(f.dir, ".raprov", "a.csv.json")); err != nil {
			t.Fatal(err)
		}
		w := f.watcher(t)
		mustScan(t, w)
		fr := only(t, mustScan(t, w))
		if fr.Sent != 0 || fr.Duplicate != 2 || fr.Pending != 2 {
			t.Fatalf("%+v", fr)
		}
	})
	t.Run("replaced with an edited row", func(t *testing.T) {
		writeFile(t, path, strings.Replace(content, "Two", "Zwei", 1)+upn(3)+",Three,CQ,DE\n")
		mustScan(t, w)
		fr := only(t, mustScan(t, w))
		if fr.Sent != 1 || fr.Duplicate != 1 || fr.Conflict != 1 || fr.Pending != 2 || fr.Failed != 1 {
			t.Fatalf("%+v", fr)
		}
	})
	if n := len(f.sub.SentIDs()); n != 3 {
		t.Fatalf("%d requests sent in all, want 3", n)
	}
	for _, i := range []int{1, 3} {
		f.end(t, bulkdir.RowID("a.csv", events.Request{UserPrincipalName: upn(i)}), ledger.Completed, "")
	}
	fr := only(t, mustScan(t, w))
	if fr.Status != bulkdir.Processed {
		t.Fatalf("%+v", fr)
	}
	recs := readReport(t, filepath.Join(f.dir, fr.ReportPath))
	if got := recs[2][2]; got != "duplicate-conflict" || !strings.HasPrefix(recs[2][3], "request_conflict: ") {
		t.Fatalf("edited row reported as %q", recs[2])
	}
}

func TestHalfWrittenFileWaits(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	path := filepath.Join(f.dir, "slow.csv")
	head := "userPrincipalName,displayName,accountType,usageLocation\n" + upn(1) + ",One,AA,US\n" + upn(2) + ",Tw"
	writeFile(t, path, head)
	if fr := only(t, mustScan(t, w)); fr.Status != bulkdir.Waiting {
		t.Fatalf("%+v", fr)
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString("o,AA,US\n" + upn(3) + ",Three,AA,US\n"); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if fr := only(t, mustScan(t, w)); fr.Status != bulkdir.Waiting || f.sub.Calls() != 0 {
		t.Fatalf("read while written: %+v", fr)
	}
	fr := only(t, mustScan(t, w))
	if fr.Sent != 3 || fr.Invalid != 0 {
		t.Fatalf("%+v", fr)
	}
	if got := f.sub.Sent()[1].DisplayName; got != "Two" {
		t.Fatalf("row 2 read as %q", got)
	}
}

func TestRestart(t *testing.T) {
	f := newFixture(t)
	content, _ := csv200()
	writeFile(t, filepath.Join(f.dir, "batch.csv"), content)
	w := f.watcher(t)
	mustScan(t, w)
	f.sub.FailNext(errors.New("queue unavailable"))
	rep, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fr := only(t, rep); fr.Err == nil || fr.Pending != 190 || len(f.sub.Sent()) != 0 {
		t.Fatalf("failed submission: %+v", fr)
	}

	// A new watcher (a restarted process) submits the rows under the ids
	// kept in the state, without waiting for the file to be stable again.
	w = f.watcher(t)
	fr := only(t, mustScan(t, w))
	if fr.Sent != 190 {
		t.Fatalf("after restart: %+v", fr)
	}
	ids := f.sub.SentIDs()
	w = f.watcher(t)
	if fr := only(t, mustScan(t, w)); fr.Sent+fr.Duplicate != 0 || fr.Pending != 190 {
		t.Fatalf("second restart: %+v", fr)
	}
	for _, id := range ids {
		f.end(t, id, ledger.Completed, "")
	}
	if fr := only(t, mustScan(t, f.watcher(t))); fr.Status != bulkdir.Processed || fr.Completed != 190 {
		t.Fatalf("third restart: %+v", fr)
	}
	if n := len(f.sub.SentIDs()); n != 190 {
		t.Fatalf("%d sent in all", n)
	}
}

func TestIgnored(t *testing.T) {
	f := newFixture(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	body := "userPrincipalName,displayName,accountType,usageLocation\n" + upn(1) + ",One,AA,US\n"
	writeFile(t, secret, body)
	if err := os.Symlink(secret, filepath.Join(f.dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(f.dir, "linkdir.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(f.dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.dir, "sub", "nested.csv"), body)
	writeFile(t, filepath.Join(f.dir, ".partial.csv"), body)
	writeFile(t, filepath.Join(f.dir, "notes.txt"), body)
	w := f.watcher(t)
	for range 3 {
		if rep := mustScan(t, w); len(rep.Files) != 0 {
			t.Fatalf("pass saw %+v", rep.Files)
		}
	}
	if f.sub.Calls() != 0 {
		t.Fatal("something was submitted")
	}
	if got, _ := os.ReadFile(secret); string(got) != body {
		t.Fatal("the file outside was changed")
	}
	if _, err := os.Lstat(filepath.Join(f.dir, "link.csv")); err != nil {
		t.Fatal("the link was moved")
	}
}

func TestJSONLines(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	content := `{"userPrincipalName":"` + upn(1) + `","displayName":"One","accountType":"AA","usageLocation":"US","phoneNumber":"+14255550101"}
{"requestId":"INC0012345","userPrincipalName":"` + upn(2) + `","displayName":"Two","accountType":"CQ","usageLocation":"US"}
{"userPrincipalName": 7}
{"displayName":"No UPN","accountType":"AA","usageLocation":"US"}
`
	writeFile(t, filepath.Join(f.dir, "hr.NDJSON"), content)
	mustScan(t, w)
	fr := only(t, mustScan(t, w))
	if fr.Sent != 2 || fr.Invalid != 2 {
		t.Fatalf("%+v", fr)
	}
	id1 := bulkdir.RowID("hr.NDJSON", events.Request{UserPrincipalName: upn(1)})
	if d := cmp.Diff([]string{id1, "INC0012345"}, f.sub.SentIDs()); d != "" {
		t.Fatalf("ids (-want +got):\n%s", d)
	}
	f.end(t, id1, ledger.Completed, "")
	f.end(t, "INC0012345", ledger.Failed, "upn_conflict")
	fr = only(t, mustScan(t, w))
	if fr.Status != bulkdir.Processed {
		t.Fatalf("%+v", fr)
	}
	want := [][]string{
		bulkdir.ReportHeader,
		{"1", id1, "completed", "", upn(1), "+14255550101", "provision"},
		{"2", "INC0012345", "failed", "upn_conflict", upn(2), "", "provision"},
		{"3", "", "invalid", `"userPrincipalName" must be a JSON string`, "", "", ""},
		{"4", "", "invalid", "the row has no userPrincipalName (nor requestId) to derive its request id from", "", "", "provision"},
	}
	if d := cmp.Diff(want, readReport(t, filepath.Join(f.dir, fr.ReportPath))); d != "" {
		t.Fatalf("report (-want +got):\n%s", d)
	}
}

func TestFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name, content, reason string
	}{
		{"big.csv", "userPrincipalName\n" + strings.Repeat("x@contoso.com\n", 100), "the file is 1418 bytes; the limit is 1024 bytes: split it into smaller files"},
		{"cols.csv", "userPrincipalName,licence\nx@contoso.com,E5\n", `CSV header: unknown column "licence"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.watcher(t, func(o *bulkdir.Options) { o.MaxFileSize = 1024 })
			writeFile(t, filepath.Join(f.dir, tc.name), tc.content)
			mustScan(t, w)
			fr := only(t, mustScan(t, w))
			if fr.Status != bulkdir.Processed || f.sub.Calls() != 0 {
				t.Fatalf("%+v", fr)
			}
			recs := readReport(t, filepath.Join(f.dir, fr.ReportPath))
			if len(recs) != 2 || recs[1][2] != "invalid" || !strings.HasPrefix(recs[1][3], tc.reason) {
				t.Fatalf("report %q, want one invalid line with reason %q", recs, tc.reason)
			}
		})
	}
}

func TestCandidate(t *testing.T) {
	for name, want := range map[string]bool{
		"a.csv": true, "A.CSV": true, "b.jsonl": true, "c.ndjson": true,
		".a.csv": false, "a.csv.tmp": false, "a.json": false, "a.txt": false,
		"x/a.csv": false, `x\a.csv`: false, "": false, "a.report": false,
	} {
		if got := bulkdir.Candidate(name); got != want {
			t.Errorf("Candidate(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t, func(o *bulkdir.Options) { o.Interval = time.Millisecond })
	writeFile(t, filepath.Join(f.dir, "a.csv"), "userPrincipalName,displayName,accountType,usageLocation\n"+upn(1)+",One,AA,US\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.sub.SentIDs()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(f.sub.SentIDs()); n != 1 {
		t.Fatalf("%d sent", n)
	}
}

func TestReportCellsAreNotFormulas(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	writeFile(t, filepath.Join(f.dir, "f.csv"), "requestId,userPrincipalName,displayName,accountType,usageLocation,phoneNumber\n"+
		"=1+1,@evil@contoso.com,X,AA,US,-1+cmd|x\n")
	mustScan(t, w)
	fr := only(t, mustScan(t, w))
	f.end(t, "=1+1", ledger.Failed, "invalid_request")
	fr = only(t, mustScan(t, w))
	recs := readReport(t, filepath.Join(f.dir, fr.ReportPath))
	want := []string{"2", "'=1+1", "failed", "invalid_request", "'@evil@contoso.com", "'-1+cmd|x", "provision"}
	if d := cmp.Diff(want, recs[1]); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestCrashAfterMove(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	writeFile(t, filepath.Join(f.dir, "a.csv"), "userPrincipalName,displayName,accountType,usageLocation\n"+upn(1)+",One,AA,US\n")
	mustScan(t, w)
	mustScan(t, w)
	f.end(t, bulkdir.RowID("a.csv", events.Request{UserPrincipalName: upn(1)}), ledger.Completed, "")
	state := filepath.Join(f.dir, ".raprov", "a.csv.json")
	saved, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if fr := only(t, mustScan(t, w)); fr.Status != bulkdir.Processed {
		t.Fatalf("%+v", fr)
	}
	// As if the process died after the move, before removing the state
	// (with the target already chosen).
	saved = []byte(strings.Replace(string(saved), `"rows"`, `"target":"a.csv","rows"`, 1))
	writeFile(t, state, string(saved))
	mustScan(t, f.watcher(t))
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state of a moved file left: %v", err)
	}
}

// The default id of a provisioning row is what it always was (ids of files
// already submitted must not change); a deprovision row of the same file
// and UPN gets another one, and its target does not change it.
func TestRowIDAction(t *testing.T) {
	prov := events.Request{UserPrincipalName: " RA-001@Contoso.com "}
	// Computed by RowID before rows had an action: it must never change.
	if got, want := bulkdir.RowID("batch.csv", prov), "bulk-23a6c837207f8e0ca321248f"; got != want {
		t.Errorf("provisioning RowID = %s, want %s as before", got, want)
	}
	explicit := prov
	explicit.Action = events.ActionProvision
	if bulkdir.RowID("batch.csv", explicit) != bulkdir.RowID("batch.csv", prov) {
		t.Error("action provision changed the id")
	}
	dep := events.Request{UserPrincipalName: "ra-001@contoso.com", Action: events.ActionDeprovision}
	d1 := bulkdir.RowID("batch.csv", dep)
	if d1 == bulkdir.RowID("batch.csv", prov) || !strings.HasPrefix(d1, "bulk-") || len(d1) != len("bulk-")+24 {
		t.Errorf("deprovision RowID = %s, want another bulk- id than the provisioning row's", d1)
	}
	dep.Target = "INC-1"
	if got := bulkdir.RowID("batch.csv", dep); got != d1 {
		t.Errorf("target changed the deprovision id: %s, want %s", got, d1)
	}
	if bulkdir.RowID("other.csv", dep) == d1 {
		t.Error("the file name does not change the deprovision id")
	}
}

// A file may mix provisioning and deprovision rows: each is submitted as
// its action says, under its own id, and the report names each row's
// action; a bad action value is an invalid row with its line.
func TestActionRows(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t, func(o *bulkdir.Options) { o.AllowDeprovision = true })
	content := "userPrincipalName,displayName,accountType,usageLocation,action,target\n" +
		upn(1) + ",One,AA,US,,\n" +
		upn(2) + ",,,,deprovision,INC-2\n" +
		upn(3) + ",Three,AA,US,remove,\n" +
		upn(4) + ",,,,Deprovision,\n"
	writeFile(t, filepath.Join(f.dir, "mixed.csv"), content)
	mustScan(t, w)
	fr := only(t, mustScan(t, w))
	if fr.Sent != 3 || fr.Invalid != 1 {
		t.Fatalf("%+v, want 3 sent and 1 invalid", fr)
	}
	id1 := bulkdir.RowID("mixed.csv", events.Request{UserPrincipalName: upn(1)})
	id2 := bulkdir.RowID("mixed.csv", events.Request{UserPrincipalName: upn(2), Action: events.ActionDeprovision})
	id4 := bulkdir.RowID("mixed.csv", events.Request{UserPrincipalName: upn(4), Action: events.ActionDeprovision})
	sent := f.sub.Sent()
	want := []events.Request{
		{RequestID: id1, UserPrincipalName: upn(1), DisplayName: "One", AccountType: "AA", UsageLocation: "US"},
		{RequestID: id2, UserPrincipalName: upn(2), Action: events.ActionDeprovision, Target: "INC-2"},
		{RequestID: id4, UserPrincipalName: upn(4), Action: events.ActionDeprovision},
	}
	if d := cmp.Diff(want, sent); d != "" {
		t.Fatalf("submitted (-want +got):\n%s", d)
	}
	f.end(t, id1, ledger.Completed, "")
	f.end(t, id2, ledger.Completed, "")
	f.end(t, id4, ledger.Failed, "not_owned")
	fr = only(t, mustScan(t, w))
	if fr.Status != bulkdir.Processed {
		t.Fatalf("%+v", fr)
	}
	wantReport := [][]string{
		bulkdir.ReportHeader,
		{"2", id1, "completed", "", upn(1), "", "provision"},
		{"3", id2, "completed", "", upn(2), "", "deprovision"},
		{"4", "", "invalid", `action "remove" must be provision (or empty) or deprovision`, "", "", ""},
		{"5", id4, "failed", "not_owned", upn(4), "", "deprovision"},
	}
	if d := cmp.Diff(wantReport, readReport(t, filepath.Join(f.dir, fr.ReportPath))); d != "" {
		t.Fatalf("report (-want +got):\n%s", d)
	}
}

// Two watchers on one folder (two processes) never make a pass at the same
// time: a pass that finds the scan lock held does nothing and says so.
func TestPassWhileLocked(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.dir, "a.csv"), "userPrincipalName,displayName,accountType,usageLocation\n"+upn(1)+",One,AA,US\n")
	other, err := bulkdir.NewFolder(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := other.Lock(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := f.watcher(t)
	for range 2 {
		if rep := mustScan(t, w); !rep.Busy || len(rep.Files) != 0 {
			t.Fatalf("pass while locked: %+v", rep)
		}
	}
	unlock()
	mustScan(t, w)
	if fr := only(t, mustScan(t, w)); fr.Sent != 1 {
		t.Fatalf("after unlock: %+v", fr)
	}
}

// ScanOnce over a folder: the Folder remembers what it listed, so the
// second call reads the file the first saw.
func TestScanOnceFolder(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.dir, "a.csv"), "userPrincipalName,displayName,accountType,usageLocation\n"+upn(1)+",One,AA,US\n")
	store, err := bulkdir.NewFolder(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := bulkdir.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var fr bulkdir.FileReport
	for range 2 {
		rep, err := bulkdir.ScanOnce(context.Background(), store, f.sub, f.ledger, opts)
		if err != nil {
			t.Fatal(err)
		}
		fr = only(t, rep)
	}
	if fr.Status != bulkdir.Running || fr.Sent != 1 {
		t.Fatalf("%+v", fr)
	}
	id := bulkdir.RowID("a.csv", events.Request{UserPrincipalName: upn(1)})
	f.end(t, id, ledger.Completed, "")
	rep, err := bulkdir.ScanOnce(context.Background(), store, f.sub, f.ledger, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fr := only(t, rep); fr.Status != bulkdir.Processed {
		t.Fatalf("%+v", fr)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "processed", "a.csv.report.csv")); err != nil {
		t.Fatal(err)
	}
}

// A pass stops when its context's deadline, or LockTTL, runs out; the
// next one carries on.
func TestPassDeadline(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := w.Scan(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pass past its deadline: %v", err)
	}
}

// Without AllowDeprovision (RAPROV_ALLOW_DEPROVISION_ROWS) a deprovision
// row is a bad row with its line: one row of an export cannot remove a
// production line; the other rows still run.
func TestDeprovisionRowsOff(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(t)
	writeFile(t, filepath.Join(f.dir, "mixed.csv"), "userPrincipalName,displayName,accountType,usageLocation,action,target\n"+
		upn(1)+",One,AA,US,,\n"+
		upn(2)+",,,,deprovision,INC-2\n")
	mustScan(t, w)
	fr := only(t, mustScan(t, w))
	if fr.Sent != 1 || fr.Invalid != 1 {
		t.Fatalf("%+v, want 1 sent and 1 invalid", fr)
	}
	for _, r := range f.sub.Sent() {
		if r.Deprovision() {
			t.Errorf("a deprovision row was submitted: %+v", r)
		}
	}
}

// A deprovision row whose target's account a later request adopted (the
// same object id in the ledger) is a bad row naming that request: it would
// remove a line in use. A row whose target holds its account alone runs.
func TestDeprovisionRowTakenOver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, e := range []ledger.Entry{
		{EventID: "a", RequestID: "INC-1", Step: "complete", Outcome: ledger.Completed, ObjectID: "obj-1", Time: time.Unix(100, 0)},
		{EventID: "b", RequestID: "INC-9", Step: "complete", Outcome: ledger.Completed, ObjectID: "obj-1", Time: time.Unix(200, 0)},
		{EventID: "c", RequestID: "INC-2", Step: "complete", Outcome: ledger.Completed, ObjectID: "obj-2", Time: time.Unix(300, 0)},
	} {
		if err := f.ledger.Record(ctx, e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	w := f.watcher(t, func(o *bulkdir.Options) { o.AllowDeprovision = true })
	writeFile(t, filepath.Join(f.dir, "rm.csv"), "userPrincipalName,action,target\n"+
		upn(1)+",deprovision,INC-1\n"+
		upn(2)+",deprovision,INC-2\n")
	mustScan(t, w)
	fr := only(t, mustScan(t, w))
	if fr.Sent != 1 || fr.Invalid != 1 {
		t.Fatalf("%+v, want 1 sent and 1 invalid", fr)
	}
	if sent := f.sub.Sent(); len(sent) != 1 || sent[0].Target != "INC-2" {
		t.Errorf("submitted %+v, want only the row for INC-2", sent)
	}
	f.end(t, f.sub.Sent()[0].RequestID, ledger.Completed, "")
	fr = only(t, mustScan(t, w))
	report := readReport(t, filepath.Join(f.dir, fr.ReportPath))
	if len(report) != 3 || report[1][2] != "invalid" || !strings.Contains(report[1][3], "adopted by request INC-9") {
		t.Errorf("report %q, want line 2 invalid naming INC-9", report)
	}
}

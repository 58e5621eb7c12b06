package main

// The CLI for scripts (issue 11): the JSON of run, run --dry-run, status,
// dlq list, bench and version, compared with golden files under testdata/
// with their volatile fields masked, and the exit code of every kind of
// ending. Commands run in process through the root command and report(),
// as main runs them. go test ./cmd/raprov/ -run 'TestCLI' -update rewrites
// the golden files.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/doctor"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// cliResult is what one in-process command printed and its exit code.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs raprov with args in process as main does: the root command,
// then report() for the exit code and the message on stderr.
func cli(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args
	cmd, err := root.ExecuteContextC(ctx)
	code := report(&errOut, cmd, err, nil)
	return cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
}

// volatile are the fields masked before a comparison with a golden file:
// times, durations, ids the run draws, and what the build says.
var volatile = map[string]bool{
	"objectId": true, "durationMs": true, "started": true, "updated": true, "time": true, "at": true,
	"eventId": true, "id": true, "deadLetterId": true,
	"version": true, "commit": true, "commitTime": true, "dirty": true, "goVersion": true, "platform": true,
	"measured": true, "result": true, // bench: what this machine measured
}

func mask(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if volatile[k] {
				v[k] = "<masked>"
			} else {
				v[k] = mask(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = mask(x)
		}
	}
	return v
}

// decodeStrict decodes one JSON value into T, refusing fields T does not
// declare: the output is exactly the documented records.
func decodeStrict[T any](t *testing.T, data string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, data)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", data)
	}
	return v
}

// decodeLines decodes JSON lines into T, strictly, one value per line.
func decodeLines[T any](t *testing.T, data string) []T {
	t.Helper()
	var out []T
	for _, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if line != "" {
			out = append(out, decodeStrict[T](t, line))
		}
	}
	return out
}

// canonical returns data, one JSON document or JSON lines, masked and
// re-encoded with sorted keys.
func canonical(t *testing.T, data string, jsonl bool) string {
	t.Helper()
	decode := func(s string) any {
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return mask(v)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if !jsonl {
		enc.SetIndent("", "  ")
		if err := enc.Encode(decode(data)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if err := enc.Encode(decode(line)); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// golden compares stdout, masked, with testdata/name, or rewrites the file
// with -update.
func golden(t *testing.T, name, stdout string) {
	t.Helper()
	got := canonical(t, stdout, strings.HasSuffix(name, ".jsonl"))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// chainEnv readies a run against the in-process simulator in a directory
// of its own and returns the flags that point there.
func chainEnv(t *testing.T) (dir string, flags []string) {
	t.Helper()
	clearAdapterEnv(t)
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "") // never Microsoft; and no tenant field
	dir = t.TempDir()
	return dir, []string{"--db", filepath.Join(dir, "raprov.db"), "--log-file", filepath.Join(dir, "raprov.log")}
}

// run -o json on the bundled example: one record per row, as its expect
// column says; the progress on stderr; exit 0 (make run's promise).
func TestCLIRunJSON(t *testing.T) {
	_, flags := chainEnv(t)
	r := cli(t, "", append([]string{"run", "--fresh", "-o", "json", "--progress", "lines"}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeStrict[[]runRecord](t, r.stdout)
	if len(recs) != 28 {
		t.Fatalf("%d records, want the example's 28", len(recs))
	}
	for _, rec := range recs {
		if !rec.AsExpected {
			t.Errorf("%s: %s %s, expected %s", rec.RequestID, rec.Outcome, rec.Reason, rec.Expected)
		}
		if (rec.Outcome == "completed") != (rec.ObjectID != "") {
			t.Errorf("%s: %s with object id %q", rec.RequestID, rec.Outcome, rec.ObjectID)
		}
	}
	if !strings.Contains(r.stderr, "[28/28]") || !strings.Contains(r.stderr, "raprov: 28 requests from") {
		t.Errorf("progress is not on stderr:\n%s", r.stderr)
	}
	golden(t, "run.json", r.stdout)
}

// run -o jsonl with a row that fails unexpectedly and a row that cannot be
// read: a record for each, exit 1.
func TestCLIRunUnexpected(t *testing.T) {
	dir, flags := chainEnv(t)
	file := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(file, []byte("RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,PhoneNumber,Expect\n"+
		"UX-1,ra-ux-1@contoso.com,Fine,AA,US,,completed\n"+
		"UX-2,ra-ux-2@contoso.com,Nowhere,AA,XX,,completed\n"+
		"UX-1,ra-ux-3@contoso.com,Repeated Id,CQ,US,,\n"+
		"UX-4,ra-ux-4@contoso.com,Expected Failure,CQ,XX,,invalid_request\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", append([]string{"run", "-o", "jsonl", file}, flags...)...)
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeLines[runRecord](t, r.stdout)
	if len(recs) != 4 || recs[2].Outcome != "invalid" || recs[1].AsExpected || !recs[3].AsExpected {
		t.Errorf("records %+v; want UX-2 not as expected, line 4 invalid, UX-4 as expected", recs)
	}
	golden(t, "run_unexpected.jsonl", r.stdout)
}

// run --dry-run -o json on the bundled example: every verdict as expected.
func TestCLIDryRunJSON(t *testing.T) {
	_, flags := chainEnv(t)
	r := cli(t, "", append([]string{"run", "--dry-run", "-o", "json"}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeStrict[[]dryRunRecord](t, r.stdout)
	if len(recs) != 28 || !strings.Contains(r.stderr, "dry run of 28 requests") {
		t.Fatalf("%d records; stderr:\n%s", len(recs), r.stderr)
	}
	golden(t, "dryrun.json", r.stdout)
}

// statusFixture writes a ledger and dead letters with fixed times: a
// completed request, a failed one, one waiting in check-license, one whose
// latest event was dead-lettered, and a poison message.
func statusFixture(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	store, err := local.Open(ctx, db, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type step struct {
		by, typ, reason, detail string
		outcome                 ledger.Outcome
	}
	// record writes a request's history, a second apart, from offset on.
	record := func(id string, offset int, steps ...step) events.Event {
		var ev events.Event
		for i, s := range steps {
			ev = events.New(s.typ, events.Source(s.by), events.Data{Request: events.Request{RequestID: id}})
			ev.Time = start.Add(time.Duration(offset+i) * time.Second)
			e := ledger.Entry{EventID: ev.ID, RequestID: id, Type: ev.Type, Step: s.by, Time: ev.Time, Reason: s.reason, Detail: s.detail, Outcome: s.outcome}
			if err := store.Ledger().Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return ev
	}
	submitted := step{by: "submit", typ: events.TypeProvisioningRequested}
	accepted := step{by: events.StepIntake, typ: events.TypeProvisioningAccepted}
	record("DONE", 0, submitted, accepted,
		step{by: events.StepCheckLicense, typ: events.TypeLicenseAvailable},
		step{by: events.StepComplete, typ: events.TypeProvisioningCompleted, outcome: ledger.Completed})
	record("FAILED", 10, submitted,
		step{by: events.StepIntake, typ: events.TypeProvisioningFailed, reason: "invalid_request", detail: `usageLocation "XX" is not a country`},
		step{by: events.StepComplete, typ: events.TypeProvisioningFailed, reason: "invalid_request", detail: `usageLocation "XX" is not a country`, outcome: ledger.Failed})
	record("WAITING", 20, submitted, accepted,
		step{by: events.StepCheckLicense, typ: events.TypeProvisioningAccepted, detail: "scheduled in 2s"})
	dead := record("DEAD", 30, submitted, accepted)

	deadLetter := func(queue string, body []byte, reason, detail string) {
		q := store.Queue(queue, local.QueueOptions{})
		if err := q.Send(ctx, transport.Message{Body: body}); err != nil {
			t.Fatal(err)
		}
		d, err := q.Receive(ctx)
		if err != nil || d == nil {
			t.Fatalf("receive: %v %v", d, err)
		}
		if err := q.DeadLetter(ctx, *d, reason, detail); err != nil {
			t.Fatal(err)
		}
	}
	body, err := events.Encode(dead)
	if err != nil {
		t.Fatal(err)
	}
	deadLetter(events.StepCheckLicense, body, "malformed_data", "the test put it there")
	deadLetter(events.StepIntake, []byte("{not json"), "malformed_json", "invalid character 'n'")
}

// status and dlq list as JSON: the list with its counts, one request with
// its dead letters and history, and the dead letters.
func TestCLIStatusAndDLQJSON(t *testing.T) {
	db := filepath.Join(t.TempDir(), "raprov.db")
	statusFixture(t, db)
	for _, tt := range []struct {
		golden string
		args   []string
		check  func(t *testing.T, stdout string)
	}{
		{"status_list.json", []string{"status", "-o", "json"}, func(t *testing.T, out string) {
			s := decodeStrict[statusSummaryRecord](t, out)
			if s.Total != 4 || len(s.Requests) != 4 || s.WaitingIn[events.StepCheckLicense] != 1 || s.DeadLetteredFrom[events.StepCheckLicense] != 1 {
				t.Errorf("summary %+v", s)
			}
		}},
		{"status_list.jsonl", []string{"status", "-o", "jsonl", "--limit", "3"}, func(t *testing.T, out string) {
			if recs := decodeLines[statusRecord](t, out); len(recs) != 3 || recs[0].RequestID != "DEAD" {
				t.Errorf("records %+v; want 3, the latest updated first", recs)
			}
		}},
		{"status_request.json", []string{"status", "DEAD", "-o", "json"}, func(t *testing.T, out string) {
			rec := decodeStrict[statusRecord](t, out)
			if rec.DeadLetterID == "" || len(rec.DeadLetters) != 1 || rec.DeadLetters[0].ID != rec.DeadLetterID || len(rec.History) != 2 {
				t.Errorf("record %+v", rec)
			}
		}},
		{"status_request.jsonl", []string{"status", "FAILED", "-o", "jsonl"}, func(t *testing.T, out string) {
			if recs := decodeLines[statusRecord](t, out); len(recs) != 1 || recs[0].Reason != "invalid_request" {
				t.Errorf("records %+v", recs)
			}
		}},
		{"dlq_list.json", []string{"dlq", "list", "-o", "json"}, func(t *testing.T, out string) {
			if recs := decodeStrict[[]deadLetterRecord](t, out); len(recs) != 2 {
				t.Errorf("records %+v", recs)
			}
		}},
		{"dlq_list.jsonl", []string{"dlq", "list", "-o", "jsonl", "--queue", events.StepIntake}, func(t *testing.T, out string) {
			if recs := decodeLines[deadLetterRecord](t, out); len(recs) != 1 || !recs[0].Undecodable {
				t.Errorf("records %+v; want the poison message alone", recs)
			}
		}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			r := cli(t, "", append(tt.args, "--db", db)...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			tt.check(t, r.stdout)
			golden(t, tt.golden, r.stdout)
		})
	}
	// An empty list is [], not null.
	r := cli(t, "", "dlq", "list", "-o", "json", "--queue", "associate", "--db", db)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("empty dlq list: %q", r.stdout)
	}
}

// bench -o jsonl, small: the rows of both tables with their targets; the
// progress on stderr. At this size targets are missed (exit 1) or not.
func TestCLIBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the chain and seven fleets")
	}
	r := cli(t, "", "bench", "-o", "jsonl", "--requests", "10", "--repeat", "1", "--sequential", "2", "--scale", "0.01", "--concurrency", "4")
	if r.code != exitOK && r.code != exitFailed {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := decodeLines[benchRecord](t, r.stdout)
	failed := false
	for _, rec := range recs {
		failed = failed || rec.Result == "FAIL"
	}
	if failed != (r.code == exitFailed) {
		t.Errorf("exit %d with a FAIL row: %v", r.code, failed)
	}
	if !strings.Contains(r.stderr, "unthrottled  10 requests") || !strings.Contains(r.stderr, "fleet        K=2") {
		t.Errorf("progress is not on stderr:\n%s", r.stderr)
	}
	golden(t, "bench.jsonl", r.stdout)
}

// version -o json and --version -o jsonl: the same record.
func TestCLIVersionJSON(t *testing.T) {
	r := cli(t, "", "version", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	v := decodeStrict[versionRecord](t, r.stdout)
	if v.GoVersion == "" || v.Platform == "" || v.Version == "" {
		t.Errorf("version %+v", v)
	}
	golden(t, "version.json", r.stdout)
	short := cli(t, "", "--version", "-o", "jsonl")
	if short.code != exitOK || decodeStrict[versionRecord](t, short.stdout) != v || strings.Count(short.stdout, "\n") != 1 {
		t.Errorf("--version -o jsonl: exit %d, %q", short.code, short.stdout)
	}
	table := cli(t, "", "--version")
	if !strings.Contains(table.stdout, "version:") || !strings.Contains(table.stdout, v.GoVersion) {
		t.Errorf("--version: %q", table.stdout)
	}
}

// TestCLIExitCodes: every kind of ending, with its exit code, through the
// root command and report() as main runs them.
func TestCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "raprov.db")
	if r := cli(t, "", "status", "--db", db); r.code != 0 { // creates the database
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	closed := closedPort(t)
	sqsEnv := map[string]string{
		"RAPROV_SQS_QUEUE_URL_PREFIX": "http://" + closed + "/000000000000/raprov-", "RAPROV_DYNAMODB_TABLE": "raprov",
		"AWS_ENDPOINT_URL": "http://" + closed, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string // on stderr
	}{
		{"version", nil, []string{"version"}, 0, ""},
		{"no command: help", nil, nil, 0, ""},
		{"completion", nil, []string{"completion", "bash"}, 0, ""},
		{"unknown command", nil, []string{"provision"}, 2, `unknown command "provision" for "raprov"`},
		{"unknown subcommand", nil, []string{"dlq", "lst"}, 2, `unknown command "lst" for "raprov dlq"; did you mean list?`},
		{"unknown flag", nil, []string{"status", "--nope"}, 2, "unknown flag: --nope"},
		{"unknown output format", nil, []string{"run", "-o", "yaml"}, 2, `unknown output format "yaml"`},
		{"unknown output format of version", nil, []string{"--version", "-o", "xml"}, 2, `unknown output format "xml"`},
		{"too many arguments", nil, []string{"status", "a", "b", "--db", db}, 2, "accepts at most 1 arg(s)"},
		{"argument to version", nil, []string{"version", "now"}, 2, `unknown command "now" for "raprov version"`},
		{"missing input file", nil, []string{"run", filepath.Join(dir, "missing.csv"), "--db", db, "--log-file", filepath.Join(dir, "raprov.log")}, 2, "missing.csv: no such file"},
		{"unreadable input file", nil, []string{"submit", os.DevNull, "--db", db}, 2, "empty"},
		{"bad bench flag", nil, []string{"bench", "--requests", "0"}, 2, "--requests must be positive"},
		{"unknown request", nil, []string{"status", "NOPE", "--db", db}, 1, `request "NOPE" not in the ledger`},
		{"unknown dead letter", nil, []string{"dlq", "replay", "NOPE", "--db", db}, 1, ""},
		{"bad setting", map[string]string{"RAPROV_MAX_RECEIVE": "five"}, []string{"status", "--db", db}, 3, "RAPROV_MAX_RECEIVE"},
		{"bad transport", nil, []string{"status", "--transport", "carrier-pigeon", "--db", db}, 3, "RAPROV_TRANSPORT"},
		{"bad log level", nil, []string{"run", "--log-level", "loud", "--db", db, "--log-file", filepath.Join(dir, "raprov.log")}, 3, `log level "loud"`},
		{"sqs without its settings", nil, []string{"status", "--transport", "sqs"}, 3, "RAPROV_SQS_QUEUE_URL_PREFIX"},
		{"login without a tenant", nil, []string{"login"}, 3, "RAPROV_GRAPH_TENANT_ID"},
		{"database cannot be opened", nil, []string{"status", "--db", filepath.Join(db, "not-a-dir", "raprov.db")}, 4, ""},
		{"queue unreachable", sqsEnv, []string{"dlq", "list", "--transport", "sqs"}, 4, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearAdapterEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := cli(t, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.msg)
			}
			if tt.code == exitUsage && !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("a usage error without a pointer to the help: %q", r.stderr)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// exitStatus maps errors and signals to codes; doctor's codes are the
// CLI's.
func TestExitStatus(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tt := range []struct {
		name string
		err  error
		sig  os.Signal
		code int
		msg  string
	}{
		{"success", nil, nil, 0, ""},
		{"silent code", fmt.Errorf("wrapped: %w", exitCode(1)), nil, 1, ""},
		{"plain error", errors.New("boom"), nil, 1, "boom"},
		{"usage", usageError(errors.New("bad flag")), nil, 2, "bad flag"},
		{"configuration", configError(errors.New("bad setting")), nil, 3, "bad setting"},
		{"configuration that could not reach", configError(fmt.Errorf("token: %w", refused)), nil, 4, "refused"},
		{"credentials refused", &apperr.Error{Code: apperr.Forbidden, Message: "token request failed: HTTP 401"}, nil, 3, "HTTP 401"},
		{"untrusted certificate", fmt.Errorf("get: %w", &tls.CertificateVerificationError{Err: errors.New("unknown authority")}), nil, 3, "unknown authority"},
		{"network", fmt.Errorf("sqs: %w", refused), nil, 4, "refused"},
		{"listen address taken", &net.OpError{Op: "listen", Net: "tcp", Err: syscall.EADDRINUSE}, nil, 3, "address already in use"},
		{"name resolution", &net.DNSError{Err: "no such host", Name: "graph.example"}, nil, 4, "no such host"},
		{"unavailable", &apperr.Error{Code: apperr.Unavailable, Message: "HTTP 503"}, nil, 4, "HTTP 503"},
		{"queue", unreachableError(errors.New("unable to open database file")), nil, 4, "database"},
		{"SIGINT", fmt.Errorf("wait: %w", context.Canceled), os.Interrupt, 130, "stopped by SIGINT"},
		{"SIGTERM", context.Canceled, syscall.SIGTERM, 143, "stopped by SIGTERM"},
		{"serve stopped", nil, syscall.SIGTERM, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := exitStatus(tt.err, tt.sig)
			if code != tt.code || !strings.Contains(msg, tt.msg) || (tt.msg == "") != (msg == "") {
				t.Errorf("exitStatus = %d, %q; want %d, %q", code, msg, tt.code, tt.msg)
			}
		})
	}
	for _, c := range [][2]int{{exitOK, doctor.ExitOK}, {exitFailed, doctor.ExitFailed}, {exitConfig, doctor.ExitConfig}, {exitUnreachable, doctor.ExitUnreachable}} {
		if c[0] != c[1] {
			t.Errorf("exit code %d is doctor's %d", c[0], c[1])
		}
	}
}

// JSON output escapes what could drive a terminal; a parser reads the
// same text.
func TestJSONSafe(t *testing.T) {
	in := "ra\x1b]0;pwned\x07\u202e\u0085\x7f@contoso.com"
	var buf bytes.Buffer
	if err := writeJSON(&buf, runRecord{Account: in}, false); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\x07\u202e\u0085\x7f") {
		t.Errorf("raw control characters in %q", buf.String())
	}
	if got := decodeStrict[runRecord](t, buf.String()).Account; got != in {
		t.Errorf("decoded %q, want %q", got, in)
	}
}

// A run's record names the tenant when one is configured, and takes the
// normalised request and object id from the final event.
func TestRunRecord(t *testing.T) {
	r := &tracked{id: "R-1", row: requestfile.Row{Line: 2, Request: events.Request{RequestID: "R-1", UserPrincipalName: "RA-1@Contoso.com", AccountType: "AA", PhoneNumber: "(212) 555-0178"}}}
	r.status = ledger.Status{RequestID: "R-1", Outcome: ledger.Completed, Started: time.Unix(0, 0), Updated: time.Unix(2, 0)}
	fin := newFinals()
	ev := events.New(events.TypeProvisioningCompleted, events.Source(events.StepComplete),
		events.Data{Request: events.Request{RequestID: "R-1", UserPrincipalName: "ra-1@contoso.com", AccountType: events.AccountTypeAutoAttendant, PhoneNumber: "+12125550178"},
			Progress: events.Progress{ObjectID: "obj-1"}})
	ev.Subject = "R-1"
	fin.add(ev)
	got := r.record(fin, "tenant-1")
	want := runRecord{RequestID: "R-1", Line: 2, Tenant: "tenant-1", Account: "ra-1@contoso.com", AccountType: events.AccountTypeAutoAttendant,
		ObjectID: "obj-1", Number: "+12125550178", Outcome: "completed", Expected: "completed", AsExpected: true, DurationMs: 2000}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

// cobra's completion command is there for every shell, and -o completes
// its three values.
func TestCLICompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := cli(t, "", "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "raprov") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
	r := cli(t, "", "__complete", "status", "-o", "")
	for _, want := range []string{"table\n", "json\n", "jsonl\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-o completes to %q; want %q among them", r.stdout, want)
		}
	}
}

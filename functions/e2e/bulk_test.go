//go:build linux

package e2e_test

// The scheduled bulk door: the intake bootstrap, under the emulator, invoked
// with the payload EventBridge Scheduler sends (the template's BulkSchedule
// Input, sqs.ScheduledBulkScan), makes one pass of bulkdir over the bulk
// bucket's prefix on the stand-in's S3.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/bulkdoor"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// bulkPrefix is the template's BulkPrefix default.
const bulkPrefix = "inbox/"

// bulkCSV has two good rows and, on line 4, one that cannot be read.
const bulkCSV = "requestId,userPrincipalName,displayName,accountType,usageLocation\n" +
	"e2e-bulk-aa,e2e-bulk-aa@contoso.com,E2E bulk AA,autoAttendant,US\n" +
	"e2e-bulk-cq,e2e-bulk-cq@contoso.com,E2E bulk CQ,callQueue,US\n" +
	"e2e-bulk-bad,e2e-bulk-bad@contoso.com,E2E bulk bad,autoAttendant,US,extra\n"

// scan invokes the function as the schedule does and returns its summary.
func scan(t *testing.T, u *urlInstance) bulkdoor.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	out, err := u.rie.Invoke(ctx, []byte(sqs.ScheduledBulkScan))
	if err != nil {
		t.Fatalf("scheduled invocation: %v", err)
	}
	var sum bulkdoor.Summary
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("scheduled invocation answered %s, not a summary: %v", out, err)
	}
	return sum
}

// scanUntilProcessed invokes the schedule's payload until a pass moves a
// file to processed/, and returns the summaries of every pass.
func scanUntilProcessed(t *testing.T, u *urlInstance) []bulkdoor.Summary {
	t.Helper()
	var all []bulkdoor.Summary
	deadline := time.Now().Add(awaitTimeout)
	for {
		sum := scan(t, u)
		all = append(all, sum)
		if sum.Errors != 0 {
			t.Fatalf("pass %d: %+v", len(all), sum)
		}
		if sum.Processed > 0 {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s and %d passes, no file is processed; last %+v", awaitTimeout, len(all), sum)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *stack) putObject(t *testing.T, key, body string) {
	t.Helper()
	if _, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &s.bulkBucket, Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) getObject(t *testing.T, key string) string {
	t.Helper()
	out, err := s.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &s.bulkBucket, Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keys lists the bucket's keys.
func (s *stack) keys(t *testing.T) []string {
	t.Helper()
	out, err := s.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &s.bulkBucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	slices.Sort(keys)
	return keys
}

// TestE2EBulkScheduled drops a CSV with two good rows and a bad one under
// the prefix, and invokes intake with the schedule's payload: the first
// pass submits the good rows, the chain provisions them, and a later pass
// moves the file to processed/ beside its report (the bad row with its line
// and reason). The same file dropped again submits nothing new and is
// processed beside the first under a timestamped name. A function without
// the bucket refuses the payload.
func TestE2EBulkScheduled(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := newStack(t, stackConfig{bulk: true})
	u := s.startURLInstance(t) // a second intake instance, as Lambda runs the scheduled invocation

	s.putObject(t, bulkPrefix+"batch.csv", bulkCSV)
	first := scan(t, u)
	// The pass reads the ledger again after it submits: a chain faster than
	// the pass may have ended one or both requests by then (both: the first
	// pass already processes the file). Either way it sent the two good
	// rows, once, and found the bad one.
	pending, ended := first.Pending, first.Completed
	if (first.Running == 1) != (pending > 0) || (first.Processed == 1) != (pending == 0) {
		t.Fatalf("first pass: %+v: a file is running while a request is pending, else processed", first)
	}
	first.Pending, first.Completed, first.Running, first.Processed = 0, 0, 0, 0
	if want := (bulkdoor.Summary{Files: 1, Rows: 3, Invalid: 1, Sent: 2}); first != want || pending+ended != 2 {
		t.Fatalf("first pass: %+v with %d pending and %d completed, want %+v and 2 pending or completed", first, pending, ended, want)
	}
	for _, id := range []string{"e2e-bulk-aa", "e2e-bulk-cq"} {
		s.await(t, id, ledger.Completed)
	}
	passes := 0
	if pending > 0 {
		more := scanUntilProcessed(t, u)
		passes = len(more)
		if last := more[len(more)-1]; last.Completed != 2 || last.Invalid != 1 || last.Sent != 0 {
			t.Fatalf("processing pass: %+v, want 2 completed, 1 invalid, nothing sent", last)
		}
	}
	if got, want := s.keys(t), []string{bulkPrefix + "processed/batch.csv", bulkPrefix + "processed/batch.csv.report.csv"}; !slices.Equal(got, want) {
		t.Fatalf("bucket holds %q, want %q (no inbox file, no state, no lock)", got, want)
	}
	if got := s.getObject(t, bulkPrefix+"processed/batch.csv"); got != bulkCSV {
		t.Errorf("processed/batch.csv is %q, want the file as dropped", got)
	}
	recs, err := csv.NewReader(strings.NewReader(s.getObject(t, bulkPrefix+"processed/batch.csv.report.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[string][]string{}
	for _, r := range recs[1:] {
		byLine[r[0]] = r
	}
	if len(recs) != 4 || byLine["2"][2] != string(ledger.Completed) || byLine["3"][2] != string(ledger.Completed) ||
		byLine["4"][2] != "invalid" || !strings.Contains(byLine["4"][3], "the row has 6 fields; the header has 5") {
		t.Fatalf("report %q, want lines 2 and 3 completed and line 4 invalid with its reason", recs)
	}
	for _, id := range []string{"e2e-bulk-aa", "e2e-bulk-cq"} {
		if n := len(usersWithUPN(s.sim.Server.State(), id+"@contoso.com")); n != 1 {
			t.Errorf("%s: %d accounts, want 1", id, n)
		}
	}
	t.Logf("first file: %d passes after the first, processed %s after the stack's start", passes, time.Since(start).Round(time.Millisecond))

	// The same file again: its rows are duplicates of ended requests.
	intakeWrites := len(s.sim.Server.Requests())
	s.putObject(t, bulkPrefix+"batch.csv", bulkCSV)
	again := scanUntilProcessed(t, u)
	var sent, dup int
	for _, p := range again {
		sent, dup = sent+p.Sent, dup+p.Duplicate
	}
	if sent != 0 || dup != 2 {
		t.Fatalf("the file dropped again: %d sent, %d duplicates over %d passes (%+v), want 0 and 2", sent, dup, len(again), again)
	}
	keys := s.keys(t)
	if len(keys) != 4 || slices.ContainsFunc(keys, func(k string) bool { return !strings.HasPrefix(k, bulkPrefix+"processed/batch.") }) {
		t.Fatalf("bucket holds %q, want both files and reports in processed/", keys)
	}
	if n := len(s.sim.Server.Requests()); n != intakeWrites {
		t.Errorf("the second file reached Graph (%d calls, had %d)", n, intakeWrites)
	}

	// Without RAPROV_BULK_BUCKET the scheduled payload is refused.
	env := slices.DeleteFunc(slices.Clone(s.fns[events.StepIntake].env), func(kv string) bool { return strings.HasPrefix(kv, "RAPROV_BULK_") })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{Bootstrap: filepath.Join(functionsDir, events.StepIntake), Env: env, FunctionName: s.name + "-intake-nobulk"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Invoke(ctx, []byte(sqs.ScheduledBulkScan))
	var ie *awslocal.InvokeError
	if !errors.As(err, &ie) || !strings.Contains(string(ie.Body), "RAPROV_BULK_BUCKET is not set") {
		t.Fatalf("a function without the bucket answered %v, want the error that says RAPROV_BULK_BUCKET is not set", err)
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

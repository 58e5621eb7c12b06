//go:build unix

package s3store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/door/bulkdir/bulkdirtest"
	"github.com/raprov/raprov/shared/door/bulkdir/s3store"
	"github.com/raprov/raprov/shared/door/bulkdir/s3store/s3storetest"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// client returns an S3 client of the shared fauxqs (loopback only),
// starting it if needed.
func client(t *testing.T) *s3.Client { return s3storetest.Client(t) }

// bucket creates a bucket of its own for a test.
func bucket(t *testing.T, c *s3.Client) string { return s3storetest.Bucket(t, c, "bulk-") }

// objects reads and writes the keys under a prefix behind the store's back.
type objects struct {
	c              *s3.Client
	bucket, prefix string
}

func (o objects) put(t testing.TB, path string, data []byte) {
	t.Helper()
	_, err := o.c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &o.bucket, Key: aws.String(o.prefix + path), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
}

func (o objects) get(t testing.TB, path string) ([]byte, bool) {
	t.Helper()
	out, err := o.c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &o.bucket, Key: aws.String(o.prefix + path)})
	if nsk := (*types.NoSuchKey)(nil); errors.As(err, &nsk) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func (o objects) delete(t testing.TB, path string) {
	t.Helper()
	if _, err := o.c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &o.bucket, Key: aws.String(o.prefix + path)}); err != nil {
		t.Fatal(err)
	}
}

func (o objects) keys(t testing.TB) []string {
	t.Helper()
	out, err := o.c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &o.bucket, Prefix: &o.prefix})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, obj := range out.Contents {
		keys = append(keys, strings.TrimPrefix(aws.ToString(obj.Key), o.prefix))
	}
	slices.Sort(keys)
	return keys
}

func TestStoreContract(t *testing.T) {
	c := client(t)
	for _, prefix := range []string{"", "drop/in"} {
		t.Run(fmt.Sprintf("prefix %q", prefix), func(t *testing.T) {
			bulkdirtest.StoreContract(t, func(t *testing.T) bulkdirtest.Harness {
				b := bucket(t, c)
				s, err := s3store.New(c, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				o := objects{c, b, ""}
				if prefix != "" {
					// Keys beside the prefix are not the store's.
					o.put(t, "dropped.csv", []byte("x"))
					o.put(t, "drop/other.csv", []byte("x"))
					o.prefix = prefix + "/"
				}
				return bulkdirtest.Harness{Store: s, Put: o.put, Get: o.get, Delete: o.delete, LockExpires: true}
			})
		})
	}
}

func upn(i int) string { return fmt.Sprintf("ra-%03d@contoso.com", i) }

type fixture struct {
	o      objects
	store  *s3store.Store
	sub    *bulkdirtest.Submitter
	ledger *memledger.Ledger
}

func newFixture(t *testing.T) *fixture {
	c := client(t)
	b := bucket(t, c)
	s, err := s3store.New(c, b, "bulk/")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{o: objects{c, b, "bulk/"}, store: s, sub: &bulkdirtest.Submitter{}, ledger: memledger.New()}
}

func (f *fixture) scanOnce() (bulkdir.Report, error) {
	return bulkdir.ScanOnce(context.Background(), f.store, f.sub, f.ledger, bulkdir.Options{
		AllowDeprovision: true,
		Now:              func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func (f *fixture) scan(t *testing.T) bulkdir.Report {
	t.Helper()
	rep, err := f.scanOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range rep.Files {
		if fr.Err != nil {
			t.Fatalf("%s: %v", fr.Name, fr.Err)
		}
	}
	return rep
}

func only(t *testing.T, rep bulkdir.Report) bulkdir.FileReport {
	t.Helper()
	if len(rep.Files) != 1 {
		t.Fatalf("pass saw %d files, want 1: %+v", len(rep.Files), rep)
	}
	return rep.Files[0]
}

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

func sentIDs(s *bulkdirtest.Submitter) []string {
	var ids []string
	for _, r := range s.Sent() {
		ids = append(ids, r.RequestID)
	}
	return ids
}

// A file in the bucket with good and bad rows: the good rows are submitted
// once, under their RowIDs, on the first scheduled scan; scans before the
// requests end submit nothing; once they have, the file is in processed/
// beside its report, bad rows with their lines; the same file uploaded
// again creates nothing.
func TestScanOnceS3(t *testing.T) {
	f := newFixture(t)
	content := "userPrincipalName,displayName,accountType,usageLocation,action\r\n" +
		upn(1) + ",One,AA,US,\r\n" +
		upn(2) + ",Two,CQ,US,,extra\r\n" + // a field too many
		upn(3) + ",Three,AA,US,\r\n" +
		",No UPN,AA,US,\r\n" +
		upn(5) + ",,,,deprovision\r\n" +
		upn(6) + ",Six,AA,US,remove\r\n"
	f.o.put(t, "batch.csv", []byte(content))
	f.o.put(t, "notes/other.csv", []byte(content)) // not in the inbox

	fr := only(t, f.scan(t))
	want := bulkdir.FileReport{Name: "batch.csv", Status: bulkdir.Running, Rows: 6, Invalid: 3, Pending: 3, Sent: 3}
	if d := cmp.Diff(want, fr); d != "" {
		t.Fatalf("first scan (-want +got):\n%s", d)
	}
	id1 := bulkdir.RowID("batch.csv", events.Request{UserPrincipalName: upn(1)})
	id3 := bulkdir.RowID("batch.csv", events.Request{UserPrincipalName: upn(3)})
	id5 := bulkdir.RowID("batch.csv", events.Request{UserPrincipalName: upn(5), Action: events.ActionDeprovision})
	if d := cmp.Diff([]string{id1, id3, id5}, sentIDs(f.sub)); d != "" {
		t.Fatalf("ids sent (-want +got):\n%s", d)
	}
	if _, ok := f.o.get(t, ".raprov/batch.csv.json"); !ok {
		t.Fatal("no state under the prefix")
	}

	// Scans before the requests end submit nothing.
	calls := f.sub.Calls()
	for range 2 {
		fr = only(t, f.scan(t))
		if fr.Status != bulkdir.Running || fr.Sent+fr.Duplicate != 0 || f.sub.Calls() != calls {
			t.Fatalf("scan before the end: %+v, %d submit calls (was %d)", fr, f.sub.Calls(), calls)
		}
	}

	f.end(t, id1, ledger.Completed, "")
	f.end(t, id3, ledger.Failed, "no_license")
	f.end(t, id5, ledger.Completed, "")
	fr = only(t, f.scan(t))
	if fr.Status != bulkdir.Processed || fr.Completed != 2 || fr.Failed != 1 || fr.Invalid != 3 ||
		fr.MovedTo != "processed/batch.csv" || fr.ReportPath != "processed/batch.csv.report.csv" {
		t.Fatalf("last scan: %+v", fr)
	}
	if got, ok := f.o.get(t, "processed/batch.csv"); !ok || string(got) != content {
		t.Fatal("processed/batch.csv is not the file uploaded")
	}
	wantKeys := []string{"notes/other.csv", "processed/batch.csv", "processed/batch.csv.report.csv"}
	if d := cmp.Diff(wantKeys, f.o.keys(t)); d != "" {
		t.Fatalf("keys under the prefix (-want +got):\n%s", d)
	}
	rpt, _ := f.o.get(t, "processed/batch.csv.report.csv")
	recs, err := csv.NewReader(bytes.NewReader(rpt)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantReport := [][]string{
		bulkdir.ReportHeader,
		{"2", id1, "completed", "", upn(1), "", "provision"},
		{"3", "", "invalid", "the row has 6 fields; the header has 5 (quote fields that contain ',')", "", "", ""},
		{"4", id3, "failed", "no_license", upn(3), "", "provision"},
		{"5", "", "invalid", "the row has no userPrincipalName (nor requestId) to derive its request id from", "", "", "provision"},
		{"6", id5, "completed", "", upn(5), "", "deprovision"},
		{"7", "", "invalid", `action "remove" must be provision (or empty) or deprovision`, "", "", ""},
	}
	if d := cmp.Diff(wantReport, recs); d != "" {
		t.Fatalf("report (-want +got):\n%s", d)
	}

	// The same file uploaded again: every row is a Duplicate of a request
	// that has ended, so it is processed at once, under a timestamped name.
	f.o.put(t, "batch.csv", []byte(content))
	fr = only(t, f.scan(t))
	if fr.Status != bulkdir.Processed || fr.Sent != 0 || fr.Duplicate != 3 || fr.MovedTo != "processed/batch.20260304T050607Z.csv" {
		t.Fatalf("same file again: %+v", fr)
	}
	if n := len(f.sub.Sent()); n != 3 {
		t.Fatalf("%d requests sent in all, want 3", n)
	}
}

// Scheduled scans that overlap (an invocation still running when the next
// starts) submit each row once: one holds the scan lock, the others find
// it busy or find the rows already submitted.
func TestOverlappingScansSubmitOnce(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	b.WriteString("userPrincipalName,displayName,accountType,usageLocation\n")
	for i := 1; i <= 250; i++ {
		fmt.Fprintf(&b, "%s,Account %d,AA,US\n", upn(i), i)
	}
	f.o.put(t, "big.csv", []byte(b.String()))

	const n = 4
	reps := make([]bulkdir.Report, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { reps[i], errs[i] = f.scanOnce() })
	}
	wg.Wait()
	sent, dup, busy := 0, 0, 0
	for i, r := range reps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.Busy {
			busy++
		}
		for _, fr := range r.Files {
			if fr.Err != nil {
				t.Fatalf("%s: %v", fr.Name, fr.Err)
			}
			sent += fr.Sent
			dup += fr.Duplicate
		}
	}
	if sent != 250 || dup != 0 || len(f.sub.Sent()) != 250 {
		t.Fatalf("overlapping scans: %d sent, %d duplicates, %d submitted in all (%d busy); want 250, 0, 250", sent, dup, len(f.sub.Sent()), busy)
	}
	t.Logf("%d of %d scans found the lock busy", busy, n)
	if _, ok := f.o.get(t, ".raprov/scan.lock"); ok {
		t.Fatal("the scan lock was not released")
	}
}

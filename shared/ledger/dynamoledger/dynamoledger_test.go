//go:build unix

package dynamoledger_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/ledger/ledgertest"
	"github.com/raprov/raprov/shared/steps"
)

var (
	_ steps.Claims      = (*dynamoledger.Claims)(nil)
	_ steps.NumberHolds = (*dynamoledger.NumberHolds)(nil)
)

func TestLedger(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		c, table := mustTable(t)
		return dynamoledger.New(c, table, dynamoledger.Options{})
	})
}

func TestLedgerWithExpiry(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		c, table := mustTable(t)
		return dynamoledger.New(c, table, dynamoledger.Options{ExpireAfter: time.Hour})
	})
}

func TestCreateTable(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	if err := dynamoledger.CreateTable(ctx, c, table); err != nil {
		t.Fatalf("CreateTable of an existing table: %v", err)
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Table.TableStatus; s != types.TableStatusActive {
		t.Errorf("table status = %s, want %s", s, types.TableStatusActive)
	}
	if b := d.Table.BillingModeSummary; b == nil || b.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want %s", b, types.BillingModePayPerRequest)
	}
	ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want enabled on ttl", d)
	}
}

func TestExpireAfter(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	l := dynamoledger.New(c, table, dynamoledger.Options{ExpireAfter: 24 * time.Hour})
	before := time.Now().Add(24 * time.Hour).Unix()
	mustRecord(t, l, ledger.Entry{EventID: "e1", RequestID: "r1", Step: "intake"})
	if _, _, err := dynamoledger.NewClaims(c, table).Claim(ctx, "r1", "e1", "fp"); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamoledger.NewNumberHolds(c, table).Hold(ctx, "+14155550100", "r1"); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(24 * time.Hour).Unix()

	items := scanAll(t, c, table)
	if len(items) != 5 {
		t.Fatalf("table has %d items, want 5 (status, history line, event seen, claim, hold): %v", len(items), items)
	}
	for _, it := range items {
		pk := it["pk"].(*types.AttributeValueMemberS).Value
		ttl, hasTTL := it["ttl"].(*types.AttributeValueMemberN)
		switch kind := regexp.MustCompile(`^[a-z]+`).FindString(pk); kind {
		case "req", "event":
			if !hasTTL {
				t.Errorf("%s item %s has no ttl", kind, pk)
				continue
			}
			if n, err := strconv.ParseInt(ttl.Value, 10, 64); err != nil || n < before || n > after {
				t.Errorf("%s item %s: ttl %s, want between %d and %d", kind, pk, ttl.Value, before, after)
			}
		case "claim", "number":
			if hasTTL {
				t.Errorf("%s item %s expires (ttl %s); claims and holds must outlive the ledger", kind, pk, ttl.Value)
			}
		default:
			t.Errorf("unexpected item %v", it)
		}
	}
}

func TestRecordDuplicatesAcrossCalls(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	l := dynamoledger.New(c, table, dynamoledger.Options{})
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	e := func(id string, s int) ledger.Entry {
		return ledger.Entry{EventID: id, RequestID: "r1", Step: "step-" + id, Time: t0.Add(time.Duration(s) * time.Second)}
	}
	mustRecord(t, l, e("e1", 1), e("e2", 2))
	mustRecord(t, l, e("e2", 2), e("e3", 3), e("e3", 3))
	mustRecord(t, l, e("e1", 1))
	dup := e("e2", 9) // a later copy of e2 is skipped, not moved
	dup.Detail = "redelivered"
	mustRecord(t, l, dup)

	got, err := l.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range got.History {
		ids = append(ids, h.EventID)
	}
	if diff := cmp.Diff([]string{"e1", "e2", "e3"}, ids); diff != "" {
		t.Errorf("history event ids mismatch (-want +got):\n%s", diff)
	}
	if got.Step != "step-e3" || !got.Updated.Equal(t0.Add(3*time.Second)) {
		t.Errorf("status: step %q updated %v, want step-e3 at %v", got.Step, got.Updated, t0.Add(3*time.Second))
	}
}

func TestRecordInvalidRecordsNone(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	l := dynamoledger.New(c, table, dynamoledger.Options{})
	err := l.Record(ctx,
		ledger.Entry{EventID: "a1", RequestID: "a"},
		ledger.Entry{EventID: "b1", RequestID: "b"},
		ledger.Entry{EventID: "c1"}, // no request id
	)
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("Record error = %v, want code %s", err, apperr.Invalid)
	}
	if items := scanAll(t, c, table); len(items) != 0 {
		t.Errorf("after a rejected batch the table holds %d items, want none: %v", len(items), items)
	}
}

func TestRecordManyEntriesAndRequests(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	l := dynamoledger.New(c, table, dynamoledger.Options{})
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var entries []ledger.Entry
	for i := range 120 { // more than one transaction holds
		entries = append(entries, ledger.Entry{EventID: fmt.Sprint("a", i), RequestID: "a", Step: fmt.Sprint("s", i), Time: t0.Add(time.Duration(i) * time.Millisecond)})
		if i%40 == 0 {
			entries = append(entries, ledger.Entry{EventID: fmt.Sprint("b", i), RequestID: "b", Time: t0})
		}
	}
	mustRecord(t, l, entries...)

	a, err := l.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.History) != 120 || a.Step != "s119" || !a.Started.Equal(t0) {
		t.Errorf("request a: %d history lines, step %q, started %v; want 120, s119, %v", len(a.History), a.Step, a.Started, t0)
	}
	for i, h := range a.History {
		if want := fmt.Sprint("a", i); h.EventID != want {
			t.Fatalf("history[%d] = %s, want %s", i, h.EventID, want)
		}
	}
	b, err := l.Get(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range b.History {
		ids = append(ids, h.EventID)
	}
	if diff := cmp.Diff([]string{"b0", "b40", "b80"}, ids); diff != "" {
		t.Errorf("request b history, equal times in recording order (-want +got):\n%s", diff)
	}
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	claims := dynamoledger.NewClaims(c, table)

	type holder struct{ Event, Fingerprint string }
	claim := func(requestID, eventID, fp string) holder {
		t.Helper()
		h, hfp, err := claims.Claim(ctx, requestID, eventID, fp)
		if err != nil {
			t.Fatalf("Claim(%s, %s): %v", requestID, eventID, err)
		}
		return holder{h, hfp}
	}
	tests := []struct {
		name                 string
		requestID, event, fp string
		want                 holder
	}{
		{"first claim wins", "r1", "e1", "fp1", holder{"e1", "fp1"}},
		{"redelivery returns itself", "r1", "e1", "fp1", holder{"e1", "fp1"}},
		{"another event gets the holder", "r1", "e2", "fp1", holder{"e1", "fp1"}},
		{"another request under the id gets the holder", "r1", "e3", "fp2", holder{"e1", "fp1"}},
		{"another id is free", "r2", "e3", "fp2", holder{"e3", "fp2"}},
		{"an empty fingerprint is kept", "r3", "e4", "", holder{"e4", ""}},
		{"and returned", "r3", "e5", "fp5", holder{"e4", ""}},
	}
	for _, tt := range tests { // in order: each builds on the ones before
		if got := claim(tt.requestID, tt.event, tt.fp); got != tt.want {
			t.Errorf("%s: Claim(%s, %s, %s) = %+v, want %+v", tt.name, tt.requestID, tt.event, tt.fp, got, tt.want)
		}
	}

	if h, fp, err := claims.Holder(ctx, "r1"); err != nil || h != "e1" || fp != "fp1" {
		t.Errorf("Holder(r1) = %q, %q, %v; want e1, fp1", h, fp, err)
	}
	if h, fp, err := claims.Holder(ctx, "nobody"); err != nil || h != "" || fp != "" {
		t.Errorf("Holder(nobody) = %q, %q, %v; want empty", h, fp, err)
	}
	for _, args := range [][2]string{{"", "e1"}, {"r1", ""}} {
		if _, _, err := claims.Claim(ctx, args[0], args[1], "fp"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Claim(%q, %q) error = %v, want code %s", args[0], args[1], err, apperr.Invalid)
		}
	}
}

func TestClaimsConcurrent(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	claims := dynamoledger.NewClaims(c, table)
	var wins atomic.Int32
	holders := make([]string, 20)
	var wg sync.WaitGroup
	for i := range holders {
		wg.Go(func() {
			event := fmt.Sprint("e", i)
			h, fp, err := claims.Claim(ctx, "r", event, "fp-"+event)
			if err != nil {
				t.Error(err)
				return
			}
			if fp != "fp-"+h {
				t.Errorf("holder %s came with fingerprint %s", h, fp)
			}
			if h == event {
				wins.Add(1)
			}
			holders[i] = h
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d claims won, want exactly 1", n)
	}
	for i, h := range holders {
		if h != holders[0] {
			t.Errorf("claim %d saw holder %s, claim 0 saw %s", i, h, holders[0])
		}
	}
}

func TestNumberHolds(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	holds := dynamoledger.NewNumberHolds(c, table)
	const n = "+14155550100"
	hold := func(requestID string) string {
		t.Helper()
		h, err := holds.Hold(ctx, n, requestID)
		if err != nil {
			t.Fatalf("Hold(%s): %v", requestID, err)
		}
		return h
	}
	release := func(requestID string) {
		t.Helper()
		if err := holds.Release(ctx, n, requestID); err != nil {
			t.Fatalf("Release(%s): %v", requestID, err)
		}
	}

	if h := hold("r1"); h != "r1" {
		t.Errorf("first Hold = %s, want r1", h)
	}
	if h := hold("r1"); h != "r1" {
		t.Errorf("Hold again by its holder = %s, want r1", h)
	}
	if h := hold("r2"); h != "r1" {
		t.Errorf("Hold by another request = %s, want the holder r1", h)
	}
	release("r2") // not the holder: nothing changes
	if h := hold("r3"); h != "r1" {
		t.Errorf("after a release by a non-holder, Hold = %s, want r1", h)
	}
	if h, err := holds.Hold(ctx, "+14155550101", "r2"); err != nil || h != "r2" {
		t.Errorf("Hold of another number = %q, %v; want r2", h, err)
	}
	release("r1")
	release("r1") // releasing twice is harmless
	if h := hold("r2"); h != "r2" {
		t.Errorf("after the holder's release, Hold = %s, want r2", h)
	}
	if _, err := holds.Hold(ctx, "", "r1"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Hold without a number: error %v, want code %s", err, apperr.Invalid)
	}
}

func TestNumberHoldsConcurrent(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	holds := dynamoledger.NewNumberHolds(c, table)
	var wins atomic.Int32
	holders := make([]string, 20)
	var wg sync.WaitGroup
	for i := range holders {
		wg.Go(func() {
			r := fmt.Sprint("r", i)
			h, err := holds.Hold(ctx, "+14155550100", r)
			if err != nil {
				t.Error(err)
				return
			}
			if h == r {
				wins.Add(1)
			}
			holders[i] = h
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d holds won, want exactly 1", n)
	}
	for i, h := range holders {
		if h != holders[0] {
			t.Errorf("hold %d saw holder %s, hold 0 saw %s", i, h, holders[0])
		}
	}
}

// tableSeq numbers the tables of this process, which share one server.
var tableSeq atomic.Int64

// mustTable returns a client of the shared DynamoDB Local and a fresh table
// made by CreateTable.
func mustTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	ctx := context.Background()
	db, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatalf("DynamoDB Local did not start (its tests need java and javac 17+ and npm on PATH): %v", err)
	}
	c := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(db.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	name := fmt.Sprintf("t%d-%s", tableSeq.Add(1), regexp.MustCompile(`[^a-zA-Z0-9_.-]+`).ReplaceAllString(t.Name(), "-"))
	name = name[:min(len(name), 255)]
	if err := dynamoledger.CreateTable(ctx, c, name); err != nil {
		t.Fatal(err)
	}
	return c, name
}

func mustRecord(t *testing.T, l ledger.Ledger, entries ...ledger.Entry) {
	t.Helper()
	if err := l.Record(context.Background(), entries...); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

// scanAll returns every item of table.
func scanAll(t *testing.T, c *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	pages := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// TestItemsWithoutAccount reads items written before account, objectId and
// action were kept (no such attributes) with them empty, records on top of
// them, and stores none of them, nor their times, when they are empty.
func TestItemsWithoutAccount(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	l := dynamoledger.New(c, table, dynamoledger.Options{})
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	old := []map[string]types.AttributeValue{
		{"pk": s("req#r1"), "sk": s("status"), "requestId": s("r1"), "step": s("submit"), "outcome": s("in_progress"),
			"attempt": n(0), "started": n(t0.UnixNano()), "updated": n(t0.UnixNano()), "seq": n(1)},
		{"pk": s("req#r1"), "sk": s("entry#0000000001"), "requestId": s("r1"), "eventId": s("e1"), "step": s("submit"),
			"time": n(t0.UnixNano()), "attempt": n(0), "outcome": s("in_progress")},
		{"pk": s("event#e1"), "sk": s("event"), "requestId": s("r1")},
	}
	for _, it := range old {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	first := ledger.Entry{EventID: "e1", RequestID: "r1", Step: "submit", Time: t0, Outcome: ledger.InProgress}
	want := ledger.Status{RequestID: "r1", Step: "submit", Outcome: ledger.InProgress, Started: t0, Updated: t0, History: []ledger.Entry{first}}
	got, err := l.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get of old items (-want +got):\n%s", diff)
	}

	next := ledger.Entry{EventID: "e2", RequestID: "r1", Step: "create-account", Time: t0.Add(time.Second), Outcome: ledger.InProgress,
		Account: "ra@contoso.com", ObjectID: "obj-1"}
	mustRecord(t, l, next)
	want.Step, want.Updated, want.Account, want.ObjectID = next.Step, next.Time, next.Account, next.ObjectID
	want.History = append(want.History, next)
	if got, err = l.Get(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after recording on old items (-want +got):\n%s", diff)
	}
	for _, it := range scanAll(t, c, table) {
		if it["sk"].(*types.AttributeValueMemberS).Value != "status" {
			continue
		}
		for _, a := range []string{"action", "actionAt"} {
			if v, ok := it[a]; ok {
				t.Errorf("status item stores %s = %v for a request without an action", a, v)
			}
		}
	}
}

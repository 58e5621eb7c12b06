package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ctxsleep"
	"github.com/raprov/raprov/shared/ledger"
)

// Options configures a Ledger.
type Options struct {
	// ExpireAfter, when positive, is how long status, history and "event
	// seen" items live after they were last written (DynamoDB TTL). Zero
	// keeps them forever.
	ExpireAfter time.Duration
}

// Ledger is a ledger.Ledger on a DynamoDB table made by CreateTable. It is
// safe for concurrent use, by goroutines and by processes.
type Ledger struct {
	api   API
	table string
	opts  Options
}

var _ ledger.Ledger = (*Ledger)(nil)

// New returns the ledger kept in table.
func New(api API, table string, opts Options) *Ledger {
	return &Ledger{api: api, table: table, opts: opts}
}

// Sort keys and key prefixes (see the package doc).
const (
	reqPrefix   = "req#"
	eventPrefix = "event#"
	skStatus    = "status"
	skEntry     = "entry#"
	skEvent     = "event"
)

// Attribute names.
const (
	attrRequestID = "requestId"
	attrEventID   = "eventId"
	attrType      = "type"
	attrStep      = "step"
	attrTime      = "time"
	attrAttempt   = "attempt"
	attrReason    = "reason"
	attrDetail    = "detail"
	attrOutcome   = "outcome"
	attrStarted   = "started"
	attrUpdated   = "updated"
	attrSeq       = "seq"
	attrAccount   = "account"
	attrObjectID  = "objectId"
	attrAction    = "action"
	// On the status item: the time of the entry its account, objectId and
	// action came from.
	attrAccountAt  = "accountAt"
	attrObjectIDAt = "objectIdAt"
	attrActionAt   = "actionAt"
)

const (
	// maxEntriesPerTx keeps a transaction within DynamoDB's 100 actions:
	// two per entry and the status item.
	maxEntriesPerTx = 49
	// maxAttempts bounds the optimistic retries of one transaction.
	maxAttempts = 30
)

// Record implements ledger.Ledger. It checks every entry before writing
// any, then writes each request's entries in one transaction (see the
// package doc). A transaction that keeps losing races for the status item
// fails with an *apperr.Error of code Unavailable.
func (l *Ledger) Record(ctx context.Context, entries ...ledger.Entry) error {
	now := time.Now()
	var order []string
	byRequest := map[string][]ledger.Entry{}
	seen := map[string]bool{}
	for _, e := range entries {
		e, err := e.Normalize(now)
		if err != nil {
			return err
		}
		if seen[e.EventID] {
			continue // the first of an event's copies is the one recorded
		}
		seen[e.EventID] = true
		if byRequest[e.RequestID] == nil {
			order = append(order, e.RequestID)
		}
		byRequest[e.RequestID] = append(byRequest[e.RequestID], e)
	}
	for _, id := range order {
		for chunk := range slices.Chunk(byRequest[id], maxEntriesPerTx) {
			if err := l.record(ctx, id, chunk); err != nil {
				return fmt.Errorf("dynamoledger: record entries of request %s: %w", id, err)
			}
		}
	}
	return nil
}

// current is a request's status item as read before a transaction.
type current struct {
	found  bool
	status ledger.Status
	seq    int64
	newest newest
}

// newest holds the times of the entries a status's Account, ObjectID and
// Action came from.
type newest struct{ account, objectID, action time.Time }

// take sets s's Account, ObjectID and Action from e where e carries a value
// and is at least as new as the entry the current value came from.
func (n *newest) take(s *ledger.Status, e ledger.Entry) {
	set := func(v *string, at *time.Time, ev string) {
		if ev != "" && (*v == "" || !e.Time.Before(*at)) {
			*v, *at = ev, e.Time
		}
	}
	set(&s.Account, &n.account, e.Account)
	set(&s.ObjectID, &n.objectID, e.ObjectID)
	set(&s.Action, &n.action, e.Action)
}

// record writes normalized entries of one request, skipping those already
// recorded, retrying when another writer changed the status item first.
func (l *Ledger) record(ctx context.Context, requestID string, pending []ledger.Entry) error {
	for attempt := 1; ; attempt++ {
		cur, err := l.current(ctx, requestID)
		if err != nil {
			return err
		}
		tx := l.recordItems(requestID, cur, pending)
		_, err = l.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return nil
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) || len(canceled.CancellationReasons) != len(tx) {
			return err
		}
		for _, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "", "None", "ConditionalCheckFailed", "TransactionConflict",
				"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			default:
				return err
			}
		}
		// A refused "event seen" item is an entry recorded already (by a
		// redelivery, a concurrent writer, or this call's own lost answer):
		// drop it. A refused status item lost a race: read it again.
		rest := pending[:0:0]
		for i, e := range pending {
			if aws.ToString(canceled.CancellationReasons[2*i].Code) != "ConditionalCheckFailed" {
				rest = append(rest, e)
			}
		}
		if pending = rest; len(pending) == 0 {
			return nil
		}
		if attempt == maxAttempts {
			return &apperr.Error{Code: apperr.Unavailable, Message: fmt.Sprintf("status item still contended after %d attempts", attempt), Err: err}
		}
		if err := ctxsleep.Sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// recordItems returns the transaction recording entries on top of cur:
// each entry's "event seen" item and history line, in order, then the
// status item.
func (l *Ledger) recordItems(requestID string, cur current, entries []ledger.Entry) []types.TransactWriteItem {
	expires := l.expiry()
	pk := reqPrefix + requestID
	st, seq, nw := cur.status, cur.seq, cur.newest
	tx := make([]types.TransactWriteItem, 0, 2*len(entries)+1)
	for i, e := range entries {
		if i == 0 && !cur.found {
			st = ledger.Status{RequestID: requestID, Started: e.Time, Updated: e.Time}
		}
		if e.Time.Before(st.Started) {
			st.Started = e.Time
		}
		if !e.Time.Before(st.Updated) {
			st.Step, st.Type, st.Outcome, st.Reason, st.Detail, st.Attempt, st.Updated =
				e.Step, e.Type, e.Outcome, e.Reason, e.Detail, e.Attempt, e.Time
		}
		nw.take(&st, e)
		seq++
		tx = append(tx,
			types.TransactWriteItem{Put: &types.Put{
				TableName:                aws.String(l.table),
				Item:                     key(eventPrefix+e.EventID, skEvent).str(attrRequestID, requestID).expires(expires),
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: names(attrPK),
			}},
			types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(l.table),
				Item:      entryItem(pk, seq, e).expires(expires),
			}},
		)
	}
	status := &types.Put{
		TableName: aws.String(l.table),
		Item:      statusItem(pk, st, seq, nw).expires(expires),
	}
	if cur.found {
		status.ConditionExpression = aws.String("#seq = :seq")
		status.ExpressionAttributeNames = names(attrSeq)
		status.ExpressionAttributeValues = item{}.num(":seq", cur.seq)
	} else {
		status.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		status.ExpressionAttributeNames = names(attrPK)
	}
	return append(tx, types.TransactWriteItem{Put: status})
}

// expiry returns when items written now expire, or zero for never.
func (l *Ledger) expiry() time.Time {
	if l.opts.ExpireAfter <= 0 {
		return time.Time{}
	}
	return time.Now().Add(l.opts.ExpireAfter)
}

func entryItem(pk string, seq int64, e ledger.Entry) item {
	return key(pk, fmt.Sprintf("%s%010d", skEntry, seq)).
		str(attrRequestID, e.RequestID).str(attrEventID, e.EventID).str(attrType, e.Type).str(attrStep, e.Step).
		num(attrTime, e.Time.UnixNano()).num(attrAttempt, int64(e.Attempt)).
		str(attrReason, e.Reason).str(attrDetail, e.Detail).str(attrOutcome, string(e.Outcome)).
		str(attrAccount, e.Account).str(attrObjectID, e.ObjectID).str(attrAction, e.Action)
}

func readEntry(it map[string]types.AttributeValue) (ledger.Entry, error) {
	r := reader{it: it}
	e := ledger.Entry{
		EventID: r.str(attrEventID), RequestID: r.str(attrRequestID), Type: r.str(attrType), Step: r.str(attrStep),
		Time: r.time(attrTime), Attempt: int(r.num(attrAttempt)), Reason: r.str(attrReason), Detail: r.str(attrDetail),
		Outcome: ledger.Outcome(r.str(attrOutcome)),
		Account: r.str(attrAccount), ObjectID: r.str(attrObjectID), Action: r.str(attrAction),
	}
	return e, r.err
}

func statusItem(pk string, s ledger.Status, seq int64, n newest) item {
	it := key(pk, skStatus).
		str(attrRequestID, s.RequestID).str(attrStep, s.Step).str(attrType, s.Type).str(attrOutcome, string(s.Outcome)).
		str(attrReason, s.Reason).str(attrDetail, s.Detail).num(attrAttempt, int64(s.Attempt)).
		num(attrStarted, s.Started.UnixNano()).num(attrUpdated, s.Updated.UnixNano()).num(attrSeq, seq)
	for _, f := range []struct {
		attr, attrAt, v string
		at              time.Time
	}{
		{attrAccount, attrAccountAt, s.Account, n.account},
		{attrObjectID, attrObjectIDAt, s.ObjectID, n.objectID},
		{attrAction, attrActionAt, s.Action, n.action},
	} {
		if f.v != "" {
			it.str(f.attr, f.v).num(f.attrAt, f.at.UnixNano())
		}
	}
	return it
}

// readStatus reads a status item; items written before Account, ObjectID
// and Action were kept read with them empty.
func readStatus(it map[string]types.AttributeValue) (ledger.Status, int64, newest, error) {
	r := reader{it: it}
	s := ledger.Status{
		RequestID: r.str(attrRequestID), Step: r.str(attrStep), Type: r.str(attrType), Outcome: ledger.Outcome(r.str(attrOutcome)),
		Reason: r.str(attrReason), Detail: r.str(attrDetail), Attempt: int(r.num(attrAttempt)),
		Started: r.time(attrStarted), Updated: r.time(attrUpdated),
		Account: r.str(attrAccount), ObjectID: r.str(attrObjectID), Action: r.str(attrAction),
	}
	n := newest{account: r.time(attrAccountAt), objectID: r.time(attrObjectIDAt), action: r.time(attrActionAt)}
	seq := r.num(attrSeq)
	return s, seq, n, r.err
}

// current reads a request's status item, consistently.
func (l *Ledger) current(ctx context.Context, requestID string) (current, error) {
	out, err := l.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            key(reqPrefix+requestID, skStatus),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return current{}, err
	}
	s, seq, n, err := readStatus(out.Item)
	return current{found: true, status: s, seq: seq, newest: n}, err
}

// Get implements ledger.Ledger with one consistent Query of the request's
// partition.
func (l *Ledger) Get(ctx context.Context, requestID string) (ledger.Status, error) {
	var (
		status  ledger.Status
		found   bool
		history []ledger.Entry
	)
	pages := dynamodb.NewQueryPaginator(l.api, &dynamodb.QueryInput{
		TableName:                 aws.String(l.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  names(attrPK),
		ExpressionAttributeValues: item{}.str(":pk", reqPrefix+requestID),
		ConsistentRead:            aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return ledger.Status{}, fmt.Errorf("dynamoledger: get request %s: %w", requestID, err)
		}
		for _, it := range page.Items {
			r := reader{it: it}
			switch sk := r.str(attrSK); {
			case sk == skStatus:
				status, _, _, r.err = readStatus(it)
				found = true
			case strings.HasPrefix(sk, skEntry): // in seq order: entry# sorts before status
				var e ledger.Entry
				e, r.err = readEntry(it)
				history = append(history, e)
			}
			if r.err != nil {
				return ledger.Status{}, r.err
			}
		}
	}
	if !found {
		return ledger.Status{}, apperr.New(apperr.NotFound, "", "request %q not in the ledger", requestID)
	}
	slices.SortStableFunc(history, func(a, b ledger.Entry) int { return a.Time.Compare(b.Time) })
	status.History = history
	return status, nil
}

// List implements ledger.Ledger. It scans the table (see the package doc).
func (l *Ledger) List(ctx context.Context, f ledger.Filter) ([]ledger.Status, error) {
	conds := []string{"#sk = :status"}
	attrs := []string{attrSK}
	values := item{}.str(":status", skStatus)
	add := func(attr, op, v string) {
		conds = append(conds, fmt.Sprintf("#%s %s :%s", attr, op, attr))
		attrs = append(attrs, attr)
		values[":"+attr] = &types.AttributeValueMemberS{Value: v}
	}
	if f.Outcome != "" {
		add(attrOutcome, "=", string(f.Outcome))
	}
	if f.Step != "" {
		add(attrStep, "=", f.Step)
	}
	if f.Reason != "" {
		add(attrReason, "=", f.Reason)
	}
	if f.ObjectID != "" {
		add(attrObjectID, "=", f.ObjectID)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "#updated >= :since")
		attrs = append(attrs, attrUpdated)
		values.num(":since", f.Since.UnixNano())
	}
	var out []ledger.Status
	err := l.scan(ctx, strings.Join(conds, " AND "), names(attrs...), values, "", func(it map[string]types.AttributeValue) error {
		s, _, _, err := readStatus(it)
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dynamoledger: list requests: %w", err)
	}
	return ledger.Newest(out, f), nil
}

// Summary implements ledger.Ledger. It scans the table (see the package doc).
func (l *Ledger) Summary(ctx context.Context) (ledger.Summary, error) {
	sum := ledger.Summary{ByOutcome: map[ledger.Outcome]int{}, InProgressByStep: map[string]int{}, FailedByReason: map[string]int{}}
	err := l.scan(ctx, "#sk = :status", names(attrSK, attrOutcome, attrStep, attrReason), item{}.str(":status", skStatus),
		"#outcome, #step, #reason", func(it map[string]types.AttributeValue) error {
			r := reader{it: it}
			outcome, step, reason := ledger.Outcome(r.str(attrOutcome)), r.str(attrStep), r.str(attrReason)
			sum.Total++
			sum.ByOutcome[outcome]++
			switch outcome {
			case ledger.InProgress:
				sum.InProgressByStep[step]++
			case ledger.Failed:
				sum.FailedByReason[reason]++
			}
			return r.err
		})
	if err != nil {
		return ledger.Summary{}, fmt.Errorf("dynamoledger: summarize requests: %w", err)
	}
	return sum, nil
}

// scan calls fn for every item matching filter, reading consistently.
func (l *Ledger) scan(ctx context.Context, filter string, names map[string]string, values item, projection string, fn func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(l.table),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	if projection != "" {
		in.ProjectionExpression = aws.String(projection)
	}
	pages := dynamodb.NewScanPaginator(l.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// backoff returns a jittered wait before optimistic retry attempt+1:
// up to 5 ms doubling to at most 320 ms.
func backoff(attempt int) time.Duration {
	ceiling := 5 * time.Millisecond << min(attempt-1, 6)
	return ceiling/2 + rand.N(ceiling/2+1)
}

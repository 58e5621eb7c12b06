package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/raprov/raprov/shared/ledger"
)

// sqlLedger is the ledger.Ledger kept in the store's database. Recording in
// the same transaction as a hop is Hop.Record.
type sqlLedger struct{ s *Store }

var _ ledger.Ledger = (*sqlLedger)(nil)

// Record implements ledger.Ledger.
func (l *sqlLedger) Record(ctx context.Context, entries ...ledger.Entry) error {
	now := time.Now()
	norm := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		var err error
		if norm[i], err = e.Normalize(now); err != nil {
			return err
		}
	}
	err := l.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return l.s.recordTx(ctx, tx, norm) }, nil)
	if err != nil {
		return fmt.Errorf("local: record ledger entries: %w", err)
	}
	return nil
}

const (
	queryLedgerEvent = `
		insert into ledger_events (event_id, request_id, type, step, time, attempt, reason, detail, outcome, account, object_id, action)
		values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		on conflict (event_id) do nothing`
	// The request row mirrors its latest entry: a newer-or-equal time takes
	// over. Account, object_id and action each keep the newest non-empty
	// value, with the time (…_at) of the entry it came from.
	queryLedgerRequest = `
		insert into ledger_requests (request_id, step, type, outcome, reason, detail, attempt, started, updated,
			account, account_at, object_id, object_id_at, action, action_at)
		values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?8, ?10, ?8, ?11, ?8)
		on conflict (request_id) do update set
			started = min(started, excluded.started),
			step    = iif(excluded.updated >= updated, excluded.step, step),
			type    = iif(excluded.updated >= updated, excluded.type, type),
			outcome = iif(excluded.updated >= updated, excluded.outcome, outcome),
			reason  = iif(excluded.updated >= updated, excluded.reason, reason),
			detail  = iif(excluded.updated >= updated, excluded.detail, detail),
			attempt = iif(excluded.updated >= updated, excluded.attempt, attempt),
			updated = max(updated, excluded.updated),
			account      = iif(excluded.account != '' and (account = '' or excluded.updated >= account_at), excluded.account, account),
			account_at   = iif(excluded.account != '' and (account = '' or excluded.updated >= account_at), excluded.updated, account_at),
			object_id    = iif(excluded.object_id != '' and (object_id = '' or excluded.updated >= object_id_at), excluded.object_id, object_id),
			object_id_at = iif(excluded.object_id != '' and (object_id = '' or excluded.updated >= object_id_at), excluded.updated, object_id_at),
			action       = iif(excluded.action != '' and (action = '' or excluded.updated >= action_at), excluded.action, action),
			action_at    = iif(excluded.action != '' and (action = '' or excluded.updated >= action_at), excluded.updated, action_at)`
)

// recordTx records normalized entries in tx.
func (s *Store) recordTx(ctx context.Context, tx *sql.Tx, entries []ledger.Entry) error {
	for _, e := range entries {
		res, err := s.w.exec(ctx, tx, queryLedgerEvent,
			e.EventID, e.RequestID, e.Type, e.Step, e.Time.UnixNano(), e.Attempt, e.Reason, e.Detail, string(e.Outcome),
			e.Account, e.ObjectID, e.Action)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // n == 0: already recorded
		}
		_, err = s.w.exec(ctx, tx, queryLedgerRequest,
			e.RequestID, e.Step, e.Type, string(e.Outcome), e.Reason, e.Detail, e.Attempt, e.Time.UnixNano(),
			e.Account, e.ObjectID, e.Action)
		if err != nil {
			return err
		}
	}
	return nil
}

const statusColumns = `request_id, step, type, outcome, reason, detail, attempt, started, updated, account, object_id, action`

func scanStatus(row interface{ Scan(...any) error }) (ledger.Status, error) {
	var s ledger.Status
	var started, updated int64
	err := row.Scan(&s.RequestID, &s.Step, &s.Type, &s.Outcome, &s.Reason, &s.Detail, &s.Attempt, &started, &updated,
		&s.Account, &s.ObjectID, &s.Action)
	s.Started, s.Updated = time.Unix(0, started).UTC(), time.Unix(0, updated).UTC()
	return s, err
}

// Get implements ledger.Ledger. The status and its history come from one
// read transaction, so they agree.
func (l *sqlLedger) Get(ctx context.Context, requestID string) (ledger.Status, error) {
	tx, err := l.s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return ledger.Status{}, fmt.Errorf("local: get request %s: %w", requestID, err)
	}
	defer tx.Rollback()
	s, err := scanStatus(tx.QueryRowContext(ctx, `select `+statusColumns+` from ledger_requests where request_id = ?`, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return ledger.Status{}, notFound("request %q not in the ledger", requestID)
	}
	if err != nil {
		return ledger.Status{}, fmt.Errorf("local: get request %s: %w", requestID, err)
	}
	rows, err := tx.QueryContext(ctx, `
		select event_id, type, step, time, attempt, reason, detail, outcome, account, object_id, action
		from ledger_events where request_id = ? order by time, seq`, requestID)
	if err != nil {
		return ledger.Status{}, fmt.Errorf("local: get request %s history: %w", requestID, err)
	}
	defer rows.Close()
	for rows.Next() {
		e := ledger.Entry{RequestID: requestID}
		var t int64
		if err := rows.Scan(&e.EventID, &e.Type, &e.Step, &t, &e.Attempt, &e.Reason, &e.Detail, &e.Outcome,
			&e.Account, &e.ObjectID, &e.Action); err != nil {
			return ledger.Status{}, fmt.Errorf("local: get request %s history: %w", requestID, err)
		}
		e.Time = time.Unix(0, t).UTC()
		s.History = append(s.History, e)
	}
	if err := rows.Err(); err != nil {
		return ledger.Status{}, fmt.Errorf("local: get request %s history: %w", requestID, err)
	}
	return s, nil
}

// List implements ledger.Ledger.
func (l *sqlLedger) List(ctx context.Context, f ledger.Filter) ([]ledger.Status, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Outcome != "" {
		add("outcome = ?", string(f.Outcome))
	}
	if f.Step != "" {
		add("step = ?", f.Step)
	}
	if f.Reason != "" {
		add("reason = ?", f.Reason)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if !f.Since.IsZero() {
		add("updated >= ?", f.Since.UnixNano())
	}
	query := `select ` + statusColumns + ` from ledger_requests`
	if len(where) > 0 {
		query += ` where ` + strings.Join(where, " and ")
	}
	query += ` order by updated desc, request_id limit ?`
	rows, err := l.s.r.QueryContext(ctx, query, append(args, f.EffectiveLimit())...)
	if err != nil {
		return nil, fmt.Errorf("local: list requests: %w", err)
	}
	defer rows.Close()
	var out []ledger.Status
	for rows.Next() {
		s, err := scanStatus(rows)
		if err != nil {
			return nil, fmt.Errorf("local: list requests: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("local: list requests: %w", err)
	}
	return out, nil
}

// Summary implements ledger.Ledger.
func (l *sqlLedger) Summary(ctx context.Context) (ledger.Summary, error) {
	sum := ledger.Summary{ByOutcome: map[ledger.Outcome]int{}, InProgressByStep: map[string]int{}, FailedByReason: map[string]int{}}
	rows, err := l.s.r.QueryContext(ctx, `
		select outcome, iif(outcome = 'in_progress', step, ''), iif(outcome = 'failed', reason, ''), count(*)
		from ledger_requests group by 1, 2, 3`)
	if err != nil {
		return sum, fmt.Errorf("local: summarize requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var outcome ledger.Outcome
		var step, reason string
		var n int
		if err := rows.Scan(&outcome, &step, &reason, &n); err != nil {
			return sum, fmt.Errorf("local: summarize requests: %w", err)
		}
		sum.Total += n
		sum.ByOutcome[outcome] += n
		switch outcome {
		case ledger.InProgress:
			sum.InProgressByStep[step] += n
		case ledger.Failed:
			sum.FailedByReason[reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("local: summarize requests: %w", err)
	}
	return sum, nil
}

package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/raprov/raprov/shared/transport"
)

// deadLetters implements transport.DeadLetters over the dead_letters table.
type deadLetters struct{ s *Store }

var _ transport.DeadLetters = deadLetters{}

const deadLetterColumns = `id, queue, body, reason, detail, received, at`

func scanDeadLetter(row interface{ Scan(...any) error }) (transport.DeadLetter, error) {
	var dl transport.DeadLetter
	var at int64
	err := row.Scan(&dl.ID, &dl.Queue, &dl.Body, &dl.Reason, &dl.Detail, &dl.Received, &at)
	dl.At = time.Unix(0, at).UTC()
	return dl, err
}

// List implements transport.DeadLetters.
func (dl deadLetters) List(ctx context.Context, queue string, limit int) ([]transport.DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	where, args := queueFilter(queue)
	rows, err := dl.s.r.QueryContext(ctx, `select `+deadLetterColumns+` from dead_letters`+where+
		` order by at, id limit ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("local: list dead letters: %w", err)
	}
	defer rows.Close()
	var out []transport.DeadLetter
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, fmt.Errorf("local: list dead letters: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("local: list dead letters: %w", err)
	}
	return out, nil
}

// Count implements transport.DeadLetters.
func (dl deadLetters) Count(ctx context.Context, queue string) (int, error) {
	var n int
	where, args := queueFilter(queue)
	err := dl.s.r.QueryRowContext(ctx, `select count(*) from dead_letters`+where, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("local: count dead letters: %w", err)
	}
	return n, nil
}

// Get implements transport.DeadLetters.
func (dl deadLetters) Get(ctx context.Context, id string) (transport.DeadLetter, error) {
	d, err := scanDeadLetter(dl.s.r.QueryRowContext(ctx, `select `+deadLetterColumns+` from dead_letters where id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return transport.DeadLetter{}, notFound("dead letter %s not found", id)
	}
	if err != nil {
		return transport.DeadLetter{}, fmt.Errorf("local: get dead letter %s: %w", id, err)
	}
	return d, nil
}

// Requeue implements transport.DeadLetters: removing the dead letter and
// sending the message happen in one transaction. The destination queue need
// not be opened in this process.
func (dl deadLetters) Requeue(ctx context.Context, id string, body []byte) error {
	var queue string
	var wake func()
	err := dl.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var orig []byte
		err := tx.QueryRowContext(ctx, `delete from dead_letters where id = ? returning queue, body`, id).Scan(&queue, &orig)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("dead letter %s not found", id)
		}
		if err != nil {
			return err
		}
		if body == nil {
			body = orig
		}
		wake = dl.s.signal(queue).notify
		return dl.s.sendTx(ctx, tx, queue, []transport.Message{{Body: body}})
	}, func() { wake() })
	if err != nil {
		return fmt.Errorf("local: requeue dead letter %s: %w", id, err)
	}
	return nil
}

// Delete implements transport.DeadLetters.
func (dl deadLetters) Delete(ctx context.Context, id string) error {
	err := dl.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `delete from dead_letters where id = ?`, id)
		return err
	}, nil)
	if err != nil {
		return fmt.Errorf("local: delete dead letter %s: %w", id, err)
	}
	return nil
}

// Purge implements transport.DeadLetters.
func (dl deadLetters) Purge(ctx context.Context, queue string) (int, error) {
	where, args := queueFilter(queue)
	var n int64
	err := dl.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `delete from dead_letters`+where, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}, nil)
	if err != nil {
		return 0, fmt.Errorf("local: purge dead letters: %w", err)
	}
	return int(n), nil
}

// queueFilter returns the where clause selecting one queue's dead letters, or all for "".
func queueFilter(queue string) (string, []any) {
	if queue == "" {
		return "", nil
	}
	return " where queue = ?", []any{queue}
}

package local

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

// Hop is everything that follows from handling one message, committed at once.
type Hop struct {
	// Send lists outgoing messages by destination queue name. Every name must
	// be a queue opened on the store with Store.Queue.
	Send map[string][]transport.Message
	// Record lists ledger entries to record (idempotently, see ledger.Ledger).
	Record []ledger.Entry
	// DeadLetter, when not empty, moves the input to the dead-letter queue
	// with this reason and Detail instead of deleting it.
	DeadLetter string
	Detail     string
}

// Forward commits a hop in one SQLite transaction: it sends h.Send,
// records h.Record and acknowledges d — deletes it, or dead-letters it when
// h.DeadLetter is set. Either all of it happens or none does, so a local hop
// is never duplicated or lost; on error the input stays in flight and is
// delivered again after the visibility timeout.
//
// If d is no longer in the queue — its visibility timeout expired and
// another delivery of it was acknowledged first — Forward commits nothing
// and returns an *apperr.Error with code NotFound: of two overlapping
// deliveries of one message, at most one hop commits.
func (q *Queue) Forward(ctx context.Context, d transport.Delivery, h Hop) error {
	if err := q.s.commit(ctx, q, d.ID, h); err != nil {
		return fmt.Errorf("local: forward %s from %s: %w", d.ID, q.name, err)
	}
	return nil
}

// Publish commits h.Send and h.Record in one transaction, without an input
// to acknowledge: for messages that start a chain, such as a new request.
// h.DeadLetter must be empty.
func (s *Store) Publish(ctx context.Context, h Hop) error {
	if h.DeadLetter != "" {
		return apperr.New(apperr.Invalid, "", "local: publish cannot dead-letter: there is no input")
	}
	if err := s.commit(ctx, nil, "", h); err != nil {
		return fmt.Errorf("local: publish: %w", err)
	}
	return nil
}

func (s *Store) commit(ctx context.Context, from *Queue, id string, h Hop) error {
	names := slices.Sorted(maps.Keys(h.Send))
	dests := make([]*Queue, len(names))
	for i, name := range names {
		q, ok := s.queue(name)
		if !ok {
			return apperr.New(apperr.Invalid, "", "unknown queue %q: open it with Store.Queue first", name)
		}
		if err := checkMessages(name, h.Send[name]); err != nil {
			return err
		}
		dests[i] = q
	}
	now := time.Now()
	entries := make([]ledger.Entry, len(h.Record))
	for i, e := range h.Record {
		var err error
		if entries[i], err = e.Normalize(now); err != nil {
			return err
		}
	}

	var wake []func()
	for i, q := range dests {
		if f := q.notifier(h.Send[names[i]]); f != nil {
			wake = append(wake, f)
		}
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if from != nil {
			if err := from.ackTx(ctx, tx, id, h.DeadLetter, h.Detail); err != nil {
				return err
			}
		}
		for i, q := range dests {
			if err := s.sendTx(ctx, tx, q.name, h.Send[names[i]]); err != nil {
				return err
			}
		}
		return s.recordTx(ctx, tx, entries)
	}, func() {
		for _, f := range wake {
			f()
		}
	})
}

// applyTx sends and records h inside an open transaction (used where the
// hop joins another change, as a sweep's failures do) and returns the
// wake-ups to run after the commit. h.DeadLetter must be empty.
func (s *Store) applyTx(ctx context.Context, tx *sql.Tx, h Hop, now time.Time) ([]func(), error) {
	if h.DeadLetter != "" {
		return nil, apperr.New(apperr.Invalid, "", "local: a joined hop cannot dead-letter: there is no input")
	}
	var wake []func()
	for _, name := range slices.Sorted(maps.Keys(h.Send)) {
		q, ok := s.queue(name)
		if !ok {
			return nil, apperr.New(apperr.Invalid, "", "unknown queue %q: open it with Store.Queue first", name)
		}
		if err := checkMessages(name, h.Send[name]); err != nil {
			return nil, err
		}
		if err := s.sendTx(ctx, tx, name, h.Send[name]); err != nil {
			return nil, err
		}
		if f := q.notifier(h.Send[name]); f != nil {
			wake = append(wake, f)
		}
	}
	entries := make([]ledger.Entry, len(h.Record))
	for i, e := range h.Record {
		var err error
		if entries[i], err = e.Normalize(now); err != nil {
			return nil, err
		}
	}
	return wake, s.recordTx(ctx, tx, entries)
}

const (
	queryDelete     = `delete from goqite where queue = ? and id = ?`
	queryDeadLetter = `
		insert into dead_letters (id, queue, body, reason, detail, received, sent, at)
		select id, queue, body, ?, ?, received, created, ?
		from goqite where queue = ? and id = ?`
)

// ackTx deletes message id from q, or moves it to dead_letters when reason is
// set. It is goqite's DeleteTx plus a check that the row existed.
func (q *Queue) ackTx(ctx context.Context, tx *sql.Tx, id, reason, detail string) error {
	if reason != "" {
		if _, err := q.s.w.exec(ctx, tx, queryDeadLetter, reason, detail, time.Now().UnixNano(), q.name, id); err != nil {
			return err
		}
	}
	res, err := q.s.w.exec(ctx, tx, queryDelete, q.name, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("message %s is no longer in queue %s", id, q.name)
	}
	return nil
}

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
	p, err := s.prepare(h, time.Now())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if from != nil {
			if err := from.ackTx(ctx, tx, id, h.DeadLetter, h.Detail); err != nil {
				return err
			}
		}
		return s.applyTx(ctx, tx, p)
	}, p.wakeUp)
}

// prepared is a hop's sends and ledger entries, checked and ready to apply
// in a transaction.
type prepared struct {
	names   []string // destination queues, sorted
	send    map[string][]transport.Message
	entries []ledger.Entry // normalised
	wake    []func()       // the destinations' wake-ups, run after the commit
}

// prepare checks h's destinations and messages and normalises its ledger
// entries (Time defaults to now). It touches no database.
func (s *Store) prepare(h Hop, now time.Time) (prepared, error) {
	p := prepared{names: slices.Sorted(maps.Keys(h.Send)), send: h.Send, entries: make([]ledger.Entry, len(h.Record))}
	for _, name := range p.names {
		q, ok := s.queue(name)
		if !ok {
			return prepared{}, apperr.New(apperr.Invalid, "", "unknown queue %q: open it with Store.Queue first", name)
		}
		if err := checkMessages(name, h.Send[name]); err != nil {
			return prepared{}, err
		}
		if f := q.notifier(h.Send[name]); f != nil {
			p.wake = append(p.wake, f)
		}
	}
	for i, e := range h.Record {
		var err error
		if p.entries[i], err = e.Normalize(now); err != nil {
			return prepared{}, err
		}
	}
	return p, nil
}

// applyTx sends and records p inside an open transaction.
func (s *Store) applyTx(ctx context.Context, tx *sql.Tx, p prepared) error {
	for _, name := range p.names {
		if err := s.sendTx(ctx, tx, name, p.send[name]); err != nil {
			return err
		}
	}
	return s.recordTx(ctx, tx, p.entries)
}

// wakeUp runs the wake-ups of p's destinations.
func (p prepared) wakeUp() {
	for _, f := range p.wake {
		f()
	}
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

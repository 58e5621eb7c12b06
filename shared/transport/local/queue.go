package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"maragu.dev/goqite"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/transport"
)

// QueueOptions configure a Queue. Zero values select the defaults.
type QueueOptions struct {
	// Visibility is how long a received message stays hidden before it is
	// delivered again; default 30 s.
	Visibility time.Duration
	// MaxReceive is how many times a message is delivered before it is moved
	// to the dead-letter queue; default 5.
	MaxReceive int
	// SweepInterval is how often Receive first moves exhausted messages to the
	// dead-letter queue; default Visibility.
	SweepInterval time.Duration
	// Exhausted, when set, is called for each message the sweep moves to the
	// dead-letter queue (the process died, or kept dying, while handling it,
	// so no handler saw its last delivery). The hop it returns — messages to
	// send and ledger entries, typically the failure of the message's
	// request — commits in the same transaction as the move; its DeadLetter
	// must be empty.
	Exhausted func(body []byte, received int) Hop
}

// Queue is a named durable queue in a Store. It implements transport.Queue.
// Messages are delivered at least once, oldest first by send time (to the
// millisecond; delays and redeliveries reorder them), with no strict order.
type Queue struct {
	s    *Store
	gq   *goqite.Queue
	name string
	opts QueueOptions
	sig  *signal

	sweepMu   sync.Mutex
	lastSweep time.Time
}

var _ transport.Queue = (*Queue)(nil)

// Queue returns the queue named name, with opts, and registers it with the
// store: Forward and Publish only send to registered queues, and
// SweepExhausted sweeps them. Opening a name again replaces its options.
// It panics on an empty name or negative options, like goqite.
func (s *Store) Queue(name string, opts QueueOptions) *Queue {
	if name == "" {
		panic("local: queue name cannot be empty")
	}
	if opts.Visibility < 0 || opts.MaxReceive < 0 || opts.SweepInterval < 0 {
		panic("local: queue options cannot be negative")
	}
	if opts.Visibility == 0 {
		opts.Visibility = 30 * time.Second
	}
	if opts.MaxReceive == 0 {
		opts.MaxReceive = 5
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = opts.Visibility
	}
	q := &Queue{
		s:    s,
		name: name,
		opts: opts,
		sig:  s.signal(name),
		gq: goqite.New(goqite.NewOpts{
			DB: s.wdb, Name: name, MaxReceive: opts.MaxReceive, Timeout: opts.Visibility,
		}),
	}
	s.mu.Lock()
	s.queues[name] = q
	s.mu.Unlock()
	return q
}

// Name implements transport.Queue.
func (q *Queue) Name() string { return q.name }

// Options returns the queue's options, defaults filled in.
func (q *Queue) Options() QueueOptions { return q.opts }

// Send implements transport.Queue: it stores msgs in one transaction.
func (q *Queue) Send(ctx context.Context, msgs ...transport.Message) error {
	if err := checkMessages(q.name, msgs); err != nil {
		return err
	}
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return q.s.sendTx(ctx, tx, q.name, msgs)
	}, q.notifier(msgs))
	if err != nil {
		return fmt.Errorf("local: send to %s: %w", q.name, err)
	}
	return nil
}

// Receive implements transport.Queue. It never waits for a message; see
// Consume for a polling consumer.
func (q *Queue) Receive(ctx context.Context) (*transport.Delivery, error) {
	ds, err := q.receive(ctx, 1)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return &ds[0], nil
}

// The hot-path statements are goqite v0.4.0's own SQL (Queue.SendTx,
// Queue.ReceiveTx), run as prepared statements: goqite prepares them on
// every call, and SQLite's parser was a quarter of the CPU time of a hop.
// queryReceive also takes several messages at once and returns the
// delivery count, which goqite does not. Its limit is a constant: SQLite
// re-prepares a statement whose LIMIT is a bound parameter on every run.
const querySend = `insert into goqite (queue, body, timeout, priority) values (?, ?, ?, 0)`

// receiveLimits are the batch sizes queryReceive is prepared for, ascending.
var receiveLimits = []int{1, 2, 4, 8, 16, 32, 64}

func queryReceive(limit int) string {
	return fmt.Sprintf(`
		update goqite
		set
			timeout = ?1,
			received = received + 1,
			updated = ?3
		where id in (
			select id from goqite
			where
				queue = ?2 and
				?3 >= timeout and
				received < ?4
			order by priority desc, created
			limit %d
		)
		returning id, body, received`, limit)
}

var receiveQueries = func() map[int]string {
	m := make(map[int]string, len(receiveLimits))
	for _, n := range receiveLimits {
		m[n] = queryReceive(n)
	}
	return m
}()

// receive receives up to n messages in one transaction.
func (q *Queue) receive(ctx context.Context, n int) ([]transport.Delivery, error) {
	if err := q.maybeSweep(ctx); err != nil {
		q.s.log.WarnContext(ctx, "sweeping exhausted messages failed", "queue", q.name, "error", err)
	}
	var ds []transport.Delivery
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ds = ds[:0]
		now := time.Now().UTC()
		timeout, nowText := now.Add(q.opts.Visibility).Format(rfc3339Milli), now.Format(rfc3339Milli)
		for len(ds) < n {
			want := n - len(ds)
			limit := receiveLimits[0]
			for _, l := range receiveLimits {
				if l <= want {
					limit = l
				}
			}
			rows, err := q.s.w.query(ctx, tx, receiveQueries[limit], timeout, q.name, nowText, q.opts.MaxReceive)
			if err != nil {
				return err
			}
			got := 0
			for rows.Next() {
				var d transport.Delivery
				if err := rows.Scan(&d.ID, &d.Body, &d.Received); err != nil {
					rows.Close()
					return err
				}
				ds = append(ds, d)
				got++
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			if got < limit {
				break // the queue has no more visible messages
			}
		}
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("local: receive from %s: %w", q.name, err)
	}
	return ds, nil
}

// Extend implements transport.Queue. Extending a message that is gone is a no-op.
func (q *Queue) Extend(ctx context.Context, id string, d time.Duration) error {
	if d < 0 {
		return apperr.New(apperr.Invalid, "", "local: negative visibility extension %v", d)
	}
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return q.gq.ExtendTx(ctx, tx, goqite.ID(id), d)
	}, nil)
	if err != nil {
		return fmt.Errorf("local: extend %s in %s: %w", id, q.name, err)
	}
	return nil
}

// Delete implements transport.Queue.
func (q *Queue) Delete(ctx context.Context, id string) error {
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return q.gq.DeleteTx(ctx, tx, goqite.ID(id))
	}, nil)
	if err != nil {
		return fmt.Errorf("local: delete %s from %s: %w", id, q.name, err)
	}
	return nil
}

// DeadLetter implements transport.Queue. It returns an *apperr.Error with
// code NotFound when the message is no longer in the queue (acknowledged or
// dead-lettered by another delivery).
func (q *Queue) DeadLetter(ctx context.Context, d transport.Delivery, reason, detail string) error {
	return q.Forward(ctx, d, Hop{DeadLetter: reason, Detail: detail})
}

// SweepExhausted moves this queue's messages that were received MaxReceive
// times and whose visibility timeout has expired to the dead-letter queue
// with reason transport.ReasonMaxReceive, and returns how many it moved.
func (q *Queue) SweepExhausted(ctx context.Context) (int, error) {
	now := time.Now().UTC()
	var n int64
	var wake []func()
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		wake = nil
		var hops []Hop
		if q.opts.Exhausted != nil {
			rows, err := tx.QueryContext(ctx, `select body, received from goqite where queue = ? and received >= ? and timeout <= ?`,
				q.name, q.opts.MaxReceive, now.Format(rfc3339Milli))
			if err != nil {
				return err
			}
			for rows.Next() {
				var body []byte
				var received int
				if err := rows.Scan(&body, &received); err != nil {
					rows.Close()
					return err
				}
				hops = append(hops, q.opts.Exhausted(body, received))
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `
			insert into dead_letters (id, queue, body, reason, detail, received, sent, at)
			select id, queue, body, ?, 'received ' || received || ' times without acknowledgement', received, created, ?
			from goqite
			where queue = ? and received >= ? and timeout <= ?`,
			transport.ReasonMaxReceive, now.UnixNano(), q.name, q.opts.MaxReceive, now.Format(rfc3339Milli))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err = tx.ExecContext(ctx, `delete from goqite where queue = ? and received >= ? and timeout <= ?`,
			q.name, q.opts.MaxReceive, now.Format(rfc3339Milli)); err != nil {
			return err
		}
		for _, h := range hops {
			if h.DeadLetter != "" {
				return apperr.New(apperr.Invalid, "", "local: an exhausted message's hop cannot dead-letter: the sweep does")
			}
			p, err := q.s.prepare(h, now)
			if err != nil {
				return err
			}
			if err := q.s.applyTx(ctx, tx, p); err != nil {
				return err
			}
			wake = append(wake, p.wakeUp)
		}
		return nil
	}, func() {
		for _, f := range wake {
			f()
		}
	})
	if err != nil {
		return 0, fmt.Errorf("local: sweep %s: %w", q.name, err)
	}
	if n > 0 {
		q.s.log.WarnContext(ctx, "moved exhausted messages to the dead-letter queue",
			"queue", q.name, "count", n, "max_receive", q.opts.MaxReceive)
	}
	return int(n), nil
}

// maybeSweep runs SweepExhausted if SweepInterval has passed since the last run.
func (q *Queue) maybeSweep(ctx context.Context) error {
	q.sweepMu.Lock()
	due := time.Since(q.lastSweep) >= q.opts.SweepInterval
	if due {
		q.lastSweep = time.Now()
	}
	q.sweepMu.Unlock()
	if !due {
		return nil
	}
	_, err := q.SweepExhausted(ctx)
	return err
}

func checkMessages(queue string, msgs []transport.Message) error {
	for _, m := range msgs {
		if m.Delay < 0 {
			return apperr.New(apperr.Invalid, "", "local: negative delay %v for queue %s", m.Delay, queue)
		}
	}
	return nil
}

// sendTx stores msgs in queue, as goqite's SendTx does.
func (s *Store) sendTx(ctx context.Context, tx *sql.Tx, queue string, msgs []transport.Message) error {
	now := time.Now().UTC()
	for _, m := range msgs {
		body := m.Body
		if body == nil {
			body = []byte{} // goqite's body column is not null
		}
		if _, err := s.w.exec(ctx, tx, querySend, queue, body, now.Add(m.Delay).Format(rfc3339Milli)); err != nil {
			return err
		}
	}
	return nil
}

// notifier returns a function, run once msgs have committed, that wakes
// q's consumers: at once if any of msgs is visible, and again when each
// distinct delay has passed, so that a delayed message (a retry, a poll) is
// handled when it comes due rather than at the consumers' next idle poll.
// It returns nil for no messages.
func (q *Queue) notifier(msgs []transport.Message) func() {
	if len(msgs) == 0 {
		return nil
	}
	var now bool
	var delays []time.Duration
	for _, m := range msgs {
		switch {
		case m.Delay == 0:
			now = true
		case !slices.Contains(delays, m.Delay):
			delays = append(delays, m.Delay)
		}
	}
	return func() {
		if now {
			q.sig.notify()
		}
		for _, d := range delays {
			time.AfterFunc(d, q.sig.notify)
		}
	}
}

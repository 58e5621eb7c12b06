package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

// rfc3339Milli is goqite's timestamp format: its timeouts are text in this
// layout, compared as strings.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// Options configure a Store. Zero values select the defaults.
type Options struct {
	// Logger receives the store's and its consumers' logs; default slog.Default().
	Logger *slog.Logger
	// BusyTimeout is how long a statement waits for a lock held by another
	// process on the same file (an operator CLI, say); default 5 s.
	BusyTimeout time.Duration
	// Readers is the size of the read-only connection pool used by DLQ and
	// ledger queries; default GOMAXPROCS, at least 2.
	Readers int
}

// Store is one SQLite database holding queues, dead letters and the ledger.
// It is safe for concurrent use.
//
// All writes go through one connection owned by one goroutine, so writers
// in this process queue up instead of failing with SQLITE_BUSY, and the
// writes waiting at any moment are committed together in one transaction,
// each in its own savepoint (see writer). Reads that need no lock
// (dead-letter and ledger queries) use a separate pool and run concurrently
// with writes under WAL. Transactions commit with
// synchronous=NORMAL: a committed message survives a process crash (kill -9);
// a power loss may roll back the last transactions but never corrupts the file.
type Store struct {
	wdb *sql.DB // the one write connection, used by w
	w   *writer
	r   *sql.DB // read-only pool
	log *slog.Logger

	mu      sync.Mutex
	queues  map[string]*Queue
	signals map[string]*signal

	ledger *sqlLedger
}

// Open opens or creates the database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("local: a database file path is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.Readers <= 0 {
		opts.Readers = max(runtime.GOMAXPROCS(0), 2)
	}

	wdb, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, false))
	if err != nil {
		return nil, fmt.Errorf("local: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("local: migrate %s: %w", path, err)
	}
	w, err := newWriter(ctx, wdb, preparedQueries)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("local: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, true))
	if err != nil {
		w.close()
		wdb.Close()
		return nil, fmt.Errorf("local: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)

	s := &Store{
		wdb: wdb, w: w, r: r, log: opts.Logger,
		queues:  map[string]*Queue{},
		signals: map[string]*signal{},
	}
	s.ledger = &sqlLedger{s: s}
	return s, nil
}

// dsn builds a modernc.org/sqlite data source name. Writers begin every
// transaction IMMEDIATE, taking the write lock up front: a deferred
// transaction that upgrades from read to write can fail with SQLITE_BUSY
// without waiting for busy_timeout.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Savepoint journals (see writer) stay in memory rather than temp files.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database; operations still waiting fail. Messages in
// flight stay in flight and reappear after their visibility timeout once
// the store is opened again.
func (s *Store) Close() error {
	s.w.close()
	return errors.Join(s.r.Close(), s.wdb.Close())
}

// Ledger returns the store's ledger, kept in the same database.
func (s *Store) Ledger() ledger.Ledger { return s.ledger }

// DeadLetters returns the store's dead-letter queues.
func (s *Store) DeadLetters() transport.DeadLetters { return deadLetters{s} }

// inTx runs fn in a write transaction: its writes commit if it returns nil
// and are rolled back if it fails. after, if not nil, runs once they have
// committed.
func (s *Store) inTx(ctx context.Context, fn txFunc, after func()) error {
	return s.w.do(ctx, fn, after)
}

// preparedQueries are prepared once on the write connection.
var preparedQueries = append([]string{
	`savepoint op`, `rollback to op`, `release op`,
	querySend, queryDelete, queryDeadLetter, queryLedgerEvent, queryLedgerRequest,
	queryClaim, queryClaimedBy,
}, slices.Collect(maps.Values(receiveQueries))...)

// queue returns the queue registered under name.
func (s *Store) queue(name string) (*Queue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	return q, ok
}

// signal returns the wake-up signal of the queue named name.
func (s *Store) signal(name string) *signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	sig := s.signals[name]
	if sig == nil {
		sig = &signal{}
		s.signals[name] = sig
	}
	return sig
}

// SweepExhausted moves every message that was received its queue's
// MaxReceive times and whose visibility timeout has expired to the
// dead-letter queue with reason transport.ReasonMaxReceive, for every queue
// opened on the store. It returns how many it moved. Receive does the same
// for its own queue every QueueOptions.SweepInterval.
func (s *Store) SweepExhausted(ctx context.Context) (int, error) {
	s.mu.Lock()
	qs := make([]*Queue, 0, len(s.queues))
	for _, q := range s.queues {
		qs = append(qs, q)
	}
	s.mu.Unlock()
	total := 0
	for _, q := range qs {
		n, err := q.SweepExhausted(ctx)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// signal wakes the pollers of one queue when a message is sent to it in
// this process. A poller takes the channel before it polls, so a send that
// lands between its poll and its wait still wakes it.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next notify.
func (g *signal) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) notify() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

func notFound(format string, args ...any) error {
	return apperr.New(apperr.NotFound, "", format, args...)
}

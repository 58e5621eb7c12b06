package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// maxBatch bounds the operations committed in one transaction.
const maxBatch = 256

// writer owns the store's single write connection and commits operations
// in groups: every operation waiting when a transaction starts joins it,
// each inside its own savepoint. An operation that fails is rolled back to
// its savepoint alone; the others commit together, and none of them is
// reported done before the commit. Under load this turns many small
// transactions (each paying for BEGIN IMMEDIATE and a WAL commit) into few
// larger ones, without adding latency when idle.
type writer struct {
	db       *sql.DB
	ops      chan *op
	stop     chan struct{}
	done     chan struct{}
	prepared map[string]*sql.Stmt // read-only after newWriter

	// The prepared statements bound to the transaction in progress, made
	// once per transaction rather than once per statement. Only the
	// writer's goroutine touches them.
	stmtsTx *sql.Tx
	stmts   map[string]*sql.Stmt

	closeOnce sync.Once
}

// op is one unit of work: fn runs in the shared transaction, and after runs
// once that transaction has committed. fn gets a context of its own: the
// caller's context only decides whether fn starts, so that cancelling it
// cannot interrupt another operation's statement on the shared connection.
type op struct {
	ctx   context.Context
	fn    txFunc
	after func()
	err   chan error // buffered; receives the outcome
}

// errClosed is returned for operations submitted after Close.
var errClosed = errors.New("local: store is closed")

// txFunc is a write operation.
type txFunc func(ctx context.Context, tx *sql.Tx) error

// newWriter prepares queries on db's one connection and starts the writer.
func newWriter(ctx context.Context, db *sql.DB, queries []string) (*writer, error) {
	w := &writer{
		db: db, ops: make(chan *op, maxBatch), stop: make(chan struct{}), done: make(chan struct{}),
		prepared: make(map[string]*sql.Stmt, len(queries)),
		stmts:    make(map[string]*sql.Stmt, len(queries)),
	}
	for _, q := range queries {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, s := range w.prepared {
				s.Close()
			}
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		w.prepared[q] = s
	}
	go w.run()
	return w, nil
}

// do runs fn in a write transaction and waits until it has committed or
// failed. after, if not nil, runs after the commit. If ctx ends before fn
// runs, fn never runs; once fn has run, do waits for the commit.
func (w *writer) do(ctx context.Context, fn txFunc, after func()) error {
	o := &op{ctx: ctx, fn: fn, after: after, err: make(chan error, 1)}
	select {
	case <-w.stop:
		return errClosed
	default:
	}
	select {
	case w.ops <- o:
	case <-w.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.err:
		return err
	case <-w.done:
		// The writer answers every operation it takes before it exits; one
		// queued after its last look was never taken.
		select {
		case err := <-o.err:
			return err
		default:
			return errClosed
		}
	}
}

// close stops the writer after the batch in progress and closes its statements.
func (w *writer) close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		for _, s := range w.prepared {
			s.Close()
		}
	})
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-w.ops:
			batch = append(batch[:0], o)
		case <-w.stop:
			// Fail whatever is still queued; do callers blocked on submit see stop.
			for {
				select {
				case o := <-w.ops:
					o.err <- errClosed
				default:
					return
				}
			}
		}
		// Let the goroutines that are ready to run go first: under load
		// many of them are about to submit an operation, and each one that
		// joins this batch saves a commit (a WAL write of every page it
		// touches). With nothing else runnable this returns at once.
		runtime.Gosched()
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit runs a batch in one transaction and reports each outcome. It first
// runs every operation without savepoints, the common case where none
// fails; if one does, it rolls the transaction back and runs the batch
// again with a savepoint around each operation, so that the failed one is
// undone alone. Operations must therefore be safe to run twice when the
// first run was rolled back, as transactional SQL is.
func (w *writer) commit(batch []*op) {
	if len(batch) > 1 {
		if w.try(batch, false) {
			return
		}
	}
	w.try(batch, true)
}

// try runs batch in one transaction, each operation in its own savepoint
// when isolate is set, and reports the outcomes. Without isolate it reports
// nothing and returns false when an operation fails: the transaction is
// rolled back, and the caller runs the batch again isolated.
func (w *writer) try(batch []*op, isolate bool) bool {
	// The transaction belongs to no caller: a caller's cancellation must not abort the others.
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		for _, o := range batch {
			o.err <- err
		}
		return true
	}
	results := make([]error, len(batch))
	// aborted is set when the transaction cannot commit: savepoint
	// bookkeeping failed (SQLite rolled the whole transaction back: disk
	// full, I/O error), or the only operation failed.
	var aborted error
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !isolate {
			if results[i] = call(ctx, o.fn, tx); results[i] != nil {
				tx.Rollback()
				return false
			}
			continue
		}
		if len(batch) == 1 {
			results[i] = call(ctx, o.fn, tx)
			aborted = results[i]
			break
		}
		if _, err := w.exec(ctx, tx, `savepoint op`); err != nil {
			aborted = err
			break
		}
		results[i] = call(ctx, o.fn, tx)
		if results[i] != nil {
			if _, err := w.exec(ctx, tx, `rollback to op`); err != nil {
				aborted = err
				break
			}
		}
		if _, err := w.exec(ctx, tx, `release op`); err != nil {
			aborted = err
			break
		}
	}
	if aborted != nil {
		tx.Rollback()
		for i, o := range batch {
			if results[i] == nil {
				results[i] = fmt.Errorf("transaction rolled back: %w", aborted)
			}
			o.err <- results[i]
		}
		return true
	}
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("commit: %w", err)
		for i, o := range batch {
			o.err <- errors.Join(results[i], err)
		}
		return true
	}
	for i, o := range batch {
		if results[i] == nil && o.after != nil {
			o.after()
		}
		o.err <- results[i]
	}
	return true
}

// call runs fn, turning a panic into an error so one bad operation cannot
// take the writer down.
func call(ctx context.Context, fn txFunc, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in write operation: %v", v)
		}
	}()
	return fn(ctx, tx)
}

// stmt returns query's prepared statement bound to tx, or nil when query
// is not prepared. Statements bound to a transaction close with it.
func (w *writer) stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	s, ok := w.prepared[query]
	if !ok {
		return nil
	}
	if w.stmtsTx != tx {
		w.stmtsTx = tx
		clear(w.stmts)
	}
	if bound, ok := w.stmts[query]; ok {
		return bound
	}
	bound := tx.StmtContext(ctx, s)
	w.stmts[query] = bound
	return bound
}

// exec runs query in tx, through its prepared statement if it has one:
// preparing once spares SQLite's parser on every call.
func (w *writer) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := w.stmt(ctx, tx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a query returning one row.
func (w *writer) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := w.stmt(ctx, tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// query is exec for a query returning rows.
func (w *writer) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s := w.stmt(ctx, tx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

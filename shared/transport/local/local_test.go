package local_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/ledgertest"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
	"github.com/raprov/raprov/shared/transport/queuetest"
)

var quiet = slog.New(slog.DiscardHandler)

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, cfg queuetest.Config) queuetest.Harness {
		return harness(t, filepath.Join(t.TempDir(), "raprov.db"), cfg)
	})
}

func harness(t *testing.T, path string, cfg queuetest.Config) queuetest.Harness {
	s := openStore(t, path)
	q := s.Queue("q", local.QueueOptions{Visibility: cfg.Visibility, MaxReceive: cfg.MaxReceive})
	return queuetest.Harness{
		Queue:       q,
		DeadLetters: s.DeadLetters(),
		Reopen: func(t *testing.T) queuetest.Harness {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return harness(t, path, cfg)
		},
	}
}

func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		return MustOpen(t).Ledger()
	})
}

// MustOpen opens a store on a fresh file, closed when the test ends.
func MustOpen(tb testing.TB) *local.Store {
	tb.Helper()
	return openStore(tb, filepath.Join(tb.TempDir(), "raprov.db"))
}

func openStore(tb testing.TB, path string) *local.Store {
	tb.Helper()
	s, err := local.Open(context.Background(), path, local.Options{Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the store's file directly, to inspect it or inject faults.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustReceive(t *testing.T, q transport.Queue) transport.Delivery {
	t.Helper()
	d, err := q.Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		t.Fatalf("queue %s is empty", q.Name())
	}
	return *d
}

// drain receives and deletes everything visible in q and returns the bodies, sorted.
func drain(t *testing.T, q transport.Queue) []string {
	t.Helper()
	var out []string
	for {
		d, err := q.Receive(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			slices.Sort(out)
			return out
		}
		out = append(out, string(d.Body))
		if err := q.Delete(context.Background(), d.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func msgs(bodies ...string) []transport.Message {
	out := make([]transport.Message, len(bodies))
	for i, b := range bodies {
		out[i] = transport.Message{Body: []byte(b)}
	}
	return out
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")

	s := openStore(t, path)
	if err := s.Queue("a", local.QueueOptions{}).Send(ctx, msgs("kept")...); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening migrates nothing and keeps the data.
	s = openStore(t, path)
	if got := drain(t, s.Queue("a", local.QueueOptions{})); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("after reopen, queue holds %q", got)
	}
	s.Close()

	// A database from an older version is migrated forward: here one at
	// version 1, before the claims table, the ledger's account columns and
	// the doors' tokens.
	if _, err := rawDB(t, path).Exec(`drop table claims; drop table number_holds; drop table door_tokens; ` + dropLedgerAccount + `pragma user_version = 1`); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path)
	if h, fp, err := s.Claims().Claim(ctx, "r1", "e1", "fa"); err != nil || h != "e1" || fp != "fa" {
		t.Errorf("Claim after migrating from version 1 = %s, %s, %v", h, fp, err)
	}
	if got := drain(t, s.Queue("a", local.QueueOptions{})); len(got) != 0 {
		t.Errorf("queue holds %q after migration", got)
	}
	s.Close()
	// Migration 3 removed goqite's update trigger (a second UPDATE per received message).
	var triggers int
	if err := rawDB(t, path).QueryRow(`select count(*) from sqlite_master where type = 'trigger'`).Scan(&triggers); err != nil || triggers != 0 {
		t.Errorf("triggers after migration: %d, %v; want none", triggers, err)
	}

	// A schema from a newer program is refused.
	if _, err := rawDB(t, path).Exec(`pragma user_version = 999`); err != nil {
		t.Fatal(err)
	}
	if s, err := local.Open(ctx, path, local.Options{Logger: quiet}); err == nil {
		s.Close()
		t.Error("Open of a newer schema succeeded")
	}

	if _, err := local.Open(ctx, "", local.Options{}); err == nil {
		t.Error("Open without a path succeeded")
	}
}

func TestQueueDefaults(t *testing.T) {
	q := MustOpen(t).Queue("a", local.QueueOptions{})
	want := local.QueueOptions{Visibility: 30 * time.Second, MaxReceive: 5, SweepInterval: 30 * time.Second}
	if got := q.Options(); got.Visibility != want.Visibility || got.MaxReceive != want.MaxReceive || got.SweepInterval != want.SweepInterval || got.Exhausted != nil {
		t.Errorf("Options() = %+v, want %+v", got, want)
	}
}

func TestSendInvalid(t *testing.T) {
	q := MustOpen(t).Queue("a", local.QueueOptions{})
	err := q.Send(context.Background(), transport.Message{Body: []byte("x"), Delay: -time.Second})
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Send with a negative delay: error %v, want code invalid", err)
	}
	if got := drain(t, q); len(got) != 0 {
		t.Errorf("queue holds %q after a rejected send", got)
	}
}

func TestForward(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	s := openStore(t, path)
	in := s.Queue("in", local.QueueOptions{})
	out1 := s.Queue("out1", local.QueueOptions{})
	out2 := s.Queue("out2", local.QueueOptions{})
	raw := rawDB(t, path)

	// Faults injected inside the transaction, after the input is deleted.
	if _, err := raw.Exec(`
		create trigger fail_send before insert on goqite when new.body = cast('boom' as blob)
		begin select raise(abort, 'injected send failure'); end;
		create trigger fail_record before insert on ledger_events when new.event_id = 'boom'
		begin select raise(abort, 'injected ledger failure'); end;`); err != nil {
		t.Fatal(err)
	}

	entry := func(id string) ledger.Entry {
		return ledger.Entry{EventID: id, RequestID: "r1", Type: "raprov.test.v1", Step: "in"}
	}
	tests := []struct {
		name     string
		hop      local.Hop
		wantCode apperr.Code // "" = success; an error leaves everything as it was
		wantOut1 []string
		wantOut2 []string
		wantDead bool
	}{{
		name:     "send to two queues and record",
		hop:      local.Hop{Send: map[string][]transport.Message{"out1": msgs("a", "b"), "out2": msgs("c")}, Record: []ledger.Entry{entry("e1")}},
		wantOut1: []string{"a", "b"}, wantOut2: []string{"c"},
	}, {
		name: "ack only",
		hop:  local.Hop{},
	}, {
		name:     "send and dead-letter the input",
		hop:      local.Hop{Send: map[string][]transport.Message{"out2": msgs("failed")}, DeadLetter: "retries_exhausted", Detail: "5 attempts"},
		wantOut2: []string{"failed"}, wantDead: true,
	}, {
		name:     "send fails after the delete",
		hop:      local.Hop{Send: map[string][]transport.Message{"out1": msgs("a"), "out2": msgs("boom")}},
		wantCode: apperr.Internal,
	}, {
		name:     "record fails after the sends",
		hop:      local.Hop{Send: map[string][]transport.Message{"out1": msgs("a")}, Record: []ledger.Entry{entry("e2"), entry("boom")}},
		wantCode: apperr.Internal,
	}, {
		name:     "unknown queue",
		hop:      local.Hop{Send: map[string][]transport.Message{"out1": msgs("a"), "nowhere": msgs("b")}},
		wantCode: apperr.Invalid,
	}, {
		name:     "invalid ledger entry",
		hop:      local.Hop{Send: map[string][]transport.Message{"out1": msgs("a")}, Record: []ledger.Entry{{EventID: "e3"}}},
		wantCode: apperr.Invalid,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := in.Send(ctx, msgs("input")...); err != nil {
				t.Fatal(err)
			}
			d := mustReceive(t, in)
			err := in.Forward(ctx, d, tt.hop)
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("Forward error = %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode != "" {
				// Nothing happened: the input is still in flight, nothing was sent.
				if err := in.Extend(ctx, d.ID, 0); err != nil {
					t.Fatal(err)
				}
				again := mustReceive(t, in)
				if again.ID != d.ID || again.Received != 2 {
					t.Errorf("after a failed Forward, input redelivered as %+v, want %s again", again, d.ID)
				}
				if err := in.Delete(ctx, again.ID); err != nil {
					t.Fatal(err)
				}
			} else if got := drain(t, in); len(got) != 0 {
				t.Errorf("input queue still holds %q", got)
			}
			if got := drain(t, out1); !slices.Equal(got, tt.wantOut1) {
				t.Errorf("out1 holds %q, want %q", got, tt.wantOut1)
			}
			if got := drain(t, out2); !slices.Equal(got, tt.wantOut2) {
				t.Errorf("out2 holds %q, want %q", got, tt.wantOut2)
			}
			dl, err := s.DeadLetters().Get(ctx, d.ID)
			switch {
			case tt.wantDead && err != nil:
				t.Errorf("input not dead-lettered: %v", err)
			case tt.wantDead && (dl.Reason != "retries_exhausted" || dl.Detail != "5 attempts" || string(dl.Body) != "input" || dl.Queue != "in"):
				t.Errorf("dead letter = %+v", dl)
			case !tt.wantDead && apperr.CodeOf(err) != apperr.NotFound:
				t.Errorf("input dead-lettered: %+v, %v", dl, err)
			}
		})
	}

	st, err := s.Ledger().Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.History) != 1 || st.History[0].EventID != "e1" {
		t.Errorf("ledger history = %+v, want only e1 (failed hops record nothing)", st.History)
	}
}

// Two deliveries of one message race (the first outlived its visibility
// timeout): exactly one hop goes through.
func TestForwardStaleDelivery(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	in := s.Queue("in", local.QueueOptions{Visibility: 20 * time.Millisecond})
	out := s.Queue("out", local.QueueOptions{})
	if err := in.Send(ctx, msgs("x")...); err != nil {
		t.Fatal(err)
	}
	first := mustReceive(t, in)
	var second *transport.Delivery
	for second == nil {
		time.Sleep(5 * time.Millisecond)
		var err error
		if second, err = in.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hop := local.Hop{Send: map[string][]transport.Message{"out": msgs("y")}}
	if err := in.Forward(ctx, *second, hop); err != nil {
		t.Fatalf("Forward of the live delivery: %v", err)
	}
	if err := in.Forward(ctx, first, hop); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("Forward of the stale delivery: error %v, want code not_found", err)
	}
	if err := in.DeadLetter(ctx, first, "poison", ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("DeadLetter of an acknowledged delivery: error %v, want code not_found", err)
	}
	if got := drain(t, out); !slices.Equal(got, []string{"y"}) {
		t.Errorf("out holds %q, want one y", got)
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("intake", local.QueueOptions{})
	err := s.Publish(ctx, local.Hop{
		Send:   map[string][]transport.Message{"intake": msgs("req")},
		Record: []ledger.Entry{{EventID: "e1", RequestID: "r1", Step: "intake"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, q); !slices.Equal(got, []string{"req"}) {
		t.Errorf("intake holds %q", got)
	}
	if _, err := s.Ledger().Get(ctx, "r1"); err != nil {
		t.Errorf("ledger: %v", err)
	}
	if err := s.Publish(ctx, local.Hop{DeadLetter: "poison"}); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Publish with DeadLetter: error %v, want code invalid", err)
	}
}

func TestSweepExhausted(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	// A long sweep interval: only the explicit sweep moves anything.
	q := s.Queue("a", local.QueueOptions{Visibility: 10 * time.Millisecond, MaxReceive: 2, SweepInterval: time.Hour})
	other := s.Queue("b", local.QueueOptions{Visibility: time.Hour, MaxReceive: 1, SweepInterval: time.Hour})
	if err := q.Send(ctx, msgs("tired", "fresh")...); err != nil {
		t.Fatal(err)
	}
	if err := other.Send(ctx, msgs("in flight")...); err != nil {
		t.Fatal(err)
	}
	mustReceive(t, other) // exhausted, but its visibility timeout has not expired

	for n := 0; n < 2; {
		d, err := q.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if string(d.Body) == "fresh" {
			if err := q.Delete(ctx, d.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		n++
	}
	time.Sleep(20 * time.Millisecond) // let the last visibility timeout expire

	n, err := s.SweepExhausted(ctx)
	if err != nil || n != 1 {
		t.Fatalf("SweepExhausted = %d, %v; want 1", n, err)
	}
	dls, err := s.DeadLetters().List(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || string(dls[0].Body) != "tired" || dls[0].Reason != transport.ReasonMaxReceive || dls[0].Received != 2 || dls[0].Queue != "a" {
		t.Errorf("dead letters = %+v", dls)
	}
	if n, err := s.SweepExhausted(ctx); err != nil || n != 0 {
		t.Errorf("second SweepExhausted = %d, %v; want 0", n, err)
	}
}

// Dead letters can be replayed to a queue this process never opened.
func TestRequeueUnopenedQueue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	s := openStore(t, path)
	q := s.Queue("step", local.QueueOptions{})
	if err := q.Send(ctx, msgs("x")...); err != nil {
		t.Fatal(err)
	}
	if err := q.DeadLetter(ctx, mustReceive(t, q), "poison", ""); err != nil {
		t.Fatal(err)
	}
	cli := openStore(t, path) // say, the operator CLI, while the runner is up
	dls, err := cli.DeadLetters().List(ctx, "step", 1)
	if err != nil || len(dls) != 1 {
		t.Fatalf("List = %v, %v", dls, err)
	}
	if err := cli.DeadLetters().Requeue(ctx, dls[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, q); !slices.Equal(got, []string{"x"}) {
		t.Errorf("after requeue, queue holds %q", got)
	}
}

// Two stores on one file (two processes) write concurrently without SQLITE_BUSY.
func TestConcurrentStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	stores := []*local.Store{openStore(t, path), openStore(t, path)}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, s := range stores {
		q := s.Queue("shared", local.QueueOptions{})
		for w := range 4 {
			wg.Go(func() {
				for j := range 25 {
					if err := q.Send(ctx, msgs(fmt.Sprintf("%d-%d-%d", i, w, j))...); err != nil {
						errs <- err
						return
					}
					if _, err := q.Receive(ctx); err != nil {
						errs <- err
						return
					}
					if err := s.Ledger().Record(ctx, ledger.Entry{EventID: fmt.Sprintf("%d-%d-%d", i, w, j), RequestID: "r"}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, err := stores[0].Ledger().Get(ctx, "r")
	if err != nil || len(st.History) != 200 {
		t.Errorf("ledger history has %d entries (%v), want 200", len(st.History), err)
	}
}

// consume runs Consume in the background until the test ends or stop is called.
func consume(t *testing.T, q *local.Queue, opts local.ConsumeOptions, h local.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- local.Consume(ctx, q, opts, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestConsumeConcurrencyBound(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{})
	const limit, n = 3, 12
	for i := range n {
		if err := q.Send(ctx, msgs(fmt.Sprint(i))...); err != nil {
			t.Fatal(err)
		}
	}
	var running, peak, handled atomic.Int32
	full := make(chan struct{})
	var fullOnce sync.Once
	consume(t, q, local.ConsumeOptions{Concurrency: limit}, func(ctx context.Context, d transport.Delivery) error {
		now := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		if now == limit {
			fullOnce.Do(func() { close(full) })
		}
		select { // hold the first handlers until the limit is reached
		case <-full:
		case <-time.After(5 * time.Second):
		}
		time.Sleep(time.Millisecond)
		handled.Add(1)
		return q.Delete(ctx, d.ID)
	})
	waitFor(t, "every message handled", func() bool { return handled.Load() == n })
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrency = %d, want %d", p, limit)
	}
}

func TestConsumeRetriesErrorsAndPanics(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	var logMu sync.Mutex
	s, err := local.Open(ctx, filepath.Join(t.TempDir(), "raprov.db"), local.Options{
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	q := s.Queue("a", local.QueueOptions{Visibility: 20 * time.Millisecond, MaxReceive: 3})
	if err := q.Send(ctx, msgs("flaky", "crashy", "hopeless")...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	deliveries := map[string][]int{}
	consume(t, q, local.ConsumeOptions{PollInterval: 10 * time.Millisecond}, func(ctx context.Context, d transport.Delivery) error {
		mu.Lock()
		deliveries[string(d.Body)] = append(deliveries[string(d.Body)], d.Received)
		mu.Unlock()
		switch {
		case string(d.Body) == "hopeless":
			return errors.New("still failing")
		case d.Received == 1 && string(d.Body) == "flaky":
			return errors.New("transient")
		case d.Received == 1 && string(d.Body) == "crashy":
			panic("boom")
		}
		return q.Delete(ctx, d.ID)
	})
	waitFor(t, "hopeless in the dead-letter queue", func() bool {
		n, err := s.DeadLetters().Count(ctx, "a")
		return err == nil && n == 1
	})
	mu.Lock()
	defer mu.Unlock()
	want := map[string][]int{"flaky": {1, 2}, "crashy": {1, 2}, "hopeless": {1, 2, 3}}
	for body, w := range want {
		if !slices.Equal(deliveries[body], w) {
			t.Errorf("%s delivered with counts %v, want %v", body, deliveries[body], w)
		}
	}
	dl, err := s.DeadLetters().List(ctx, "a", 1)
	if err != nil || len(dl) != 1 || string(dl[0].Body) != "hopeless" || dl[0].Reason != transport.ReasonMaxReceive {
		t.Errorf("dead letters = %+v, %v", dl, err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{`"panic":"boom"`, `"stack":`, `"error":"transient"`} {
		if !bytes.Contains(logs.Bytes(), []byte(want)) {
			t.Errorf("logs lack %s:\n%s", want, logs.Bytes())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A handler that outlasts the visibility timeout keeps its message thanks to the heartbeat.
func TestConsumeHeartbeat(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{Visibility: 60 * time.Millisecond})
	if err := q.Send(ctx, msgs("slow")...); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var done atomic.Bool
	consume(t, q, local.ConsumeOptions{Concurrency: 2, PollInterval: 5 * time.Millisecond}, func(ctx context.Context, d transport.Delivery) error {
		if calls.Add(1) > 1 {
			return q.Delete(ctx, d.ID)
		}
		time.Sleep(300 * time.Millisecond) // five visibility timeouts
		done.Store(true)
		return q.Delete(ctx, d.ID)
	})
	waitFor(t, "the slow handler", done.Load)
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1: the heartbeat did not hold the message", n)
	}
}

func TestConsumeGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{})
	if err := q.Send(ctx, msgs("one", "two")...); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	var handled atomic.Int32
	var ctxErr atomic.Value
	stop := consume(t, q, local.ConsumeOptions{Concurrency: 1}, func(hctx context.Context, d transport.Delivery) error {
		started <- struct{}{}
		<-release
		if err := hctx.Err(); err != nil {
			ctxErr.Store(err)
		}
		handled.Add(1)
		return q.Delete(hctx, d.ID)
	})
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Consume returned (%v) while a handler was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("Consume = %v, want nil after a clean shutdown", err)
	}
	if n := handled.Load(); n != 1 {
		t.Errorf("handled %d messages, want 1: the second must not be received after shutdown", n)
	}
	if err := ctxErr.Load(); err != nil {
		t.Errorf("handler context cancelled during graceful shutdown: %v", err)
	}
	if got := drain(t, q); !slices.Equal(got, []string{"two"}) {
		t.Errorf("queue holds %q, want the unhandled message", got)
	}
}

func TestConsumeShutdownTimeout(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{})
	if err := q.Send(ctx, msgs("stuck")...); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	cancelled := make(chan struct{})
	stop := consume(t, q, local.ConsumeOptions{ShutdownTimeout: 50 * time.Millisecond}, func(hctx context.Context, d transport.Delivery) error {
		close(started)
		<-hctx.Done()
		close(cancelled)
		return hctx.Err()
	})
	<-started
	if err := stop(); err == nil {
		t.Error("Consume = nil, want an error: a handler outlived the shutdown timeout")
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Error("the stuck handler's context was not cancelled")
	}
}

// A message sent in-process wakes an idle consumer at once, whatever its poll interval.
func TestConsumeWakesOnSend(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{})
	got := make(chan time.Time, 1)
	consume(t, q, local.ConsumeOptions{PollInterval: time.Hour}, func(ctx context.Context, d transport.Delivery) error {
		got <- time.Now()
		return q.Delete(ctx, d.ID)
	})
	// Idle polls back off 100 ms, 200 ms, … : by now the consumer sleeps ≥ 800 ms.
	time.Sleep(800 * time.Millisecond)
	sent := time.Now()
	if err := q.Send(ctx, msgs("wake up")...); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if lat := at.Sub(sent); lat > 300*time.Millisecond {
			t.Errorf("handled %v after the send, want at once", lat)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message not handled")
	}
}

// A delayed message sent in-process wakes an idle consumer when its delay
// has passed, not at the next poll.
func TestConsumeWakesWhenDelayPasses(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("a", local.QueueOptions{})
	got := make(chan time.Time, 1)
	consume(t, q, local.ConsumeOptions{PollInterval: time.Hour}, func(ctx context.Context, d transport.Delivery) error {
		got <- time.Now()
		return q.Delete(ctx, d.ID)
	})
	// Idle polls back off 100 ms, 200 ms, … : from 1.5 s on the consumer
	// sleeps 1.6 s, so its next poll comes long after the delay.
	time.Sleep(1600 * time.Millisecond)
	const delay = 200 * time.Millisecond
	sent := time.Now()
	if err := q.Send(ctx, transport.Message{Body: []byte("later"), Delay: delay}); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if lat := at.Sub(sent); lat < delay || lat > delay+300*time.Millisecond {
			t.Errorf("handled %v after the send, want just after the %v delay", lat, delay)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message not handled")
	}
}

// Concurrent hops share transactions; a failing one must not take others
// down with it, nor let its own half through.
func TestForwardConcurrentFailures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	s := openStore(t, path)
	in := s.Queue("in", local.QueueOptions{})
	out := s.Queue("out", local.QueueOptions{})
	if _, err := rawDB(t, path).Exec(`create trigger fail_send before insert on goqite when new.body = cast('boom' as blob)
		begin select raise(abort, 'injected send failure'); end;`); err != nil {
		t.Fatal(err)
	}
	const n = 60
	for i := range n {
		if err := in.Send(ctx, msgs(fmt.Sprintf("in-%02d", i))...); err != nil {
			t.Fatal(err)
		}
	}
	var ds []transport.Delivery
	for range n {
		ds = append(ds, mustReceive(t, in))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() {
			body := "ok-" + string(d.Body)
			if i%2 == 1 {
				body = "boom"
			}
			errs[i] = in.Forward(ctx, d, local.Hop{Send: map[string][]transport.Message{"out": msgs(body)}})
		})
	}
	wg.Wait()
	var want []string
	for i, d := range ds {
		if failed := errs[i] != nil; failed != (i%2 == 1) {
			t.Errorf("Forward %d: error %v", i, errs[i])
		}
		if i%2 == 0 {
			want = append(want, "ok-"+string(d.Body))
		} else if err := in.Extend(ctx, d.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	if got := drain(t, out); !slices.Equal(got, want) {
		t.Errorf("out holds %d messages, want the %d successful hops' (%q…)", len(got), len(want), got[:min(3, len(got))])
	}
	if got := drain(t, in); len(got) != n/2 {
		t.Errorf("%d inputs left, want the %d failed hops'", len(got), n/2)
	}
}

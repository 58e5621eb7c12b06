package local

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/transport"
)

// A batch commits its good operations and rolls back each bad one alone.
func TestWriterBatch(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "raprov.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	insert := func(id string) txFunc {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `insert into dead_letters (id, queue, body, reason, detail, received, sent, at)
				values (?, 'q', x'', 'r', '', 1, '', 0)`, id)
			return err
		}
	}
	then := func(first txFunc, second func() error) txFunc {
		return func(ctx context.Context, tx *sql.Tx) error {
			if err := first(ctx, tx); err != nil {
				return err
			}
			return second()
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var after []string
	mkop := func(ctx context.Context, name string, fn txFunc) *op {
		return &op{ctx: ctx, fn: fn, after: func() { after = append(after, name) }, err: make(chan error, 1)}
	}
	batch := []*op{
		mkop(ctx, "a", insert("a")),
		mkop(ctx, "b", then(insert("b"), func() error { return errors.New("b failed") })),
		mkop(ctx, "c", then(insert("c"), func() error { panic("c panicked") })),
		mkop(cancelled, "d", insert("d")),
		mkop(ctx, "e", insert("a")), // duplicate key
		mkop(ctx, "f", insert("f")),
	}
	s.w.commit(batch)

	wantErr := []string{"", "b failed", "c panicked", "context canceled", "UNIQUE", ""}
	for i, o := range batch {
		err := <-o.err
		switch {
		case wantErr[i] == "" && err != nil:
			t.Errorf("op %d: %v, want success", i, err)
		case wantErr[i] != "" && (err == nil || !strings.Contains(err.Error(), wantErr[i])):
			t.Errorf("op %d: %v, want an error containing %q", i, err, wantErr[i])
		}
	}
	if !slices.Equal(after, []string{"a", "f"}) {
		t.Errorf("after hooks ran for %q, want a and f", after)
	}
	rows, err := s.r.Query(`select id from dead_letters order by id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if !slices.Equal(ids, []string{"a", "f"}) {
		t.Errorf("committed rows %q, want a and f", ids)
	}
}

// A batch without failures runs each operation once; one failure makes the
// writer run the batch again, isolated, and still commit each good
// operation once.
func TestWriterBatchRuns(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "raprov.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs := map[string]int{}
	insert := func(id string, fail bool) *op {
		return &op{ctx: ctx, err: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
			runs[id]++
			if _, err := tx.ExecContext(ctx, `insert into dead_letters (id, queue, body, reason, detail, received, sent, at)
				values (?, 'q', x'', 'r', '', 1, '', 0)`, id); err != nil {
				return err
			}
			if fail {
				return errors.New(id + " failed")
			}
			return nil
		}}
	}
	count := func() int {
		var n int
		if err := s.r.QueryRow(`select count(*) from dead_letters`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	good := []*op{insert("a", false), insert("b", false), insert("c", false)}
	s.w.commit(good)
	for _, o := range good {
		if err := <-o.err; err != nil {
			t.Fatal(err)
		}
	}
	if runs["a"] != 1 || runs["b"] != 1 || runs["c"] != 1 || count() != 3 {
		t.Fatalf("clean batch: runs %v, %d rows; want each run once and 3 rows", runs, count())
	}

	mixed := []*op{insert("d", false), insert("e", true), insert("f", false)}
	s.w.commit(mixed)
	for i, want := range []bool{true, false, true} {
		if err := <-mixed[i].err; (err == nil) != want {
			t.Errorf("op %d: %v", i, err)
		}
	}
	if runs["d"] != 2 || runs["f"] != 1 || count() != 5 {
		t.Fatalf("batch with a failure: runs %v, %d rows; want d run twice (first run rolled back), f once, 5 rows", runs, count())
	}
}

// Operations submitted around Close fail with errClosed instead of hanging.
func TestWriterClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "raprov.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := s.Queue("q", QueueOptions{})
	done := make(chan error, 100)
	for range 100 {
		go func() { done <- q.Send(ctx, transport.Message{Body: []byte("x")}) }()
	}
	s.Close()
	for range 100 {
		if err := <-done; err != nil && !errors.Is(err, errClosed) {
			t.Errorf("Send around Close: %v", err)
		}
	}
	if err := q.Send(ctx, transport.Message{Body: []byte("x")}); !errors.Is(err, errClosed) {
		t.Errorf("Send after Close: %v, want errClosed", err)
	}
}

// Package bulkdirtest is the contract every bulkdir.Store passes: the
// folder store's tests and the S3 store's run the same suite.
package bulkdirtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/door/bulkdir"
)

// Harness is a store under test and what the suite does behind its back.
// Paths are relative to the store's root (the folder, the S3 prefix), with
// '/' separators: "a.csv" is in the inbox, "processed/a.csv" moved.
type Harness struct {
	Store bulkdir.Store
	// Put writes the file at path, replacing any.
	Put func(t testing.TB, path string, data []byte)
	// Get reads the file at path; ok is false when there is none.
	Get func(t testing.TB, path string) (data []byte, ok bool)
	// Delete removes the file at path.
	Delete func(t testing.TB, path string)
	// LockExpires: a lock not released is lost after its ttl (S3). A
	// folder's flock is dropped only when its process dies.
	LockExpires bool
}

// StoreContract runs the suite, each test on a fresh, empty store made by
// newHarness.
func StoreContract(t *testing.T, newHarness func(t *testing.T) Harness) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"List", testList},
		{"Open", testOpen},
		{"State", testState},
		{"Processed", testProcessed},
		{"Move", testMove},
		{"Lock", testLock},
		{"LockExpires", testLockExpires},
		{"LockRace", testLockRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newHarness(t)) })
	}
}

// list lists the inbox until every file is complete (a folder calls a file
// complete on its second List), failing after three Lists.
func list(t *testing.T, h Harness) map[string]bulkdir.File {
	t.Helper()
	for range 3 {
		files, err := h.Store.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bulkdir.File{}
		complete := true
		for _, f := range files {
			if _, dup := m[f.Name]; dup {
				t.Fatalf("List returned %s twice", f.Name)
			}
			m[f.Name] = f
			complete = complete && f.Complete
		}
		if complete {
			return m
		}
	}
	t.Fatal("files not complete after three Lists without change")
	return nil
}

func names(m map[string]bulkdir.File) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func testList(t *testing.T, h Harness) {
	if m := list(t, h); len(m) != 0 {
		t.Fatalf("empty store lists %v", names(m))
	}
	for p, body := range map[string]string{
		"a.csv": "a\n", "B.JSONL": "{}\n", "c d+é.ndjson": "{}\n{}\n",
		"notes.txt": "x", ".hidden.csv": "x", "sub/nested.csv": "x",
		"processed/old.csv": "x", ".raprov/a.csv.json": "{}",
	} {
		h.Put(t, p, []byte(body))
	}
	m := list(t, h)
	if got, want := names(m), []string{"B.JSONL", "a.csv", "c d+é.ndjson"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if f := m["c d+é.ndjson"]; f.Size != 6 || f.ModTime.IsZero() {
		t.Errorf("c d+é.ndjson listed as %+v, want size 6 and a modification time", f)
	}
	// A file rewritten is listed as another (size, time or ETag).
	h.Put(t, "a.csv", []byte("a,b\n"))
	if f := list(t, h)["a.csv"]; f.Size != 4 || f == m["a.csv"] {
		t.Errorf("a.csv rewritten is listed as %+v, before %+v", f, m["a.csv"])
	}
}

func testOpen(t *testing.T, h Harness) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("userPrincipalName\nra@contoso.com\n"), 4096) // > 128 KiB: read in several calls
	h.Put(t, "a.csv", body)
	f := list(t, h)["a.csv"]
	rc, err := h.Store.Open(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(body))
	}

	// Replaced after it was listed: ErrChanged, from Open or the reader.
	h.Put(t, "a.csv", []byte("userPrincipalName\n"))
	if err := readAll(h.Store, f); !errors.Is(err, bulkdir.ErrChanged) {
		t.Errorf("replaced file: %v, want ErrChanged", err)
	}
	// Gone.
	h.Delete(t, "a.csv")
	if err := readAll(h.Store, f); !errors.Is(err, bulkdir.ErrChanged) {
		t.Errorf("removed file: %v, want ErrChanged", err)
	}
}

func readAll(s bulkdir.Store, f bulkdir.File) error {
	rc, err := s.Open(context.Background(), f)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func testState(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	if b, err := s.LoadState(ctx, "a.csv"); b != nil || err != nil {
		t.Fatalf("LoadState of none = %q, %v; want nil, nil", b, err)
	}
	for _, v := range []string{`{"v":1}`, `{"v":2}`} {
		if err := s.SaveState(ctx, "a.csv", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if b, err := s.LoadState(ctx, "a.csv"); string(b) != v || err != nil {
			t.Fatalf("LoadState = %q, %v; want %q", b, err, v)
		}
	}
	if err := s.SaveState(ctx, "b c.jsonl", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.States(ctx); err != nil || !equalSet(got, "a.csv", "b c.jsonl") {
		t.Fatalf("States = %v, %v", got, err)
	}
	if m := list(t, h); len(m) != 0 {
		t.Fatalf("states listed as request files: %v", names(m))
	}
	for range 2 { // a missing state is no error
		if err := s.RemoveState(ctx, "a.csv"); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.LoadState(ctx, "a.csv"); b != nil || err != nil {
		t.Fatalf("LoadState after RemoveState = %q, %v", b, err)
	}
	if got, err := s.States(ctx); err != nil || !equalSet(got, "b c.jsonl") {
		t.Fatalf("States = %v, %v", got, err)
	}
}

func equalSet(got []string, want ...string) bool {
	got = slices.Clone(got)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func testProcessed(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	const name = "a.csv.report.csv"
	if taken, err := s.Taken(ctx, name); taken || err != nil {
		t.Fatalf("Taken before = %t, %v", taken, err)
	}
	for _, v := range []string{"row\n1\n", "row\n2\n"} {
		if err := s.WriteProcessed(ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if b, ok := h.Get(t, "processed/"+name); !ok || string(b) != v {
			t.Fatalf("processed/%s = %q (%t), want %q", name, b, ok, v)
		}
	}
	if taken, err := s.Taken(ctx, name); !taken || err != nil {
		t.Fatalf("Taken after = %t, %v", taken, err)
	}
	if m := list(t, h); len(m) != 0 {
		t.Fatalf("processed/ listed: %v", names(m))
	}
}

func testMove(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	const name = "batch 1+2 é.csv"
	h.Put(t, name, []byte("one\n"))
	h.Put(t, "b.csv", []byte("two\n"))
	m := list(t, h)
	const target = "batch 1+2 é.20260304T050607Z.csv"
	h.Put(t, "processed/"+target, []byte("older\n")) // replaced
	if err := s.Move(ctx, m[name], target); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Get(t, name); ok {
		t.Error("the file is still in the inbox")
	}
	if b, ok := h.Get(t, "processed/"+target); !ok || string(b) != "one\n" {
		t.Errorf("processed/%s = %q (%t)", target, b, ok)
	}
	if taken, err := s.Taken(ctx, target); !taken || err != nil {
		t.Errorf("Taken(%s) = %t, %v", target, taken, err)
	}
	if got := names(list(t, h)); !slices.Equal(got, []string{"b.csv"}) {
		t.Errorf("List after Move = %v", got)
	}

	// Replaced since listed: nothing moves.
	h.Put(t, "b.csv", []byte("two, rewritten\n"))
	if err := s.Move(ctx, m["b.csv"], "b.csv"); !errors.Is(err, bulkdir.ErrChanged) {
		t.Errorf("Move of a replaced file: %v, want ErrChanged", err)
	}
	if b, ok := h.Get(t, "b.csv"); !ok || string(b) != "two, rewritten\n" {
		t.Errorf("b.csv = %q (%t), want the new content left in place", b, ok)
	}
	if _, ok := h.Get(t, "processed/b.csv"); ok {
		t.Error("a replaced file was moved")
	}
	// Gone.
	h.Delete(t, "b.csv")
	if err := s.Move(ctx, m["b.csv"], "b.csv"); !errors.Is(err, bulkdir.ErrChanged) {
		t.Errorf("Move of a removed file: %v, want ErrChanged", err)
	}
}

func testLock(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.Store
	unlock, err := s.Lock(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.Lock(ctx, time.Minute); !errors.Is(err, bulkdir.ErrBusy) {
		if u != nil {
			u()
		}
		t.Fatalf("second Lock: %v, want ErrBusy", err)
	}
	unlock()
	unlock() // more than once
	unlock, err = s.Lock(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock()
	if m := list(t, h); len(m) != 0 {
		t.Fatalf("the lock is listed: %v", names(m))
	}
}

func testLockExpires(t *testing.T, h Harness) {
	if !h.LockExpires {
		t.Skip("the store's lock does not expire")
	}
	ctx := context.Background()
	s := h.Store
	stale, err := s.Lock(ctx, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.Lock(ctx, time.Minute); !errors.Is(err, bulkdir.ErrBusy) {
		if u != nil {
			u()
		}
		t.Fatalf("Lock before the ttl: %v, want ErrBusy", err)
	}
	time.Sleep(time.Second)
	unlock, err := s.Lock(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the ttl: %v", err)
	}
	defer unlock()
	stale() // the expired holder's unlock must not release the new holder's lock
	if u, err := s.Lock(ctx, time.Minute); !errors.Is(err, bulkdir.ErrBusy) {
		if u != nil {
			u()
		}
		t.Fatalf("Lock after the stale holder's unlock: %v, want ErrBusy", err)
	}
}

func testLockRace(t *testing.T, h Harness) {
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		held    int
		unlocks []func()
		errs    []string
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			u, err := h.Store.Lock(context.Background(), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				held++
				unlocks = append(unlocks, u)
			case !errors.Is(err, bulkdir.ErrBusy):
				errs = append(errs, err.Error())
			}
		})
	}
	close(start)
	wg.Wait()
	for _, u := range unlocks {
		u()
	}
	if held != 1 || len(errs) > 0 {
		t.Fatalf("%d of %d concurrent Locks held it, want 1; errors: %s", held, n, strings.Join(errs, "; "))
	}
}

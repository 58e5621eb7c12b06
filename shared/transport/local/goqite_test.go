package local_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"maragu.dev/goqite"

	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// The store runs goqite's SQL as prepared statements; goqite itself must
// still read and write the same table the same way.
func TestGoqiteInterop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	s := openStore(t, path)
	q := s.Queue("shared", local.QueueOptions{Visibility: time.Minute, MaxReceive: 2})
	g := goqite.New(goqite.NewOpts{DB: rawDB(t, path), Name: "shared", Timeout: time.Minute, MaxReceive: 2})

	// local → goqite
	if err := q.Send(ctx, transport.Message{Body: []byte("from local")}, transport.Message{Body: []byte("later"), Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	m, err := g.Receive(ctx)
	if err != nil || m == nil || string(m.Body) != "from local" {
		t.Fatalf("goqite received %+v, %v; want the visible local message", m, err)
	}
	if m, err := g.Receive(ctx); err != nil || m != nil {
		t.Fatalf("goqite received %+v, %v; want nothing (in flight, delayed)", m, err)
	}
	if err := g.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}

	// goqite → local
	if err := g.Send(ctx, goqite.Message{Body: []byte("from goqite")}); err != nil {
		t.Fatal(err)
	}
	d := mustReceive(t, q)
	if string(d.Body) != "from goqite" || d.Received != 1 {
		t.Fatalf("local received %+v", d)
	}
	if d, err := q.Receive(ctx); err != nil || d != nil {
		t.Fatalf("local received %+v, %v; want nothing", d, err)
	}
	// A receive through goqite counts: the next local delivery is the second.
	if err := q.Extend(ctx, d.ID, 0); err != nil {
		t.Fatal(err)
	}
	m2, err := g.Receive(ctx)
	if err != nil || m2 == nil || string(m2.Body) != "from goqite" {
		t.Fatalf("goqite received %+v, %v; want the expired message", m2, err)
	}
	if err := g.Extend(ctx, m2.ID, 0); err != nil {
		t.Fatal(err)
	}
	// MaxReceive 2 is spent: neither side receives it again.
	time.Sleep(5 * time.Millisecond)
	if d, err := q.Receive(ctx); err != nil || d != nil {
		t.Errorf("local received %+v, %v past MaxReceive", d, err)
	}
}

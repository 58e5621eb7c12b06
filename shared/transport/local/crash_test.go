package local_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

const childEnv = "RAPROV_LOCAL_CRASH_DB"

var chain = []string{"step0", "step1", "step2", "sink"}

// runChain consumes every queue of chain but the sink, forwarding each
// message to the next queue, until ctx is done.
func runChain(ctx context.Context, s *local.Store) {
	qs := make([]*local.Queue, len(chain))
	for i, name := range chain {
		qs[i] = s.Queue(name, local.QueueOptions{Visibility: 200 * time.Millisecond, MaxReceive: 100})
	}
	for i, q := range qs[:len(qs)-1] {
		next := chain[i+1]
		go local.Consume(ctx, q, local.ConsumeOptions{Concurrency: 4, PollInterval: 20 * time.Millisecond},
			func(ctx context.Context, d transport.Delivery) error {
				return q.Forward(ctx, d, local.Hop{Send: map[string][]transport.Message{next: {{Body: d.Body}}}})
			})
	}
}

// TestCrashChild is the process TestKill9 kills; it does nothing on its own.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("run by TestKill9")
	}
	s, err := local.Open(context.Background(), path, local.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	runChain(context.Background(), s)
	select {} // until killed
}

// TestKill9 kills a process in the middle of a chain of hops and checks that,
// after a restart, every message reaches the end of the chain exactly once.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	const n = 300

	s := openStore(t, path)
	first := s.Queue(chain[0], local.QueueOptions{})
	seed := make([]transport.Message, n)
	for i := range seed {
		seed[i] = transport.Message{Body: fmt.Appendf(nil, "msg-%03d", i)}
	}
	if err := first.Send(ctx, seed...); err != nil {
		t.Fatal(err)
	}
	count := func(queue string) int {
		var c int
		if err := rawDB(t, path).QueryRow(`select count(*) from goqite where queue = ?`, queue).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to be half way", func() bool { return count("sink") >= n/3 })
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed with %d of %d messages through", count("sink"), n)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runChain(cctx, s)
	waitFor(t, "the chain to drain", func() bool {
		return count("step0")+count("step1")+count("step2") == 0
	})
	cancel()

	rows, err := rawDB(t, path).Query(`select body from goqite where queue = 'sink'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]int{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		seen[string(b)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range seed {
		if c := seen[string(m.Body)]; c != 1 {
			t.Errorf("%s reached the sink %d times, want once", m.Body, c)
		}
	}
	if len(seen) != n {
		t.Errorf("sink holds %d distinct messages, want %d", len(seen), n)
	}
}

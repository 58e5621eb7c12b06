package local_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// A two-queue chain: a handler on "greet" forwards each message to "done"
// and records the hop in the ledger, all in one transaction.
func Example() {
	dir, err := os.MkdirTemp("", "raprov-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := local.Open(ctx, filepath.Join(dir, "raprov.db"), local.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	greet := s.Queue("greet", local.QueueOptions{Visibility: 30 * time.Second, MaxReceive: 5})
	done := s.Queue("done", local.QueueOptions{})

	err = s.Publish(ctx, local.Hop{
		Send:   map[string][]transport.Message{"greet": {{Body: []byte("hello")}}},
		Record: []ledger.Entry{{EventID: "ev-1", RequestID: "req-1", Step: "intake"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	cctx, stop := context.WithCancel(ctx)
	consumed := make(chan error)
	go func() {
		consumed <- local.Consume(cctx, greet, local.ConsumeOptions{Concurrency: 2},
			func(ctx context.Context, d transport.Delivery) error {
				return greet.Forward(ctx, d, local.Hop{
					Send:   map[string][]transport.Message{"done": {{Body: bytes.ToUpper(d.Body)}}},
					Record: []ledger.Entry{{EventID: "ev-2", RequestID: "req-1", Step: "greet", Outcome: ledger.Completed}},
				})
			})
	}()

	var d *transport.Delivery
	for d == nil {
		if d, err = done.Receive(ctx); err != nil {
			log.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-consumed; err != nil {
		log.Fatal(err)
	}
	st, err := s.Ledger().Get(ctx, "req-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(d.Body), st.Outcome, len(st.History))
	// Output: HELLO completed 2
}

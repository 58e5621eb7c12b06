package local_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// BenchmarkHop pushes b.N messages (accounts) through a chain of six queues,
// each hop a Forward in one transaction, on a database file; the ledger
// variant also records one ledger entry per hop, as the runner does.
// It reports hops/s and accounts/s.
func BenchmarkHop(b *testing.B) {
	for _, withLedger := range []bool{false, true} {
		name := "plain"
		if withLedger {
			name = "ledger"
		}
		b.Run(name, func(b *testing.B) { benchmarkHop(b, withLedger) })
	}
}

func benchmarkHop(b *testing.B, withLedger bool) {
	const hops = 6
	ctx := context.Background()
	s, err := local.Open(ctx, filepath.Join(b.TempDir(), "raprov.db"), local.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := make([]string, hops+1)
	qs := make([]*local.Queue, hops+1)
	for i := range names {
		names[i] = fmt.Sprint("q", i)
		qs[i] = s.Queue(names[i], local.QueueOptions{})
	}
	// About 1.6 KiB, the size of a provisioning event; the first 12 bytes
	// name the request.
	pad := `","data":{` + strings.Repeat(`"k":"v",`, 200) + `"end":1}}`

	// Seed in batches, outside the timer.
	for i := 0; i < b.N; i += 500 {
		batch := make([]transport.Message, min(500, b.N-i))
		for j := range batch {
			batch[j] = transport.Message{Body: fmt.Appendf(nil, "req-%08d%s", i+j, pad)}
		}
		if err := qs[0].Send(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}

	var done atomic.Int64
	finished := make(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	for i := range hops {
		q, next, last := qs[i], names[i+1], i == hops-1
		go local.Consume(cctx, q, local.ConsumeOptions{Concurrency: 8}, func(ctx context.Context, d transport.Delivery) error {
			h := local.Hop{}
			if !last {
				h.Send = map[string][]transport.Message{next: {{Body: d.Body}}}
			}
			if withLedger {
				h.Record = []ledger.Entry{{
					EventID: uuid.Must(uuid.NewV7()).String(), RequestID: string(d.Body[:12]),
					Type: "raprov.test.v1", Step: q.Name(),
				}}
			}
			if err := q.Forward(ctx, d, h); err != nil {
				return err
			}
			if last && done.Add(1) == int64(b.N) {
				close(finished)
			}
			return nil
		})
	}
	<-finished
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	cancel()
	b.ReportMetric(float64(b.N*hops)/elapsed.Seconds(), "hops/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "accounts/s")
	// CPU per hop does not depend on what else the machine is running.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*hops), "cpu-µs/hop")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

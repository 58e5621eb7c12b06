package local

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/raprov/raprov/shared/transport"
)

// Handler handles one delivery and acknowledges it itself, through
// Queue.Forward, Queue.Delete or Queue.DeadLetter; returning nil does not
// acknowledge. A message not acknowledged — the handler returned an error,
// panicked, or forgot — is delivered again after the visibility timeout,
// until MaxReceive deliveries, then it goes to the dead-letter queue. The
// handler's context is cancelled only if shutdown outlasts
// ConsumeOptions.ShutdownTimeout.
type Handler func(ctx context.Context, d transport.Delivery) error

// ConsumeOptions configure Consume. Zero values select the defaults.
type ConsumeOptions struct {
	// Concurrency bounds the handlers running at once; default 4.
	Concurrency int
	// PollInterval is the longest wait between two polls of an idle queue;
	// default 1 s. Idle polls back off from 100 ms up to it. A message sent
	// to the queue through this Store wakes the consumer at once, or when
	// its delay has passed.
	PollInterval time.Duration
	// Heartbeat is how often a running handler's message has its visibility
	// extended by the queue's Visibility; default a third of Visibility.
	// Negative disables it.
	Heartbeat time.Duration
	// ShutdownTimeout is how long Consume waits for running handlers once
	// its context is done; default 30 s. Then their contexts are cancelled
	// and Consume returns without waiting further.
	ShutdownTimeout time.Duration
}

// minPoll is the first idle poll interval. Polls only find what no signal
// announced — messages sent by another process, redeliveries after a
// visibility timeout — so they need not be frequent; every empty poll is a
// write transaction.
const minPoll = 100 * time.Millisecond

// Consume receives messages from q and runs h on each, at most
// opts.Concurrency at a time, until ctx is done. It then stops receiving,
// waits for running handlers up to opts.ShutdownTimeout and returns nil,
// or an error if handlers were still running. Receive errors are logged and
// retried with backoff, never returned. Stop every consumer before closing
// the Store.
func Consume(ctx context.Context, q *Queue, opts ConsumeOptions, h Handler) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = q.opts.Visibility / 3
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	log := q.s.log.With("queue", q.name)

	// Handlers outlive ctx until the shutdown timeout.
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	wait := min(minPoll, opts.PollInterval)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	sleep := func(d time.Duration, wake <-chan struct{}) {
		timer.Reset(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timer.C:
		}
	}

loop:
	for {
		// Wait for one free handler slot, then take every other free one:
		// a poll receives as many messages as there are idle handlers.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		slots := 1
	more:
		for slots < opts.Concurrency {
			select {
			case sem <- struct{}{}:
				slots++
			default:
				break more
			}
		}
		wake := q.sig.wait()
		// What a receive committed is handed to handlers even if ctx ended meanwhile.
		ds, err := q.receive(context.WithoutCancel(ctx), slots)
		for range slots - len(ds) {
			<-sem
		}
		if err != nil || len(ds) == 0 {
			if ctx.Err() != nil {
				break loop
			}
			if err != nil {
				log.ErrorContext(ctx, "receive failed", "error", err)
				wake = nil // an error is not cured by a new message
			}
			sleep(wait, wake)
			wait = min(2*wait, opts.PollInterval)
			continue
		}
		wait = min(minPoll, opts.PollInterval)
		for _, d := range ds {
			wg.Go(func() {
				defer func() { <-sem }()
				handle(hctx, q, opts.Heartbeat, h, d)
			})
		}
		if len(ds) < slots {
			// The queue had no more visible messages: poll again when one
			// is sent to it, or after the idle wait, rather than at once.
			sleep(wait, wake)
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(opts.ShutdownTimeout):
		cancelHandlers()
		return fmt.Errorf("local: consumer of %s: handlers still running after %v", q.name, opts.ShutdownTimeout)
	}
}

// handle runs h on d with a visibility heartbeat and panic recovery.
func handle(ctx context.Context, q *Queue, heartbeat time.Duration, h Handler, d transport.Delivery) {
	if heartbeat > 0 {
		hb := startHeartbeat(ctx, q, d.ID, heartbeat)
		defer hb.stop()
	}
	err := safeCall(ctx, h, d)
	if p, ok := errors.AsType[*panicError](err); ok {
		q.s.log.ErrorContext(ctx, "handler panicked; the message will be delivered again after the visibility timeout",
			"queue", q.name, "id", d.ID, "received", d.Received, "panic", fmt.Sprint(p.value), "stack", string(p.stack))
	} else if err != nil {
		q.s.log.WarnContext(ctx, "handler failed; the message will be delivered again after the visibility timeout",
			"queue", q.name, "id", d.ID, "received", d.Received, "error", err)
	}
}

// panicError is a recovered handler panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panic: %v", p.value) }

func safeCall(ctx context.Context, h Handler, d transport.Delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, d)
}

// heartbeat extends one message's visibility every interval until stopped.
type heartbeat struct {
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

func startHeartbeat(ctx context.Context, q *Queue, id string, every time.Duration) *heartbeat {
	hb := &heartbeat{}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.timer = time.AfterFunc(every, func() {
		if err := q.Extend(ctx, id, q.opts.Visibility); err != nil && ctx.Err() == nil {
			q.s.log.WarnContext(ctx, "extending visibility failed", "queue", q.name, "id", id, "error", err)
		}
		hb.mu.Lock()
		defer hb.mu.Unlock()
		if !hb.stopped {
			hb.timer.Reset(every)
		}
	})
	return hb
}

func (hb *heartbeat) stop() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.stopped = true
	hb.timer.Stop()
}

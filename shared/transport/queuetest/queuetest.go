// Package queuetest is the conformance suite every transport.Queue passes:
// the embedded SQLite queue, and SQS and Service Bus through their emulators.
//
// Timing assertions only ever bound from below ("not visible before the
// delay"), checked against the clock at the moment a message shows up, and
// wait for the expected event by polling up to a generous deadline, so the
// suite holds on a loaded machine.
package queuetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/transport"
)

// Config is what a test asks of its queue.
type Config struct {
	// Visibility is the queue's visibility timeout.
	Visibility time.Duration
	// MaxReceive is how many deliveries a message gets before it is dead-lettered.
	MaxReceive int
}

// Harness is fresh storage holding one empty queue, for one test.
type Harness struct {
	// Queue is the queue under test, configured as the test asked.
	Queue transport.Queue
	// DeadLetters, if not nil, is where Queue's dead letters are kept;
	// tests of dead-letter contents are skipped without it.
	DeadLetters transport.DeadLetters
	// Reopen, if not nil, closes the storage without draining anything and
	// opens it again, as after a restart, returning the same queue on the new
	// handles; restart tests are skipped without it.
	Reopen func(t *testing.T) Harness
}

// Setup creates a Harness. It is called once per test, from parallel
// tests, and must clean up after itself with t.Cleanup.
type Setup func(t *testing.T, cfg Config) Harness

// Suite is the conformance suite.
type Suite struct {
	Setup Setup
	// Tick is the unit of every duration the suite uses: visibility
	// timeouts and delays are small multiples of it. Default 50 ms; a
	// transport with whole-second timers (SQS) uses time.Second.
	Tick time.Duration
	// Tolerance is how much earlier than due a message may appear, for
	// transports that round timestamps; default Tick/10.
	Tolerance time.Duration
}

// Run runs the suite with the default tick.
func Run(t *testing.T, setup Setup) { Suite{Setup: setup}.Run(t) }

// Run runs every test of the suite as a parallel subtest.
func (s Suite) Run(t *testing.T) {
	if s.Tick <= 0 {
		s.Tick = 50 * time.Millisecond
	}
	if s.Tolerance <= 0 {
		s.Tolerance = s.Tick / 10
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s Suite)
	}{
		{"EmptyReceive", testEmptyReceive},
		{"Bodies", testBodies},
		{"Delay", testDelay},
		{"Redelivery", testRedelivery},
		{"Extend", testExtend},
		{"DeleteAcks", testDeleteAcks},
		{"MaxReceive", testMaxReceive},
		{"DeadLetter", testDeadLetter},
		{"DeadLetterOps", testDeadLetterOps},
		{"Restart", testRestart},
		{"ConcurrentReceivers", testConcurrentReceivers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, s)
		})
	}
}

// deadline bounds every wait for something that should happen.
func (s Suite) deadline() time.Duration { return max(60*s.Tick, 10*time.Second) }

// poll calls f every few milliseconds until it returns true or the deadline passes.
func (s Suite) poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	end := time.Now().Add(s.deadline())
	for !f() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", s.deadline(), what)
		}
		time.Sleep(min(s.Tick/5, 100*time.Millisecond))
	}
}

func send(t *testing.T, q transport.Queue, msgs ...transport.Message) {
	t.Helper()
	if err := q.Send(context.Background(), msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func receive(t *testing.T, q transport.Queue) *transport.Delivery {
	t.Helper()
	d, err := q.Receive(context.Background())
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return d
}

// receiveEventually polls until a message is received. It also returns when
// the successful Receive call started: a visibility timeout it started runs
// from no earlier than that.
func (s Suite) receiveEventually(t *testing.T, q transport.Queue) (transport.Delivery, time.Time) {
	t.Helper()
	var d *transport.Delivery
	var start time.Time
	s.poll(t, "a message", func() bool {
		start = time.Now()
		d = receive(t, q)
		return d != nil
	})
	return *d, start
}

// notBefore fails if something that showed up now was due at due or later.
func (s Suite) notBefore(t *testing.T, what string, due time.Time) {
	t.Helper()
	if early := time.Until(due); early > s.Tolerance {
		t.Errorf("%s %v early", what, early)
	}
}

// quiet checks that no message is received for d.
func (s Suite) quiet(t *testing.T, q transport.Queue, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(s.Tick / 5) {
		if m := receive(t, q); m != nil {
			t.Fatalf("received %q (delivery %d), want nothing", m.Body, m.Received)
		}
	}
}

func body(i int) []byte { return fmt.Appendf(nil, `{"n":%d}`, i) }

func testEmptyReceive(t *testing.T, s Suite) {
	h := s.Setup(t, Config{Visibility: 20 * s.Tick, MaxReceive: 3})
	if d := receive(t, h.Queue); d != nil {
		t.Errorf("Receive on an empty queue = %+v, want nil", d)
	}
}

func testBodies(t *testing.T, s Suite) {
	h := s.Setup(t, Config{Visibility: 100 * s.Tick, MaxReceive: 3})
	want := [][]byte{
		[]byte(`{"specversion":"1.0","data":{"displayName":"Zürich Empfang ☎","note":"line\nbreak\t\"quoted\""}}`),
		[]byte("x"),
		bytes.Repeat([]byte(`{"k":"ÿ€"}`), 200<<10/12), // about 200 KiB, the event size limit
	}
	// One message per Send and several in one Send.
	send(t, h.Queue, transport.Message{Body: want[0]})
	send(t, h.Queue, transport.Message{Body: want[1]}, transport.Message{Body: want[2]})

	var got [][]byte
	s.poll(t, "all three messages", func() bool {
		for d := receive(t, h.Queue); d != nil; d = receive(t, h.Queue) {
			if d.Received != 1 {
				t.Errorf("first delivery has Received = %d, want 1", d.Received)
			}
			if d.ID == "" {
				t.Error("delivery without ID")
			}
			got = append(got, d.Body)
		}
		return len(got) >= len(want)
	})
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if len(got) != len(want) {
		t.Fatalf("received %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("body %d: got %d bytes %.40q…, want %d bytes %.40q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}

func testDelay(t *testing.T, s Suite) {
	h := s.Setup(t, Config{Visibility: 100 * s.Tick, MaxReceive: 3})
	delay := 6 * s.Tick
	sent := time.Now()
	send(t, h.Queue, transport.Message{Body: []byte("delayed"), Delay: delay}, transport.Message{Body: []byte("now")})

	seen := map[string]bool{}
	s.poll(t, "both messages", func() bool {
		for d := receive(t, h.Queue); d != nil; d = receive(t, h.Queue) {
			if string(d.Body) == "delayed" {
				s.notBefore(t, "delayed message appeared", sent.Add(delay))
				if d.Received != 1 {
					t.Errorf("delayed message's first delivery has Received = %d, want 1", d.Received)
				}
			}
			seen[string(d.Body)] = true
		}
		return len(seen) == 2
	})
}

func testRedelivery(t *testing.T, s Suite) {
	vis := 4 * s.Tick
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: 5})
	send(t, h.Queue, transport.Message{Body: body(1)})
	var prev time.Time
	for want := 1; want <= 3; want++ {
		d, start := s.receiveEventually(t, h.Queue)
		if want > 1 {
			s.notBefore(t, fmt.Sprintf("delivery %d", want), prev.Add(vis))
		}
		prev = start
		if d.Received != want || !bytes.Equal(d.Body, body(1)) {
			t.Fatalf("delivery %d: Received = %d, body %q; want %d, %q", want, d.Received, d.Body, want, body(1))
		}
	}
}

func testExtend(t *testing.T, s Suite) {
	vis := 3 * s.Tick
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: 5})
	send(t, h.Queue, transport.Message{Body: body(1)})
	d, _ := s.receiveEventually(t, h.Queue)
	ext := 10 * s.Tick
	extended := time.Now()
	if err := h.Queue.Extend(context.Background(), d.ID, ext); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	again, _ := s.receiveEventually(t, h.Queue)
	s.notBefore(t, "extended message reappeared", extended.Add(ext))
	if again.Received != 2 {
		t.Errorf("Received = %d after one redelivery, want 2", again.Received)
	}
}

func testDeleteAcks(t *testing.T, s Suite) {
	vis := 2 * s.Tick
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: 5})
	send(t, h.Queue, transport.Message{Body: body(1)}, transport.Message{Body: body(2)})
	ctx := context.Background()
	for range 2 {
		d, _ := s.receiveEventually(t, h.Queue)
		if err := h.Queue.Delete(ctx, d.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := h.Queue.Delete(ctx, d.ID); err != nil {
			t.Errorf("second Delete of %s: %v, want nil", d.ID, err)
		}
	}
	s.quiet(t, h.Queue, 4*vis)
}

func testMaxReceive(t *testing.T, s Suite) {
	vis := 2 * s.Tick
	const maxReceive = 2
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: maxReceive})
	send(t, h.Queue, transport.Message{Body: body(7)})
	for i := 1; i <= maxReceive; i++ {
		if d, _ := s.receiveEventually(t, h.Queue); d.Received != i {
			t.Fatalf("delivery %d has Received = %d", i, d.Received)
		}
	}
	// Keep receiving (some transports move the message on a receive
	// attempt): it must not come back, and lands in the DLQ.
	s.poll(t, "the message in the dead-letter queue", func() bool {
		if d := receive(t, h.Queue); d != nil {
			t.Fatalf("received %q (delivery %d) past MaxReceive %d", d.Body, d.Received, maxReceive)
		}
		if h.DeadLetters == nil {
			return true
		}
		dls, err := h.DeadLetters.List(context.Background(), h.Queue.Name(), 10)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(dls) == 0 {
			return false
		}
		dl := dls[0]
		if len(dls) != 1 || dl.Reason != transport.ReasonMaxReceive || !bytes.Equal(dl.Body, body(7)) ||
			dl.Queue != h.Queue.Name() || dl.Received < maxReceive {
			t.Fatalf("dead letters = %+v; want one with reason %s, body %s, at least %d receives", dls, transport.ReasonMaxReceive, body(7), maxReceive)
		}
		return true
	})
	if h.DeadLetters == nil {
		s.quiet(t, h.Queue, 3*vis)
	}
}

func testDeadLetter(t *testing.T, s Suite) {
	vis := 2 * s.Tick
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: 5})
	send(t, h.Queue, transport.Message{Body: []byte("not json")})
	d, _ := s.receiveEventually(t, h.Queue)
	before := time.Now()
	if err := h.Queue.DeadLetter(context.Background(), d, "poison", "malformed JSON at offset 0"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	s.quiet(t, h.Queue, 3*vis)
	if h.DeadLetters == nil {
		return
	}
	dls, err := h.DeadLetters.List(context.Background(), h.Queue.Name(), 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(dls) != 1 {
		t.Fatalf("List = %+v, want one dead letter", dls)
	}
	dl := dls[0]
	if dl.Reason != "poison" || dl.Detail != "malformed JSON at offset 0" || string(dl.Body) != "not json" ||
		dl.Queue != h.Queue.Name() || dl.Received != 1 || dl.ID == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	if dl.At.Before(before.Add(-time.Second)) || dl.At.After(time.Now().Add(time.Second)) {
		t.Errorf("dead letter At = %v, want about %v", dl.At, before)
	}
}

func testDeadLetterOps(t *testing.T, s Suite) {
	h := s.Setup(t, Config{Visibility: 100 * s.Tick, MaxReceive: 5})
	if h.DeadLetters == nil {
		t.Skip("no DeadLetters")
	}
	ctx := context.Background()
	dlq := h.DeadLetters
	send(t, h.Queue, transport.Message{Body: body(1)}, transport.Message{Body: body(2)}, transport.Message{Body: body(3)})
	for i := range 3 {
		d, _ := s.receiveEventually(t, h.Queue)
		if err := h.Queue.DeadLetter(ctx, d, "poison", fmt.Sprint("case ", i)); err != nil {
			t.Fatalf("DeadLetter: %v", err)
		}
	}
	count := func(queue string) int {
		t.Helper()
		n, err := dlq.Count(ctx, queue)
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		return n
	}
	if n := count(h.Queue.Name()); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	if n := count(""); n < 3 {
		t.Fatalf("Count(all) = %d, want at least 3", n)
	}
	if n := count(h.Queue.Name() + "-other"); n != 0 {
		t.Errorf("Count of another queue = %d, want 0", n)
	}
	dls, err := dlq.List(ctx, h.Queue.Name(), 2)
	if err != nil || len(dls) != 2 {
		t.Fatalf("List(limit 2) = %d dead letters, %v; want 2", len(dls), err)
	}

	got, err := dlq.Get(ctx, dls[0].ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != dls[0].ID || !bytes.Equal(got.Body, dls[0].Body) || got.Detail != dls[0].Detail {
		t.Errorf("Get = %+v, want %+v", got, dls[0])
	}
	if _, err := dlq.Get(ctx, "no-such-id"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("Get(unknown) error = %v, want NotFound", err)
	}
	if err := dlq.Requeue(ctx, "no-such-id", nil); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("Requeue(unknown) error = %v, want NotFound", err)
	}

	// Requeue with a rewritten body: a new message with Received 1.
	replayed := []byte(`{"n":1,"replaycount":1}`)
	if err := dlq.Requeue(ctx, dls[0].ID, replayed); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	if err := dlq.Requeue(ctx, dls[1].ID, nil); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	var bodies []string
	for range 2 {
		d, _ := s.receiveEventually(t, h.Queue)
		if d.Received != 1 {
			t.Errorf("requeued message has Received = %d, want 1", d.Received)
		}
		bodies = append(bodies, string(d.Body))
		if err := h.Queue.Delete(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(bodies)
	if want := []string{string(dls[1].Body), string(replayed)}; !slices.Equal(bodies, slices.Sorted(slices.Values(want))) {
		t.Errorf("requeued bodies = %q, want %q", bodies, want)
	}
	if n := count(h.Queue.Name()); n != 1 {
		t.Errorf("Count after two requeues = %d, want 1", n)
	}

	// Delete one, purge the rest.
	send(t, h.Queue, transport.Message{Body: body(4)})
	d, _ := s.receiveEventually(t, h.Queue)
	if err := h.Queue.DeadLetter(ctx, d, "poison", ""); err != nil {
		t.Fatal(err)
	}
	all, err := dlq.List(ctx, h.Queue.Name(), 10)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(dl transport.DeadLetter) bool { return bytes.Equal(dl.Body, body(4)) })
	if len(all) != 2 || i < 0 {
		t.Fatalf("dead letters = %+v, want two, one with body %s", all, body(4))
	}
	if err := dlq.Delete(ctx, all[i].ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := dlq.Delete(ctx, all[i].ID); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	if n := count(h.Queue.Name()); n != 1 {
		t.Errorf("Count after Delete = %d, want 1", n)
	}
	n, err := dlq.Purge(ctx, h.Queue.Name())
	if err != nil || n != 1 {
		t.Errorf("Purge = %d, %v; want 1", n, err)
	}
	if n := count(h.Queue.Name()); n != 0 {
		t.Errorf("Count after Purge = %d, want 0", n)
	}
}

func testRestart(t *testing.T, s Suite) {
	vis := 6 * s.Tick
	h := s.Setup(t, Config{Visibility: vis, MaxReceive: 5})
	if h.Reopen == nil {
		t.Skip("no Reopen")
	}
	ctx := context.Background()
	send(t, h.Queue, transport.Message{Body: []byte("in-flight")}, transport.Message{Body: []byte("dead")})
	var inFlight time.Time // when the in-flight message's receive started
	for range 2 {
		d, start := s.receiveEventually(t, h.Queue)
		if string(d.Body) == "dead" {
			if err := h.Queue.DeadLetter(ctx, d, "poison", "kept across restart"); err != nil {
				t.Fatal(err)
			}
		} else {
			inFlight = start
		}
	}
	delay := 8 * s.Tick
	sent := time.Now()
	send(t, h.Queue, transport.Message{Body: []byte("ready")}, transport.Message{Body: []byte("delayed"), Delay: delay})

	h = h.Reopen(t)
	seen := map[string]transport.Delivery{}
	s.poll(t, "every message after the restart", func() bool {
		for d := receive(t, h.Queue); d != nil; d = receive(t, h.Queue) {
			switch string(d.Body) {
			case "in-flight":
				s.notBefore(t, "in-flight message reappeared", inFlight.Add(vis))
			case "delayed":
				s.notBefore(t, "delayed message appeared", sent.Add(delay))
			}
			if _, dup := seen[string(d.Body)]; dup {
				t.Errorf("%q delivered twice", d.Body)
			}
			seen[string(d.Body)] = *d
			if err := h.Queue.Delete(ctx, d.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		return len(seen) == 3
	})
	if seen["in-flight"].Received != 2 {
		t.Errorf("in-flight message redelivered with Received = %d, want 2", seen["in-flight"].Received)
	}
	if _, ok := seen["dead"]; ok {
		t.Error("dead-lettered message delivered after the restart")
	}
	if h.DeadLetters != nil {
		dls, err := h.DeadLetters.List(ctx, h.Queue.Name(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) != 1 || string(dls[0].Body) != "dead" || dls[0].Detail != "kept across restart" {
			t.Errorf("dead letters after restart = %+v", dls)
		}
	}
}

func testConcurrentReceivers(t *testing.T, s Suite) {
	// The visibility timeout outlasts the test: every message is delivered once.
	h := s.Setup(t, Config{Visibility: max(200*s.Tick, time.Minute), MaxReceive: 5})
	const n, workers = 60, 6
	msgs := make([]transport.Message, n)
	for i := range msgs {
		msgs[i] = transport.Message{Body: body(i)}
	}
	send(t, h.Queue, msgs...)

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	end := time.Now().Add(s.deadline())
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				d, err := h.Queue.Receive(context.Background())
				if err != nil {
					t.Errorf("Receive: %v", err)
					return
				}
				mu.Lock()
				if d != nil {
					got[string(d.Body)]++
				}
				total := len(got)
				mu.Unlock()
				if total == n {
					return
				}
				if d == nil {
					time.Sleep(s.Tick / 5)
				}
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Errorf("received %d distinct messages, want %d", len(got), n)
	}
	var dups []string
	for b, c := range got {
		if c > 1 {
			dups = append(dups, fmt.Sprintf("%s×%d", b, c))
		}
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		t.Errorf("delivered more than once within the visibility timeout: %s", strings.Join(dups, ", "))
	}
}

package graphsim

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is the simulator's time. Every rule that depends on time reads it:
// the throttling windows and Retry-After, the replication, usage-location
// and Teams sync delays, the Teams operations' step delays, the lifetimes of
// access tokens, device codes and refresh tokens, slow responses, and the
// dates the simulator writes (createdDateTime, error bodies, the request
// log). Config.Clock sets it; nil is the real clock.
//
// The TLS certificate Start generates and the HTTP server's own timeouts
// use real time, since the client checks them against its own clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once d has passed on the clock (at once when d is
	// not positive), like time.AfterFunc; f must not assume which goroutine
	// runs it. stop cancels the call and reports whether it did so before
	// f was called.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

var (
	_ Clock = realClock{}
	_ Clock = (*FakeClock)(nil)
)

// FakeClock is a Clock that moves only when told to, for tests: give it to
// Config.Clock and call Advance. It is safe for concurrent use; make one
// with NewFakeClock (the zero value shows the zero time).
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // pending, by due time, then creation
	changed chan struct{} // closed and replaced when timers change
}

type fakeTimer struct {
	at time.Time
	f  func()
}

// NewFakeClock returns a FakeClock showing t0.
func NewFakeClock(t0 time.Time) *FakeClock {
	return &FakeClock{now: t0, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to run when Advance brings the clock to Now()+d;
// when d is not positive f runs at once, in its own goroutine.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	i, _ := slices.BinarySearchFunc(c.timers, t.at, func(e *fakeTimer, at time.Time) int {
		if e.at.After(at) {
			return 1
		}
		return -1 // equal times keep creation order
	})
	c.timers = slices.Insert(c.timers, i, t)
	c.notifyLocked()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		c.notifyLocked()
		return true
	}
}

// Advance moves the clock d forward and, before returning, runs the
// functions of AfterFunc that come due, in order of their due time, each
// with the clock showing that time; the clock then shows the old time + d.
// A negative d is an error of the test and panics.
func (c *FakeClock) Advance(d time.Duration) {
	if d < 0 {
		panic("graphsim: FakeClock.Advance with a negative duration")
	}
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].at.After(end) {
		t := c.timers[0]
		c.timers = slices.Delete(c.timers, 0, 1)
		c.now = t.at
		c.notifyLocked()
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Timers returns how many AfterFunc calls wait for the clock, e.g. slow
// responses being held back.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until at least n AfterFunc calls wait for the clock, so
// that a test can advance it once a request is being held back. It returns
// ctx's error if ctx ends first.
func (c *FakeClock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *FakeClock) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

package budget_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
)

// fakeClock advances only when a caller sleeps, so pacing is measured in
// simulated time without depending on the scheduler.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	failNext error // returned by the next Sleep instead of sleeping
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failNext; err != nil {
		c.failNext = nil
		return err
	}
	c.now = c.now.Add(d)
	return nil
}

var (
	getUser   = graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 2}
	writeUser = graphcost.Cost{Service: graphcost.Identity, ResourceUnits: 1, Write: true}
	teamsCall = graphcost.Cost{Service: graphcost.Teams, ResourceUnits: 1}
	tokenCall = graphcost.Cost{Service: graphcost.Other}
)

// admit runs n sequential calls of cost c and returns when each was admitted.
func admit(t *testing.T, b *budget.Budget, clk *fakeClock, c graphcost.Cost, n int) []time.Time {
	t.Helper()
	at := make([]time.Time, n)
	for i := range at {
		if err := b.Wait(context.Background(), c); err != nil {
			t.Fatalf("Wait #%d: %v", i, err)
		}
		at[i] = clk.Now()
	}
	return at
}

// maxInWindow returns the largest number of weighted admissions that fall
// within any interval of length w.
func maxInWindow(at []time.Time, weight int, w time.Duration) int {
	best, lo := 0, 0
	for hi := range at {
		for at[hi].Sub(at[lo]) >= w {
			lo++
		}
		best = max(best, (hi-lo+1)*weight)
	}
	return best
}

func TestWaitStaysBelowEveryQuota(t *testing.T) {
	const headroom = 0.9
	tests := []struct {
		name   string
		limits budget.Limits
		cost   graphcost.Cost
		weight int           // quota units per call
		quota  int           // limit per window
		window time.Duration // real window
		calls  int
	}{
		{
			name:   "identity resource units",
			limits: budget.Limits{ResourceUnits: 3500, Headroom: headroom},
			cost:   getUser, weight: 2, quota: 3500, window: 10 * time.Second, calls: 6000,
		},
		{
			name:   "identity writes",
			limits: budget.Limits{ResourceUnits: 1_000_000, Writes: 3000, Headroom: headroom},
			cost:   writeUser, weight: 1, quota: 3000, window: 150 * time.Second, calls: 9000,
		},
		{
			name:   "teams requests",
			limits: budget.Limits{TeamsRequests: 15000, Headroom: headroom},
			cost:   teamsCall, weight: 1, quota: 15000, window: 10 * time.Second, calls: 40000,
		},
		{
			name:   "time scaled writes",
			limits: budget.Limits{ResourceUnits: 1_000_000, Writes: 3000, Headroom: headroom, TimeScale: 0.01},
			cost:   writeUser, weight: 1, quota: 3000, window: 1500 * time.Millisecond, calls: 9000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			b := budget.New(tt.limits, budget.WithClock(clk))
			at := admit(t, b, clk, tt.cost, tt.calls)

			// The burst may take a window above the headroom, never above
			// the quota: at most usable + 5 % of it.
			usable := float64(tt.quota) * headroom
			limit := min(tt.quota, int(math.Ceil(usable*1.05)))
			if got := maxInWindow(at, tt.weight, tt.window); got > limit {
				t.Errorf("%d units admitted within one window, want at most %d", got, limit)
			}
			// Past the burst, the budget sustains the headroom's share of
			// the quota, neither more nor (much) less.
			burst := int(math.Ceil(usable * 0.05))
			first := (burst + tt.weight - 1) / tt.weight // calls admitted at once
			elapsed := at[len(at)-1].Sub(at[first-1])
			rate := float64((tt.calls-first)*tt.weight) / elapsed.Seconds()
			want := usable / tt.window.Seconds()
			if rate < 0.99*want || rate > 1.01*want {
				t.Errorf("sustained %.2f units/s, want %.2f (headroom × quota per window)", rate, want)
			}
		})
	}
}

func TestWriteIsLimitedByBothQuotas(t *testing.T) {
	clk := newFakeClock()
	// Writes are the tighter quota here: 30 per 150 s versus 3500 RU per 10 s.
	b := budget.New(budget.Limits{ResourceUnits: 3500, Writes: 30, Headroom: 1}, budget.WithClock(clk))
	at := admit(t, b, clk, writeUser, 60)
	if got := maxInWindow(at, 1, 150*time.Second); got > 30 {
		t.Errorf("%d writes within 150 s, want at most 30", got)
	}
	// Reads do not draw from the write quota.
	start := clk.Now()
	admit(t, b, clk, getUser, 50)
	if d := clk.Now().Sub(start); d > time.Second {
		t.Errorf("reads waited %v behind the write quota", d)
	}
}

func TestThrottledPausesOnlyThatService(t *testing.T) {
	clk := newFakeClock()
	b := budget.New(budget.DefaultLimits(10), budget.WithClock(clk))

	b.Throttled(graphcost.Identity, 5*time.Second)
	b.Throttled(graphcost.Identity, 2*time.Second) // never shortens a pause
	if got, want := b.PausedUntil(graphcost.Identity), clk.Now().Add(5*time.Second); !got.Equal(want) {
		t.Fatalf("PausedUntil = %v, want %v", got, want)
	}

	start := clk.Now()
	for _, c := range []graphcost.Cost{teamsCall, tokenCall} {
		if err := b.Wait(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if d := clk.Now().Sub(start); d != 0 {
		t.Errorf("Teams and unmetered calls waited %v for an identity pause", d)
	}
	if err := b.Wait(context.Background(), getUser); err != nil {
		t.Fatal(err)
	}
	if d := clk.Now().Sub(start); d < 5*time.Second {
		t.Errorf("identity call admitted after %v, want at least the 5s Retry-After", d)
	}
}

func TestThrottledWithoutRetryAfterUsesScaledSecond(t *testing.T) {
	clk := newFakeClock()
	b := budget.New(budget.Limits{TimeScale: 0.1}, budget.WithClock(clk))
	b.Throttled(graphcost.Teams, 0)
	if got, want := b.PausedUntil(graphcost.Teams).Sub(clk.Now()), 100*time.Millisecond; got != want {
		t.Errorf("pause = %v, want %v", got, want)
	}
}

// TestThrottledPausesConcurrentCallers uses the real clock with short
// durations and asserts only lower bounds, which sleeping guarantees.
func TestThrottledPausesConcurrentCallers(t *testing.T) {
	b := budget.New(budget.DefaultLimits(10))
	const pause = 50 * time.Millisecond
	start := time.Now()
	b.Throttled(graphcost.Identity, pause)

	var wg sync.WaitGroup
	waited := make([]time.Duration, 8)
	for i := range waited {
		wg.Go(func() {
			if err := b.Wait(context.Background(), getUser); err != nil {
				t.Error(err)
			}
			waited[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, d := range waited {
		if d < pause {
			t.Errorf("caller %d admitted after %v, before the %v pause ended", i, d, pause)
		}
	}
}

func TestWaitReturnsContextError(t *testing.T) {
	b := budget.New(budget.DefaultLimits(10))
	b.Throttled(graphcost.Identity, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if err := b.Wait(ctx, getUser); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if err := b.Wait(ctx, tokenCall); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestWaitPastDeadlineFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("pause", func(t *testing.T) {
		clk := newFakeClock()
		b := budget.New(budget.DefaultLimits(10), budget.WithClock(clk))
		b.Throttled(graphcost.Identity, time.Hour)
		err := b.Wait(ctx, getUser)
		var de *budget.DelayError
		if !errors.As(err, &de) || de.Delay != time.Hour {
			t.Fatalf("Wait = %v, want a DelayError of 1h", err)
		}
		if !clk.Now().Equal(newFakeClock().Now()) {
			t.Error("Wait slept although the pause outlasts the deadline")
		}
	})
	t.Run("tokens", func(t *testing.T) {
		clk := newFakeClock()
		// 53 writes per 150 s: a burst of 3, then one every 150/50 = 3 s.
		b := budget.New(budget.Limits{ResourceUnits: 1_000_000, Writes: 53, Headroom: 1}, budget.WithClock(clk))
		admit(t, b, clk, writeUser, 3)
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := b.Wait(short, writeUser)
		var de *budget.DelayError
		if !errors.As(err, &de) || de.Delay != 3*time.Second {
			t.Fatalf("Wait = %v, want a DelayError of 3s", err)
		}
		// The refused call drew nothing: the next one waits the same 3 s.
		start := clk.Now()
		if err := b.Wait(ctx, writeUser); err != nil {
			t.Fatal(err)
		}
		if d := clk.Now().Sub(start); d != 3*time.Second {
			t.Errorf("next write waited %v, want 3s", d)
		}
	})
}

func TestCancelledWaitReturnsItsTokens(t *testing.T) {
	clk := newFakeClock()
	b := budget.New(budget.Limits{Writes: 20, ResourceUnits: 1_000_000, Headroom: 1}, budget.WithClock(clk))
	admit(t, b, clk, writeUser, 3) // drain the burst of 3

	// The context ends while the call waits for its token: the reservation
	// is returned, so the next caller waits no longer than it would have.
	clk.failNext = context.Canceled
	if err := b.Wait(context.Background(), writeUser); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	start := clk.Now()
	admit(t, b, clk, writeUser, 1)
	perWrite := 150 * time.Second / 10 // (20 − 3 burst, floored at half) per 150 s
	if d := clk.Now().Sub(start); d > perWrite {
		t.Errorf("next write waited %v, want at most %v", d, perWrite)
	}
}

func TestForTenantSharesOneBudget(t *testing.T) {
	l := budget.DefaultLimits(10)
	a := budget.ForTenant("Contoso-Tenant-A", l)
	if b := budget.ForTenant("contoso-tenant-a", budget.DefaultLimits(1000)); b != a {
		t.Error("ForTenant returned a second budget for the same tenant")
	}
	if got := a.Limits().ResourceUnits; got != 3500 {
		t.Errorf("shared budget has %d RU, want the first caller's 3500", got)
	}
	if c := budget.ForTenant("contoso-tenant-b", l); c == a {
		t.Error("ForTenant shared a budget between tenants")
	}
}

func TestShare(t *testing.T) {
	got := budget.DefaultLimits(10).Share(4)
	if got.ResourceUnits != 875 || got.Writes != 750 || got.TeamsRequests != 3750 || !got.StartEmpty {
		t.Errorf("Share(4) = %+v", got)
	}
	if got := (budget.Limits{Writes: 3000}).Share(4); got.ResourceUnits != 0 || got.TeamsRequests != 0 {
		t.Errorf("Share(4) of unpaced quotas = %+v, want them unpaced", got)
	}
	if got := budget.DefaultLimits(10).Share(0); got != budget.DefaultLimits(10) {
		t.Errorf("Share(0) = %+v, want the limits unchanged", got)
	}
}

func TestShareStartsEmpty(t *testing.T) {
	tests := []struct {
		name      string
		limits    budget.Limits
		cost      graphcost.Cost
		firstWait time.Duration // wait of the first call, from Wait's rate
	}{
		{
			// 3,000 writes per 150 s, headroom 0.9, 1/5 each: 3.6 writes/s.
			name:   "share of 5: writes",
			limits: budget.Limits{ResourceUnits: 1_000_000, Writes: 3000, Headroom: 0.9}.Share(5),
			cost:   writeUser, firstWait: time.Second * 10 / 36,
		},
		{
			// 3,500 RU per 10 s, headroom 0.9, 1/2 each: 157.5 RU/s, 2 RU.
			name:   "share of 2: resource units",
			limits: budget.Limits{ResourceUnits: 3500, Headroom: 0.9}.Share(2),
			cost:   getUser, firstWait: time.Second * 4 / 315,
		},
		{
			name:   "share of 10: teams",
			limits: budget.Limits{TeamsRequests: 15000, Headroom: 0.9}.Share(10),
			cost:   teamsCall, firstWait: time.Second / 135,
		},
		{
			name:   "single process asking for it",
			limits: budget.Limits{ResourceUnits: 1_000_000, Writes: 3000, Headroom: 0.9, StartEmpty: true},
			cost:   writeUser, firstWait: time.Second / 18,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			b := budget.New(tt.limits, budget.WithClock(clk))
			at := admit(t, b, clk, tt.cost, 3)
			start := newFakeClock().Now()
			// Not one call is admitted at once: each waits for what the
			// budget earns at its rate, the first one included.
			for i, a := range at {
				want := time.Duration(i+1) * tt.firstWait
				if d := a.Sub(start); d < want-time.Millisecond || d > want+time.Millisecond {
					t.Errorf("call %d admitted after %v, want %v", i+1, d, want)
				}
			}
		})
	}
}

func TestSingleProcessStartsFull(t *testing.T) {
	// Without a share the burst is there at once, as before: 5 % of the
	// usable 2,700 writes.
	clk := newFakeClock()
	b := budget.New(budget.Limits{ResourceUnits: 1_000_000, Writes: 3000, Headroom: 0.9}, budget.WithClock(clk))
	start := clk.Now()
	admit(t, b, clk, writeUser, 135)
	if d := clk.Now().Sub(start); d != 0 {
		t.Errorf("the burst of 135 writes took %v, want none", d)
	}
	if got := (budget.Limits{Writes: 3000}).Share(1); got.StartEmpty {
		t.Error("Share(1) starts empty; a single process keeps its burst")
	}
}

// fleetAdmissions simulates slots processes running side by side for span,
// each slot a succession of processes that live for life each (the first of
// slot s is cut short by s·life/slots, so that restarts are staggered). Each
// process is a budget of l on a clock of its own that calls Wait for c back
// to back, as a process with more work than its budget allows does. It
// returns every admission of every process, sorted.
func fleetAdmissions(t *testing.T, l budget.Limits, c graphcost.Cost, slots int, life, span time.Duration) []time.Time {
	t.Helper()
	t0 := newFakeClock().Now()
	var at []time.Time
	for s := range slots {
		starts := []time.Time{t0}
		for next := t0.Add(life - time.Duration(s)*life/time.Duration(slots)); next.Before(t0.Add(span)); next = next.Add(life) {
			starts = append(starts, next)
		}
		for i, start := range starts {
			end := t0.Add(span)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			clk := &fakeClock{now: start}
			b := budget.New(l, budget.WithClock(clk))
			for {
				if err := b.Wait(context.Background(), c); err != nil {
					t.Fatal(err)
				}
				if !clk.Now().Before(end) {
					break // stopped before this call went out
				}
				at = append(at, clk.Now())
			}
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	return at
}

// TestFleetRestartsStayBelowQuota runs Lambda-like fleets whose instances
// are replaced ten times per write window (a crash loop) and checks the
// tenant's write quota in every window.
func TestFleetRestartsStayBelowQuota(t *testing.T) {
	const (
		quota    = 3000
		headroom = 0.9
		window   = 150 * time.Second
		span     = 5 * window
	)
	tenant := budget.Limits{Writes: quota, Headroom: headroom}
	for _, n := range []int{2, 5, 10} {
		t.Run(fmt.Sprintf("share of %d", n), func(t *testing.T) {
			at := fleetAdmissions(t, tenant.Share(n), writeUser, n, window/10, span)
			if got := maxInWindow(at, 1, window); got > quota {
				t.Errorf("%d writes within one window, want at most the quota of %d", got, quota)
			}
			// Starting empty costs the fleet little of what it may spend: it
			// still sustains about the headroom's share of the quota, less
			// the write each stopped instance was earning (100 here at 10).
			perWindow := float64(len(at)) / float64(span/window)
			if want := 0.95 * headroom * quota; perWindow < want {
				t.Errorf("sustained %.0f writes per window, want at least %.0f", perWindow, want)
			}

			// The same fleet with full buckets at start, as before: every
			// restart brought a fresh share of the burst.
			full := tenant.Share(n)
			full.StartEmpty = false
			if got := maxInWindow(fleetAdmissions(t, full, writeUser, n, window/10, span), 1, window); got <= quota {
				t.Errorf("instances starting full: %d writes within one window; the test no longer shows the limit overrun", got)
			}
		})
	}
}

// TestSingleProcessRestarts: a process that starts full stays below the
// quota when it restarts at most once per window; one that restarts more
// often (a crash loop) needs StartEmpty, with which it never exceeds one
// burst plus the sustained rate.
func TestSingleProcessRestarts(t *testing.T) {
	const (
		quota  = 3000
		window = 150 * time.Second
		burst  = 135 // 5 % of the usable 2,700
	)
	single := budget.Limits{Writes: quota, Headroom: 0.9}
	if got := maxInWindow(fleetAdmissions(t, single, writeUser, 1, window, 5*window), 1, window); got > quota {
		t.Errorf("restarted once per window: %d writes within one window, want at most %d", got, quota)
	}
	if got := maxInWindow(fleetAdmissions(t, single, writeUser, 1, window/10, 3*window), 1, window); got <= quota {
		t.Errorf("starting full, restarted 10 times per window: %d writes within one window, expected above %d", got, quota)
	}
	empty := single
	empty.StartEmpty = true
	if got, want := maxInWindow(fleetAdmissions(t, empty, writeUser, 1, window/10, 3*window), 1, window), burst+2700; got > want {
		t.Errorf("starting empty, restarted 10 times per window: %d writes within one window, want at most %d", got, want)
	}
}

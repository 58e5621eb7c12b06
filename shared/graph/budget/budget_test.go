package budget_test

import (
	"context"
	"errors"
	"math"
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
	if got.ResourceUnits != 875 || got.Writes != 750 || got.TeamsRequests != 3750 {
		t.Errorf("Share(4) = %+v", got)
	}
	if got := budget.DefaultLimits(10).Share(0); got != budget.DefaultLimits(10) {
		t.Errorf("Share(0) = %+v, want the limits unchanged", got)
	}
}

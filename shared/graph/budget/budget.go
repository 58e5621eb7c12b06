package budget

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/raprov/raprov/shared/ctxsleep"
	"github.com/raprov/raprov/shared/graph/graphcost"
)

// DefaultHeadroom is the fraction of each quota a budget sustains when
// Limits leaves Headroom unset.
const DefaultHeadroom = 0.9

// burstFraction is the share of a window's usable quota that may be spent at
// once, on top of the steady rate while the quota leaves room for it.
const burstFraction = 0.05

// maxCost is the largest cost of one call in resource units (GET
// subscribedSkus); every bucket's burst is at least this.
const maxCost = 3

// Limits are the quotas of one tenant for one app registration.
type Limits struct {
	// ResourceUnits is the identity quota per graphcost.ResourceUnitWindow.
	ResourceUnits int
	// Writes is the identity write quota per graphcost.WriteWindow.
	Writes int
	// TeamsRequests is the Teams administration quota per graphcost.TeamsWindow.
	TeamsRequests int
	// Headroom is the fraction of each quota to sustain, in (0, 1]; the
	// burst may take one window above it but never above the quota.
	// 0 means DefaultHeadroom.
	Headroom float64
	// TimeScale multiplies every window, as the simulator's knob of the same
	// name does: 0.01 makes a 10 s window 100 ms. 0 means 1 (real time).
	TimeScale float64
	// StartEmpty makes a new budget's buckets start empty instead of full:
	// it spends only what it earns at its sustained rate, so it adds nothing
	// to a window in which other processes of the tenant — its siblings, or
	// the process it replaces — already spent their share. However many
	// processes start, stop and restart, no window then holds more than one
	// burst plus the sustained rate of those running (see the package
	// documentation). Share(n) sets it for n > 1.
	StartEmpty bool
}

// DefaultLimits returns Graph's published limits for a tenant with the given
// number of users, with the default headroom and no time scaling.
func DefaultLimits(tenantUsers int) Limits {
	return Limits{
		ResourceUnits: graphcost.ResourceUnitsPerWindow(tenantUsers),
		Writes:        graphcost.WritesPerWindow,
		TeamsRequests: graphcost.TeamsPerWindow,
		Headroom:      DefaultHeadroom,
		TimeScale:     1,
	}
}

// Share returns the limits divided among n processes that run in parallel
// against the same tenant, each holding its own budget (for example one per
// Lambda instance with a capped concurrency of n). Each process gets 1/n of
// every quota, and so of its sustained rate and of its burst; and since
// processes of a fleet come and go (scale-out, recycling, a crash loop), each
// starts empty (StartEmpty): a new one earns its share at its rate instead
// of bringing a fresh burst into a window its predecessor already used.
// A quota of 0 stays unpaced; n ≤ 1 returns l unchanged.
func (l Limits) Share(n int) Limits {
	if n <= 1 {
		return l
	}
	l.ResourceUnits = share(l.ResourceUnits, n)
	l.Writes = share(l.Writes, n)
	l.TeamsRequests = share(l.TeamsRequests, n)
	l.StartEmpty = true
	return l
}

// share returns 1/n of a quota, at least 1; an unpaced quota (0) stays
// unpaced.
func share(quota, n int) int {
	if quota <= 0 {
		return quota
	}
	return max(quota/n, 1)
}

func (l Limits) withDefaults() Limits {
	if l.Headroom <= 0 || l.Headroom > 1 {
		l.Headroom = DefaultHeadroom
	}
	if l.TimeScale <= 0 {
		l.TimeScale = 1
	}
	return l
}

// Clock is a Budget's time source. Tests substitute a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return ctxsleep.Sleep(ctx, d) }

// Option configures a Budget.
type Option func(*Budget)

// WithClock replaces the real clock.
func WithClock(c Clock) Option { return func(b *Budget) { b.clock = c } }

// Budget paces the Graph calls of one tenant. It is safe for concurrent use.
type Budget struct {
	limits Limits
	clock  Clock

	resourceUnits *rate.Limiter
	writes        *rate.Limiter
	teams         *rate.Limiter

	mu          sync.Mutex
	pausedUntil map[graphcost.Service]time.Time
}

// New returns a budget for the given limits. A zero quota leaves that
// quota unpaced.
func New(l Limits, opts ...Option) *Budget {
	l = l.withDefaults()
	b := &Budget{
		limits:        l,
		clock:         realClock{},
		resourceUnits: bucket(l.ResourceUnits, graphcost.ResourceUnitWindow, l),
		writes:        bucket(l.Writes, graphcost.WriteWindow, l),
		teams:         bucket(l.TeamsRequests, graphcost.TeamsWindow, l),
		pausedUntil:   make(map[graphcost.Service]time.Time),
	}
	for _, o := range opts {
		o(b)
	}
	if l.StartEmpty {
		now := b.clock.Now()
		for _, lim := range []*rate.Limiter{b.resourceUnits, b.writes, b.teams} {
			if lim != nil {
				lim.AllowN(now, lim.Burst()) // a new limiter is full: take it all
			}
		}
	}
	return b
}

// bucket returns a token bucket for a quota of limit per window (scaled),
// or nil when limit is 0. A bucket of burst b and rate r admits at most
// b + r·W in any window W, so r = min(Headroom·limit, limit − b) / W: it
// sustains Headroom × limit per window while no window, burst included,
// exceeds the limit itself.
func bucket(limit int, window time.Duration, l Limits) *rate.Limiter {
	if limit <= 0 {
		return nil
	}
	usable := float64(limit) * l.Headroom
	burst := max(int(math.Ceil(usable*burstFraction)), maxCost)
	// Quotas too small for the burst still get half of what they allow.
	perWindow := math.Max(math.Min(usable, float64(limit-burst)), usable/2)
	realWindow := window.Seconds() * l.TimeScale
	return rate.NewLimiter(rate.Limit(perWindow/realWindow), burst)
}

// Limits returns the budget's limits, defaults applied.
func (b *Budget) Limits() Limits { return b.limits }

// DelayError reports that a call would have to wait past its context's
// deadline. Nothing was drawn from the budget.
type DelayError struct {
	// Delay is how long the call would have had to wait.
	Delay time.Duration
}

func (e *DelayError) Error() string {
	return fmt.Sprintf("budget: the call would wait %v, past its deadline", e.Delay.Round(time.Millisecond))
}

// Wait blocks until the budget allows a call of the given cost. When the
// wait would outlast ctx's deadline it returns a *DelayError at once, so the
// caller can hand the delay to its queue instead of sleeping; when ctx ends
// while waiting it returns ctx's error. Calls of service Other are never
// paced.
func (b *Budget) Wait(ctx context.Context, c graphcost.Cost) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Service == graphcost.Other {
		return nil
	}
	if err := b.waitPause(ctx, c.Service); err != nil {
		return err
	}
	now := b.clock.Now()
	var rs []*rate.Reservation
	var delay time.Duration
	reserve := func(l *rate.Limiter, n int) {
		if l == nil || n <= 0 {
			return
		}
		r := l.ReserveN(now, min(n, l.Burst()))
		rs = append(rs, r)
		delay = max(delay, r.DelayFrom(now))
	}
	switch c.Service {
	case graphcost.Identity:
		reserve(b.resourceUnits, c.ResourceUnits)
		if c.Write {
			reserve(b.writes, 1)
		}
	case graphcost.Teams:
		reserve(b.teams, 1)
	}
	if delay > 0 {
		var err error
		if pastDeadline(ctx, delay) {
			err = &DelayError{Delay: delay}
		} else {
			err = b.clock.Sleep(ctx, delay)
		}
		if err != nil {
			for _, r := range rs {
				r.CancelAt(now)
			}
			return err
		}
	}
	// A 429 may have arrived while this call waited for its tokens.
	return b.waitPause(ctx, c.Service)
}

// waitPause sleeps until the service's pause, if any, has passed. A pause
// extended while sleeping is waited for too.
func (b *Budget) waitPause(ctx context.Context, s graphcost.Service) error {
	for {
		d := b.PausedUntil(s).Sub(b.clock.Now())
		if d <= 0 {
			return nil
		}
		if pastDeadline(ctx, d) {
			return &DelayError{Delay: d}
		}
		if err := b.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// pastDeadline reports whether waiting d would outlast ctx's deadline.
func pastDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && d > time.Until(deadline)
}

// Throttled records that Graph answered a call of service s with 429 and the
// given Retry-After: every caller of that service pauses until then. A
// non-positive retryAfter pauses for one (scaled) second. A pause is only
// ever extended, never shortened.
func (b *Budget) Throttled(s graphcost.Service, retryAfter time.Duration) {
	if s == graphcost.Other {
		return
	}
	if retryAfter <= 0 {
		retryAfter = time.Duration(float64(time.Second) * b.limits.TimeScale)
	}
	until := b.clock.Now().Add(retryAfter)
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.pausedUntil[s]) {
		b.pausedUntil[s] = until
	}
}

// PausedUntil returns when the current pause of service s ends; the zero
// time or a past time means it is not paused.
func (b *Budget) PausedUntil(s graphcost.Service) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pausedUntil[s]
}

var (
	registryMu sync.Mutex
	registry   = map[string]*Budget{}
)

// ForTenant returns the process-wide budget of a tenant, creating it with
// the given limits and options on first use. Later calls return the same
// budget and ignore their limits and options: all clients of a tenant in one
// process share one budget. Tenant ids are compared case-insensitively.
func ForTenant(tenantID string, l Limits, opts ...Option) *Budget {
	key := strings.ToLower(strings.TrimSpace(tenantID))
	registryMu.Lock()
	defer registryMu.Unlock()
	if b, ok := registry[key]; ok {
		return b
	}
	b := New(l, opts...)
	registry[key] = b
	return b
}

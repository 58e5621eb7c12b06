package skucache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/steps/mock"
)

const part = "PHONESYSTEM_VIRTUALUSER"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tenant is a Licenses double over counts a test changes, counting reads.
type tenant struct {
	mu        sync.Mutex
	sku       steps.Sku
	missing   bool
	failReads error
	reads     atomic.Int32
}

func (t *tenant) licenses() *mock.Licenses {
	return &mock.Licenses{
		SkuFn: func(context.Context, string) (steps.Sku, error) {
			t.reads.Add(1)
			t.mu.Lock()
			defer t.mu.Unlock()
			switch {
			case t.failReads != nil:
				return steps.Sku{}, t.failReads
			case t.missing:
				return steps.Sku{}, apperr.New(apperr.NotFound, events.ReasonNoLicense, "no such SKU")
			}
			return t.sku, nil
		},
		AssignLicenseFn: func(context.Context, string, string) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.sku.Free() == 0 {
				return apperr.New(apperr.Invalid, events.ReasonNoLicense, "no seats")
			}
			t.sku.Consumed++
			return nil
		},
	}
}

func newTenant(enabled, consumed int) *tenant {
	return &tenant{sku: steps.Sku{ID: "sku-1", PartNumber: part, CapabilityStatus: "Enabled", Enabled: enabled, Consumed: consumed}}
}

func TestServesFromCacheWithinTTL(t *testing.T) {
	ten, clk := newTenant(100, 0), &clock{t: time.Unix(1000, 0)}
	c := skucache.New(ten.licenses(), 10*time.Second, clk.now)
	ctx := context.Background()
	for range 5 {
		if _, err := c.Sku(ctx, part); err != nil {
			t.Fatal(err)
		}
	}
	if got := ten.reads.Load(); got != 1 {
		t.Fatalf("reads within the TTL = %d, want 1", got)
	}
	clk.add(10 * time.Second)
	if _, err := c.Sku(ctx, "phonesystem_virtualuser"); err != nil {
		t.Fatal(err)
	}
	if got := ten.reads.Load(); got != 2 {
		t.Fatalf("reads after the TTL = %d, want 2", got)
	}
}

func TestFreeSeatsAreReservedUntilTheNextRead(t *testing.T) {
	ten, clk := newTenant(5, 2), &clock{t: time.Unix(1000, 0)} // 3 free
	c := skucache.New(ten.licenses(), time.Minute, clk.now)
	ctx := context.Background()
	var free []int
	for range 5 {
		s, err := c.Sku(ctx, part)
		if err != nil {
			t.Fatal(err)
		}
		free = append(free, s.Free())
	}
	want := []int{3, 2, 1, 0, 0}
	for i := range want {
		if free[i] != want[i] {
			t.Fatalf("free seats seen = %v, want %v", free, want)
		}
	}
	// The next read from Graph starts the count again.
	clk.add(time.Minute)
	if s, _ := c.Sku(ctx, part); s.Free() != 3 {
		t.Fatalf("free after a fresh read = %d, want 3", s.Free())
	}
}

func TestNoLicenseOnAssignDropsTheCache(t *testing.T) {
	ten, clk := newTenant(1, 0), &clock{t: time.Unix(1000, 0)}
	c := skucache.New(ten.licenses(), time.Hour, clk.now)
	ctx := context.Background()
	if s, _ := c.Sku(ctx, part); s.Free() != 1 {
		t.Fatalf("free = %d, want 1", s.Free())
	}
	// Someone else takes the seat; our assignment finds none.
	ten.mu.Lock()
	ten.sku.Consumed = 1
	ten.mu.Unlock()
	if err := c.AssignLicense(ctx, "user", "sku-1"); apperr.ReasonOf(err) != events.ReasonNoLicense {
		t.Fatalf("assign: %v, want no_license", err)
	}
	// The tenant buys more: the next check sees them at once, TTL or not.
	ten.mu.Lock()
	ten.sku.Enabled = 10
	ten.mu.Unlock()
	s, err := c.Sku(ctx, part)
	if err != nil || s.Free() != 9 {
		t.Fatalf("after no_license: free = %d, %v; want 9 from a fresh read", s.Free(), err)
	}
	if got := ten.reads.Load(); got != 2 {
		t.Fatalf("reads = %d, want 2", got)
	}
}

func TestAssignSuccessKeepsTheCache(t *testing.T) {
	ten := newTenant(10, 0)
	c := skucache.New(ten.licenses(), time.Hour, nil)
	ctx := context.Background()
	if _, err := c.Sku(ctx, part); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, "user", "sku-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sku(ctx, part); err != nil {
		t.Fatal(err)
	}
	if got := ten.reads.Load(); got != 1 {
		t.Fatalf("reads = %d, want 1", got)
	}
}

func TestMissingSkuIsCachedOtherErrorsAreNot(t *testing.T) {
	ten := newTenant(0, 0)
	ten.missing = true
	c := skucache.New(ten.licenses(), time.Hour, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Sku(ctx, part); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("err = %v, want NotFound", err)
		}
	}
	if got := ten.reads.Load(); got != 1 {
		t.Fatalf("reads of a missing SKU = %d, want 1", got)
	}

	ten2 := newTenant(10, 0)
	ten2.failReads = apperr.New(apperr.Unavailable, "", "graph down")
	c2 := skucache.New(ten2.licenses(), time.Hour, nil)
	for range 3 {
		if _, err := c2.Sku(ctx, part); !apperr.IsTransient(err) {
			t.Fatalf("err = %v, want the transient error", err)
		}
	}
	if got := ten2.reads.Load(); got != 3 {
		t.Fatalf("reads while failing = %d, want 3 (a failure is not cached)", got)
	}
	ten2.mu.Lock()
	ten2.failReads = nil
	ten2.mu.Unlock()
	if s, err := c2.Sku(ctx, part); err != nil || s.Free() != 10 {
		t.Fatalf("after recovery: %d free, %v", s.Free(), err)
	}
}

func TestConcurrentMissesShareOneRead(t *testing.T) {
	ten := newTenant(1000, 0)
	release := make(chan struct{})
	inner := ten.licenses()
	slow := &mock.Licenses{
		SkuFn: func(ctx context.Context, p string) (steps.Sku, error) {
			<-release
			return inner.SkuFn(ctx, p)
		},
	}
	c := skucache.New(slow, time.Hour, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := c.Sku(context.Background(), part); err != nil {
				errs <- err
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the first read
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := ten.reads.Load(); got != 1 {
		t.Fatalf("reads for %d concurrent misses = %d, want them shared", n, got)
	}
	// Every caller reserved one seat.
	if s, _ := c.Sku(context.Background(), part); s.Free() != 1000-n {
		t.Fatalf("free = %d, want %d", s.Free(), 1000-n)
	}
}

func TestZeroTTLReadsThrough(t *testing.T) {
	ten := newTenant(10, 0)
	c := skucache.New(ten.licenses(), 0, nil)
	for range 3 {
		if _, err := c.Sku(context.Background(), part); err != nil {
			t.Fatal(err)
		}
	}
	if got := ten.reads.Load(); got != 3 {
		t.Fatalf("reads = %d, want 3", got)
	}
}

func TestShortageIsReadAgainAfterEmptyTTL(t *testing.T) {
	ten, clk := newTenant(2, 2), &clock{t: time.Unix(1000, 0)} // none free
	c := skucache.New(ten.licenses(), time.Hour, clk.now)
	ctx := context.Background()
	if s, _ := c.Sku(ctx, part); s.Free() != 0 {
		t.Fatalf("free = %d, want 0", s.Free())
	}
	// Licenses are bought; within EmptyTTL the shortage is still served.
	ten.mu.Lock()
	ten.sku.Enabled = 5
	ten.mu.Unlock()
	clk.add(skucache.EmptyTTL / 2)
	if s, _ := c.Sku(ctx, part); s.Free() != 0 || ten.reads.Load() != 1 {
		t.Fatalf("within EmptyTTL: free %d after %d reads, want 0 from the cache", s.Free(), ten.reads.Load())
	}
	// After it, Graph is read again though the TTL has not passed.
	clk.add(skucache.EmptyTTL / 2)
	if s, _ := c.Sku(ctx, part); s.Free() != 3 || ten.reads.Load() != 2 {
		t.Fatalf("after EmptyTTL: free %d after %d reads, want 3 from a second read", s.Free(), ten.reads.Load())
	}
	// Seats handed out down to none shorten the entry's life the same way.
	for range 3 {
		c.Sku(ctx, part)
	}
	clk.add(skucache.EmptyTTL)
	c.Sku(ctx, part)
	if got := ten.reads.Load(); got != 3 {
		t.Fatalf("reads = %d, want 3: counts reserved down to none are read again after EmptyTTL", got)
	}
}

// A read that began before an invalidation answers its callers but is not
// cached: the counts it saw may predate the no_license that dropped them.
func TestInvalidationDuringARead(t *testing.T) {
	ten := newTenant(10, 0)
	inner := ten.licenses()
	reading, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	slow := &mock.Licenses{
		SkuFn: func(ctx context.Context, p string) (steps.Sku, error) {
			if first.CompareAndSwap(false, true) {
				close(reading)
				<-release
			}
			return inner.SkuFn(ctx, p)
		},
	}
	c := skucache.New(slow, time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		s, err := c.Sku(ctx, part)
		if err == nil && s.Free() != 10 {
			err = fmt.Errorf("free = %d, want 10", s.Free())
		}
		done <- err
	}()
	<-reading
	c.Invalidate()
	cancel() // the caller gives up; the read still completes
	close(release)
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, err := c.Sku(context.Background(), part); err != nil {
		t.Fatal(err)
	}
	if got := ten.reads.Load(); got != 2 {
		t.Fatalf("reads = %d, want 2: the read begun before the invalidation must not be cached", got)
	}
}

// Package numbercache serves check-license's pre-flight number checks from
// one read of the tenant's telephone number inventory per TTL, instead of a
// read per request, in front of a steps.Numbers.
//
// Only a free number is answered from the cache, and only once per read: the
// number then counts as taken until the next read, as a free license seat
// does in skucache. Anything else — a number the cached inventory does not
// have, one it shows assigned, one already handed out — is looked up afresh,
// so the cache can let a request through a little too early (assign-number
// checks the number again before it assigns it) but never refuses one for a
// number freed or bought since the read. Assign, Operation, AssignedTo and
// Inventory pass through.
package numbercache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/raprov/raprov/shared/steps"
)

// Cache is a steps.Numbers whose Lookup answers free numbers from a cached
// inventory. It is safe for concurrent use.
type Cache struct {
	steps.Numbers
	ttl time.Duration
	now func() time.Time

	flight singleflight.Group

	mu    sync.Mutex
	read  time.Time
	free  map[string]steps.NumberAssignment // free numbers not handed out since the read
	valid bool
}

var _ steps.Numbers = (*Cache)(nil)

// New returns a cache in front of next. A ttl of zero or less disables it:
// every Lookup goes to next. now is the clock; nil means time.Now.
func New(next steps.Numbers, ttl time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{Numbers: next, ttl: ttl, now: now}
}

// Lookup returns the number's record: from the cached inventory when it
// shows the number free and not yet handed out since the read, else from
// next.
func (c *Cache) Lookup(ctx context.Context, e164 string) (*steps.NumberAssignment, error) {
	if c.ttl <= 0 {
		return c.Numbers.Lookup(ctx, e164)
	}
	if err := c.refresh(ctx); err != nil {
		return c.Numbers.Lookup(ctx, e164) // a failed inventory read is no reason to fail a lookup
	}
	c.mu.Lock()
	n, ok := c.free[e164]
	if ok {
		delete(c.free, e164) // handed out: the next request for it looks it up
	}
	c.mu.Unlock()
	if ok {
		return &n, nil
	}
	return c.Numbers.Lookup(ctx, e164)
}

// refresh reads the inventory when the cached one is older than the TTL;
// concurrent callers share one read.
func (c *Cache) refresh(ctx context.Context) error {
	c.mu.Lock()
	fresh := c.valid && c.now().Sub(c.read) < c.ttl
	c.mu.Unlock()
	if fresh {
		return nil
	}
	_, err, _ := c.flight.Do("inventory", func() (any, error) {
		started := c.now()
		all, err := c.Numbers.Inventory(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		free := make(map[string]steps.NumberAssignment, len(all))
		for _, n := range all {
			if n.AssignmentTargetID == "" && n.TelephoneNumber != "" {
				free[n.TelephoneNumber] = n
			}
		}
		c.mu.Lock()
		c.read, c.free, c.valid = started, free, true
		c.mu.Unlock()
		return nil, nil
	})
	return err
}

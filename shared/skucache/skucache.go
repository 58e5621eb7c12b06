// Package skucache keeps the tenant's license counts in memory in front of a
// steps.Licenses, so that check-license reads subscribedSkus once per TTL
// instead of once per request.
//
// Every read that finds a free seat in the cached counts reserves it: the
// seat counts as consumed until the next read from Graph. A burst of requests
// therefore goes ahead no faster than the tenant has seats, as it would with
// a read per request. Counts that show no free seat are kept for at most
// EmptyTTL, so that licenses bought during a shortage are seen at once by the
// requests waiting for them; a failed assignment for want of seats
// (no_license) drops the counts altogether.
package skucache

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// EmptyTTL bounds how long counts without a free seat, or a tenant without
// the SKU, are served from the cache: rechecks of parked requests are paced
// by the steps already, and during a shortage freshness matters most.
const EmptyTTL = time.Second

// Cache is a steps.Licenses that caches Sku results for a TTL. It is safe
// for concurrent use.
type Cache struct {
	next steps.Licenses
	ttl  time.Duration
	now  func() time.Time

	flight singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry // by lower-case part number
	gen     int               // bumped by Invalidate: reads begun before it are not cached
}

// entry is one SKU as last read, and the seats handed out since.
type entry struct {
	sku      steps.Sku
	err      error // an apperr NotFound: the tenant has no such SKU
	read     time.Time
	reserved int
	stale    bool
}

// New returns a cache in front of next. A ttl of zero or less disables
// caching: every call goes to next. now is the clock; nil means time.Now.
func New(next steps.Licenses, ttl time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{next: next, ttl: ttl, now: now, entries: map[string]*entry{}}
}

// Sku returns the SKU with the given part number from the cache, reading it
// through next when the cached counts are older than the TTL or dropped.
// Seats handed out since the read count as consumed, and a returned SKU
// with a free seat reserves one. A tenant without the SKU (apperr NotFound)
// is cached the same way; other errors are not.
func (c *Cache) Sku(ctx context.Context, partNumber string) (steps.Sku, error) {
	if c.ttl <= 0 {
		return c.next.Sku(ctx, partNumber)
	}
	key := strings.ToLower(partNumber)
	if s, ok, err := c.serve(key, false); ok {
		return s, err
	}
	// Concurrent misses share one read. It runs to its end whoever asked
	// first gives up: the others wait for it (the HTTP client's timeout
	// bounds it).
	v, err, _ := c.flight.Do(key, func() (any, error) {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		start := c.now()
		s, err := c.next.Sku(context.WithoutCancel(ctx), partNumber)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return nil, err
		}
		c.mu.Lock()
		if c.gen == gen { // not invalidated meanwhile
			c.entries[key] = &entry{sku: s, err: err, read: start}
		}
		c.mu.Unlock()
		return result{s, err}, nil
	})
	if err != nil {
		return steps.Sku{}, err
	}
	if s, ok, err := c.serve(key, true); ok {
		return s, err
	}
	// Invalidated while it was read: the answer stands, uncached.
	r := v.(result)
	return r.sku, r.err
}

// result is one read through next.
type result struct {
	sku steps.Sku
	err error
}

// serve answers from the cached entry for key, if it is fresh (force: of
// any age, but not dropped), and reserves a seat when it reports one free.
// ok is false when it has no answer.
func (c *Cache) serve(key string, force bool) (s steps.Sku, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return steps.Sku{}, false, nil
	}
	s = e.sku
	s.Consumed += e.reserved
	if e.stale {
		return steps.Sku{}, false, nil
	}
	if !force {
		ttl := c.ttl
		if e.err != nil || s.Free() == 0 {
			ttl = min(ttl, EmptyTTL)
		}
		if c.now().Sub(e.read) >= ttl {
			return steps.Sku{}, false, nil
		}
	}
	if e.err != nil {
		return steps.Sku{}, true, e.err
	}
	if s.Free() > 0 {
		e.reserved++
	}
	return s, true, nil
}

// AssignLicense assigns through next. Running out of seats (no_license)
// drops every cached count, so the next Sku reads Graph.
func (c *Cache) AssignLicense(ctx context.Context, userID, skuID string) error {
	err := c.next.AssignLicense(ctx, userID, skuID)
	if apperr.ReasonOf(err) == events.ReasonNoLicense {
		c.Invalidate()
	}
	return err
}

// Invalidate drops the cached counts: the next Sku reads through.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, e := range c.entries {
		e.stale = true
	}
}

var _ steps.Licenses = (*Cache)(nil)

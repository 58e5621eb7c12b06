package graphsim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// usageLocations remembers when a PATCH last changed a user's usageLocation,
// for the UsageLocationDelay rule: licensing learns of a new usage location
// a while after the directory (inferred; see docs/graphsim.md).
type usageLocations struct {
	mu  sync.Mutex
	set map[string]time.Time // lower-case user id → when usageLocation changed
}

func (l *usageLocations) record(userID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set == nil {
		l.set = map[string]time.Time{}
	}
	l.set[strings.ToLower(userID)] = at
}

// changedWithin reports whether userID's usageLocation changed less than
// delay before now; older entries are forgotten.
func (l *usageLocations) changedWithin(userID string, delay time.Duration, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(userID)
	at, ok := l.set[key]
	if !ok {
		return false
	}
	if now.Sub(at) >= delay {
		delete(l.set, key)
		return false
	}
	return true
}

// trackUsageLocation wraps PATCH /v1.0/users/{id}: when the update changes
// the user's usageLocation to a value, the time is recorded. Creating a
// user with a usage location is not tracked (the replication delay covers
// a new user).
func (s *Server) trackUsageLocation(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("id")
		before, gerr := s.dir.get(key, s.now())
		sw := &statusWriter{ResponseWriter: w}
		next(sw, r)
		if gerr != nil || sw.status() >= 300 {
			return
		}
		now := s.now()
		after, gerr := s.dir.get(key, now)
		if gerr == nil && after.UsageLocation != "" && !strings.EqualFold(after.UsageLocation, before.UsageLocation) {
			s.usageLocations.record(after.ID, now)
		}
	}
}

// usageLocationPending reports whether an assignLicense adding licenses to
// the user key must be refused because its usage location was set too
// recently for licensing to see it. The refusal comes where Graph checks
// the usage location: after the user and every SKU were found, so those
// errors keep precedence.
func (s *Server) usageLocationPending(key string, add []AssignedLicense, remove []string, now time.Time) bool {
	delay := s.Knobs().usageLocationDelay()
	if len(add) == 0 || delay <= 0 {
		return false
	}
	u, gerr := s.dir.get(key, now)
	if gerr != nil || !s.usageLocations.changedWithin(u.ID, delay, now) {
		return false
	}
	skus := s.dir.subscribedSkus()
	known := func(id string) bool {
		for _, sku := range skus {
			if strings.EqualFold(sku.SkuID, id) {
				return true
			}
		}
		return false
	}
	for _, l := range add {
		if !known(l.SkuID) {
			return false
		}
	}
	for _, id := range remove {
		if !known(id) {
			return false
		}
	}
	return true
}

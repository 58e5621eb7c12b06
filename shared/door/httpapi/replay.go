package httpapi

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// ErrReplayedSignature refuses a POST whose signature header was used
// before: within the timestamp window a captured request could otherwise be
// sent again, and one without a requestId would be provisioned again.
var ErrReplayedSignature = errors.New("signature already used: sign each request afresh")

// maxSeen bounds the signatures remembered. Only signatures that verified
// are remembered, so only a key holder can fill it; past the bound the
// oldest are forgotten first.
const maxSeen = 100_000

// seenSignatures remembers what accepted POSTs signed — the timestamp and
// the body, whatever else the header carries — until the timestamp leaves
// the window.
type seenSignatures struct {
	mu    sync.Mutex
	until map[[32]byte]time.Time
	order [][32]byte
}

// first reports whether the timestamp ts and body were not signed before,
// and remembers them until expires.
func (s *seenSignatures) first(ts string, body []byte, now, expires time.Time) bool {
	h := sha256.New()
	h.Write([]byte(ts + "."))
	h.Write(body)
	var key [32]byte
	h.Sum(key[:0])
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[[32]byte]time.Time{}
	}
	if t, ok := s.until[key]; ok && now.Before(t) {
		return false
	}
	for len(s.order) > 0 && (len(s.order) >= maxSeen || !now.Before(s.until[s.order[0]])) {
		delete(s.until, s.order[0])
		s.order = s.order[1:]
	}
	s.until[key] = expires
	s.order = append(s.order, key)
	return true
}

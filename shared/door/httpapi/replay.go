package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ErrReplayedSignature refuses a POST or DELETE whose signature was used
// before: within the timestamp window a captured request could otherwise be
// sent again, and one without a requestId would be provisioned again.
var ErrReplayedSignature = errors.New("signature already used: sign each request afresh")

// SignatureLog remembers the POST and DELETE signatures that verified, so
// that each is used once (Options.Signatures): a request refused after the
// check (400, 409, ...) used its signature too. The instances of a door
// that runs more than one (Lambda) must share one log, or a request
// captured on its way to one instance is accepted again by another.
//
// A key is SHA-256 over the signature's timestamp as sent, ".", and the
// message its MAC covers (a POST's body; DeleteMessage for a DELETE), and
// it expires MaxSkew after the timestamp, when the signature turns stale.
// Keys are stable across versions, so instances of two releases share a
// log during a deployment.
type SignatureLog interface {
	// First records key as used until expires and reports whether it was
	// unused: true for the first call with a key, false for every later
	// one before expires. After expires the key may be taken again (the
	// signature is stale by then, so the door never asks). Of concurrent
	// calls with one key, exactly one is first. An error means the log
	// could not tell; the door then refuses the request (503) instead of
	// taking the risk: it fails closed.
	First(ctx context.Context, key [32]byte, expires time.Time) (bool, error)
}

// signatureKey is what a signature log keeps of a signature: SHA-256 of
// the timestamp as sent, ".", and the message the MAC covers — a POST's
// body, DeleteMessage for a DELETE. A signature is the MAC of exactly
// these bytes, so the key names what was signed, whatever else the header
// carries (other v1= values, unknown members); a POST and a DELETE whose
// signatures cover the same bytes share a key, as they share a MAC.
func signatureKey(ts string, msg []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(ts + "."))
	h.Write(msg)
	var key [32]byte
	h.Sum(key[:0])
	return key
}

// firstUse asks the signature log whether sig, which verified over msg, is
// used for the first time. A signature used before is 401 (a replay); a
// log that fails is 503, and the request is refused: a replay is never let
// through because the log could not tell. Either way it answers w and
// returns false, and nothing has been queued.
func (h *handler) firstUse(w http.ResponseWriter, r *http.Request, sig signature, msg []byte) bool {
	sec, err := strconv.ParseInt(sig.ts, 10, 64)
	if err != nil { // parseSignature checked it
		h.unauthorized(w, r, ErrMalformedSignature)
		return false
	}
	first, err := h.signatures.First(r.Context(), signatureKey(sig.ts, msg), time.Unix(sec, 0).Add(MaxSkew))
	switch {
	case err != nil:
		h.log.ErrorContext(r.Context(), "http: signature log failed", "method", r.Method, "path", r.URL.EscapedPath(), "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, ErrorResponse{
			Error: "the signature could not be checked against the ones already used (the store failed); " +
				"nothing was queued: sign the request afresh and send it again",
			Reason: ReasonUnavailable,
		})
		return false
	case !first:
		h.unauthorized(w, r, ErrReplayedSignature)
		return false
	}
	return true
}

// maxSeen bounds the signatures memorySignatures remembers. Only
// signatures that verified are remembered, so only a key holder can fill
// it; past the bound the oldest are forgotten first.
const maxSeen = 100_000

// memorySignatures is the SignatureLog of one process, in memory: the
// default of Options.Signatures. A restart forgets it, and other processes
// do not see it.
type memorySignatures struct {
	now   func() time.Time
	mu    sync.Mutex
	until map[[32]byte]time.Time
	order [][32]byte
}

var _ SignatureLog = (*memorySignatures)(nil)

// First reports whether key is not remembered or no longer (its expiry is
// past), and remembers it until expires. It never fails.
func (s *memorySignatures) First(_ context.Context, key [32]byte, expires time.Time) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[[32]byte]time.Time{}
	}
	if t, ok := s.until[key]; ok && !now.After(t) {
		return false, nil
	}
	for len(s.order) > 0 && (len(s.order) >= maxSeen || now.After(s.until[s.order[0]])) {
		delete(s.until, s.order[0])
		s.order = s.order[1:]
	}
	s.until[key] = expires
	s.order = append(s.order, key)
	return true, nil
}

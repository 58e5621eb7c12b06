package bulkdirtest

import (
	"context"
	"sync"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/submission"
)

// Submitter claims request ids as intake does: the first submission of an
// id is Sent, the same request again a Duplicate, a different one a
// Conflict. It is safe for concurrent use.
type Submitter struct {
	mu     sync.Mutex
	claims map[string]string // id → fingerprint
	sent   []events.Request
	calls  int
	fail   error // returned (once) by the next call
}

// FailNext makes the next Submit fail as a whole with err, sending nothing.
func (s *Submitter) FailNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

var _ submission.Submitter = (*Submitter)(nil)

// Submit implements submission.Submitter.
func (s *Submitter) Submit(_ context.Context, _ string, reqs []events.Request) ([]submission.Submitted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.fail; err != nil {
		s.fail = nil
		return nil, err
	}
	if s.claims == nil {
		s.claims = map[string]string{}
	}
	out := make([]submission.Submitted, len(reqs))
	for i, r := range reqs {
		fp := r.Fingerprint()
		switch prev, ok := s.claims[r.RequestID]; {
		case !ok:
			s.claims[r.RequestID] = fp
			s.sent = append(s.sent, r)
			out[i].Outcome = submission.Sent
		case prev == fp:
			out[i].Outcome = submission.Duplicate
		default:
			out[i].Outcome = submission.Conflict
		}
	}
	return out, nil
}

// Sent returns the requests sent (first submissions), in order.
func (s *Submitter) Sent() []events.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Request(nil), s.sent...)
}

// SentIDs returns the request ids of Sent, in order.
func (s *Submitter) SentIDs() []string {
	sent := s.Sent()
	ids := make([]string, len(sent))
	for i, r := range sent {
		ids[i] = r.RequestID
	}
	return ids
}

// Calls returns how many times Submit was called.
func (s *Submitter) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

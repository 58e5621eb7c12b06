package graphsim

import (
	"net/http"
	"time"
)

// RequestRecord is one request as the simulator saw it. It never holds
// credentials, tokens or bodies.
type RequestRecord struct {
	Time            time.Time `json:"time"`
	RequestID       string    `json:"requestId"`
	ClientRequestID string    `json:"clientRequestId"`
	Method          string    `json:"method"`
	Path            string    `json:"path"`
	// Route is "METHOD pattern", the key of Counts.
	Route  string `json:"route"`
	Status int    `json:"status"`
	// ClientID is the application (from the token, or the token request).
	ClientID string `json:"clientId,omitempty"`
	// Scope and Credential ("secret" or "certificate") of token requests.
	Scope      string `json:"scope,omitempty"`
	Credential string `json:"credential,omitempty"`
	// Service is the throttling service: "identity", "teams" or "".
	Service       string        `json:"service,omitempty"`
	ResourceUnits int           `json:"resourceUnits,omitempty"`
	Write         bool          `json:"write,omitempty"`
	Throttled     bool          `json:"throttled,omitempty"`
	Fault         bool          `json:"fault,omitempty"`
	Slow          bool          `json:"slow,omitempty"`
	Duration      time.Duration `json:"duration"`
}

// EndpointCount aggregates the requests of one route.
type EndpointCount struct {
	Total  int `json:"total"`
	Reads  int `json:"reads"`
	Writes int `json:"writes"`
	// ByStatus counts responses per HTTP status (429s are throttled).
	ByStatus  map[int]int `json:"byStatus"`
	Throttled int         `json:"throttled"`
	Faults    int         `json:"faults"`
	// ResourceUnits charged to the identity budget (throttled requests
	// cost nothing).
	ResourceUnits int `json:"resourceUnits"`
}

func (s *Server) record(rec RequestRecord) {
	s.log.Debug("request", "method", rec.Method, "route", rec.Route, "status", rec.Status,
		"duration", rec.Duration, "clientId", rec.ClientID, "requestId", rec.RequestID,
		"throttled", rec.Throttled, "fault", rec.Fault)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if len(s.records) < maxRecords {
		s.records = append(s.records, rec)
	} else {
		s.records[s.next] = rec
	}
	s.next = (s.next + 1) % maxRecords
	c := s.counts[rec.Route]
	if c == nil {
		c = &EndpointCount{ByStatus: map[int]int{}}
		s.counts[rec.Route] = c
	}
	c.Total++
	if rec.Method == http.MethodGet || rec.Method == http.MethodHead {
		c.Reads++
	} else {
		c.Writes++
	}
	c.ByStatus[rec.Status]++
	if rec.Throttled {
		c.Throttled++
	}
	if rec.Fault {
		c.Faults++
	}
	if !rec.Throttled {
		c.ResourceUnits += rec.ResourceUnits
	}
}

// Requests returns the logged requests, oldest first (the last 10,000).
func (s *Server) Requests() []RequestRecord {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]RequestRecord, 0, len(s.records))
	if len(s.records) == maxRecords {
		out = append(out, s.records[s.next:]...)
		return append(out, s.records[:s.next]...)
	}
	return append(out, s.records...)
}

// Counts returns per-route aggregates keyed by "METHOD pattern", e.g.
// "POST /v1.0/users/{id}/assignLicense".
func (s *Server) Counts() map[string]EndpointCount {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make(map[string]EndpointCount, len(s.counts))
	for k, c := range s.counts {
		cc := *c
		cc.ByStatus = make(map[int]int, len(c.ByStatus))
		for st, n := range c.ByStatus {
			cc.ByStatus[st] = n
		}
		out[k] = cc
	}
	return out
}

// ResetLog clears the request log and the counts (not the throttling
// windows).
func (s *Server) ResetLog() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.records = nil
	s.next = 0
	s.counts = map[string]*EndpointCount{}
}

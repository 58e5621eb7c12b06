package statuspage

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Login attempts: a client (by remote address) may fail MaxLoginFailures
// times within LoginWindow; further attempts in that window are answered
// 429 without checking the key, so an access key cannot be guessed at the
// speed of the network.
const (
	MaxLoginFailures = 5
	LoginWindow      = 5 * time.Minute
)

// guard keeps what the page must remember between requests of one
// process: the sessions logged out before they expired, and the failed
// logins of each client. A logged-out cookie is refused even if a copy of
// it is replayed. Both live in memory (`raprov serve` is one process): after
// a restart a copy of a logged-out cookie is accepted again until it
// expires (SessionTTL), unless the keys changed; docs/status-page.md says so.
type guard struct {
	mu       sync.Mutex
	revoked  map[string]time.Time   // session token → its expiry
	failures map[string][]time.Time // client → failed logins in the window
}

// revoke ends the session token, which expires at exp, for good.
func (g *guard) revoke(token string, exp, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.revoked == nil {
		g.revoked = map[string]time.Time{}
	}
	for t, e := range g.revoked {
		if !e.After(now) {
			delete(g.revoked, t)
		}
	}
	g.revoked[token] = exp
}

// isRevoked reports whether token was logged out.
func (g *guard) isRevoked(token string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.revoked[token]
	return ok
}

// blocked reports whether client has used up its failed logins, and when
// it may try again.
func (g *guard) blocked(client string, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	recent := g.recent(client, now)
	if len(recent) < MaxLoginFailures {
		return false, 0
	}
	return true, recent[0].Add(LoginWindow).Sub(now)
}

// failed records a failed login of client.
func (g *guard) failed(client string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failures == nil {
		g.failures = map[string][]time.Time{}
	}
	for c := range g.failures {
		if len(g.recent(c, now)) == 0 {
			delete(g.failures, c)
		}
	}
	g.failures[client] = append(g.recent(client, now), now)
}

// recent returns client's failures within LoginWindow of now, oldest
// first, and keeps only those. The caller holds mu.
func (g *guard) recent(client string, now time.Time) []time.Time {
	fs := g.failures[client]
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-LoginWindow)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(g.failures, client)
		return nil
	}
	g.failures[client] = fs
	return fs
}

// clientOf names the client of r for the login limit: its remote host.
// Behind a reverse proxy every client is the proxy, which then shares one
// limit — stricter, never looser.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

package statuspage

import (
	"context"
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

// Revocations remembers the sessions logged out before they expired
// (`raprov serve` keeps them in its database, local.Store.Revocations, so
// that a restart forgets none). Implementations store a hash of the token,
// never the token.
type Revocations interface {
	// Revoke records token, which expires at exp, as logged out.
	Revoke(ctx context.Context, token string, exp time.Time) error
	// Revoked reports whether token was logged out.
	Revoked(ctx context.Context, token string) (bool, error)
}

// guard keeps what the page must remember between requests: the sessions
// logged out before they expired, and the failed logins of each client. A
// logged-out cookie is refused even if a copy of it is replayed. The
// logged-out sessions are kept by store when there is one, else in the
// process's memory (then, after a restart, a copy of a logged-out cookie
// is accepted again until it expires); the failed logins always live in
// memory.
type guard struct {
	store    Revocations
	mu       sync.Mutex
	revoked  map[string]time.Time   // session token → its expiry, without a store
	failures map[string][]time.Time // client → failed logins in the window
}

// revoke ends the session token, which expires at exp, for good.
func (g *guard) revoke(ctx context.Context, token string, exp, now time.Time) error {
	if g.store != nil {
		return g.store.Revoke(ctx, token, exp)
	}
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
	return nil
}

// isRevoked reports whether token was logged out.
func (g *guard) isRevoked(ctx context.Context, token string) (bool, error) {
	if g.store != nil {
		return g.store.Revoked(ctx, token)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.revoked[token]
	return ok, nil
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

package teamsadmin

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// readyTTL is how long a successful Ready check is trusted.
const readyTTL = time.Minute

// readiness caches the last successful Ready check.
type readiness struct {
	mu sync.Mutex
	at time.Time
}

// Ready checks that the back end answers and accepts raprov's credential and
// roles, by listing one application instance (GET ListPath?pageSize=1, a read
// that needs the same roles as the writes). A success is trusted for a
// minute, so a burst of requests costs one read; a failure is not cached.
// Errors are those of any call: Forbidden (permission_denied) when the
// credential or its roles are refused, Unavailable or Throttled when the back
// end or the token endpoint is down.
func (c *Client) Ready(ctx context.Context) error {
	c.ready.mu.Lock()
	fresh := !c.ready.at.IsZero() && time.Since(c.ready.at) < readyTTL
	c.ready.mu.Unlock()
	if fresh {
		return nil
	}
	_, err := c.do(ctx, call{op: "ready", method: http.MethodGet, path: c.cfg.ListPath, query: url.Values{"pageSize": {"1"}}}, false)
	if err != nil {
		return err
	}
	c.ready.mu.Lock()
	c.ready.at = time.Now()
	c.ready.mu.Unlock()
	return nil
}

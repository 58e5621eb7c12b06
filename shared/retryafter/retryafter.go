// Package retryafter reads the HTTP Retry-After header, for every client
// raprov has: Graph, the Teams admin back end and callbacks.
package retryafter

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse reads a Retry-After value relative to now: delay-seconds, with a
// fraction allowed (Graph sends them), or an HTTP-date, a past one meaning
// no wait. ok is false when v is empty, negative, not a number or a date,
// or too large for a time.Duration.
func Parse(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || math.IsNaN(s) || s > math.MaxInt64/float64(time.Second) {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Header is Parse of resp's Retry-After header at the current time; 0 when
// the header is absent or unreadable.
func Header(h http.Header) time.Duration {
	d, _ := Parse(h.Get("Retry-After"), time.Now())
	return d
}

package graphsim

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// Reasons in x-ms-throttle-information.
const (
	resourceUnitLimitExceeded = "ResourceUnitLimitExceeded"
	writeLimitExceeded        = "WriteLimitExceeded"
	requestLimitExceeded      = "RequestLimitExceeded"
)

// limits are the quotas in force for one request.
type limits struct {
	resourceUnits, writes, teams             int
	resourceUnitSpan, writeSpan, teamsWindow time.Duration
}

func limitsFor(k Knobs, tenantUsers int) limits {
	scale := k.timeScale()
	ru := IdentityResourceUnitQuota(tenantUsers)
	l := limits{
		resourceUnits:    ru.Limit,
		writes:           IdentityWriteQuota.Limit,
		teams:            TeamsQuota.Limit,
		resourceUnitSpan: scaled(ru.Window, scale),
		writeSpan:        scaled(IdentityWriteQuota.Window, scale),
		teamsWindow:      scaled(TeamsQuota.Window, scale),
	}
	if k.ResourceUnitsPerWindow > 0 {
		l.resourceUnits = k.ResourceUnitsPerWindow
	}
	if k.WritesPerWindow > 0 {
		l.writes = k.WritesPerWindow
	}
	if k.TeamsPerWindow > 0 {
		l.teams = k.TeamsPerWindow
	}
	return l
}

func scaled(d time.Duration, scale float64) time.Duration {
	return max(time.Duration(float64(d)*scale), time.Millisecond)
}

// decision is the throttler's verdict on one request.
type decision struct {
	throttled  bool
	retryAfter time.Duration
	info       string  // x-ms-throttle-information when throttled
	limit      string  // ReadWrite or Write, for x-ms-throttle-scope
	usage      float64 // share of the most used quota, counting this request
}

// throttler keeps, per application, sliding windows of what admitted
// requests cost: resource units per 10 s, writes per 150 s (identity) and
// requests per 10 s (Teams), each span multiplied by the time scale. A
// throttled request costs nothing.
type throttler struct {
	mu   sync.Mutex
	apps map[string]*appWindows
}

type appWindows struct {
	resourceUnits, writes, teams window
}

func newThrottler() *throttler {
	return &throttler{apps: map[string]*appWindows{}}
}

// admit charges cost to app's windows, or reports how long to wait.
func (t *throttler) admit(app string, cost Cost, l limits, now time.Time) decision {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.apps[app]
	if a == nil {
		a = &appWindows{}
		t.apps[app] = a
	}
	switch cost.Service {
	case ServiceIdentity:
		ruWait := a.resourceUnits.wait(now, l.resourceUnitSpan, cost.ResourceUnits, l.resourceUnits)
		usage := a.resourceUnits.usage(cost.ResourceUnits, l.resourceUnits)
		var wWait time.Duration
		if cost.Write {
			wWait = a.writes.wait(now, l.writeSpan, 1, l.writes)
			usage = max(usage, a.writes.usage(1, l.writes))
		}
		switch {
		case wWait > 0 && wWait >= ruWait:
			return decision{throttled: true, retryAfter: wWait, info: writeLimitExceeded, limit: "Write", usage: usage}
		case ruWait > 0:
			return decision{throttled: true, retryAfter: ruWait, info: resourceUnitLimitExceeded, limit: "ReadWrite", usage: usage}
		}
		a.resourceUnits.add(now, cost.ResourceUnits)
		if cost.Write {
			a.writes.add(now, 1)
		}
		return decision{usage: usage}
	case ServiceTeams:
		wait := a.teams.wait(now, l.teamsWindow, 1, l.teams)
		usage := a.teams.usage(1, l.teams)
		if wait > 0 {
			return decision{throttled: true, retryAfter: wait, info: requestLimitExceeded, limit: "ReadWrite", usage: usage}
		}
		a.teams.add(now, 1)
		return decision{usage: usage}
	}
	return decision{}
}

// window is a sliding window of admitted costs, oldest first.
type window struct {
	entries []windowEntry
	sum     int
}

type windowEntry struct {
	at time.Time
	n  int
}

// wait drops what has left the window and returns how long until n more
// fit under limit (0 if they fit now). A cost above the limit fits an empty
// window, so that it is not refused forever.
func (w *window) wait(now time.Time, span time.Duration, n, limit int) time.Duration {
	i := 0
	for i < len(w.entries) && !w.entries[i].at.Add(span).After(now) {
		w.sum -= w.entries[i].n
		i++
	}
	w.entries = w.entries[i:]
	if w.sum+n <= limit || w.sum == 0 {
		return 0
	}
	need := w.sum + n - limit
	for _, e := range w.entries {
		need -= e.n
		if need <= 0 {
			return e.at.Add(span).Sub(now)
		}
	}
	return w.entries[len(w.entries)-1].at.Add(span).Sub(now)
}

// usage is the share of limit used once n more are added.
func (w *window) usage(n, limit int) float64 {
	return float64(w.sum+n) / float64(limit)
}

func (w *window) add(now time.Time, n int) {
	w.entries = append(w.entries, windowEntry{at: now, n: n})
	w.sum += n
}

// formatRetryAfter writes a Retry-After value: whole seconds (rounded up)
// in real time; with a time scale below 1, sub-second waits are written as
// fractional seconds ("0.25").
func formatRetryAfter(d time.Duration, scale float64) string {
	if scale >= 1 || d >= time.Second {
		return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
	}
	ms := max(1, math.Ceil(float64(d)/float64(time.Millisecond)))
	return strconv.FormatFloat(ms/1000, 'f', -1, 64)
}

// formatUsage writes x-ms-throttle-limit-percentage (0.8 to 1.8).
func formatUsage(u float64) string {
	return strconv.FormatFloat(min(u, 1.8), 'f', 2, 64)
}

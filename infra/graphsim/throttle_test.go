package graphsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

// wantThrottled checks a 429 and its exact Retry-After.
func wantThrottled(t *testing.T, resp *http.Response, b []byte, retryAfter string) {
	t.Helper()
	wantError(t, resp, b, http.StatusTooManyRequests, "TooManyRequests", "")
	if got := resp.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestThrottleResourceUnits(t *testing.T) {
	// 10 RU per window of 10 s × 0.1 = 1 s; GET user costs 2 RU. One
	// request every 100 ms from t0 fills the window with the fifth.
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 0.1, ResourceUnitsPerWindow: 10}})
	const path = "/v1.0/users/AdeleV@contoso.com"
	for i := 1; i <= 5; i++ {
		if i > 1 {
			e.clock.Advance(100 * time.Millisecond)
		}
		resp, b := e.do(t, http.MethodGet, path, nil)
		wantStatus(t, resp, b, http.StatusOK)
		pct := resp.Header.Get("x-ms-throttle-limit-percentage")
		switch {
		case i <= 4 && pct != "":
			t.Errorf("request %d: x-ms-throttle-limit-percentage = %q at %d%%", i, pct, i*20)
		case i == 5 && pct != "1.00":
			t.Errorf("request 5: x-ms-throttle-limit-percentage = %q, want 1.00", pct)
		}
	}

	// t0+450ms: the window is full until the first request leaves it at
	// t0+1s.
	e.clock.Advance(50 * time.Millisecond)
	resp, b := e.do(t, http.MethodGet, path, nil)
	wantThrottled(t, resp, b, "0.55")
	h := resp.Header
	if h.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" {
		t.Errorf("x-ms-throttle-information = %q", h.Get("x-ms-throttle-information"))
	}
	if want := "Tenant_Application/ReadWrite/" + graphsim.DefaultClientID + "/" + graphsim.DefaultTenantID; h.Get("x-ms-throttle-scope") != want {
		t.Errorf("x-ms-throttle-scope = %q, want %q", h.Get("x-ms-throttle-scope"), want)
	}
	if h.Get("x-ms-throttle-limit-percentage") != "1.20" {
		t.Errorf("x-ms-throttle-limit-percentage = %q, want 1.20", h.Get("x-ms-throttle-limit-percentage"))
	}
	// A throttled request costs nothing: 1 ns before the wait ends it is
	// still full, and at t0+1s exactly one request fits again.
	e.clock.Advance(550*time.Millisecond - time.Nanosecond)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantThrottled(t, resp, b, "0.001")
	e.clock.Advance(time.Nanosecond)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantThrottled(t, resp, b, "0.1") // until the request of t0+100ms leaves

	c := e.sim.Counts()["GET /v1.0/users/{id}"]
	if c.Total != 9 || c.ByStatus[429] != 3 || c.Throttled != 3 || c.ResourceUnits != 12 {
		t.Errorf("counts = %+v, want 9 requests, three 429s, 12 RU", c)
	}
}

func TestThrottleWrites(t *testing.T) {
	// 3 writes per window of 150 s × 0.004 = 600 ms, at t0, +100 ms, +200 ms.
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 0.004, WritesPerWindow: 3}})
	for i, alias := range []string{"w1", "w2", "w3"} {
		if i > 0 {
			e.clock.Advance(100 * time.Millisecond)
		}
		e.createUser(t, newUser(alias))
	}
	e.clock.Advance(50 * time.Millisecond)
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("w4"))
	wantThrottled(t, resp, b, "0.35") // the write of t0 leaves at t0+600ms
	if got := resp.Header.Get("x-ms-throttle-information"); got != "WriteLimitExceeded" {
		t.Errorf("x-ms-throttle-information = %q", got)
	}
	if want := "Tenant_Application/Write/" + graphsim.DefaultClientID + "/" + graphsim.DefaultTenantID; resp.Header.Get("x-ms-throttle-scope") != want {
		t.Errorf("x-ms-throttle-scope = %q", resp.Header.Get("x-ms-throttle-scope"))
	}
	for _, u := range e.sim.State().Users {
		if u.UserPrincipalName == "w4@contoso.com" {
			t.Fatal("a throttled POST created the user")
		}
	}
	// Reads have their own budget.
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)

	e.clock.Advance(350*time.Millisecond - time.Nanosecond)
	resp, b = e.do(t, http.MethodPost, "/v1.0/users", newUser("w4"))
	wantThrottled(t, resp, b, "0.001")
	e.clock.Advance(time.Nanosecond)
	e.createUser(t, newUser("w4"))
}

func TestThrottleTeams(t *testing.T) {
	// 2 Teams requests per window of 10 s (real time scale).
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TeamsPerWindow: 2}})
	const path = "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments?$top=1"
	resp, b := e.do(t, http.MethodGet, path, nil)
	wantStatus(t, resp, b, http.StatusOK)
	e.clock.Advance(3 * time.Second)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantStatus(t, resp, b, http.StatusOK)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantThrottled(t, resp, b, "7")
	if resp.Header.Get("x-ms-throttle-scope") != "" {
		t.Errorf("x-ms-throttle-scope = %q on a Teams call", resp.Header.Get("x-ms-throttle-scope"))
	}
	e.clock.Advance(7 * time.Second)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantStatus(t, resp, b, http.StatusOK)
}

func TestThrottleRetryAfterWholeSecondsInRealTime(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 1, ResourceUnitsPerWindow: 3}})
	resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)
	e.clock.Advance(2500 * time.Millisecond)
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantThrottled(t, resp, b, "8") // 7.5 s, rounded up
	e.clock.Advance(7500*time.Millisecond - time.Nanosecond)
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantThrottled(t, resp, b, "1") // 1 ns, still a whole second
	e.clock.Advance(time.Nanosecond)
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)
}

func TestThrottleOffByDefault(t *testing.T) {
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{ResourceUnitsPerWindow: 1}})
	for range 3 {
		resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
		wantStatus(t, resp, b, http.StatusOK)
	}
}

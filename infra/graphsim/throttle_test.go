package graphsim_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

func retryAfter(t *testing.T, resp *http.Response) time.Duration {
	t.Helper()
	v, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64)
	if err != nil || v <= 0 {
		t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	return time.Duration(v * float64(time.Second))
}

func TestThrottleResourceUnits(t *testing.T) {
	// 10 RU per window of 10 s × 0.1 = 1 s; GET user costs 2 RU.
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 0.1, ResourceUnitsPerWindow: 10}})
	const path = "/v1.0/users/AdeleV@contoso.com"
	start := time.Now()
	for i := 1; i <= 5; i++ {
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
	resp, b := e.do(t, http.MethodGet, path, nil)
	if time.Since(start) > 900*time.Millisecond {
		t.Skip("machine too slow for a 1 s window")
	}
	wantError(t, resp, b, http.StatusTooManyRequests, "TooManyRequests", "")
	h := resp.Header
	if h.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" {
		t.Errorf("x-ms-throttle-information = %q", h.Get("x-ms-throttle-information"))
	}
	if want := "Tenant_Application/ReadWrite/" + graphsim.DefaultClientID + "/" + graphsim.DefaultTenantID; h.Get("x-ms-throttle-scope") != want {
		t.Errorf("x-ms-throttle-scope = %q, want %q", h.Get("x-ms-throttle-scope"), want)
	}
	wait := retryAfter(t, resp)
	if wait > time.Second {
		t.Errorf("Retry-After = %v, want at most the 1 s window", wait)
	}
	time.Sleep(wait)
	resp, b = e.do(t, http.MethodGet, path, nil)
	wantStatus(t, resp, b, http.StatusOK)

	c := e.sim.Counts()["GET /v1.0/users/{id}"]
	if c.Total != 7 || c.ByStatus[429] != 1 || c.Throttled != 1 || c.ResourceUnits != 12 {
		t.Errorf("counts = %+v, want 7 requests, one 429, 12 RU", c)
	}
}

func TestThrottleWrites(t *testing.T) {
	// 3 writes per window of 150 s × 0.004 = 600 ms.
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 0.004, WritesPerWindow: 3}})
	start := time.Now()
	for _, alias := range []string{"w1", "w2", "w3"} {
		e.createUser(t, newUser(alias))
	}
	resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("w4"))
	if time.Since(start) > 500*time.Millisecond {
		t.Skip("machine too slow for a 600 ms window")
	}
	wantError(t, resp, b, http.StatusTooManyRequests, "TooManyRequests", "")
	if got := resp.Header.Get("x-ms-throttle-information"); got != "WriteLimitExceeded" {
		t.Errorf("x-ms-throttle-information = %q", got)
	}
	if want := "Tenant_Application/Write/" + graphsim.DefaultClientID + "/" + graphsim.DefaultTenantID; resp.Header.Get("x-ms-throttle-scope") != want {
		t.Errorf("x-ms-throttle-scope = %q", resp.Header.Get("x-ms-throttle-scope"))
	}
	wait := retryAfter(t, resp)
	for _, u := range e.sim.State().Users {
		if u.UserPrincipalName == "w4@contoso.com" {
			t.Fatal("a throttled POST created the user")
		}
	}
	// Reads have their own budget.
	resp, b = e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusOK)

	time.Sleep(wait)
	e.createUser(t, newUser("w4"))
}

func TestThrottleRetryAfterWholeSecondsInRealTime(t *testing.T) {
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: 1, ResourceUnitsPerWindow: 3}})
	e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantStatus(t, resp, b, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != "10" && got != "9" {
		t.Errorf("Retry-After = %q, want whole seconds up to the 10 s window", got)
	}
}

func TestThrottleOffByDefault(t *testing.T) {
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{ResourceUnitsPerWindow: 1}})
	for range 3 {
		resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
		wantStatus(t, resp, b, http.StatusOK)
	}
}

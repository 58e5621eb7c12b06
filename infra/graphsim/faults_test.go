package graphsim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

func TestInjectFault(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	e.sim.InjectFault(graphsim.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/users", Count: 2, Status: 503, RetryAfter: 2 * time.Second})
	for range 2 {
		resp, b := e.do(t, http.MethodPost, "/v1.0/users", newUser("faulty"))
		wantError(t, resp, b, http.StatusServiceUnavailable, "serviceNotAvailable", "")
		if got := resp.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2", got)
		}
	}
	resp, b := e.do(t, http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil) // other method: not faulted
	wantStatus(t, resp, b, http.StatusOK)
	e.createUser(t, newUser("faulty"))
	if c := e.sim.Counts()["POST /v1.0/users"]; c.Faults != 2 || c.ByStatus[503] != 2 || c.ByStatus[201] != 1 {
		t.Errorf("counts = %+v", c)
	}
	n := 0
	for _, u := range e.sim.State().Users {
		if u.UserPrincipalName == "faulty@contoso.com" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("faulty@contoso.com exists %d times, want once", n)
	}
}

func TestFaultRate(t *testing.T) {
	e := newEnv(t, graphsim.Config{RandSeed: 7})
	e.sim.SetKnobs(graphsim.Knobs{FaultRate: 1, FaultStatus: 500})
	resp, b := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
	wantError(t, resp, b, http.StatusInternalServerError, "generalException", "")
	_ = e.token(t, graphsim.GraphScope) // the token endpoint is not an API call

	e.sim.SetKnobs(graphsim.Knobs{FaultRate: 0.5})
	faults := 0
	for range 40 {
		resp, _ := e.do(t, http.MethodGet, "/v1.0/subscribedSkus", nil)
		if resp.StatusCode == http.StatusServiceUnavailable {
			faults++
		}
	}
	if faults < 8 || faults > 32 {
		t.Errorf("%d of 40 requests faulted at rate 0.5", faults)
	}
}

// slowRequest sends a POST /v1.0/users for alias with ctx and reports its
// outcome on the returned channel.
func (e *env) slowRequest(t *testing.T, ctx context.Context, alias string) <-chan error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.ts.URL+"/v1.0/users", jsonBody(t, newUser(alias)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.graphToken)
	done := make(chan error, 1)
	go func() {
		resp, err := e.ts.Client().Do(req)
		if err == nil {
			// Read to the end: the request is logged by then.
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusCreated {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	return done
}

// heldBack waits until the simulator holds n responses back on e's clock.
func (e *env) heldBack(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntil(ctx, n); err != nil {
		t.Fatalf("%d responses never held back: %v", n, err)
	}
}

func (e *env) hasUser(upn string) bool {
	for _, u := range e.sim.State().Users {
		if u.UserPrincipalName == upn {
			return true
		}
	}
	return false
}

func TestSlowResponseStillTakesEffect(t *testing.T) {
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{SlowRate: 1, SlowDelay: time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := e.slowRequest(t, ctx, "slow")
	e.heldBack(t, 1) // served, and its response held back
	cancel()         // the client gives up
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the client's cancellation", err)
	}
	if !e.hasUser("slow@contoso.com") {
		t.Error("the abandoned request did not create the user")
	}
}

func TestSlowResponseHeldForSlowDelay(t *testing.T) {
	const delay = 2 * time.Second
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{SlowRate: 1, SlowDelay: delay}})
	done := e.slowRequest(t, context.Background(), "held")
	e.heldBack(t, 1)
	if !e.hasUser("held@contoso.com") {
		t.Error("the user is not created while its response is held back")
	}
	e.clock.Advance(delay - time.Nanosecond)
	if n := e.clock.Timers(); n != 1 {
		t.Fatalf("1 ns before the delay, %d responses held back, want 1", n)
	}
	e.clock.Advance(time.Nanosecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no response once the delay had passed")
	}
	if c := e.sim.Counts()["POST /v1.0/users"]; c.Total != 1 || c.ByStatus[201] != 1 {
		t.Errorf("counts = %+v", c)
	}
}

func TestRequestIDHeaders(t *testing.T) {
	e := newEnv(t, graphsim.Config{})
	h := http.Header{"Client-Request-Id": {"0f8fad5b-d9cb-469f-a165-70867728950e"}}
	for _, path := range []string{"/v1.0/subscribedSkus", "/v1.0/users/nobody@contoso.com"} {
		resp, b := e.doWith(t, e.graphToken, http.MethodGet, path, nil, h)
		if resp.Header.Get("request-id") == "" {
			t.Errorf("%s: no request-id", path)
		}
		if got := resp.Header.Get("client-request-id"); got != "0f8fad5b-d9cb-469f-a165-70867728950e" {
			t.Errorf("%s: client-request-id = %q", path, got)
		}
		if resp.StatusCode == http.StatusNotFound {
			if g := decode[graphError](t, b); g.Error.InnerError.ClientRequestID != "0f8fad5b-d9cb-469f-a165-70867728950e" || g.Error.InnerError.Date == "" {
				t.Errorf("innerError = %+v", g.Error.InnerError)
			}
		}
	}
}

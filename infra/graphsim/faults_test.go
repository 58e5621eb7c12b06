package graphsim_test

import (
	"context"
	"errors"
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

func TestSlowResponseStillTakesEffect(t *testing.T) {
	e := newEnv(t, graphsim.Config{Knobs: graphsim.Knobs{SlowRate: 1, SlowDelay: time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.ts.URL+"/v1.0/users", jsonBody(t, newUser("slow")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.graphToken)
	if _, err = e.ts.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	found := false
	for _, u := range e.sim.State().Users {
		found = found || u.UserPrincipalName == "slow@contoso.com"
	}
	if !found {
		t.Error("the timed-out request did not create the user")
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

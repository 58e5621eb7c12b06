package graphsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

func TestUsageLocationDelay(t *testing.T) {
	const delay = 400 * time.Millisecond
	e := newClockEnv(t, graphsim.Config{Knobs: graphsim.Knobs{UsageLocationDelay: delay}})
	noLocation := newUser("justset")
	delete(noLocation, "usageLocation")
	id := e.createUser(t, noLocation)
	withLocation := e.createUser(t, newUser("located")) // created with one: not delayed
	assign := func(user string, body any) (*http.Response, []byte) {
		return e.do(t, http.MethodPost, "/v1.0/users/"+user+"/assignLicense", body)
	}
	const vu = graphsim.VirtualUserSkuID

	resp, b := assign(withLocation, assignBody(vu))
	wantStatus(t, resp, b, http.StatusOK)

	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "GB"})
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = assign(id, assignBody(vu))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
	// The directory shows the new usage location meanwhile.
	resp, b = e.do(t, http.MethodGet, "/v1.0/users/"+id+"?$select=usageLocation,assignedLicenses", nil)
	wantStatus(t, resp, b, http.StatusOK)
	if u := decode[userBody](t, b); u.UsageLocation != "GB" || len(u.AssignedLicenses) != 0 {
		t.Errorf("user during the delay: %+v", u)
	}
	// Other errors keep their precedence; removing alone is not delayed.
	const unknown = "99999999-9999-4999-9999-999999999999"
	resp, b = assign(id, assignBody(unknown))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "does not correspond to a valid company License")
	resp, b = assign("00000000-0000-0000-0000-00000000dead", assignBody(vu))
	wantError(t, resp, b, http.StatusNotFound, "Request_ResourceNotFound", "")

	// Refused until exactly the delay has passed.
	e.clock.Advance(delay - time.Nanosecond)
	resp, b = assign(id, assignBody(vu))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "invalid usage location")
	e.clock.Advance(time.Nanosecond)
	// Setting the same value again does not restart the delay.
	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "GB"})
	wantStatus(t, resp, b, http.StatusNoContent)
	resp, b = assign(id, assignBody(vu))
	wantStatus(t, resp, b, http.StatusOK)

	// Changing it does, and a negative delay turns the rule off.
	resp, b = e.do(t, http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "US"})
	wantStatus(t, resp, b, http.StatusNoContent)
	e.clock.Advance(delay - time.Nanosecond)
	resp, b = assign(id, assignBody(graphsim.EnterprisePackSkuID))
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "invalid usage location")
	e.sim.SetKnobs(graphsim.Knobs{UsageLocationDelay: -1})
	resp, b = assign(id, assignBody(graphsim.EnterprisePackSkuID))
	wantStatus(t, resp, b, http.StatusOK)
}

func TestUsageLocationDelayDefault(t *testing.T) {
	if graphsim.DefaultUsageLocationDelay <= 0 {
		t.Fatal("the rule is off by default")
	}
	e := newClockEnv(t, graphsim.Config{})
	noLocation := newUser("defaultdelay")
	delete(noLocation, "usageLocation")
	id := e.createUser(t, noLocation)
	resp, b := e.do(t, http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "DE"})
	wantStatus(t, resp, b, http.StatusNoContent)
	assign := func() (*http.Response, []byte) {
		return e.do(t, http.MethodPost, "/v1.0/users/"+id+"/assignLicense", assignBody(graphsim.VirtualUserSkuID))
	}
	resp, b = assign()
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "invalid usage location")
	e.clock.Advance(graphsim.DefaultUsageLocationDelay - time.Nanosecond)
	resp, b = assign()
	wantError(t, resp, b, http.StatusBadRequest, "Request_BadRequest", "invalid usage location")
	e.clock.Advance(time.Nanosecond)
	resp, b = assign()
	wantStatus(t, resp, b, http.StatusOK)
}

package teamssim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

const syncDelay = 24 * time.Hour

// newLagEnv is newEnv with a Teams sync delay and one more directory user,
// created (and, if licensed, licensed) at the clock's current time.
func newLagEnv(t *testing.T, id string, licensed bool) *env {
	t.Helper()
	e := newEnv(t, testSeed(), 0)
	e.sim.SetKnobs(teamssim.Knobs{TeamsSyncDelay: syncDelay})
	now := e.clock.Now()
	u := teamssim.DirUser{ID: id, UserPrincipalName: "new@contoso.com", DisplayName: "New", UsageLocation: "US", CreatedDateTime: now}
	if licensed {
		u.Licensed, u.LicensedDateTime = true, now
	}
	e.dir.add(u)
	return e
}

const newUser = "a0000000-0000-4000-8000-0000000000f1"

func TestSyncDelayBindAndGet(t *testing.T) {
	e := newLagEnv(t, newUser, true)
	aa := "?applicationId=" + teamssim.AutoAttendantAppID

	for _, wait := range []time.Duration{0, syncDelay - time.Second} {
		e.clock.Advance(wait)
		resp, b := e.bind(t, newUser, aa)
		wantError(t, resp, b, http.StatusNotFound)
		resp, b = e.do(t, http.MethodGet, appInstances+"/"+newUser, "")
		wantError(t, resp, b, http.StatusNotFound)
	}
	if got := len(e.sim.State().ApplicationInstances); got != len(testSeed().ApplicationInstances) {
		t.Errorf("instances = %d: a bind during the sync delay created one", got)
	}

	e.clock.Advance(time.Second)
	if resp, b := e.bind(t, newUser, aa); resp.StatusCode != http.StatusOK {
		t.Fatalf("bind once synced = %d %s", resp.StatusCode, b)
	}
	if got := getJSON[instanceJSON](t, e, appInstances+"/"+newUser); got.ApplicationID != teamssim.AutoAttendantAppID {
		t.Errorf("instance = %+v", got)
	}
}

// TestSyncDelayKnobsFunc: a Sim given KnobsFunc reads the knobs on every
// request, as the Graph simulator's run-time knobs need.
func TestSyncDelayKnobsFunc(t *testing.T) {
	dir := &fakeDirectory{users: map[string]teamssim.DirUser{}}
	dir.add(teamssim.DirUser{ID: newUser, UserPrincipalName: "new@contoso.com", CreatedDateTime: time.Now()})
	var delay atomic.Int64
	delay.Store(int64(time.Hour))
	sim := teamssim.New(teamssim.Config{Directory: dir, KnobsFunc: func() teamssim.Knobs {
		return teamssim.Knobs{TeamsSyncDelay: time.Duration(delay.Load())}
	}})
	sim.SetKnobs(teamssim.Knobs{}) // ignored: KnobsFunc decides
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{srv: srv, sim: sim}

	resp, b := e.bind(t, newUser, "?applicationId="+teamssim.CallQueueAppID)
	wantError(t, resp, b, http.StatusNotFound)
	delay.Store(0)
	if resp, b := e.bind(t, newUser, "?applicationId="+teamssim.CallQueueAppID); resp.StatusCode != http.StatusOK {
		t.Fatalf("bind with the delay off = %d %s", resp.StatusCode, b)
	}
}

func TestSyncDelayAssociate(t *testing.T) {
	e := newLagEnv(t, newUser, true)

	// Unknown to Teams: 404, where a user Teams knows that is not an
	// instance gets 400.
	resp, b := e.do(t, http.MethodPost, associations, associateBody(aaConfig, "AutoAttendant", newUser))
	wantError(t, resp, b, http.StatusNotFound)
	resp, b = e.do(t, http.MethodPost, associations, associateBody(aaConfig, "AutoAttendant", aaAccount, newUser))
	wantError(t, resp, b, http.StatusNotFound)
	if n := len(e.sim.State().Associations); n != 0 {
		t.Errorf("associations = %d after refused requests", n)
	}

	e.clock.Advance(syncDelay)
	resp, b = e.do(t, http.MethodPost, associations, associateBody(aaConfig, "AutoAttendant", newUser))
	wantError(t, resp, b, http.StatusBadRequest) // known now, but not an instance
	if resp, b := e.bind(t, newUser, "?applicationId="+teamssim.AutoAttendantAppID); resp.StatusCode != http.StatusOK {
		t.Fatalf("bind = %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do(t, http.MethodPost, associations, associateBody(aaConfig, "AutoAttendant", newUser)); resp.StatusCode != http.StatusOK {
		t.Fatalf("associate once synced = %d %s", resp.StatusCode, b)
	}
}

func TestSyncDelayAssignNumber(t *testing.T) {
	tests := []struct {
		name       string
		created    time.Duration // before now
		licensed   time.Duration // before now; <0: not licensed
		wantStatus string
		wantDetail string
	}{
		{"account unknown to Teams", 0, 0, "failed", "The assignment target " + newUser + " was not found."},
		{"account known, license not yet", syncDelay, time.Hour, "failed",
			"The assignment target " + newUser + " has no license that allows a telephone number assignment."},
		{"account and license known", 2 * syncDelay, syncDelay, "succeeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testSeed(), time.Second)
			e.sim.SetKnobs(teamssim.Knobs{TeamsSyncDelay: syncDelay})
			now := e.clock.Now()
			e.dir.add(teamssim.DirUser{ID: newUser, UserPrincipalName: "new@contoso.com", UsageLocation: "US",
				CreatedDateTime: now.Add(-tt.created), Licensed: true, LicensedDateTime: now.Add(-tt.licensed)})

			// Accepted like any other assignment: Teams checks the target
			// when the operation runs.
			loc := e.start(t, "assignNumber", assignBody(anyNumber, newUser, "callingPlan"))
			e.clock.Advance(2 * time.Second)
			op := getJSON[operationJSON](t, e, loc)
			if op.Status != tt.wantStatus {
				t.Fatalf("operation %s, want %s", op.Status, tt.wantStatus)
			}
			detail := ""
			if d := op.Numbers[0].StatusDetail; d != nil {
				detail = *d
			}
			if detail != tt.wantDetail {
				t.Errorf("statusDetail = %q, want %q", detail, tt.wantDetail)
			}
		})
	}
}

// TestWrapOperations: with the knob, operations come wrapped in "value" as
// in Learn's example, on both operation paths.
func TestWrapOperations(t *testing.T) {
	e := newEnv(t, testSeed(), 0)
	loc := e.start(t, "assignNumber", assignBody(serviceNumber, aaAccount, "callingPlan"))
	bare := getJSON[operationJSON](t, e, loc)

	e.sim.SetKnobs(teamssim.Knobs{WrapOperations: true})
	for _, target := range []string{loc, tnm + "/operations/" + bare.ID} {
		resp, b := e.do(t, http.MethodGet, target, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", target, resp.StatusCode, b)
		}
		var wrapped struct {
			Value *struct {
				Type string `json:"@odata.type"`
				operationJSON
			} `json:"value"`
			ID      string `json:"id"`
			Context string `json:"@odata.context"`
		}
		if err := json.Unmarshal(b, &wrapped); err != nil {
			t.Fatal(err)
		}
		if wrapped.Value == nil || wrapped.ID != "" || wrapped.Context != "" {
			t.Fatalf("GET %s = %s, want only the entity inside value", target, b)
		}
		if v := wrapped.Value; v.ID != bare.ID || v.Status != "succeeded" || len(v.Numbers) != 1 ||
			!strings.HasSuffix(v.Type, "telephoneNumberLongRunningOperation") {
			t.Errorf("wrapped operation = %+v, want %+v", *v, bare)
		}
	}
}

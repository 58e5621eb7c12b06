package graphsim_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

func TestFakeClock(t *testing.T) {
	c := graphsim.NewFakeClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", c.Now(), t0)
	}
	var mu sync.Mutex
	var fired []string
	at := map[string]time.Time{}
	record := func(name string) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, name)
			at[name] = c.Now()
		}
	}
	c.AfterFunc(3*time.Second, record("3s"))
	c.AfterFunc(time.Second, record("1s"))
	stop := c.AfterFunc(2*time.Second, record("stopped"))
	c.AfterFunc(time.Second, record("1s again"))
	if n := c.Timers(); n != 4 {
		t.Fatalf("Timers = %d, want 4", n)
	}
	if !stop() || stop() {
		t.Error("stop: want true once, then false")
	}

	c.Advance(time.Second - time.Nanosecond)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	c.Advance(3 * time.Second)
	if want := []string{"1s", "1s again", "3s"}; !slices.Equal(fired, want) {
		t.Errorf("fired %v, want %v (due order, then creation order)", fired, want)
	}
	if !at["1s"].Equal(t0.Add(time.Second)) || !at["3s"].Equal(t0.Add(3*time.Second)) {
		t.Errorf("clock during the calls = %v, want each call's due time", at)
	}
	if want := t0.Add(4*time.Second - time.Nanosecond); !c.Now().Equal(want) {
		t.Errorf("Now after Advance = %v, want %v", c.Now(), want)
	}
	if c.Timers() != 0 {
		t.Errorf("Timers = %d after all fired", c.Timers())
	}

	// Not positive: at once, without Advance.
	now := make(chan struct{})
	c.AfterFunc(0, func() { close(now) })
	select {
	case <-now:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc(0) did not run")
	}

	// BlockUntil returns once enough calls wait, or when ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntil(ctx, 1); err == nil {
		t.Error("BlockUntil with no timer and an ended context: nil error")
	}
	go c.AfterFunc(time.Hour, func() {})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// TestClockReachesTeams: the Teams simulator runs on Config.Clock, as the
// directory it reads does: a new user is unknown to Teams until both the
// replication delay and the Teams sync delay have passed on the clock, and
// an operation moves at exactly its step delays.
func TestClockReachesTeams(t *testing.T) {
	const (
		replication = 2 * time.Second
		sync        = time.Hour
		step        = 10 * time.Second
	)
	e := newClockEnv(t, graphsim.Config{
		TokenLifetime: 2 * sync,
		Knobs:         graphsim.Knobs{ReplicationDelay: replication, TeamsSyncDelay: sync, OperationStepDelay: step},
	})
	teams := e.token(t, graphsim.TeamsAdminScope)
	id := e.createUser(t, newUser("teamslag")) // at t0
	bind := "/Teams.PlatformService/v2/ApplicationInstances/" + id + "/sync?applicationId=" + teamssim.CallQueueAppID
	for _, at := range []time.Duration{0, replication, sync - time.Nanosecond} {
		e.clock.Advance(t0.Add(at).Sub(e.clock.Now()))
		resp, b := e.doWith(t, teams, http.MethodPost, bind, nil, nil)
		wantStatus(t, resp, b, http.StatusNotFound)
	}
	e.clock.Advance(time.Nanosecond)
	resp, b := e.doWith(t, teams, http.MethodPost, bind, nil, nil)
	wantStatus(t, resp, b, http.StatusOK)

	resp, b = e.do(t, http.MethodPost, "/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber",
		map[string]any{"telephoneNumber": "+12065550188", "numberType": "callingPlan"})
	wantStatus(t, resp, b, http.StatusAccepted)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.Contains(loc.Path, "/operations(") {
		t.Fatalf("Location = %q", resp.Header.Get("Location"))
	}
	status := func() string {
		t.Helper()
		resp, b := e.do(t, http.MethodGet, loc.Path, nil)
		wantStatus(t, resp, b, http.StatusOK)
		return decode[struct {
			Status string `json:"status"`
		}](t, b).Status
	}
	for _, s := range []struct {
		advance time.Duration
		want    string
	}{
		{0, teamssim.OperationNotStarted},
		{step - time.Nanosecond, teamssim.OperationNotStarted},
		{time.Nanosecond, teamssim.OperationRunning},
		{step - time.Nanosecond, teamssim.OperationRunning},
		{time.Nanosecond, teamssim.OperationSucceeded},
	} {
		e.clock.Advance(s.advance)
		if got := status(); got != s.want {
			t.Fatalf("at %v after the request: status %q, want %q", e.clock.Now().Sub(t0.Add(sync)), got, s.want)
		}
	}
}

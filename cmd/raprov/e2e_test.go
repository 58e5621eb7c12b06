package main

// End-to-end tests of the whole provisioning chain: the production step
// functions and middleware (chainSteps) on the embedded SQLite queue, the
// real Graph SDK and Teams-admin adapters speaking HTTPS to an in-process
// Graph simulator. Every test asserts the outcome (ledger and results queue)
// and what the simulator holds afterwards.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// e2eTimeout bounds how long a test waits for its requests' outcomes.
const e2eTimeout = 40 * time.Second

// e2eConfig varies one test's tenant and chain. Zero values are the
// default seed, no throttling or replication delay, and e2eTiming.
type e2eConfig struct {
	seed  func(*graphsim.Seed)   // edits graphsim.DefaultSeed()
	knobs graphsim.Knobs         // OperationStepDelay defaults to 50 ms
	sim   func(*graphsim.Config) // edits the simulator's configuration
	steps func(*steps.Config)    // edits e2eTiming()
	// noDomains leaves the verified-domain list empty, so that intake
	// accepts any domain and Graph decides.
	noDomains bool
	// wrap, when set, wraps every step (outside the production middleware).
	wrap func(step string, next steps.Step) steps.Step
	// notifier posts the complete step's callbacks; nil sends none (as a
	// chain without RAPROV_CALLBACK_SECRET).
	notifier steps.Notifier
}

// e2eEnv is one simulated tenant with the chain running against it.
type e2eEnv struct {
	m     *microsoft
	sim   *graphsim.Server
	store *local.Store
	chain *embedded.Chain
	base  graphsim.State // the simulator's state before any request
	logs  *e2eLog

	mu      sync.Mutex
	results map[string][]events.Event // final events by request id
	calls   []e2eCall                 // every step run, in completion order
}

// e2eCall is one run of a step as the transport saw it.
type e2eCall struct {
	step string
	in   events.Event
	out  []events.Event
	err  error
	at   time.Time
}

// e2eOutcome is where a request ended.
type e2eOutcome struct {
	Status  ledger.Status  // from the ledger, with history
	Final   events.Event   // the first final event on the results queue
	Results []events.Event // every final event of the request
}

// e2eTiming is the step configuration of these tests: demoTiming, tighter.
func e2eTiming() steps.Config {
	c := demoTiming(steps.DefaultConfig())
	c.LicenseRecheck = steps.Backoff{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond}
	c.NumberPoll = steps.Backoff{Initial: 50 * time.Millisecond, Max: 400 * time.Millisecond}
	c.Retry = steps.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}
	c.LicenseWait = 30 * time.Second
	c.NumberWait = 30 * time.Second
	c.TeamsSyncRecheck = steps.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond}
	c.TeamsSyncWait = 1500 * time.Millisecond
	c.AllowAdopt = true // the scenarios that adopt; intake's refusal without it is a unit test
	return c
}

// startE2E starts a simulator, opens a store in a temporary directory and
// runs the chain on it until the test ends.
func startE2E(t *testing.T, c e2eConfig) *e2eEnv {
	t.Helper()
	closing := e2eClosing(t)
	logs := &e2eLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chain logs (tail):\n%s", logs.tail(8<<10))
		}
	})
	log := slog.New(logctx.Handler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))

	seed := graphsim.DefaultSeed()
	if c.seed != nil {
		c.seed(&seed)
	}
	if c.knobs.OperationStepDelay == 0 {
		c.knobs.OperationStepDelay = 50 * time.Millisecond
	}
	simCfg := graphsim.Config{Seed: seed, Knobs: c.knobs, RandSeed: 1}
	if c.sim != nil {
		c.sim(&simCfg)
	}
	m, err := startSimulator(context.Background(), simCfg, log)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	// A simulator takes about a second to shut down (HTTP/2's graceful
	// GOAWAY): a test's simulators close together.
	t.Cleanup(func() { closing.Go(m.Close) })

	store, err := local.Open(t.Context(), filepath.Join(t.TempDir(), "raprov.db"), local.Options{Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})

	cfg := e2eTiming()
	if !c.noDomains {
		cfg.VerifiedDomains = m.domains
	}
	if c.steps != nil {
		c.steps(&cfg)
	}
	e := &e2eEnv{m: m, sim: m.sim.Server, store: store, base: m.sim.Server.State(), logs: logs, results: map[string][]events.Event{}}
	fns := chainSteps(m, store.Claims(), store.NumberHolds(), c.notifier, cfg, log)
	for name, fn := range fns {
		fn = e.record(name, fn)
		if c.wrap != nil {
			fn = c.wrap(name, fn)
		}
		fns[name] = fn
	}
	e.chain, err = embedded.New(store, fns, embedded.Options{
		Concurrency:  8,
		Visibility:   10 * time.Second,
		MaxReceive:   3,
		PollInterval: 25 * time.Millisecond,
		Logger:       log,
	})
	if err != nil {
		t.Fatalf("chain: %v", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- e.chain.Run(ctx) }()
	go func() {
		done <- local.Consume(ctx, e.chain.Queue(events.Results), local.ConsumeOptions{Concurrency: 1, PollInterval: 25 * time.Millisecond}, e.collect(t))
	}()
	t.Cleanup(func() {
		stop()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("chain shutdown: %v", err)
			}
		}
	})
	return e
}

var e2eClosers sync.Map // *testing.T → *sync.WaitGroup

// e2eClosing returns the wait group of t's closing simulators; t's last
// cleanup waits for it.
func e2eClosing(t *testing.T) *sync.WaitGroup {
	wg, loaded := e2eClosers.LoadOrStore(t, &sync.WaitGroup{})
	if !loaded {
		t.Cleanup(func() {
			wg.(*sync.WaitGroup).Wait()
			e2eClosers.Delete(t)
		})
	}
	return wg.(*sync.WaitGroup)
}

// record keeps every run of a step.
func (e *e2eEnv) record(step string, next steps.Step) steps.Step {
	return func(ctx context.Context, in events.Event) ([]events.Event, error) {
		out, err := next(ctx, in)
		e.mu.Lock()
		e.calls = append(e.calls, e2eCall{step: step, in: in, out: out, err: err, at: time.Now()})
		e.mu.Unlock()
		return out, err
	}
}

// collect consumes the results queue.
func (e *e2eEnv) collect(t *testing.T) local.Handler {
	return func(ctx context.Context, d transport.Delivery) error {
		ev, err := events.Decode(d.Body)
		if err != nil {
			t.Errorf("results queue: undecodable event: %v", err)
		} else {
			e.mu.Lock()
			e.results[ev.Subject] = append(e.results[ev.Subject], ev)
			e.mu.Unlock()
		}
		return e.chain.Queue(events.Results).Delete(ctx, d.ID)
	}
}

// callsWhere returns the recorded step runs matching keep.
func (e *e2eEnv) callsWhere(keep func(e2eCall) bool) []e2eCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []e2eCall
	for _, c := range e.calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// submit publishes requests through the chain's own door.
func (e *e2eEnv) submit(t testing.TB, reqs ...events.Request) []events.Event {
	t.Helper()
	subs, err := e.chain.Submit(context.Background(), "", reqs...)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return submission.SentEvents(subs)
}

// await waits until every request has ended in the ledger and its final
// event reached the results queue.
func (e *e2eEnv) await(t testing.TB, ids ...string) map[string]e2eOutcome {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	out := make(map[string]e2eOutcome, len(ids))
	for {
		var pending []string
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			st, err := e.store.Ledger().Get(context.Background(), id)
			if err != nil && apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("ledger: %v", err)
			}
			e.mu.Lock()
			res := slices.Clone(e.results[id])
			e.mu.Unlock()
			if err != nil || st.Outcome == ledger.InProgress || len(res) == 0 {
				pending = append(pending, fmt.Sprintf("%s (%s at %s)", id, st.Type, st.Step))
				continue
			}
			out[id] = e2eOutcome{Status: st, Final: res[0], Results: res}
		}
		if len(pending) == 0 {
			return out
		}
		if time.Now().After(deadline) {
			for _, id := range ids {
				if _, ok := out[id]; ok {
					continue
				}
				st, _ := e.store.Ledger().Get(context.Background(), id)
				for _, h := range st.History {
					t.Logf("%s: %s %s %s %s %s", id, h.Time.Format("15:04:05.000000"), h.Step, h.Type, h.Outcome, h.EventID)
				}
				t.Logf("%s: status %s %s %s updated %s", id, st.Step, st.Type, st.Outcome, st.Updated.Format("15:04:05.000000"))
			}
			t.Fatalf("after %s, %d requests still in progress: %s", e2eTimeout, len(pending), strings.Join(pending, ", "))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// awaitResults waits until a request's first final event reached the
// results queue, whatever the ledger says.
func (e *e2eEnv) awaitResults(t testing.TB, id string) e2eOutcome {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		e.mu.Lock()
		res := slices.Clone(e.results[id])
		e.mu.Unlock()
		if len(res) > 0 {
			return e2eOutcome{Final: res[0], Results: res}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final event for %s after %s", id, e2eTimeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// quiesce waits until no step has run for a while: every duplicate flow
// has ended.
func (e *e2eEnv) quiesce(t testing.TB) {
	t.Helper()
	const idle = 1500 * time.Millisecond
	deadline := time.Now().Add(e2eTimeout)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		last := time.Time{}
		if n := len(e.calls); n > 0 {
			last = e.calls[n-1].at
		}
		e.mu.Unlock()
		if time.Since(last) >= idle {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the chain did not go quiet within %s", e2eTimeout)
}

// deadLetters waits until the store holds n dead letters and returns them.
func (e *e2eEnv) deadLetters(t testing.TB, n int) []transport.DeadLetter {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		dls, err := e.store.DeadLetters().List(context.Background(), "", 100)
		if err != nil {
			t.Fatalf("dead letters: %v", err)
		}
		if len(dls) >= n || time.Now().After(deadline) {
			return dls
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// mustComplete checks that a request completed, with a single final event
// unless duplicates are allowed.
func mustComplete(t testing.TB, o e2eOutcome) {
	t.Helper()
	if o.Status.Outcome != ledger.Completed {
		t.Fatalf("%s: outcome %s (%s: %s), want completed", o.Status.RequestID, o.Status.Outcome, o.Status.Reason, o.Status.Detail)
	}
	for _, ev := range o.Results {
		if ev.Type != events.TypeProvisioningCompleted {
			t.Errorf("%s: final event %s (%+v), want only %s", o.Status.RequestID, ev.Type, ev.Data.Failure, events.TypeProvisioningCompleted)
		}
	}
}

// mustFail checks that a request failed with reason in step, in the ledger
// and on the results queue alike.
func mustFail(t testing.TB, o e2eOutcome, reason events.Reason, step string) *events.Failure {
	t.Helper()
	id := o.Status.RequestID
	if o.Status.Outcome != ledger.Failed || o.Status.Reason != string(reason) {
		t.Fatalf("%s: ledger outcome %s reason %q (%s), want failed %q", id, o.Status.Outcome, o.Status.Reason, o.Status.Detail, reason)
	}
	if len(o.Results) != 1 {
		t.Errorf("%s: %d final events, want 1", id, len(o.Results))
	}
	f := o.Final.Data.Failure
	if o.Final.Type != events.TypeProvisioningFailed || f == nil {
		t.Fatalf("%s: final event %s without failure", id, o.Final.Type)
	}
	if f.Reason != reason || f.Step != step {
		t.Errorf("%s: failure %s in %s, want %s in %s (%s)", id, f.Reason, f.Step, reason, step, f.Message)
	}
	if f.Message == "" {
		t.Errorf("%s: failure without message", id)
	}
	if strings.Contains(f.Message, graphsim.DefaultClientSecret) || strings.Contains(o.Status.Detail, graphsim.DefaultClientSecret) {
		t.Errorf("%s: failure message reveals the client secret", id)
	}
	return f
}

// e2eAccount checks that st holds exactly one resource account for req
// (normalised), provisioned as asked, and returns it.
// ownerMarkOf returns the ownership mark the simulator holds for u
// (onPremisesExtensionAttributes.extensionAttribute15, the default).
func ownerMarkOf(u graphsim.User) string {
	ext, _ := u.Other["onPremisesExtensionAttributes"].(map[string]any)
	mark, _ := ext["extensionAttribute15"].(string)
	return mark
}

func e2eAccount(t testing.TB, st graphsim.State, req events.Request) graphsim.User {
	t.Helper()
	users := usersWithUPN(st, req.UserPrincipalName)
	if len(users) != 1 {
		t.Fatalf("%d users with UPN %s, want 1", len(users), req.UserPrincipalName)
	}
	u := users[0]
	if u.Department != steps.ResourceAccountDepartment {
		t.Errorf("%s: department %q, want %q", u.UserPrincipalName, u.Department, steps.ResourceAccountDepartment)
	}
	if u.UsageLocation != req.UsageLocation {
		t.Errorf("%s: usageLocation %q, want %q", u.UserPrincipalName, u.UsageLocation, req.UsageLocation)
	}
	if u.AccountEnabled {
		t.Errorf("%s: sign-in enabled, want blocked", u.UserPrincipalName)
	}
	if mark := ownerMarkOf(u); !req.Adopt && mark != steps.OwnerMark(strings.TrimSpace(req.RequestID)) {
		t.Errorf("%s: ownership mark %q, want this request's %q (written by the create call)", u.UserPrincipalName, mark, steps.OwnerMark(req.RequestID))
	}
	if len(u.AssignedLicenses) != 1 || !strings.EqualFold(u.AssignedLicenses[0].SkuID, graphsim.VirtualUserSkuID) {
		t.Errorf("%s: licenses %+v, want exactly %s (%s)", u.UserPrincipalName, u.AssignedLicenses, graphsim.VirtualUserSkuID, graphsim.VirtualUserSkuPartNumber)
	}

	var insts []teamssim.AppInstance
	for _, a := range st.Teams.ApplicationInstances {
		if strings.EqualFold(a.ObjectID, u.ID) {
			insts = append(insts, a)
		}
	}
	if want := steps.ApplicationID(req.AccountType); len(insts) != 1 || insts[0].ApplicationID != want {
		t.Errorf("%s: application instances %+v, want one of application %s", u.UserPrincipalName, insts, want)
	}

	held := numbersHeldBy(st, u.ID)
	switch {
	case req.PhoneNumber == "" && len(held) != 0:
		t.Errorf("%s: holds numbers %+v, none requested", u.UserPrincipalName, held)
	case req.PhoneNumber != "" && len(held) != 1:
		t.Errorf("%s: holds %d numbers %+v, want %s", u.UserPrincipalName, len(held), held, req.PhoneNumber)
	case req.PhoneNumber != "":
		n := held[0]
		if n.TelephoneNumber != req.PhoneNumber || n.AssignmentStatus != teamssim.StatusVoiceApplicationAssigned || n.ActivationState != teamssim.ActivationActivated {
			t.Errorf("%s: number %s %s %s, want %s %s %s", u.UserPrincipalName, n.TelephoneNumber, n.AssignmentStatus, n.ActivationState,
				req.PhoneNumber, teamssim.StatusVoiceApplicationAssigned, teamssim.ActivationActivated)
		}
	}

	assocs := associationsOf(st, u.ID)
	switch {
	case req.AssociateWith == "" && len(assocs) != 0:
		t.Errorf("%s: associations %+v, none requested", u.UserPrincipalName, assocs)
	case req.AssociateWith != "":
		want := teamssim.ConfigurationAutoAttendant
		if req.AccountType == events.AccountTypeCallQueue {
			want = teamssim.ConfigurationCallQueue
		}
		if len(assocs) != 1 || !strings.EqualFold(assocs[0].ConfigurationID, req.AssociateWith) || assocs[0].ConfigurationType != want {
			t.Errorf("%s: associations %+v, want one with %s %s", u.UserPrincipalName, assocs, want, req.AssociateWith)
		}
	}
	return u
}

// where returns the items keep accepts.
func where[T any](items []T, keep func(T) bool) []T {
	var out []T
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// first returns the first item match accepts.
func first[T any](items []T, match func(T) bool) (T, bool) {
	if i := slices.IndexFunc(items, match); i >= 0 {
		return items[i], true
	}
	var zero T
	return zero, false
}

func usersWithUPN(st graphsim.State, upn string) []graphsim.User {
	return where(st.Users, func(u graphsim.User) bool { return strings.EqualFold(u.UserPrincipalName, upn) })
}

func userByID(st graphsim.State, id string) (graphsim.User, bool) {
	return first(st.Users, func(u graphsim.User) bool { return strings.EqualFold(u.ID, id) })
}

func numbersHeldBy(st graphsim.State, objectID string) []teamssim.Number {
	return where(st.Teams.Numbers, func(n teamssim.Number) bool { return strings.EqualFold(n.AssignmentTargetID, objectID) })
}

func numberOf(st graphsim.State, tel string) (teamssim.Number, bool) {
	return first(st.Teams.Numbers, func(n teamssim.Number) bool { return n.TelephoneNumber == tel })
}

func associationsOf(st graphsim.State, objectID string) []teamssim.Association {
	return where(st.Teams.Associations, func(a teamssim.Association) bool { return strings.EqualFold(a.ObjectID, objectID) })
}

func instanceOf(st graphsim.State, objectID string) (teamssim.AppInstance, bool) {
	return first(st.Teams.ApplicationInstances, func(a teamssim.AppInstance) bool { return strings.EqualFold(a.ObjectID, objectID) })
}

func assignOps(st graphsim.State, tel string) []teamssim.OperationState {
	var out []teamssim.OperationState
	for _, op := range st.Teams.Operations {
		if op.Action == "assignNumber" && op.TelephoneNumber == tel {
			out = append(out, op)
		}
	}
	return out
}

// virtualUserSku returns the resource-account SKU of st.
func virtualUserSku(t testing.TB, st graphsim.State) graphsim.Sku {
	t.Helper()
	for _, s := range st.Skus {
		if s.SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			return s
		}
	}
	t.Fatalf("no %s subscription", graphsim.VirtualUserSkuPartNumber)
	return graphsim.Sku{}
}

// withFreeLicenses sets the resource-account SKU's enabled units so that
// free of them are unassigned.
func withFreeLicenses(free int) func(*graphsim.Seed) {
	return func(s *graphsim.Seed) { s.SetFreeUnits(graphsim.VirtualUserSkuPartNumber, free) }
}

// e2eWrites counts identity writes (users, subscribedSkus): all requests
// and those Graph accepted.
func e2eWrites(counts map[string]graphsim.EndpointCount) (all, accepted int) {
	for route, c := range counts {
		method, path, _ := strings.Cut(route, " ")
		if method == "GET" || method == "HEAD" {
			continue
		}
		if !strings.HasPrefix(path, "/v1.0/users") && !strings.HasPrefix(path, "/v1.0/subscribedSkus") {
			continue
		}
		all += c.Writes
		for status, n := range c.ByStatus {
			if status >= 200 && status < 300 {
				accepted += n
			}
		}
	}
	return all, accepted
}

// e2eThrottleShare returns the API requests (Graph and the Teams admin back
// end) and how many of them were answered 429.
func e2eThrottleShare(counts map[string]graphsim.EndpointCount) (total, throttled int) {
	for route, c := range counts {
		_, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(path, "/v1.0/") && !isTeamsPath(path) {
			continue
		}
		total += c.Total
		throttled += c.ByStatus[429]
	}
	return total, throttled
}

func isTeamsPath(path string) bool { return strings.HasPrefix(strings.ToLower(path), "/teams.") }

// e2eReq is a request for a new resource account in contoso.com.
func e2eReq(id, alias, accountType, usageLocation, phone, associateWith string) events.Request {
	return events.Request{
		RequestID:         id,
		DisplayName:       "E2E " + alias,
		UserPrincipalName: alias + "@contoso.com",
		AccountType:       accountType,
		UsageLocation:     usageLocation,
		PhoneNumber:       phone,
		AssociateWith:     associateWith,
	}
}

const (
	aa = events.AccountTypeAutoAttendant
	cq = events.AccountTypeCallQueue
)

// TestE2EProvisioning runs auto attendant and call queue requests, with and
// without number and association, through the whole chain, and checks every
// account in the simulator; fresh accounts cost exactly two identity writes.
func TestE2EProvisioning(t *testing.T) {
	t.Parallel()
	// A resource account raprov left half-made for prov-orphan (its
	// ownership mark): department set, but no usage location, license or
	// application instance. The request continues it; adopting an unbound
	// account would be refused (raprov binds only what it creates).
	const orphanID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	disabled := false
	e := startE2E(t, e2eConfig{seed: func(s *graphsim.Seed) {
		s.Users = append(s.Users, graphsim.SeedUser{
			ID: orphanID, UserPrincipalName: "ra-orphan@contoso.com", DisplayName: "Orphan",
			AccountEnabled: &disabled, Department: graphsim.ResourceAccountDepartment,
			ExtensionAttributes: map[string]string{"extensionAttribute15": steps.OwnerMark("prov-orphan")},
		})
	}})
	opNumber := e2eReq("prov-oc", "e2e-oc-tollfree", cq, "GB", "+448081570123", "")
	opNumber.NumberType = events.NumberTypeOperatorConnect
	drNumber := e2eReq("prov-dr", "e2e-dr-line", aa, "US", "+14255550119", "")
	drNumber.NumberType = events.NumberTypeDirectRouting
	cases := []struct {
		name  string
		req   events.Request
		fresh bool
		check func(t *testing.T, o e2eOutcome)
	}{
		{name: "AA bare", req: e2eReq("prov-aa-bare", "e2e-aa-bare", aa, "US", "", ""), fresh: true},
		{name: "AA number", req: e2eReq("prov-aa-num", "e2e-aa-num", aa, "US", "(212) 555-0178", ""), fresh: true},
		{name: "AA association", req: e2eReq("prov-aa-assoc", "e2e-aa-assoc", aa, "US", "", teamssim.SeedMainReceptionAAID), fresh: true},
		{name: "AA number association", req: e2eReq("prov-aa-full", "e2e-aa-full", aa, "US", "+12065550143", teamssim.SeedAfterHoursAAID), fresh: true},
		{name: "CQ bare", req: e2eReq("prov-cq-bare", "e2e-cq-bare", cq, "FR", "", ""), fresh: true},
		{name: "CQ number", req: e2eReq("prov-cq-num", "e2e-cq-num", cq, "DE", "089 12345680", ""), fresh: true},
		{name: "CQ association", req: e2eReq("prov-cq-assoc", "e2e-cq-assoc", cq, "US", "", teamssim.SeedSalesCQID), fresh: true},
		{name: "CQ number association", req: e2eReq("prov-cq-full", "e2e-cq-full", cq, "US", "+13125550105", teamssim.SeedSupportCQID), fresh: true},
		{name: "operator connect number", req: opNumber, fresh: true},
		{name: "direct routing number", req: drNumber, fresh: true},
		{
			// The seed's unassociated call queue account, licensed and
			// holding its number: everything is reused, only the
			// association is new, and nothing is written to Entra ID.
			name: "existing CQ account reused",
			req: events.Request{
				RequestID: "prov-reuse", DisplayName: "Sales UK", UserPrincipalName: "ra-sales-uk@contoso.com",
				AccountType: cq, UsageLocation: "GB", PhoneNumber: "+442079460321", AssociateWith: teamssim.SeedSalesCQID,
				Adopt: true,
			},
			check: func(t *testing.T, o e2eOutcome) {
				p := o.Final.Data.Progress
				if !p.AccountReused || !p.LicenseReused || !p.NumberReused {
					t.Errorf("progress %+v, want account, license and number reused", p)
				}
				for _, r := range e.sim.Requests() {
					if r.Method != "GET" && strings.HasPrefix(r.Path, "/v1.0/users") && strings.Contains(strings.ToLower(r.Path), teamssim.SeedSalesUKAccountID) {
						t.Errorf("write to the reused account: %s %s", r.Method, r.Path)
					}
				}
			},
		},
		{
			// Reused, completed where it was left: usage location set
			// (one PATCH), license assigned, application instance bound.
			name: "half-made account completed",
			req: events.Request{
				RequestID: "prov-orphan", DisplayName: "Orphan", UserPrincipalName: "ra-orphan@contoso.com",
				AccountType: aa, UsageLocation: "US", PhoneNumber: "+14155550167",
			},
			check: func(t *testing.T, o e2eOutcome) {
				p := o.Final.Data.Progress
				if p.ObjectID != orphanID || !p.AccountReused || p.LicenseReused || p.NumberReused {
					t.Errorf("progress %+v, want the account reused and the rest new", p)
				}
				var writes []string
				for _, r := range e.sim.Requests() {
					if r.Method != "GET" && strings.HasPrefix(r.Path, "/v1.0/users") && strings.Contains(r.Path, orphanID) {
						writes = append(writes, r.Method+" "+r.Route)
					}
				}
				// One PATCH of the usage location, then the license: Graph
				// refuses it for a short while after the usage location
				// was set (the simulator's UsageLocationDelay), and the
				// step retries that refusal until it goes through.
				if len(writes) < 2 || writes[0] != "PATCH PATCH /v1.0/users/{id}" || slices.ContainsFunc(writes[1:], func(w string) bool { return w != "POST POST /v1.0/users/{id}/assignLicense" }) {
					t.Errorf("writes to the account: %q, want one PATCH, then assignLicense", writes)
				}
			},
		},
	}
	fresh := 0
	for _, tc := range cases {
		if tc.fresh {
			fresh++
		}
		e.submit(t, tc.req)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := e.await(t, tc.req.RequestID)[tc.req.RequestID]
			mustComplete(t, o)
			if len(o.Results) != 1 {
				t.Errorf("%d final events, want 1", len(o.Results))
			}
			req := o.Final.Data.Request // normalised
			st := e.sim.State()
			u := e2eAccount(t, st, req)
			p := o.Final.Data.Progress
			if p.ObjectID != u.ID || p.ApplicationID != steps.ApplicationID(req.AccountType) {
				t.Errorf("progress objectId %s applicationId %s, want %s %s", p.ObjectID, p.ApplicationID, u.ID, steps.ApplicationID(req.AccountType))
			}
			if p.NumberSkipped != (req.PhoneNumber == "") || p.AssociationSkipped != (req.AssociateWith == "") {
				t.Errorf("progress numberSkipped %t associationSkipped %t for number %q associateWith %q", p.NumberSkipped, p.AssociationSkipped, req.PhoneNumber, req.AssociateWith)
			}
			if tc.fresh && (p.AccountReused || p.LicenseReused || p.NumberReused) {
				t.Errorf("progress %+v: a fresh account reused something", p)
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
	if t.Failed() {
		return
	}
	st := e.sim.State()
	before, after := virtualUserSku(t, e.base), virtualUserSku(t, st)
	// The half-made account needs a license too, and two writes.
	if got := after.ConsumedUnits - before.ConsumedUnits; got != fresh+1 {
		t.Errorf("licenses consumed: %d, want %d (one per new or half-made account)", got, fresh+1)
	}
	if got := len(st.Users) - len(e.base.Users); got != fresh {
		t.Errorf("users created: %d, want %d", got, fresh)
	}
	// The adapters' own log lines carry the request id of the step that called them.
	created := map[string]bool{}
	for _, line := range strings.Split(e.logs.all(), "\n") {
		var rec struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			Step      string `json:"step"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "graph: user created" && rec.Step == events.StepCreateAccount {
			created[rec.RequestID] = true
		}
	}
	for _, tc := range cases {
		if tc.fresh && !created[tc.req.RequestID] {
			t.Errorf("no \"graph: user created\" log line with request_id %s and step %s", tc.req.RequestID, events.StepCreateAccount)
		}
	}

	all, accepted := e2eWrites(e.sim.Counts())
	t.Logf("identity writes: %d for %d new accounts and a half-made one (%.2f per account)", all, fresh, float64(all)/float64(fresh+1))
	// create-account creates first and looks the UPN up only when Graph
	// refuses it: each of the two existing accounts costs one refused create.
	// The half-made account's license is refused while its new usage
	// location settles (400s, retried).
	settling := e.sim.Counts()["POST /v1.0/users/{id}/assignLicense"].ByStatus[400]
	if want := 2*fresh + 2; accepted != want || all != want+2+settling {
		t.Errorf("identity writes: %d (%d accepted), want %d accepted (create and assignLicense per new account, two for the half-made one), 2 refused creates and %d refused licenses",
			all, accepted, want, settling)
	}
}

// e2eScenario is a request that must end in a given way.
type e2eScenario struct {
	name   string
	reason events.Reason // the expected failure
	step   string        // the step expected to fail the request
	// env, when set, gives the scenario a tenant of its own.
	env   *e2eConfig
	req   events.Request
	setup func(t *testing.T, e *e2eEnv)
	check func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure)
}

// e2eFailureScenarios are the end-to-end paths to every reason code.
func e2eFailureScenarios() []e2eScenario {
	const failingNumber = "+12125550179"
	noUser := func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
		if u := usersWithUPN(e.sim.State(), o.Final.Data.Request.UserPrincipalName); len(u) != 0 {
			t.Errorf("users created: %+v, want none", u)
		}
	}
	// untouchedNumber: the account was provisioned up to its license, the
	// number kept its state.
	untouchedNumber := func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
		st := e.sim.State()
		req := o.Final.Data.Request
		withoutNumber := req
		withoutNumber.PhoneNumber = ""
		withoutNumber.AssociateWith = ""
		e2eAccount(t, st, withoutNumber)
		was, inBase := numberOf(e.base, req.PhoneNumber)
		now, inNow := numberOf(st, req.PhoneNumber)
		if inBase != inNow || was.AssignmentTargetID != now.AssignmentTargetID || was.AssignmentStatus != now.AssignmentStatus {
			t.Errorf("number %s changed from %+v to %+v", req.PhoneNumber, was, now)
		}
		if ops := assignOps(st, req.PhoneNumber); len(ops) != 0 && o.Final.Data.Failure.Reason != events.ReasonNumberAssignmentFailed {
			t.Errorf("assignments of %s started although the inventory check fails: %+v", req.PhoneNumber, ops)
		}
	}
	// refusedUpFront: the pre-flight refused the request before anything
	// was created — no user, no license, the number kept its state.
	refusedUpFront := func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
		noUser(t, e, o, f)
		req := o.Final.Data.Request
		was, inBase := numberOf(e.base, req.PhoneNumber)
		now, inNow := numberOf(e.sim.State(), req.PhoneNumber)
		if inBase != inNow || was.AssignmentTargetID != now.AssignmentTargetID || was.AssignmentStatus != now.AssignmentStatus {
			t.Errorf("number %s changed from %+v to %+v", req.PhoneNumber, was, now)
		}
		if ops := assignOps(e.sim.State(), req.PhoneNumber); len(ops) != 0 {
			t.Errorf("assignments of %s started: %+v", req.PhoneNumber, ops)
		}
		if o.Final.Data.Progress.SkuID != "" {
			t.Errorf("a license was looked for (sku %s) for a request that cannot finish", o.Final.Data.Progress.SkuID)
		}
	}
	// foreignReception: the seeded auto attendant line kept its account,
	// instance and single number, and the requested number stayed free.
	foreignReception := func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
		st := e.sim.State()
		was, _ := userByID(e.base, teamssim.SeedReceptionAccountID)
		now, _ := userByID(st, teamssim.SeedReceptionAccountID)
		if fmt.Sprint(was) != fmt.Sprint(now) {
			t.Errorf("the foreign account changed: %+v → %+v", was, now)
		}
		for _, n := range st.Teams.Numbers {
			if n.AssignmentTargetID == teamssim.SeedReceptionAccountID && n.TelephoneNumber != "+12065550142" {
				t.Errorf("the foreign account was given %s", n.TelephoneNumber)
			}
		}
		if ops := assignOps(st, o.Final.Data.Request.PhoneNumber); len(ops) != 0 {
			t.Errorf("assignments started: %+v", ops)
		}
	}
	const noLicenseWait = 700 * time.Millisecond
	noLicense := e2eConfig{seed: withFreeLicenses(0), steps: func(c *steps.Config) { c.LicenseWait = noLicenseWait }}
	wrongSecret := e2eConfig{sim: func(c *graphsim.Config) { c.ClientSecret = "not-the-secret-raprov-holds" }}
	rejectCreate := e2eConfig{}
	teamsForbidden := e2eConfig{}
	exhausted := e2eConfig{steps: func(c *steps.Config) { c.MaxAttempts = 3 }}
	teamsBehind := e2eConfig{knobs: graphsim.Knobs{TeamsSyncDelay: time.Hour}}
	unverified := e2eConfig{noDomains: true}

	return []e2eScenario{
		{
			name: "invalid phone number", reason: events.ReasonInvalidRequest, step: events.StepIntake,
			req: e2eReq("fail-invalid-phone", "e2e-bad-phone", aa, "US", "+1206555", ""),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				if f.Field != "phoneNumber" {
					t.Errorf("field %q, want phoneNumber", f.Field)
				}
				noUser(t, e, o, f)
			},
		},
		{
			name: "invalid usage location", reason: events.ReasonInvalidRequest, step: events.StepIntake,
			req: e2eReq("fail-invalid-country", "e2e-bad-country", cq, "XX", "", ""),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				if f.Field != "usageLocation" {
					t.Errorf("field %q, want usageLocation", f.Field)
				}
				noUser(t, e, o, f)
			},
		},
		{
			name: "domain not in the verified list", reason: events.ReasonDomainNotVerified, step: events.StepIntake,
			req: events.Request{RequestID: "fail-domain-intake", DisplayName: "Fabrikam", UserPrincipalName: "ra-e2e@fabrikam.com", AccountType: aa, UsageLocation: "US"},
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				if f.Field != "userPrincipalName" {
					t.Errorf("field %q, want userPrincipalName", f.Field)
				}
				noUser(t, e, o, f)
			},
		},
		{
			name: "domain Graph refuses", reason: events.ReasonDomainNotVerified, step: events.StepCreateAccount, env: &unverified,
			req:   events.Request{RequestID: "fail-domain-graph", DisplayName: "Fabrikam", UserPrincipalName: "ra-e2e@fabrikam.com", AccountType: aa, UsageLocation: "US"},
			check: noUser,
		},
		{
			name: "UPN of a person", reason: events.ReasonUPNConflict, step: events.StepCreateAccount,
			req: events.Request{RequestID: "fail-upn-person", DisplayName: "Adele's line", UserPrincipalName: "AdeleV@contoso.com", AccountType: aa, UsageLocation: "US"},
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
				st := e.sim.State()
				was, _ := userByID(e.base, "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01")
				now, _ := userByID(st, was.ID)
				if now.Department != was.Department || len(now.AssignedLicenses) != len(was.AssignedLicenses) || len(usersWithUPN(st, was.UserPrincipalName)) != 1 {
					t.Errorf("the person's account changed: %+v → %+v", was, now)
				}
				if inst, ok := instanceOf(st, was.ID); ok {
					t.Errorf("the person became an application instance: %+v", inst)
				}
			},
		},
		{
			name: "UPN of a call queue account requested as auto attendant", reason: events.ReasonUPNConflict, step: events.StepCreateAccount,
			req: events.Request{RequestID: "fail-upn-type", DisplayName: "Support", UserPrincipalName: "ra-support@contoso.com", AccountType: aa, UsageLocation: "US"},
			check: func(t *testing.T, e *e2eEnv, _ e2eOutcome, _ *events.Failure) {
				st := e.sim.State()
				if inst, _ := instanceOf(st, teamssim.SeedSupportAccountID); inst.ApplicationID != teamssim.CallQueueAppID {
					t.Errorf("the call queue account's instance changed: %+v", inst)
				}
				if n, _ := numberOf(st, "+13125550104"); n.AssignmentTargetID != teamssim.SeedSupportAccountID {
					t.Errorf("the call queue account's number changed: %+v", n)
				}
			},
		},
		{
			// Someone else's production auto attendant line: same UPN, same
			// type, not made by raprov for this request.
			name: "foreign resource account of the same type", reason: events.ReasonUPNConflict, step: events.StepCreateAccount,
			req:   e2eReq("fail-upn-foreign", "ra-reception", aa, "US", "+12125550178", ""),
			check: foreignReception,
		},
		{
			name: "adopted account that holds another number", reason: events.ReasonUPNConflict, step: events.StepCreateAccount,
			req: func() events.Request {
				r := e2eReq("fail-adopt-second-number", "ra-reception", aa, "US", "+15125550131", "")
				r.Adopt = true
				return r
			}(),
			check: foreignReception,
		},
		{
			// Teams never learns of the new account within TEAMS_SYNC_WAIT:
			// the request parks, then fails; the account raprov made stays
			// (marked, unlicensed) and the input waits in the dead-letter
			// queue for a replay once Teams has caught up.
			name: "Teams never learns of the account", reason: events.ReasonTeamsNotReady, step: events.StepCreateAccount, env: &teamsBehind,
			req: e2eReq("fail-teams-sync", "e2e-teams-sync", aa, "US", "", ""),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				users := usersWithUPN(e.sim.State(), o.Final.Data.Request.UserPrincipalName)
				if len(users) != 1 || len(users[0].AssignedLicenses) != 0 || ownerMarkOf(users[0]) != steps.OwnerMark("fail-teams-sync") {
					t.Errorf("users %+v, want the one marked account, unlicensed", users)
				}
				if p := o.Final.Data.Progress; p.TeamsWaits < 3 || p.TeamsWaitSince.IsZero() {
					t.Errorf("progress %+v: want the parked rounds recorded", p)
				}
				var parked bool
				for _, d := range e.deadLetters(t, 1) {
					parked = parked || d.Queue == events.StepCreateAccount && d.Reason == string(events.ReasonTeamsNotReady)
				}
				if !parked {
					t.Errorf("the create-account input is not in the dead-letter queue with reason teams_not_ready")
				}
			},
		},
		{
			name: "no license until the wait ends", reason: events.ReasonNoLicense, step: events.StepCheckLicense, env: &noLicense,
			req: e2eReq("fail-no-license", "e2e-no-license", cq, "US", "", ""),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				noUser(t, e, o, f)
				if b, a := virtualUserSku(t, e.base), virtualUserSku(t, e.sim.State()); a.ConsumedUnits != b.ConsumedUnits {
					t.Errorf("consumed units %d → %d", b.ConsumedUnits, a.ConsumedUnits)
				}
				waits := 0
				for _, h := range o.Status.History {
					if h.Step == events.StepCheckLicense && h.Type == events.TypeProvisioningAccepted {
						waits++
					}
				}
				p := o.Final.Data.Progress
				if waits == 0 || p.LicenseChecks != waits || p.LicenseWaitSince.IsZero() {
					t.Errorf("%d license re-checks in the history, progress %+v: want the wait recorded", waits, p)
				}
				if waited := o.Final.Time.Sub(p.LicenseWaitSince); waited < noLicenseWait {
					t.Errorf("gave up after waiting %s, want at least LicenseWait (%s)", waited, noLicenseWait)
				}
			},
		},
		{
			name: "number not in the inventory", reason: events.ReasonNumberNotFound, step: events.StepCheckLicense,
			req: e2eReq("fail-number-unknown", "e2e-number-unknown", cq, "US", "+12065550199", ""), check: refusedUpFront,
		},
		{
			name: "number held by a person", reason: events.ReasonNumberInUse, step: events.StepCheckLicense,
			req: e2eReq("fail-number-in-use", "e2e-number-in-use", aa, "US", "+12065550188", ""), check: refusedUpFront,
		},
		{
			name: "number held by another resource account", reason: events.ReasonNumberInUse, step: events.StepCheckLicense,
			req: e2eReq("fail-number-in-use-ra", "e2e-number-in-use-ra", aa, "US", "+12065550142", ""), check: refusedUpFront,
		},
		{
			name: "user-only number", reason: events.ReasonNumberNotAssignable, step: events.StepCheckLicense,
			req: e2eReq("fail-number-user-only", "e2e-number-user-only", aa, "US", "+12125550190", ""), check: refusedUpFront,
		},
		{
			name: "number of another type", reason: events.ReasonNumberNotAssignable, step: events.StepCheckLicense,
			req: func() events.Request {
				r := e2eReq("fail-number-type", "e2e-number-type", aa, "US", "+14155550166", "")
				r.NumberType = events.NumberTypeDirectRouting
				return r
			}(),
			check: refusedUpFront,
		},
		{
			name: "number of another country", reason: events.ReasonNumberCountryMismatch, step: events.StepCheckLicense,
			req: e2eReq("fail-number-country", "e2e-number-country", cq, "US", "+442079460322", ""), check: refusedUpFront,
		},
		{
			name: "number assignment operation fails", reason: events.ReasonNumberAssignmentFailed, step: events.StepAssignNumber,
			req: e2eReq("fail-number-async", "e2e-number-async", aa, "US", failingNumber, ""),
			setup: func(t *testing.T, e *e2eEnv) {
				e.sim.Teams().SetAssignmentFailure(failingNumber, "The emergency address of the number is missing.")
			},
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				untouchedNumber(t, e, o, f)
				if !strings.Contains(f.Message, "emergency address") {
					t.Errorf("message %q does not carry the operation's status detail", f.Message)
				}
				// Started again after each growing wait for Teams, until
				// TeamsSyncWait ran out.
				ops := assignOps(e.sim.State(), failingNumber)
				if len(ops) < 3 {
					t.Errorf("%d assignment operations, want it started again while waiting for Teams", len(ops))
				}
				for _, op := range ops {
					if op.Status != teamssim.OperationFailed {
						t.Errorf("operation %s %s, want failed", op.ID, op.Status)
					}
				}
			},
		},
		{
			name: "association with a call queue for an auto attendant", reason: events.ReasonAssociationFailed, step: events.StepAssociate,
			req: e2eReq("fail-assoc-type", "e2e-assoc-type", aa, "US", "+14155550167", teamssim.SeedSupportCQID),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
				req := o.Final.Data.Request
				req.AssociateWith = "" // provisioned with its number, not associated
				e2eAccount(t, e.sim.State(), req)
			},
		},
		{
			name: "association with an unknown auto attendant", reason: events.ReasonAssociationFailed, step: events.StepAssociate,
			req: e2eReq("fail-assoc-unknown", "e2e-assoc-unknown", aa, "US", "", "00000000-0000-4000-8000-0000000000e2"),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
				req := o.Final.Data.Request
				req.AssociateWith = ""
				e2eAccount(t, e.sim.State(), req)
			},
		},
		{
			name: "account associated with another call queue", reason: events.ReasonAssociationFailed, step: events.StepAssociate,
			req: events.Request{
				RequestID: "fail-assoc-elsewhere", DisplayName: "Support", UserPrincipalName: "ra-support@contoso.com",
				AccountType: cq, UsageLocation: "US", AssociateWith: teamssim.SeedSalesCQID, Adopt: true,
			},
			check: func(t *testing.T, e *e2eEnv, _ e2eOutcome, _ *events.Failure) {
				st := e.sim.State()
				if a := associationsOf(st, teamssim.SeedSupportAccountID); len(a) != 1 || a[0].ConfigurationID != teamssim.SeedSupportCQID {
					t.Errorf("associations %+v, want the existing one only", a)
				}
				if n := len(usersWithUPN(st, "ra-support@contoso.com")); n != 1 {
					t.Errorf("%d accounts ra-support@contoso.com, want the existing one", n)
				}
			},
		},
		{
			name: "Teams admin refuses the app", reason: events.ReasonPermissionDenied, step: events.StepCreateAccount, env: &teamsForbidden,
			req: e2eReq("fail-teams-403", "e2e-teams-403", cq, "US", "", ""),
			setup: func(t *testing.T, e *e2eEnv) {
				e.sim.InjectFault(graphsim.Fault{PathPrefix: "/Teams.", Status: 403, Count: 100,
					Code: "Forbidden", Message: "The application is not allowed to manage application instances."})
			},
			// create-account asks the back end before it writes: a
			// refusing back end leaves no user behind.
			check: noUser,
		},
		{
			name: "wrong client secret", reason: events.ReasonPermissionDenied, step: events.StepCheckLicense, env: &wrongSecret,
			req: e2eReq("fail-secret", "e2e-secret", aa, "US", "", ""),
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				noUser(t, e, o, f)
				if n := len(e.sim.State().TokensIssued); n != 0 {
					t.Errorf("tokens issued: %v, want none", e.sim.State().TokensIssued)
				}
				if strings.Contains(f.Message, "not-the-secret") {
					t.Errorf("message reveals the simulator's secret: %q", f.Message)
				}
			},
		},
		{
			name: "Graph refuses the user", reason: events.ReasonRejected, step: events.StepCreateAccount, env: &rejectCreate,
			req: e2eReq("fail-rejected", "e2e-rejected", aa, "US", "", ""),
			setup: func(t *testing.T, e *e2eEnv) {
				e.sim.InjectFault(graphsim.Fault{Method: "POST", PathPrefix: "/v1.0/users", Status: 400,
					Code: "Request_BadRequest", Message: "Invalid value specified for property 'mailNickname' of resource 'User'."})
			},
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, f *events.Failure) {
				noUser(t, e, o, f)
				if !strings.Contains(f.Message, "Request_BadRequest") {
					t.Errorf("message %q does not carry Graph's error code", f.Message)
				}
			},
		},
		{
			name: "Graph keeps failing", reason: events.ReasonRetriesExhausted, step: events.StepAssignLicense, env: &exhausted,
			req: e2eReq("fail-exhausted", "e2e-exhausted", cq, "US", "", ""),
			setup: func(t *testing.T, e *e2eEnv) {
				e.sim.InjectFault(graphsim.Fault{Method: "POST", PathPrefix: "/v1.0/users/", Status: 500, Count: 100})
			},
			check: func(t *testing.T, e *e2eEnv, o e2eOutcome, _ *events.Failure) {
				st := e.sim.State()
				users := usersWithUPN(st, o.Final.Data.Request.UserPrincipalName)
				if len(users) != 1 || len(users[0].AssignedLicenses) != 0 {
					t.Errorf("users %+v, want one, unlicensed", users)
				}
				if c := e.sim.Counts()["POST /v1.0/users/{id}/assignLicense"]; c.Faults != 3 || c.Total != 3 {
					t.Errorf("assignLicense calls %+v, want exactly 3 (MaxAttempts), all failed", c)
				}
				dls := e.deadLetters(t, 1)
				if len(dls) != 1 || dls[0].Queue != events.StepAssignLicense || dls[0].Reason != string(events.ReasonRetriesExhausted) {
					t.Fatalf("dead letters %+v, want the assign-license input with reason retries_exhausted", dls)
				}
				in, err := events.Decode(dls[0].Body)
				if err != nil || in.Type != events.TypeAccountCreated || in.Subject != o.Status.RequestID || in.Data.Progress.ObjectID != users[0].ID {
					t.Errorf("dead-lettered event %+v (%v), want the account.created of the request, replayable", in, err)
				}
			},
		},
	}
}

// TestE2EReasonCodes drives a request to every reason code of the closed
// list and checks the simulator was left as the failure implies.
func TestE2EReasonCodes(t *testing.T) {
	t.Parallel()
	scenarios := append(e2eFailureScenarios(), deprovisionScenarios()...)
	// A conflicting request never becomes a failed request of its own (that
	// would end the first one): TestE2EIdempotency/sequential drives it.
	elsewhere := map[events.Reason]bool{events.ReasonRequestConflict: true}
	for _, r := range events.Reasons {
		if !elsewhere[r] && !slices.ContainsFunc(scenarios, func(s e2eScenario) bool { return s.reason == r }) {
			t.Errorf("reason %s has no end-to-end scenario", r)
		}
	}
	// Everything is submitted first, so that the scenarios run at once.
	shared := startE2E(t, e2eConfig{})
	envs := make([]*e2eEnv, len(scenarios))
	for i, sc := range scenarios {
		envs[i] = shared
		if sc.env != nil {
			envs[i] = startE2E(t, *sc.env)
		}
		if sc.setup != nil {
			sc.setup(t, envs[i])
		}
		envs[i].submit(t, sc.req)
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := envs[i]
			o := e.await(t, sc.req.RequestID)[sc.req.RequestID]
			f := mustFail(t, o, sc.reason, sc.step)
			if sc.check != nil {
				sc.check(t, e, o, f)
			}
		})
	}
}

// TestE2EIdempotency submits one request id several times and delivers
// events twice: the tenant ends with one account, one license and one
// number assignment.
func TestE2EIdempotency(t *testing.T) {
	t.Parallel()
	const redelivered = "idem-redelivered"
	duplicated := map[string]bool{
		events.TypeLicenseAvailable: true, // two creates racing for one UPN
		events.TypeAccountCreated:   true, events.TypeLicenseAssigned: true,
		events.TypeNumberAssignmentPending: true, events.TypeNumberAssigned: true,
	}
	const late = "idem-late"
	var (
		dupMu  sync.Mutex
		dupIDs = map[string]string{} // type → id of the event delivered twice
		kept   []events.Event        // events of the late duplicate, kept for later
		e      *e2eEnv
	)
	e = startE2E(t, e2eConfig{
		// For the redelivered request, publish a copy of the first event
		// of each duplicated type it emits, with the same id: the next
		// step receives it twice, at about the same time. For the late
		// one, keep its number.assigned to deliver again after the end.
		wrap: func(step string, next steps.Step) steps.Step {
			return func(ctx context.Context, in events.Event) ([]events.Event, error) {
				out, err := next(ctx, in)
				if err == nil && in.Subject == late {
					for _, ev := range out {
						if ev.Type == events.TypeNumberAssigned {
							dupMu.Lock()
							kept = append(kept, ev)
							dupMu.Unlock()
						}
					}
				}
				if err != nil || in.Subject != redelivered {
					return out, err
				}
				for _, ev := range out {
					dupMu.Lock()
					first := duplicated[ev.Type] && dupIDs[ev.Type] == ""
					if first {
						dupIDs[ev.Type] = ev.ID
					}
					dupMu.Unlock()
					if first {
						if err := e.chain.SubmitEvents(ctx, ev); err != nil {
							return nil, err
						}
					}
				}
				return out, err
			}
		},
	})

	checkOne := func(t *testing.T, req events.Request) graphsim.User {
		t.Helper()
		return e2eAccount(t, e.sim.State(), req)
	}

	// The cases run one after the other: the last waits for the chain to
	// go quiet.
	t.Run("sequential", func(t *testing.T) {
		req := e2eReq("idem-sequential", "e2e-idem-seq", aa, "US", "+14155550166", teamssim.SeedMainReceptionAAID)
		e.submit(t, req)
		o := e.await(t, req.RequestID)[req.RequestID]
		mustComplete(t, o)
		if evs := e.submit(t, req); len(evs) != 0 {
			t.Errorf("a known request id was submitted again: %d events", len(evs))
		}
		// Another door (a replay, a second bulk file) bypasses the
		// ledger check: intake's claim drops it.
		again := events.New(events.TypeProvisioningRequested, "raprov/e2e", events.Data{Request: req})
		if err := e.chain.SubmitEvents(context.Background(), again); err != nil {
			t.Fatal(err)
		}
		runs := waitCalls(t, e, func(c e2eCall) bool { return c.step == events.StepIntake && c.in.ID == again.ID }, 1)
		if runs[0].err != nil || len(runs[0].out) != 0 {
			t.Errorf("intake of the resubmission: %v, %d events; want nothing emitted", runs[0].err, len(runs[0].out))
		}
		checkOne(t, o.Final.Data.Request)

		// The same id with a different request is refused at submission,
		// and through a door without that check by intake (dead-lettered
		// with reason request_conflict): the first request's account and
		// status stay as they are and no second account is made.
		other := req
		other.UserPrincipalName, other.DisplayName = "e2e-idem-other@contoso.com", "Another line"
		subs, err := e.chain.Submit(context.Background(), "", other)
		if err != nil || len(subs) != 1 || subs[0].Outcome != submission.Conflict {
			t.Fatalf("conflicting submission: %+v, %v; want refused as request_conflict", subs, err)
		}
		conflicting := events.New(events.TypeProvisioningRequested, "raprov/e2e", events.Data{Request: other})
		if err := e.chain.SubmitEvents(context.Background(), conflicting); err != nil {
			t.Fatal(err)
		}
		runs = waitCalls(t, e, func(c e2eCall) bool { return c.step == events.StepIntake && c.in.ID == conflicting.ID }, 1)
		if dl, ok := steps.AsDeadLetter(runs[0].err); !ok || dl.Reason != string(events.ReasonRequestConflict) || len(runs[0].out) != 0 {
			t.Errorf("intake of the conflicting request: %v, %d events; want a request_conflict dead letter", runs[0].err, len(runs[0].out))
		}
		var found bool
		for _, d := range e.deadLetters(t, 1) {
			found = found || d.Reason == string(events.ReasonRequestConflict) && d.Queue == events.StepIntake
		}
		if !found {
			t.Errorf("no request_conflict dead letter in the intake queue")
		}
		if u := usersWithUPN(e.sim.State(), other.UserPrincipalName); len(u) != 0 {
			t.Errorf("the conflicting request made an account: %+v", u)
		}
		if st, err := e.store.Ledger().Get(context.Background(), req.RequestID); err != nil || st.Outcome != ledger.Completed {
			t.Errorf("the first request's status changed: %+v, %v", st, err)
		}
		checkOne(t, o.Final.Data.Request)
	})

	t.Run("concurrent", func(t *testing.T) {
		req := e2eReq("idem-concurrent", "e2e-idem-conc", cq, "CA", "+14165550123", teamssim.SeedSalesCQID)
		var wg sync.WaitGroup
		var submitted atomic.Int32
		for range 4 {
			wg.Go(func() {
				subs, err := e.chain.Submit(context.Background(), "", req)
				if err != nil {
					t.Errorf("submit: %v", err)
				}
				submitted.Add(int32(len(submission.SentEvents(subs))))
			})
		}
		// Two more through a door without the ledger check.
		raw := []events.Event{
			events.New(events.TypeProvisioningRequested, "raprov/e2e", events.Data{Request: req}),
			events.New(events.TypeProvisioningRequested, "raprov/e2e", events.Data{Request: req}),
		}
		wg.Go(func() {
			if err := e.chain.SubmitEvents(context.Background(), raw...); err != nil {
				t.Errorf("submit events: %v", err)
			}
		})
		wg.Wait()
		total := int(submitted.Load()) + len(raw)
		runs := waitCalls(t, e, func(c e2eCall) bool { return c.step == events.StepIntake && c.in.Subject == req.RequestID }, total)
		accepted := 0
		for _, r := range runs {
			accepted += len(r.out)
		}
		if accepted != 1 {
			t.Errorf("intake accepted %d of %d submissions, want 1", accepted, total)
		}
		o := e.await(t, req.RequestID)[req.RequestID]
		mustComplete(t, o)
		checkOne(t, o.Final.Data.Request)
	})

	t.Run("redelivered", func(t *testing.T) {
		req := e2eReq(redelivered, "e2e-idem-redelivered", aa, "US", "+15125550131", teamssim.SeedAfterHoursAAID)
		e.submit(t, req)
		// The ledger's view of a request with duplicate flows is
		// checked by the "after completion" case; here the outcome is
		// every final event and what the tenant holds.
		o := e.awaitResults(t, req.RequestID)
		e.quiesce(t)
		e.mu.Lock()
		o.Results = slices.Clone(e.results[req.RequestID])
		e.mu.Unlock()
		for _, ev := range o.Results {
			if ev.Type != events.TypeProvisioningCompleted || ev.ID != o.Final.ID {
				t.Errorf("final event %s %s, want %s %s: the same outcome under the same id", ev.Type, ev.ID, events.TypeProvisioningCompleted, o.Final.ID)
			}
		}
		u := checkOne(t, o.Final.Data.Request)
		dupMu.Lock()
		ids := slices.Collect(maps.Values(dupIDs))
		dupMu.Unlock()
		if len(ids) != len(duplicated) {
			t.Fatalf("duplicated %v, want one event of each of %d types", ids, len(duplicated))
		}
		for _, id := range ids {
			if n := len(e.callsWhere(func(c e2eCall) bool { return c.in.ID == id })); n != 2 {
				t.Errorf("event %s ran %d times, want 2", id, n)
			}
		}
		if ops := assignOps(e.sim.State(), req.PhoneNumber); len(ops) == 0 || slices.ContainsFunc(ops, func(op teamssim.OperationState) bool {
			return op.Status != teamssim.OperationSucceeded || !strings.EqualFold(op.AssignmentTargetID, u.ID)
		}) {
			t.Errorf("assignment operations %+v, want only successful ones for %s", ops, u.ID)
		}
		t.Logf("%d final events for the request delivered twice", len(o.Results))
	})

	t.Run("redelivered after completion", func(t *testing.T) {
		req := e2eReq(late, "e2e-idem-late", cq, "US", "+12125550179", teamssim.SeedSupportCQID)
		e.submit(t, req)
		mustComplete(t, e.await(t, req.RequestID)[req.RequestID])
		dupMu.Lock()
		copies := slices.Clone(kept)
		dupMu.Unlock()
		if len(copies) != 1 {
			t.Fatalf("kept %d number.assigned events, want 1", len(copies))
		}
		// The queue delivers number.assigned once more, long after the
		// request completed (a visibility timeout that ran out, say).
		if err := e.chain.SubmitEvents(context.Background(), copies[0]); err != nil {
			t.Fatal(err)
		}
		waitCalls(t, e, func(c e2eCall) bool { return c.step == events.StepComplete && c.in.Subject == late && c.err == nil }, 2)
		e.quiesce(t)
		st, err := e.store.Ledger().Get(context.Background(), late)
		if err != nil {
			t.Fatal(err)
		}
		if st.Outcome != ledger.Completed {
			var h []string
			for _, x := range st.History[max(0, len(st.History)-4):] {
				h = append(h, fmt.Sprintf("%s %s %s (%s)", x.Step, x.Type, x.Outcome, x.EventID))
			}
			t.Errorf("ledger status %s (%s at %s) after the duplicate ran to completion, want completed; last entries: %s",
				st.Outcome, st.Type, st.Step, strings.Join(h, "; "))
		}
		e.mu.Lock()
		res := slices.Clone(e.results[late])
		e.mu.Unlock()
		if len(res) != 2 || res[0].ID != res[1].ID || res[1].Type != events.TypeProvisioningCompleted {
			t.Errorf("final events %d, want the completion twice under one id", len(res))
		}
		checkOne(t, req)
	})
	if t.Failed() {
		return
	}
	st := e.sim.State()
	if got := len(st.Users) - len(e.base.Users); got != 4 {
		t.Errorf("users created: %d, want 4", got)
	}
	if got := virtualUserSku(t, st).ConsumedUnits - virtualUserSku(t, e.base).ConsumedUnits; got != 4 {
		t.Errorf("licenses consumed: %d, want 4", got)
	}
	// A duplicate create-account during replication lag may POST again and
	// get Graph's conflict (then retry and reuse): only 201s create users.
	if c := e.sim.Counts()["POST /v1.0/users"]; c.ByStatus[http.StatusCreated] != 4 || c.Total != c.ByStatus[http.StatusCreated]+c.ByStatus[http.StatusBadRequest] {
		t.Errorf("user creations: %d created of %d POSTs (%v), want 4 and only conflicts besides", c.ByStatus[http.StatusCreated], c.Total, c.ByStatus)
	}
	for _, id := range []string{"idem-sequential", "idem-concurrent"} {
		e.mu.Lock()
		n := len(e.results[id])
		e.mu.Unlock()
		if n != 1 {
			t.Errorf("%s: %d final events, want 1", id, n)
		}
	}
}

// waitCalls waits until n step runs match keep and returns them.
func waitCalls(t testing.TB, e *e2eEnv, keep func(e2eCall) bool, n int) []e2eCall {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		got := e.callsWhere(keep)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching step runs after %s, want %d", len(got), e2eTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2ETeamsSyncLag: Teams learns of new accounts, and of their licenses,
// only a while after Graph (Microsoft: minutes to 24 hours). The steps park
// with growing delays rather than spend their retries: a lag longer than the
// whole retry budget of a step still ends in completed requests, with one
// account, one license and one number each.
func TestE2ETeamsSyncLag(t *testing.T) {
	t.Parallel()
	const lag = 4 * time.Second
	// The retry budget a step had for Teams "not found" before: MaxAttempts
	// tries with the e2e backoff.
	var budget time.Duration
	timing := e2eTiming()
	for i := range timing.MaxAttempts - 1 {
		budget += timing.Retry.Delay(i)
	}
	if lag <= budget {
		t.Fatalf("lag %s must exceed the old retry budget %s", lag, budget)
	}
	e := startE2E(t, e2eConfig{
		knobs: graphsim.Knobs{TeamsSyncDelay: lag},
		steps: func(c *steps.Config) { c.TeamsSyncWait = 30 * time.Second },
	})
	reqs := []events.Request{
		e2eReq("sync-aa", "e2e-sync-aa", aa, "US", "+12125550178", teamssim.SeedMainReceptionAAID),
		e2eReq("sync-cq", "e2e-sync-cq", cq, "US", "+13125550105", teamssim.SeedSalesCQID),
	}
	e.submit(t, reqs...)
	outs := e.await(t, "sync-aa", "sync-cq")
	st := e.sim.State()
	for _, o := range outs {
		mustComplete(t, o)
		e2eAccount(t, st, o.Final.Data.Request)
		if waited := o.Final.Time.Sub(o.Final.Data.Progress.AcceptedAt); waited < lag {
			t.Errorf("%s completed after %s, before Teams could know it (%s)", o.Status.RequestID, waited, lag)
		}
	}
	parks := e.callsWhere(func(c e2eCall) bool {
		return len(c.out) == 1 && c.out[0].Data.Progress.TeamsWaits > c.in.Data.Progress.TeamsWaits
	})
	if len(parks) == 0 {
		t.Fatal("no step parked for Teams: the lag was not exercised")
	}
	for _, c := range e.callsWhere(func(c e2eCall) bool { return len(c.out) == 1 && c.out[0].Attempt > 0 }) {
		t.Errorf("%s retried (attempt %d) instead of parking", c.step, c.out[0].Attempt)
	}
	t.Logf("lag %s over a retry budget of %s: %d parked rounds", lag, budget, len(parks))
}

// TestE2EReplicationDelay: users Graph does not show yet right after their
// creation are waited for, without extra writes; a create-account that runs
// twice meanwhile converges on one account.
func TestE2EReplicationDelay(t *testing.T) {
	t.Parallel()
	knobs := graphsim.Knobs{ReplicationDelay: 800 * time.Millisecond}
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		e := startE2E(t, e2eConfig{knobs: knobs})
		reqs := []events.Request{
			e2eReq("repl-1", "e2e-repl-1", aa, "US", "+12125550178", teamssim.SeedMainReceptionAAID),
			e2eReq("repl-2", "e2e-repl-2", cq, "US", "+13125550105", ""),
			e2eReq("repl-3", "e2e-repl-3", aa, "GB", "", ""),
			e2eReq("repl-4", "e2e-repl-4", cq, "NL", "+31201234567", teamssim.SeedSalesCQID),
		}
		e.submit(t, reqs...)
		outs := e.await(t, "repl-1", "repl-2", "repl-3", "repl-4")
		st := e.sim.State()
		for _, o := range outs {
			mustComplete(t, o)
			e2eAccount(t, st, o.Final.Data.Request)
		}
		counts := e.sim.Counts()
		notFound := 0
		for _, c := range counts {
			notFound += c.ByStatus[404]
		}
		// A step retries (Attempt) or, where Teams does not know the new
		// account yet, parks (teamsWaits).
		retries := e.callsWhere(func(c e2eCall) bool {
			return len(c.out) == 1 && (c.out[0].Attempt > 0 || c.out[0].Data.Progress.TeamsWaits > c.in.Data.Progress.TeamsWaits)
		})
		if notFound == 0 || len(retries) == 0 {
			t.Errorf("%d not-found answers and %d retries: the replication delay was not exercised", notFound, len(retries))
		}
		all, _ := e2eWrites(counts)
		per := float64(all) / float64(len(reqs))
		t.Logf("replication delay: %d not-found answers, %d step retries, %.2f identity writes per account", notFound, len(retries), per)
		if per > 2.2 {
			t.Errorf("identity writes per account: %.2f, want at most 2.2", per)
		}
	})

	t.Run("created twice", func(t *testing.T) {
		t.Parallel()
		const id = "repl-twice"
		var e *e2eEnv
		var once sync.Once
		e = startE2E(t, e2eConfig{
			knobs: knobs,
			// license.available is delivered twice: the second
			// create-account cannot see the first one's user yet.
			wrap: func(step string, next steps.Step) steps.Step {
				return func(ctx context.Context, in events.Event) ([]events.Event, error) {
					out, err := next(ctx, in)
					for _, ev := range out {
						if ev.Subject == id && ev.Type == events.TypeLicenseAvailable {
							once.Do(func() { err = errors.Join(err, e.chain.SubmitEvents(ctx, ev)) })
						}
					}
					return out, err
				}
			},
		})
		req := e2eReq(id, "e2e-repl-twice", aa, "US", "+14155550166", "")
		e.submit(t, req)
		o := e.awaitResults(t, id)
		e.quiesce(t)
		e.mu.Lock()
		o.Results = slices.Clone(e.results[id])
		e.mu.Unlock()
		for _, ev := range o.Results {
			if ev.Type != events.TypeProvisioningCompleted {
				t.Errorf("final event %s %+v, want only completions", ev.Type, ev.Data.Failure)
			}
		}
		e2eAccount(t, e.sim.State(), o.Final.Data.Request)
		creates := e.sim.Counts()["POST /v1.0/users"]
		if creates.ByStatus[201] != 1 || creates.ByStatus[400] == 0 {
			t.Errorf("user creations answered %v, want one created and the duplicate refused as a conflict", creates.ByStatus)
		}
	})
}

// TestE2ELicenseAssignmentNotFound: assignLicense answering 404 for a user
// just created (another directory partition lagging) is retried.
func TestE2ELicenseAssignmentNotFound(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{})
	e.sim.InjectFault(graphsim.Fault{Method: "POST", PathPrefix: "/v1.0/users/", Status: 404, Count: 2,
		Code: "Request_ResourceNotFound", Message: "Resource does not exist or one of its queried reference-property objects are not present."})
	req := e2eReq("license-404", "e2e-license-404", cq, "US", "", "")
	e.submit(t, req)
	o := e.await(t, req.RequestID)[req.RequestID]
	mustComplete(t, o)
	e2eAccount(t, e.sim.State(), o.Final.Data.Request)
	if c := e.sim.Counts()["POST /v1.0/users/{id}/assignLicense"]; c.ByStatus[404] != 2 || c.ByStatus[200] != 1 || c.Total != 3 {
		t.Errorf("assignLicense answers %v, want two 404s then success", c.ByStatus)
	}
}

// TestE2EThrottling: 429s with Retry-After, injected or from the tenant's
// write limit, slow the chain down but every request completes.
//
// It does not run in parallel with the other tests: the Graph adapter's
// budget is per tenant and process, every simulator here is the same
// tenant, and a 429 pauses all of the process's calls for its Retry-After.
func TestE2EThrottling(t *testing.T) {
	t.Run("injected", func(t *testing.T) {
		t.Parallel()
		e := startE2E(t, e2eConfig{})
		// Three 429s outlast the adapter's two in-process retries: the
		// step itself must wait Retry-After. One more on the SKU read is
		// absorbed by the adapter.
		e.sim.InjectFault(graphsim.Fault{Method: "POST", PathPrefix: "/v1.0/users/", Status: 429, Count: 3, RetryAfter: time.Second})
		e.sim.InjectFault(graphsim.Fault{Method: "GET", PathPrefix: "/v1.0/subscribedSkus", Status: 429, Count: 1, RetryAfter: time.Second})
		req := e2eReq("throttle-injected", "e2e-throttle-injected", aa, "US", "+14155550167", "")
		e.submit(t, req)
		o := e.await(t, req.RequestID)[req.RequestID]
		mustComplete(t, o)
		e2eAccount(t, e.sim.State(), o.Final.Data.Request)
		counts := e.sim.Counts()
		if got := counts["POST /v1.0/users/{id}/assignLicense"].ByStatus[429]; got != 3 {
			t.Errorf("assignLicense 429s: %d, want the 3 injected", got)
		}
		retried := e.callsWhere(func(c e2eCall) bool {
			return c.step == events.StepAssignLicense && len(c.out) == 1 && c.out[0].Type == events.TypeAccountCreated && c.out[0].Attempt == 1
		})
		if len(retried) != 1 || retried[0].out[0].Delay < time.Second {
			t.Errorf("assign-license retries %+v, want one after at least Retry-After (1s)", retried)
		}
		total, throttled := e2eThrottleShare(counts)
		t.Logf("injected 429s: %d of %d API requests (%.1f%%)", throttled, total, 100*float64(throttled)/float64(total))
		if throttled != 4 {
			t.Errorf("429s: %d, want the 4 injected", throttled)
		}
	})
	t.Run("write limit", func(t *testing.T) {
		t.Parallel()
		e := startE2E(t, e2eConfig{
			knobs: graphsim.Knobs{Throttle: true, TimeScale: 0.01, WritesPerWindow: 4}, // 4 writes per 1.5 s
			steps: func(c *steps.Config) { c.MaxAttempts = 40 },
		})
		var ids []string
		// 20 identity writes against 4 per 1.5 s: unthrottled, they would
		// have to spread over 7.5 s, far slower than the chain even on a
		// loaded machine.
		for i := range 10 {
			req := e2eReq(fmt.Sprintf("throttle-limit-%d", i), fmt.Sprintf("e2e-throttle-%d", i), aa, "US", "", "")
			e.submit(t, req)
			ids = append(ids, req.RequestID)
		}
		outs := e.await(t, ids...)
		st := e.sim.State()
		for _, o := range outs {
			mustComplete(t, o)
			e2eAccount(t, st, o.Final.Data.Request)
		}
		counts := e.sim.Counts()
		total, throttled := e2eThrottleShare(counts)
		_, accepted := e2eWrites(counts)
		t.Logf("write limit: %d of %d API requests throttled (%.1f%%)", throttled, total, 100*float64(throttled)/float64(total))
		if throttled == 0 {
			t.Errorf("no request was throttled: the write limit was not exercised")
		}
		if accepted != 2*len(ids) {
			t.Errorf("accepted identity writes: %d, want %d", accepted, 2*len(ids))
		}
	})
}

// TestE2ELicenseShortage: requests wait for licenses that arrive during the
// run, including a seat that disappears between the check and the
// assignment.
func TestE2ELicenseShortage(t *testing.T) {
	t.Parallel()
	t.Run("licenses added while waiting", func(t *testing.T) {
		t.Parallel()
		e := startE2E(t, e2eConfig{seed: withFreeLicenses(0)})
		reqs := []events.Request{
			e2eReq("short-1", "e2e-short-1", aa, "US", "+14155550166", ""),
			e2eReq("short-2", "e2e-short-2", cq, "US", "", teamssim.SeedSupportCQID),
		}
		e.submit(t, reqs...)
		// Both have found no seat and are waiting.
		for _, r := range reqs {
			waitCalls(t, e, func(c e2eCall) bool {
				return c.step == events.StepCheckLicense && c.in.Subject == r.RequestID && len(c.out) == 1 && c.out[0].Type == events.TypeProvisioningAccepted && c.out[0].Delay > 0
			}, 1)
		}
		if err := e.sim.AddLicenses(graphsim.VirtualUserSkuPartNumber, 2); err != nil {
			t.Fatal(err)
		}
		outs := e.await(t, "short-1", "short-2")
		st := e.sim.State()
		for _, o := range outs {
			mustComplete(t, o)
			e2eAccount(t, st, o.Final.Data.Request)
			if o.Final.Data.Progress.LicenseWaitSince.IsZero() || o.Final.Data.Progress.LicenseChecks == 0 {
				t.Errorf("%s: progress %+v does not show the wait", o.Status.RequestID, o.Final.Data.Progress)
			}
		}
		if sku := virtualUserSku(t, st); sku.ConsumedUnits != sku.PrepaidUnits.Enabled {
			t.Errorf("sku %+v: want every seat used", sku)
		}
	})

	t.Run("seat taken before assignment", func(t *testing.T) {
		t.Parallel()
		var e *e2eEnv
		var took, gaveBack sync.Once
		e = startE2E(t, e2eConfig{
			seed: withFreeLicenses(1),
			wrap: func(step string, next steps.Step) steps.Step {
				if step != events.StepAssignLicense {
					return next
				}
				return func(ctx context.Context, in events.Event) ([]events.Event, error) {
					// Someone else takes the seat check-license saw.
					took.Do(func() {
						if err := e.sim.AddLicenses(graphsim.VirtualUserSkuPartNumber, -1); err != nil {
							t.Error(err)
						}
					})
					out, err := next(ctx, in)
					if len(out) == 1 && out[0].Type == events.TypeProvisioningAccepted {
						gaveBack.Do(func() {
							time.AfterFunc(300*time.Millisecond, func() {
								if err := e.sim.AddLicenses(graphsim.VirtualUserSkuPartNumber, 1); err != nil {
									t.Error(err)
								}
							})
						})
					}
					return out, err
				}
			},
		})
		req := e2eReq("short-taken", "e2e-short-taken", cq, "US", "+15125550132", "")
		e.submit(t, req)
		o := e.await(t, req.RequestID)[req.RequestID]
		mustComplete(t, o)
		e2eAccount(t, e.sim.State(), o.Final.Data.Request)
		back := e.callsWhere(func(c e2eCall) bool {
			return c.step == events.StepAssignLicense && len(c.out) == 1 && c.out[0].Type == events.TypeProvisioningAccepted
		})
		if len(back) != 1 {
			t.Errorf("assign-license sent the request back to waiting %d times, want 1", len(back))
		}
		counts := e.sim.Counts()
		if c := counts["POST /v1.0/users"]; c.Total != 1 {
			t.Errorf("user creations: %d, want 1 (the second pass reuses the account)", c.Total)
		}
		if c := counts["POST /v1.0/users/{id}/assignLicense"]; c.ByStatus[400] != 1 || c.ByStatus[200] != 1 || c.Total != 2 {
			t.Errorf("assignLicense answers %v, want one refusal then one success", c.ByStatus)
		}
	})
}

// TestE2ENumberAssignmentRetried: an assignment operation that fails once
// (licensing still reaching Teams) is started again and succeeds.
func TestE2ENumberAssignmentRetried(t *testing.T) {
	t.Parallel()
	const tel = "+12125550179"
	var e *e2eEnv
	e = startE2E(t, e2eConfig{
		seed: func(s *graphsim.Seed) {
			for i := range s.Teams.Numbers {
				if s.Teams.Numbers[i].TelephoneNumber == tel {
					s.Teams.Numbers[i].FailWith = "The user is not licensed for Teams Phone."
				}
			}
		},
		// Teams catches up once the step has started the assignment again
		// (an operation's outcome is decided when it completes).
		wrap: func(step string, next steps.Step) steps.Step {
			if step != events.StepAssignNumber {
				return next
			}
			return func(ctx context.Context, in events.Event) ([]events.Event, error) {
				out, err := next(ctx, in)
				if len(out) == 1 && out[0].Type == events.TypeNumberAssignmentPending && out[0].Data.Progress.NumberAttempts == 1 {
					e.sim.Teams().SetAssignmentFailure(tel, "")
				}
				return out, err
			}
		},
	})
	req := e2eReq("number-retry", "e2e-number-retry", aa, "US", tel, teamssim.SeedMainReceptionAAID)
	e.submit(t, req)
	o := e.await(t, req.RequestID)[req.RequestID]
	mustComplete(t, o)
	st := e.sim.State()
	u := e2eAccount(t, st, o.Final.Data.Request)
	ops := assignOps(st, tel)
	if len(ops) != 2 || ops[0].Status != teamssim.OperationFailed || ops[1].Status != teamssim.OperationSucceeded || !strings.EqualFold(ops[1].AssignmentTargetID, u.ID) {
		t.Fatalf("operations %+v, want one failed then one succeeded for %s", ops, u.ID)
	}
	if ops[0].StatusDetail != "The user is not licensed for Teams Phone." {
		t.Errorf("first operation's detail %q", ops[0].StatusDetail)
	}
}

// TestE2EPoison: undecodable messages and unknown event types on step
// queues are dead-lettered with their reason; the other requests complete.
func TestE2EPoison(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{})
	reqs := []events.Request{
		e2eReq("poison-ok-1", "e2e-poison-1", aa, "US", "+12125550178", ""),
		e2eReq("poison-ok-2", "e2e-poison-2", cq, "AU", "+61370101234", teamssim.SeedSupportCQID),
		e2eReq("poison-ok-3", "e2e-poison-3", aa, "CA", "", ""),
	}
	known, err := events.Encode(events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount),
		events.Data{Request: e2eReq("poison-x", "e2e-poison-x", aa, "US", "", "")}))
	if err != nil {
		t.Fatal(err)
	}
	newVersion := bytes.Replace(known, []byte(`"`+events.TypeAccountCreated+`"`), []byte(`"raprov.account.created.v2"`), 1)
	unknownName := bytes.Replace(known, []byte(`"`+events.TypeAccountCreated+`"`), []byte(`"raprov.account.deleted.v1"`), 1)
	garbage := []byte("\x00\xffnot an event{")
	poison := []struct {
		queue  string
		body   []byte
		reason string
	}{
		{events.StepAssignLicense, garbage, events.PoisonMalformedJSON},
		{events.StepAssignLicense, newVersion, events.PoisonUnknownType},
		{events.StepAssignNumber, unknownName, events.PoisonUnknownType},
		{events.StepIntake, []byte(`{"specversion":"1.0"}`), events.PoisonMalformedEnvelope},
	}
	ctx := context.Background()
	e.submit(t, reqs[:2]...)
	for _, p := range poison {
		if err := e.chain.Queue(p.queue).Send(ctx, transport.Message{Body: p.body}); err != nil {
			t.Fatal(err)
		}
	}
	e.submit(t, reqs[2])
	outs := e.await(t, "poison-ok-1", "poison-ok-2", "poison-ok-3")
	st := e.sim.State()
	for _, o := range outs {
		mustComplete(t, o)
		e2eAccount(t, st, o.Final.Data.Request)
	}
	dls := e.deadLetters(t, len(poison))
	if len(dls) != len(poison) {
		t.Fatalf("%d dead letters, want %d: %+v", len(dls), len(poison), dls)
	}
	for _, p := range poison {
		i := slices.IndexFunc(dls, func(d transport.DeadLetter) bool { return bytes.Equal(d.Body, p.body) })
		if i < 0 {
			t.Errorf("%s: %q not dead-lettered", p.queue, p.body)
			continue
		}
		if d := dls[i]; d.Queue != p.queue || d.Reason != p.reason || d.Detail == "" || d.Received != 1 {
			t.Errorf("dead letter %s/%s (%q, received %d), want %s/%s with detail, received once", d.Queue, d.Reason, d.Detail, d.Received, p.queue, p.reason)
		}
	}
	if u := usersWithUPN(st, "e2e-poison-x@contoso.com"); len(u) != 0 {
		t.Errorf("poison acted upon: %+v", u)
	}
	if n := len(e.callsWhere(func(c e2eCall) bool { return c.in.Subject == "poison-x" })); n != 0 {
		t.Errorf("a step ran %d times on poison", n)
	}
}

// e2eLog collects the chain's logs for a failing test.
type e2eLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *e2eLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *e2eLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *e2eLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TestE2EGraphAdapterConcurrentUse calls one Graph adapter from many
// goroutines at once, as the chain's step workers do. Each call must be
// independent of the others; run it with -race (CGO_ENABLED=1 go test -race)
// to check, since a shared, mutated request builder shows up only there or
// as a rare "concurrent map writes" crash.
func TestE2EGraphAdapterConcurrentUse(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	m, err := startSimulator(context.Background(), graphsim.Config{Seed: graphsim.DefaultSeed()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 5 {
				var err error
				switch i % 4 {
				case 0:
					_, err = m.graph.FindByUPN(ctx, "ra-support@contoso.com")
				case 1:
					_, err = m.graph.Sku(ctx, graphsim.VirtualUserSkuPartNumber)
				case 2:
					_, err = m.graph.Get(ctx, teamssim.SeedReceptionAccountID)
				case 3: // already licensed: a no-op for Graph
					err = m.graph.AssignLicense(ctx, teamssim.SeedSalesUKAccountID, graphsim.VirtualUserSkuID)
				}
				if err != nil {
					t.Errorf("call %d: %v", i%4, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestE2ENumberHeld: two requests for the same free number, submitted apart
// (two files, two doors): one completes, the other is refused by the
// pre-flight before it creates or licenses anything.
func TestE2ENumberHeld(t *testing.T) {
	t.Parallel()
	e := startE2E(t, e2eConfig{})
	a := e2eReq("held-a", "e2e-held-a", aa, "US", "+12125550178", "")
	b := e2eReq("held-b", "e2e-held-b", cq, "US", "+12125550178", "")
	e.submit(t, a)
	e.submit(t, b)
	outs := e.await(t, a.RequestID, b.RequestID)
	var done, refused []e2eOutcome
	for _, o := range outs {
		if o.Status.Outcome == ledger.Completed {
			done = append(done, o)
		} else {
			refused = append(refused, o)
		}
	}
	if len(done) != 1 || len(refused) != 1 {
		t.Fatalf("%d completed, %d failed; want one each", len(done), len(refused))
	}
	mustFail(t, refused[0], events.ReasonNumberInUse, events.StepCheckLicense)
	if u := usersWithUPN(e.sim.State(), refused[0].Final.Data.Request.UserPrincipalName); len(u) != 0 {
		t.Errorf("the refused request made an account: %+v", u)
	}
	won := e2eAccount(t, e.sim.State(), done[0].Final.Data.Request)
	if n, _ := numberOf(e.sim.State(), "+12125550178"); !strings.EqualFold(n.AssignmentTargetID, won.ID) {
		t.Errorf("number held by %s, want the completed account %s", n.AssignmentTargetID, won.ID)
	}
}

//go:build linux

package e2e_test

// The scenarios. Each starts a stack of its own (queues, table, tenant, a
// function per step of events.AllSteps: eleven) and asserts where the
// requests ended: the ledger in DynamoDB, the final events on the results
// queue, the dead-letter queues, and what the simulated tenant holds
// afterwards.

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
)

const (
	aa = events.AccountTypeAutoAttendant
	cq = events.AccountTypeCallQueue
)

// request is a request for a new resource account in the seed's contoso.com.
func request(id, accountType, phone, associateWith string) events.Request {
	return events.Request{
		RequestID:         id,
		DisplayName:       "E2E " + id,
		UserPrincipalName: id + "@contoso.com",
		AccountType:       accountType,
		UsageLocation:     "US",
		PhoneNumber:       phone,
		AssociateWith:     associateWith,
	}
}

// TestE2EHappyPath provisions an auto attendant and a call queue, each with
// a number, the call queue also associated with one of the tenant's call
// queues, through the seven functions of the provisioning chain.
func TestE2EHappyPath(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	reqs := []events.Request{
		request("e2e-happy-aa", aa, "+12065550143", ""),
		request("e2e-happy-cq", cq, "+13125550105", teamssim.SeedSupportCQID),
	}
	for _, req := range reqs {
		s.submit(t, req)
	}
	for _, req := range reqs {
		o := s.await(t, req.RequestID, ledger.Completed)
		if len(o.results) != 1 {
			t.Errorf("%s: %d final events on the results queue, want 1", req.RequestID, len(o.results))
		}
		u := checkAccount(t, s.sim.Server.State(), o.final.Data.Request)
		if p := o.final.Data.Progress; p.ObjectID != u.ID || p.AccountReused || p.LicenseReused || p.NumberReused {
			t.Errorf("%s: final progress %+v, want the new account %s, nothing reused", req.RequestID, p, u.ID)
		}
	}
	// Every function ran for each request and recorded its step in the
	// ledger. A function records its lines after it sends its events, so
	// the next step may end the request first: read the history once every
	// queue is quiet (each record is done before its message is deleted).
	s.quiesce(t)
	for _, req := range reqs {
		ran := s.completedSteps(t, req.RequestID)
		for _, step := range events.Steps {
			if !slices.Contains(ran, step) {
				t.Errorf("%s: the ledger has no entry of %s (steps: %v)", req.RequestID, step, ran)
			}
		}
	}
	for _, step := range events.AllSteps {
		if n := s.count(t, s.queues.DLQ(step)); n != 0 {
			t.Errorf("%s's dead-letter queue holds %d messages, want none", step, n)
		}
	}
	// Each Graph function read the Graph secret once, when it started (the
	// five of provisioning and the four of deprovisioning); complete read
	// the callback key; intake reads no secret.
	graphFns := 0
	for _, f := range s.fns {
		if f.graph {
			graphFns++
		}
	}
	if n := s.secrets.readsOf(graphSecretARN); n != graphFns || graphFns != 9 {
		t.Errorf("Graph secret read %d times by %d Graph functions, want once by each of 9", n, graphFns)
	}
	if n := s.secrets.readsOf(callbackSecretARN); n != 1 {
		t.Errorf("callback key read %d times, want once (complete's start)", n)
	}
}

// TestE2EDeprovision provisions an auto attendant with a number and an
// association, then deprovisions it by its request id (deprovision.requested
// to intake's queue, as the doors that name a provisioning request submit
// it) through the deprovisioning chain's functions: intake, unassociate,
// unassign-number (which polls its operation through delayed messages on
// its own queue), remove-license, remove-account (RAPROV_DEPROVISION_MODE
// delete, the template's default) and complete. The request completes in
// the ledger and on the results queue as a deprovision with the account
// deleted, and the simulated tenant is as it was before the provisioning.
func TestE2EDeprovision(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	before := s.sim.Server.Snapshot()

	prov := request("e2e-dep", aa, "+12065550143", teamssim.SeedAfterHoursAAID)
	s.submit(t, prov)
	po := s.await(t, prov.RequestID, ledger.Completed)
	u := checkAccount(t, s.sim.Server.State(), po.final.Data.Request)
	if diff := before.Diff(s.sim.Server.Snapshot()); len(diff) == 0 {
		t.Fatal("provisioning changed nothing in the simulated tenant")
	}
	s.quiesce(t) // provisioning's last ledger lines are written

	dep := events.Request{
		RequestID:         events.DeprovisionID(prov.RequestID),
		UserPrincipalName: prov.UserPrincipalName,
		Action:            events.ActionDeprovision,
		Target:            prov.RequestID,
	}
	s.submit(t, dep)
	o := s.await(t, dep.RequestID, ledger.Completed)
	if len(o.results) != 1 {
		t.Errorf("%s: %d final events on the results queue, want 1", dep.RequestID, len(o.results))
	}
	if o.final.Type != events.TypeProvisioningCompleted || o.final.Data.Request.Action != events.ActionDeprovision {
		t.Errorf("final event %s with request action %q, want %s with action %q", o.final.Type, o.final.Data.Request.Action, events.TypeProvisioningCompleted, events.ActionDeprovision)
	}
	p := o.final.Data.Progress
	if !p.AccountDeleted || p.AccountBlocked || p.AccountAbsent || !p.Unassociated || !p.LicenseRemoved || !strings.EqualFold(p.ObjectID, u.ID) {
		t.Errorf("final progress %+v, want account %s unassociated, its license removed and the account deleted", p, u.ID)
	}
	if !slices.Equal(p.ReleasedNumbers, []string{prov.PhoneNumber}) {
		t.Errorf("released numbers %v, want [%s]", p.ReleasedNumbers, prov.PhoneNumber)
	}
	if diff := before.Diff(s.sim.Server.Snapshot()); len(diff) != 0 {
		t.Errorf("the tenant after deprovisioning differs from before provisioning:\n%s", strings.Join(diff, "\n"))
	}

	// Every function of the deprovisioning chain ran and recorded its step
	// (read once every queue is quiet, as in TestE2EHappyPath), none of
	// provisioning's did, and nothing was dead-lettered.
	s.quiesce(t)
	ran := s.completedSteps(t, dep.RequestID)
	for _, step := range events.AllSteps {
		if want := slices.Contains(events.DeprovisionSteps, step); slices.Contains(ran, step) != want {
			t.Errorf("%s: the ledger has an entry of %s: %v, want %v (steps: %v)", dep.RequestID, step, !want, want, ran)
		}
	}
	for _, step := range events.AllSteps {
		if n := s.count(t, s.queues.DLQ(step)); n != 0 {
			t.Errorf("%s's dead-letter queue holds %d messages, want none", step, n)
		}
	}
}

// TestE2EDuplicateDelivery delivers the same provisioning.requested message
// twice (SQS delivers at least once): both deliveries run the chain, which
// converges on one account, one license and one number assignment, and the
// ledger records one outcome.
func TestE2EDuplicateDelivery(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	req := request("e2e-dup", aa, "+14155550166", teamssim.SeedMainReceptionAAID)
	body := s.submit(t, req)
	s.send(t, events.StepIntake, body)

	o := s.await(t, req.RequestID, ledger.Completed)
	s.quiesce(t) // the other delivery's flow has ended too
	st := s.sim.Server.State()
	u := checkAccount(t, st, o.final.Data.Request)

	// Writes Graph carried out. create-account creates first and looks
	// the UPN up only when Graph refuses it as taken: the second flow's
	// create is refused, which is no second account. Each function runs
	// one batch at a time, so the second flow's assign-license finds the
	// license the first one assigned.
	creates, refused := writes(s, isCreate)
	licenses, _ := writes(s, func(r graphsim.RequestRecord) bool {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/assignLicense")
	})
	if creates != 1 || licenses != 1 {
		t.Errorf("Graph carried out %d account creations (%d refused) and %d license assignments; want one of each", creates, refused, licenses)
	}
	// One number assignment: the inventory holds the number once, assigned
	// to this account (checkAccount: and the account holds no other). The
	// second flow starts a second assignNumber when it reaches assign-number
	// before the first flow's operation has finished; every operation
	// targets this account, so that changes nothing.
	holders := 0
	for _, n := range st.Teams.Numbers {
		if n.TelephoneNumber == req.PhoneNumber {
			if !strings.EqualFold(n.AssignmentTargetID, u.ID) {
				t.Errorf("number %s assigned to %q, want %s", n.TelephoneNumber, n.AssignmentTargetID, u.ID)
			}
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d inventory entries for %s, want 1", holders, req.PhoneNumber)
	}
	ops := 0
	for _, op := range st.Teams.Operations {
		if op.Action == "assignNumber" && op.TelephoneNumber == req.PhoneNumber {
			ops++
			if !strings.EqualFold(op.AssignmentTargetID, u.ID) {
				t.Errorf("assignNumber operation %s targets %q, want %s", op.ID, op.AssignmentTargetID, u.ID)
			}
		}
	}
	if ops == 0 || ops > 2 {
		t.Errorf("%d assignNumber operations for %s, want 1 (2 when the flows overlapped)", ops, req.PhoneNumber)
	}
	t.Logf("assignNumber operations: %d", ops)

	st2, err := s.ledger.Get(context.Background(), req.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	// One outcome: the ledger keeps a line per input of complete (each
	// flow ends the request), and every one of them is the same final
	// event, the one on the results queue.
	ends, accepted := 0, 0
	for _, h := range st2.History {
		if h.Outcome != "" && h.Outcome != ledger.InProgress {
			ends++
			if finalID, _, _ := strings.Cut(h.EventID, "/"); h.Outcome != ledger.Completed || finalID != o.final.ID {
				t.Errorf("ledger: ending entry %s %s, want %s %s", h.Outcome, finalID, ledger.Completed, o.final.ID)
			}
		}
		if h.Type == events.TypeProvisioningAccepted {
			accepted++
		}
	}
	if ends == 0 || st2.Outcome != ledger.Completed {
		t.Errorf("ledger: status %s with %d ending entries, want completed", st2.Outcome, ends)
	}
	if accepted != 2 {
		t.Errorf("ledger: %d provisioning.accepted entries, want 2 (both deliveries ran the chain)", accepted)
	}
	// Both flows may publish the result: with one id, so that consumers
	// can drop the copy.
	for _, ev := range o.results {
		if ev.ID != o.final.ID || ev.Type != events.TypeProvisioningCompleted {
			t.Errorf("final events %s %s and %s %s: want copies of one", ev.Type, ev.ID, o.final.Type, o.final.ID)
		}
	}
}

// TestE2EPoisonAndReplay sends a malformed body to a step's queue, which
// the function dead-letters with its reason, and parks a valid event: Graph
// refuses create-account's calls until the function gives up
// (retries_exhausted, dead-lettered for replay). Replayed with
// sqs.DeadLetters.Replay once Graph is well again, the request completes.
func TestE2EPoisonAndReplay(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{env: map[string]map[string]string{
		// Two attempts, none of them retried within the call.
		events.StepCreateAccount: {"RAPROV_MAX_ATTEMPTS": "2", "RAPROV_GRAPH_MAX_RETRIES": "0"},
	}})
	ctx := context.Background()
	dl := s.deadLetters()

	poison := []byte(`{"specversion":"1.0","type":"raprov.license.assigned.v1","id":`)
	s.send(t, events.StepAssignLicense, poison)

	s.sim.Server.InjectFault(graphsim.Fault{Method: "POST", PathPrefix: "/v1.0/users", Count: 2, Status: 503})
	req := request("e2e-replay", cq, "+12125550178", teamssim.SeedSalesCQID)
	s.submit(t, req)

	failed := s.await(t, req.RequestID, ledger.Failed)
	if f := failed.final.Data.Failure; f == nil || f.Reason != events.ReasonRetriesExhausted || f.Step != events.StepCreateAccount {
		t.Fatalf("failure %+v, want retries_exhausted in create-account", f)
	}
	if n := len(usersWithUPN(s.sim.Server.State(), req.UserPrincipalName)); n != 0 {
		t.Fatalf("%d accounts after Graph refused every creation, want none", n)
	}

	// The poison: in assign-license's dead-letter queue, with its reason.
	poisoned := waitDeadLetters(t, s, events.StepAssignLicense, 1)
	if p := poisoned[0]; p.Reason != events.PoisonMalformedJSON || string(p.Body) != string(poison) || p.Queue != events.StepAssignLicense || p.Received != 1 {
		t.Errorf("poison dead letter: reason %q queue %s received %d body %q; want %s, %s, 1, the body sent", p.Reason, p.Queue, p.Received, p.Body, events.PoisonMalformedJSON, events.StepAssignLicense)
	}
	// The parked event: create-account's input, with its reason.
	parked := waitDeadLetters(t, s, events.StepCreateAccount, 1)
	if p := parked[0]; p.Reason != string(events.ReasonRetriesExhausted) {
		t.Errorf("parked dead letter: reason %q, want %s", p.Reason, events.ReasonRetriesExhausted)
	}
	if ev, err := events.Decode(parked[0].Body); err != nil || ev.Type != events.TypeLicenseAvailable || ev.Subject != req.RequestID {
		t.Errorf("parked dead letter: %s for %s (%v), want %s for %s", ev.Type, ev.Subject, err, events.TypeLicenseAvailable, req.RequestID)
	}
	faults := 0
	for _, r := range s.sim.Server.Requests() {
		if r.Fault {
			faults++
		}
	}
	if faults != 2 {
		t.Fatalf("%d requests met the injected fault, want both (one per attempt)", faults)
	}

	// Graph is well again: replay create-account's dead letters.
	n, err := dl.Replay(ctx, events.StepCreateAccount, 10, func(body []byte) []byte {
		ev, err := events.Decode(body)
		if err != nil {
			return nil
		}
		ev.ReplayCount++
		ev.Attempt = 0
		b, _ := events.Encode(ev)
		return b
	})
	if err != nil || n != 1 {
		t.Fatalf("replay: %d, %v; want 1 replayed", n, err)
	}
	o := s.await(t, req.RequestID, ledger.Completed)
	checkAccount(t, s.sim.Server.State(), o.final.Data.Request)
	if o.final.ReplayCount != 1 {
		t.Errorf("final event's replay count %d, want 1", o.final.ReplayCount)
	}
	var types []string
	for _, ev := range o.results {
		types = append(types, ev.Type)
	}
	if want := []string{events.TypeProvisioningFailed, events.TypeProvisioningCompleted}; !slices.Equal(types, want) {
		t.Errorf("final events %v, want %v", types, want)
	}

	s.quiesce(t)
	if n := s.count(t, s.queues.DLQ(events.StepCreateAccount)); n != 0 {
		t.Errorf("create-account's dead-letter queue holds %d after the replay, want 0", n)
	}
	// The replay of one queue left the other's poison alone.
	if left := waitDeadLetters(t, s, events.StepAssignLicense, 1); len(left) != 1 || string(left[0].Body) != string(poison) {
		t.Errorf("assign-license's dead letters after the replay: %d, want the poison alone", len(left))
	}
}

// TestE2EKilledFunction kills create-account (kill -9 of its emulator and
// function) while it handles a batch, right after Graph created the
// account and before the function could answer; a new instance takes the
// batch when it comes back, and both requests converge with no duplicate.
func TestE2EKilledFunction(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	reqs := []events.Request{
		request("e2e-kill-aa", aa, "+12125550179", ""),
		request("e2e-kill-cq", cq, "+15125550131", teamssim.SeedSalesCQID),
	}
	base := s.sim.Server.Knobs()
	slow := base
	slow.SlowRate, slow.SlowDelay = 1, 2*time.Second

	f := s.fns[events.StepCreateAccount]
	var once sync.Once
	type crash struct {
		requestID string // the request whose account was created when the function died
		pid       int    // the function's process
	}
	killed := make(chan crash, 1)
	f.mu.Lock()
	f.before = func([]lambdaevents.SQSMessage) {
		// Graph holds every answer back for 2 s after serving the request.
		once.Do(func() { s.sim.Server.SetKnobs(slow) })
	}
	var crashOnce sync.Once
	f.during = func(rie *awslocal.RIE, batch []lambdaevents.SQSMessage) {
		crashOnce.Do(func() {
			upns := map[string]string{}
			for _, r := range batch {
				if ev, err := events.Decode([]byte(r.Body)); err == nil {
					upns[strings.ToLower(ev.Data.Request.UserPrincipalName)] = ev.Subject
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				for _, u := range s.sim.Server.State().Users {
					if id, ok := upns[strings.ToLower(u.UserPrincipalName)]; ok {
						// The account exists; the function waits for Graph's answer.
						pid := rie.RuntimePID()
						if err := rie.Kill(); err != nil {
							s.note("kill: %v", err)
						}
						killed <- crash{requestID: id, pid: pid}
						return
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			s.note("create-account never created an account of its batch")
			close(killed)
		})
	}
	f.mu.Unlock()

	for _, req := range reqs {
		s.submit(t, req)
	}
	var victim string
	select {
	case c, ok := <-killed:
		if !ok {
			t.Fatal("create-account never created an account while it was slowed down")
		}
		victim = c.requestID
		if !f.current().Exited() || c.pid == 0 || !processGone(c.pid) {
			t.Fatalf("after the kill: emulator exited %v, function process %d gone %v; want both gone", f.current().Exited(), c.pid, processGone(c.pid))
		}
	case <-time.After(awaitTimeout):
		t.Fatal("create-account was never invoked")
	}
	s.sim.Server.SetKnobs(base)
	f.restart(t) // Lambda starts a new instance

	for _, req := range reqs {
		o := s.await(t, req.RequestID, ledger.Completed)
		checkAccount(t, s.sim.Server.State(), o.final.Data.Request)
		if req.RequestID == victim && !o.final.Data.Progress.AccountReused {
			t.Errorf("%s: the redelivered batch did not continue the account its killed run created (progress %+v)", victim, o.final.Data.Progress)
		}
	}
	s.quiesce(t)
	// The killed run's create went through; the new instance's create was
	// refused (the UPN was taken) and it continued the account instead.
	if creates, refused := writes(s, isCreate); creates != len(reqs) || refused != 1 {
		t.Errorf("Graph carried out %d account creations and refused %d for %d requests, want one each and one refused (the killed run's redelivery)", creates, refused, len(reqs))
	}
	f.mu.Lock()
	emulators := len(f.all)
	f.mu.Unlock()
	if emulators != 2 {
		t.Errorf("create-account ran in %d emulators, want 2 (the killed one and its replacement)", emulators)
	}
	for _, step := range events.AllSteps {
		if n := s.count(t, s.queues.DLQ(step)); n != 0 {
			t.Errorf("%s's dead-letter queue holds %d messages, want none", step, n)
		}
	}
}

// processGone reports whether pid has ended (or is a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

// isCreate selects account creations.
func isCreate(r graphsim.RequestRecord) bool { return r.Method == "POST" && r.Path == "/v1.0/users" }

// writes counts the simulator's requests that match: those it carried out
// (2xx) and those it refused.
func writes(s *stack, match func(graphsim.RequestRecord) bool) (done, refused int) {
	for _, r := range s.sim.Server.Requests() {
		switch {
		case !match(r):
		case r.Status >= 200 && r.Status < 300:
			done++
		default:
			refused++
		}
	}
	return done, refused
}

// waitDeadLetters waits until the step's dead-letter queue holds n dead
// letters and returns them.
func waitDeadLetters(t *testing.T, s *stack, step string, n int) []transport.DeadLetter {
	t.Helper()
	deadline := time.Now().Add(awaitTimeout)
	for {
		dls, err := s.deadLetters().List(context.Background(), step, 100)
		if err != nil {
			t.Fatalf("dead letters of %s: %v", step, err)
		}
		if len(dls) >= n {
			return dls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's dead-letter queue holds %d dead letters after %s, want %d", step, len(dls), awaitTimeout, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAccount checks that st holds exactly one resource account for req
// (normalised), provisioned as asked and marked as this request's, and
// returns it.
func checkAccount(t *testing.T, st graphsim.State, req events.Request) graphsim.User {
	t.Helper()
	users := usersWithUPN(st, req.UserPrincipalName)
	if len(users) != 1 {
		t.Fatalf("%d accounts with UPN %s, want 1", len(users), req.UserPrincipalName)
	}
	u := users[0]
	if u.Department != steps.ResourceAccountDepartment || u.UsageLocation != req.UsageLocation || u.AccountEnabled {
		t.Errorf("%s: department %q, usage location %q, sign-in enabled %v; want %q, %q, blocked",
			u.UserPrincipalName, u.Department, u.UsageLocation, u.AccountEnabled, steps.ResourceAccountDepartment, req.UsageLocation)
	}
	ext, _ := u.Other["onPremisesExtensionAttributes"].(map[string]any)
	if mark, _ := ext["extensionAttribute15"].(string); mark != steps.OwnerMark(req.RequestID) {
		t.Errorf("%s: ownership mark %q, want %q", u.UserPrincipalName, mark, steps.OwnerMark(req.RequestID))
	}
	if len(u.AssignedLicenses) != 1 || !strings.EqualFold(u.AssignedLicenses[0].SkuID, graphsim.VirtualUserSkuID) {
		t.Errorf("%s: licenses %+v, want exactly %s", u.UserPrincipalName, u.AssignedLicenses, graphsim.VirtualUserSkuPartNumber)
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
	var held []teamssim.Number
	for _, n := range st.Teams.Numbers {
		if strings.EqualFold(n.AssignmentTargetID, u.ID) {
			held = append(held, n)
		}
	}
	switch {
	case req.PhoneNumber == "" && len(held) != 0:
		t.Errorf("%s: holds numbers %+v, none requested", u.UserPrincipalName, held)
	case req.PhoneNumber != "" && (len(held) != 1 || held[0].TelephoneNumber != req.PhoneNumber ||
		held[0].AssignmentStatus != teamssim.StatusVoiceApplicationAssigned || held[0].ActivationState != teamssim.ActivationActivated):
		t.Errorf("%s: holds %+v, want %s assigned to the voice application and activated", u.UserPrincipalName, held, req.PhoneNumber)
	}
	var assocs []teamssim.Association
	for _, a := range st.Teams.Associations {
		if strings.EqualFold(a.ObjectID, u.ID) {
			assocs = append(assocs, a)
		}
	}
	switch {
	case req.AssociateWith == "" && len(assocs) != 0:
		t.Errorf("%s: associations %+v, none requested", u.UserPrincipalName, assocs)
	case req.AssociateWith != "":
		want := teamssim.ConfigurationAutoAttendant
		if req.AccountType == cq {
			want = teamssim.ConfigurationCallQueue
		}
		if len(assocs) != 1 || !strings.EqualFold(assocs[0].ConfigurationID, req.AssociateWith) || assocs[0].ConfigurationType != want {
			t.Errorf("%s: associations %+v, want one with %s %s", u.UserPrincipalName, assocs, want, req.AssociateWith)
		}
	}
	return u
}

func usersWithUPN(st graphsim.State, upn string) []graphsim.User {
	var out []graphsim.User
	for _, u := range st.Users {
		if strings.EqualFold(u.UserPrincipalName, upn) {
			out = append(out, u)
		}
	}
	return out
}

// completedSteps checks, once every queue is quiet, that request id
// completed, and returns the steps its ledger history names, in order of
// first appearance.
func (s *stack) completedSteps(t *testing.T, id string) []string {
	t.Helper()
	st, err := s.ledger.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcome != ledger.Completed {
		t.Errorf("%s: %s once every queue is quiet, want completed", id, st.Outcome)
	}
	var ran []string
	for _, h := range st.History {
		if !slices.Contains(ran, h.Step) {
			ran = append(ran, h.Step)
		}
	}
	return ran
}

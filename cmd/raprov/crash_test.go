//go:build unix

package main_test

// The crash test: `raprov run` as a child process, killed with SIGKILL at
// random moments and restarted on the same database, against a Graph
// simulator hosted by the test (it outlives every child). At the end every
// request must have reached its expected outcome exactly once, and the
// simulated tenant must hold no duplicate user, license, number assignment,
// application instance or association.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport/local"
)

const (
	// crashRequests is how many requests the file holds.
	crashRequests = 300
	// crashKills is how many times the child is killed.
	crashKills = 6
	// crashFinalTimeout bounds the last, uninterrupted run.
	crashFinalTimeout = 100 * time.Second
	// crashLicenses are the resource-account licenses the tenant owns.
	crashLicenses = 400
)

// crashRow is one request of the file and what it must leave behind.
type crashRow struct {
	id        string // empty: raprov derives a stable id from the row
	upn       string // lower case
	display   string
	kind      string // AA or CQ, as written in the file
	country   string
	phone     string // as written in the file
	e164      string // the number the account must hold; "" for none
	associate string
	expect    string // "completed" or a reason code
	// account: the request creates a resource account (it gets past
	// intake and is not a conflict with an existing user).
	account bool
}

func (r crashRow) appID() string {
	if r.kind == "CQ" {
		return teamssim.CallQueueAppID
	}
	return teamssim.AutoAttendantAppID
}

func (r crashRow) configType() string {
	if r.kind == "CQ" {
		return teamssim.ConfigurationCallQueue
	}
	return teamssim.ConfigurationAutoAttendant
}

// TestCrashRecovery runs 300 requests through `raprov run`, killing the
// process with SIGKILL at random moments (seeded; RAPROV_CRASH_SEED
// replays a run) at least five times and restarting it on the same
// database each time, then lets it finish.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds raprov and runs it for about a minute")
	}
	begin := time.Now()
	dir := t.TempDir()
	bin := buildRaprov(t, dir)
	t.Logf("built raprov in %s", time.Since(begin).Round(time.Millisecond))

	seedValue := uint64(time.Now().UnixNano())
	if v := os.Getenv("RAPROV_CRASH_SEED"); v != "" {
		var err error
		if seedValue, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("RAPROV_CRASH_SEED: %v", err)
		}
	}
	t.Logf("random seed %d (RAPROV_CRASH_SEED=%d replays the kill schedule)", seedValue, seedValue)
	rng := rand.New(rand.NewPCG(seedValue, seedValue^0x5eed))

	numbers := crashNumbers(t)
	seed := crashSeed(numbers)
	rows := crashRows(numbers)

	// The simulator's HTTP server logs each TLS handshake a kill cut short.
	prev := log.Writer()
	log.SetOutput(dropLines{w: prev, containing: "TLS handshake error"})
	t.Cleanup(func() { log.SetOutput(prev) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := graphsim.Start(ctx, graphsim.Config{
		Seed: seed,
		Knobs: graphsim.Knobs{
			// A restarted step may not see yet what it created just
			// before the kill; number assignments take a while; some
			// responses are held back after their side effect, so that
			// kills land between a side effect and its acknowledgement.
			ReplicationDelay:   300 * time.Millisecond,
			OperationStepDelay: 150 * time.Millisecond,
			SlowRate:           0.05,
			SlowDelay:          250 * time.Millisecond,
			Throttle:           true,
			TimeScale:          1,
		},
		RandSeed: int64(seedValue >> 1),
	}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	defer sim.Close()
	base := sim.Server.State()

	caFile := filepath.Join(dir, "graphsim-ca.pem")
	reqFile := filepath.Join(dir, "requests.csv")
	db := filepath.Join(dir, "raprov.db")
	logFile := filepath.Join(dir, "raprov.log")
	if err := os.WriteFile(caFile, sim.CACertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	writeCrashFile(t, reqFile, rows)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("raprov logs (tail):\n%s", tail(logFile, 12<<10))
		}
	})

	args := []string{"run", "--graph-url", sim.URL, "--graph-ca", caFile, "--db", db, "--log-file", logFile,
		"--progress", "lines", "--demo-timing", "--timeout", crashFinalTimeout.String(), reqFile}

	// Kill at random moments: after a random time, or once the run has
	// reported a random number of newly finished requests (with a time
	// limit, as a restarted run may wait out the visibility timeout of
	// the messages the last kill left in flight).
	finished := 0
	for k := 1; k <= crashKills; k++ {
		c := startChild(t, bin, args)
		var how string
		if rng.IntN(2) == 0 {
			d := time.Duration(200+rng.IntN(1800)) * time.Millisecond
			time.Sleep(d)
			how = fmt.Sprintf("after %s", d)
		} else {
			n := finished + 1 + rng.IntN(40)
			at := c.waitLines(n, 5*time.Second)
			how = fmt.Sprintf("after %s, aiming at %d finished", at.Round(time.Millisecond), n)
		}
		if exited, out := c.kill(t); exited {
			t.Fatalf("run %d ended by itself before kill %d (%s):\n%s", k, k, how, unexpected(out))
		}
		finished = max(finished, c.lines())
		t.Logf("kill -9 #%d %s: %d of %d requests had finished", k, how, c.lines(), crashRequests)
	}

	final := time.Now()
	c := startChild(t, bin, args)
	code, out := c.wait(t, crashFinalTimeout+20*time.Second)
	t.Logf("final run: exit %d after %s; whole test %s", code, time.Since(final).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("final run exited %d, want 0 (every request as expected):\n%s", code, unexpected(out))
	}
	if got := c.lines(); got != crashRequests {
		t.Errorf("final run reported %d finished requests, want %d", got, crashRequests)
	}

	checkLedger(t, db, rows)
	checkTenant(t, base, sim.Server.State(), rows)
	reportRepeats(t, logFile, sim.Server.Requests())
}

// reportRepeats logs what the kills made raprov do twice: events a step
// finished more than once (a kill struck after the step's side effects and
// before its hop was committed) and Graph writes sent again to the same
// resource. Both are allowed; the checks above show they converged.
func reportRepeats(t *testing.T, logFile string, requests []graphsim.RequestRecord) {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]int{}
	step := map[string]string{}
	for line := range bytes.Lines(b) {
		var rec struct {
			Msg     string `json:"msg"`
			Step    string `json:"step"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Msg != "step done" {
			continue // a line cut by a kill, or another record
		}
		done[rec.EventID]++
		step[rec.EventID] = rec.Step
	}
	reruns := map[string]int{}
	for id, n := range done {
		if n > 1 {
			reruns[step[id]]++
		}
	}
	writes := map[string]int{}
	for _, r := range requests {
		if r.Method != http.MethodGet && r.Service != "" {
			writes[r.Method+" "+r.Path]++
		}
	}
	repeated := map[string]int{}
	for _, r := range requests {
		key := r.Method + " " + r.Path
		if writes[key] > 1 && strings.Contains(r.Route, "{id}") {
			repeated[r.Route]++
			writes[key] = 0 // count each resource once
		}
	}
	t.Logf("after kills: events finished twice by step %v; resources written more than once by route %v", reruns, repeated)
}

// buildRaprov builds the command under test into dir.
func buildRaprov(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build raprov: %v", err)
	}
	bin := filepath.Join(dir, "raprov")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashNumbers returns free Calling Plan service numbers by country, valid
// for their country and not in the default seed: US and Canadian 555-01XX
// lines (reserved for fiction) and London's 020 7946 0XXX drama range.
// Each country gets more than its rows need; the rest stay unassigned.
func crashNumbers(t *testing.T) map[string][]string {
	t.Helper()
	seeded := map[string]bool{}
	for _, n := range teamssim.DefaultSeed().Numbers {
		seeded[n.TelephoneNumber] = true
	}
	out := map[string][]string{}
	add := func(country, e164 string) {
		if seeded[e164] {
			return
		}
		num, err := phonenumbers.Parse(e164, country)
		if err != nil || !phonenumbers.IsValidNumberForRegion(num, country) {
			t.Fatalf("generated number %s is not valid for %s: %v", e164, country, err)
		}
		out[country] = append(out[country], e164)
	}
	// Line 0199 stays out of the inventory: +12065550199 is number_not_found.
	for _, area := range []int{206, 212, 312, 415, 512} {
		for line := 100; line <= 198; line++ {
			add("US", fmt.Sprintf("+1%d555%04d", area, line))
		}
	}
	for _, area := range []int{416, 604} {
		for line := 100; line <= 198; line++ {
			add("CA", fmt.Sprintf("+1%d555%04d", area, line))
		}
	}
	for line := 100; line <= 299; line++ {
		add("GB", fmt.Sprintf("+44207946%04d", line))
	}
	return out
}

// crashSeed is the default tenant with crashLicenses resource-account
// licenses and the generated numbers in its inventory.
func crashSeed(numbers map[string][]string) graphsim.Seed {
	seed := graphsim.DefaultSeed()
	for i := range seed.Skus {
		if seed.Skus[i].SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			seed.Skus[i].Enabled = crashLicenses
		}
	}
	var template teamssim.Number
	for _, n := range seed.Teams.Numbers {
		if n.NumberType == teamssim.NumberTypeCallingPlan && n.HasCapability(teamssim.CapabilityVoiceApplicationAssignment) {
			template = n
			break
		}
	}
	for _, country := range slices.Sorted(maps.Keys(numbers)) {
		for _, tel := range numbers[country] {
			n := template
			n.ID, n.TelephoneNumber, n.IsoCountryCode, n.City = "", tel, country, ""
			n.AssignmentStatus, n.AssignmentTargetID, n.AssignmentCategory = "", "", ""
			n.Capabilities = []string{teamssim.CapabilityConferenceAssignment, teamssim.CapabilityVoiceApplicationAssignment}
			seed.Teams.Numbers = append(seed.Teams.Numbers, n)
		}
	}
	return seed
}

// crashRows returns the requests: mostly accounts that complete (auto
// attendants and call queues in three countries, some without a number,
// some associated with the seed's auto attendants and call queues, some
// without a request id, some numbers in national format) and a few that
// fail for a known reason, before or after their account is created.
func crashRows(numbers map[string][]string) []crashRow {
	next := map[string]int{}
	take := func(country string) string {
		tel := numbers[country][next[country]]
		next[country]++
		return tel
	}
	aaConfigs := []string{teamssim.SeedMainReceptionAAID, teamssim.SeedAfterHoursAAID}
	cqConfigs := []string{teamssim.SeedSupportCQID, teamssim.SeedSalesCQID}

	// Number problems are refused by the pre-flight in check-license,
	// before any account is created.
	failing := map[int]crashRow{
		7:   {upn: "ra-crash-typo@contoso.com", kind: "AA", country: "US", phone: "+1206555", expect: "invalid_request"},
		37:  {upn: "ra-crash@fabrikam.com", kind: "CQ", country: "US", expect: "domain_not_verified"},
		67:  {upn: "adelev@contoso.com", kind: "AA", country: "US", expect: "upn_conflict"},
		97:  {upn: "ra-crash-user-number@contoso.com", kind: "AA", country: "US", phone: "+12065550188", expect: "number_in_use"},
		127: {upn: "ra-crash-taken@contoso.com", kind: "CQ", country: "US", phone: "+12065550142", expect: "number_in_use"},
		157: {upn: "ra-crash-personal@contoso.com", kind: "AA", country: "US", phone: "+12125550190", expect: "number_not_assignable"},
		187: {upn: "ra-crash-ghost@contoso.com", kind: "CQ", country: "US", phone: "+12065550199", expect: "number_not_found"},
		217: {upn: "ra-crash-abroad@contoso.com", kind: "AA", country: "US", phone: take("GB"), expect: "number_country_mismatch"},
		247: {upn: "ra-crash-nowhere@contoso.com", kind: "CQ", country: "XX", expect: "invalid_request"},
	}

	rows := make([]crashRow, crashRequests)
	for i := range rows {
		n := i + 1
		if r, ok := failing[i]; ok {
			r.id = fmt.Sprintf("CR-%04d", n)
			r.display = fmt.Sprintf("Crash failure %04d", n)
			rows[i] = r
			continue
		}
		r := crashRow{
			id:      fmt.Sprintf("CR-%04d", n),
			upn:     fmt.Sprintf("ra-crash-%04d@contoso.com", n),
			kind:    "AA",
			expect:  "completed",
			account: true,
		}
		if i%2 == 1 {
			r.kind = "CQ"
		}
		if i%10 == 3 {
			r.id = "" // raprov derives a stable id
		}
		r.display = fmt.Sprintf("Crash %s %04d", r.kind, n)
		switch i % 10 {
		case 6, 7:
			r.country = "GB"
		case 8, 9:
			r.country = "CA"
		default:
			r.country = "US"
		}
		if i%6 != 5 {
			r.e164 = take(r.country)
			r.phone = r.e164
			if i%7 == 2 {
				r.phone = national(r.e164)
			}
		}
		if i%4 == 1 {
			configs := aaConfigs
			if r.kind == "CQ" {
				configs = cqConfigs
			}
			r.associate = configs[(i/4)%2]
		}
		rows[i] = r
	}
	return rows
}

// national writes an E.164 number in its country's national format.
func national(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		panic(err)
	}
	return phonenumbers.Format(num, phonenumbers.NATIONAL)
}

func writeCrashFile(t *testing.T, path string, rows []crashRow) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write([]string{"RequestId", "UserPrincipalName", "DisplayName", "ApplicationType", "UsageLocation", "PhoneNumber", "AssociateWith", "Expect"})
	for _, r := range rows {
		_ = w.Write([]string{r.id, r.upn, r.display, r.kind, r.country, r.phone, r.associate, r.expect})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// child is one `raprov run` process.
type child struct {
	cmd   *exec.Cmd
	out   *progressWriter
	done  chan struct{}
	start time.Time
}

func startChild(t *testing.T, bin string, args []string) *child {
	t.Helper()
	cmd := exec.Command(bin, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RAPROV_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	pw := &progressWriter{}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start raprov: %v", err)
	}
	c := &child{cmd: cmd, out: pw, done: make(chan struct{}), start: time.Now()}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// lines is how many finished requests the run has reported.
func (c *child) lines() int { return c.out.count() }

// waitLines waits until the run has reported n finished requests, it ends,
// or limit passes, and returns how long it waited.
func (c *child) waitLines(n int, limit time.Duration) time.Duration {
	deadline := time.After(limit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for c.lines() < n {
		select {
		case <-deadline:
			return time.Since(c.start)
		case <-c.done:
			return time.Since(c.start)
		case <-tick.C:
		}
	}
	return time.Since(c.start)
}

// kill sends SIGKILL (kill -9) and waits for the process to die. It
// reports whether the process had already ended by itself, with its output.
func (c *child) kill(t *testing.T) (exited bool, out string) {
	t.Helper()
	select {
	case <-c.done:
		return true, c.out.String()
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill: %v", err)
	}
	<-c.done
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return true, c.out.String() // it ended just before the signal
	}
	return false, ""
}

// wait waits for the process to end by itself and returns its exit code
// and output.
func (c *child) wait(t *testing.T, limit time.Duration) (int, string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("raprov still running after %s:\n%s", limit, unexpected(c.out.String()))
	}
	return c.cmd.ProcessState.ExitCode(), c.out.String()
}

// progressWriter keeps a child's output and counts its progress lines.
type progressWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	n       int
}

var progressLine = regexp.MustCompile(`^\[\d+/\d+\] `)

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if progressLine.Match(w.partial[:i]) {
			w.n++
		}
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *progressWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *progressWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// checkLedger checks that the ledger knows exactly the file's requests,
// each ended once with its expected outcome, and that nothing was
// dead-lettered.
func checkLedger(t *testing.T, db string, rows []crashRow) {
	t.Helper()
	ctx := t.Context()
	store, err := local.Open(ctx, db, local.Options{})
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	defer store.Close()

	sum, err := store.Ledger().Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != crashRequests {
		t.Errorf("ledger knows %d requests, want %d (a request submitted twice under another id?)", sum.Total, crashRequests)
	}
	statuses, err := store.Ledger().List(ctx, ledger.Filter{Limit: 10 * crashRequests})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]crashRow{}
	var derived, derivedWant int // requests whose id raprov derives; all of them complete
	for _, r := range rows {
		if r.id == "" {
			derivedWant++
			continue
		}
		byID[r.id] = r
	}
	for _, st := range statuses {
		full, err := store.Ledger().Get(ctx, st.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		var submits int
		var ends []string
		for _, e := range full.History {
			if e.Step == "submit" {
				submits++
			}
			if e.Outcome == ledger.Completed || e.Outcome == ledger.Failed {
				ends = append(ends, fmt.Sprintf("%s %s at %s", e.Outcome, e.Reason, e.Time.Format(time.StampMilli)))
			}
		}
		if submits != 1 {
			t.Errorf("request %s submitted %d times, want once", st.RequestID, submits)
		}
		if len(ends) != 1 {
			t.Errorf("request %s ended %d times, want once: %v", st.RequestID, len(ends), ends)
		}
		got := string(full.Outcome)
		if full.Outcome == ledger.Failed {
			got = full.Reason
		}
		want := "completed"
		if r, ok := byID[st.RequestID]; ok {
			want = r.expect
			delete(byID, st.RequestID)
		} else {
			derived++
		}
		if got != want {
			t.Errorf("request %s: outcome %s (%s), want %s", st.RequestID, got, full.Detail, want)
		}
	}
	for id := range byID {
		t.Errorf("request %s is not in the ledger", id)
	}
	if derived != derivedWant {
		t.Errorf("the ledger holds %d requests with derived ids, want %d (the rows without id)", derived, derivedWant)
	}

	dls, err := store.DeadLetters().List(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range dls {
		t.Errorf("dead letter from %s after %d receives: %s: %s", dl.Queue, dl.Received, dl.Reason, dl.Detail)
	}
}

// checkTenant checks what the simulated tenant holds against the rows:
// one user per requested account and none for requests that never got
// that far, each licensed once and counted once, each number held by the
// account that asked for it and by no other, one application instance per
// account with the right application id, and the requested associations.
func checkTenant(t *testing.T, base, st graphsim.State, rows []crashRow) {
	t.Helper()
	seedUsers := map[string]bool{}
	for _, u := range base.Users {
		seedUsers[strings.ToLower(u.UserPrincipalName)] = true
	}

	usersByUPN := map[string][]graphsim.User{}
	for _, u := range st.Users {
		upn := strings.ToLower(u.UserPrincipalName)
		usersByUPN[upn] = append(usersByUPN[upn], u)
	}
	for upn, us := range usersByUPN {
		if len(us) > 1 {
			t.Errorf("%d users with userPrincipalName %s", len(us), upn)
		}
	}
	wantAccounts := 0
	for _, r := range rows {
		if r.account {
			wantAccounts++
		}
	}
	if got := len(st.Users) - len(base.Users); got != wantAccounts {
		t.Errorf("%d users created, want %d", got, wantAccounts)
	}

	// Licenses: every account licensed once; consumedUnits counts them.
	var sku graphsim.Sku
	for _, k := range st.Skus {
		if k.SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			sku = k
		}
	}
	licensed := 0
	for _, u := range st.Users {
		n := 0
		for _, l := range u.AssignedLicenses {
			if strings.EqualFold(l.SkuID, sku.SkuID) {
				n++
			}
		}
		if n > 1 {
			t.Errorf("user %s holds the %s license %d times", u.UserPrincipalName, sku.SkuPartNumber, n)
		}
		if n > 0 {
			licensed++
		}
	}
	if sku.ConsumedUnits != licensed {
		t.Errorf("%s consumedUnits = %d, but %d users hold it", sku.SkuPartNumber, sku.ConsumedUnits, licensed)
	}
	var baseConsumed int
	for _, k := range base.Skus {
		if k.SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			baseConsumed = k.ConsumedUnits
		}
	}
	if want := baseConsumed + wantAccounts; sku.ConsumedUnits != want {
		t.Errorf("%s consumedUnits = %d, want %d (seed %d + %d accounts)", sku.SkuPartNumber, sku.ConsumedUnits, want, baseConsumed, wantAccounts)
	}

	// Teams: numbers, application instances, associations by object id.
	numbersByTarget := map[string][]string{}
	for _, n := range st.Teams.Numbers {
		if n.AssignmentTargetID != "" {
			numbersByTarget[strings.ToLower(n.AssignmentTargetID)] = append(numbersByTarget[strings.ToLower(n.AssignmentTargetID)], n.TelephoneNumber)
		}
	}
	instances := map[string][]teamssim.AppInstance{}
	for _, in := range st.Teams.ApplicationInstances {
		instances[strings.ToLower(in.ObjectID)] = append(instances[strings.ToLower(in.ObjectID)], in)
	}
	associations := map[string][]teamssim.Association{}
	for _, a := range st.Teams.Associations {
		associations[strings.ToLower(a.ObjectID)] = append(associations[strings.ToLower(a.ObjectID)], a)
	}
	for id, ins := range instances {
		if len(ins) > 1 {
			t.Errorf("object %s is bound to %d application instances", id, len(ins))
		}
	}

	baseNumbers := map[string]teamssim.Number{}
	for _, n := range base.Teams.Numbers {
		baseNumbers[n.TelephoneNumber] = n
	}
	requested := map[string]bool{}
	for _, r := range rows {
		us := usersByUPN[r.upn]
		switch {
		case !r.account && seedUsers[r.upn]:
			continue // a conflict with an existing user: checked by the count above
		case !r.account:
			if len(us) != 0 {
				t.Errorf("%s (%s): a user exists for a request that failed before creating one", r.upn, r.expect)
			}
			continue
		case len(us) != 1:
			t.Errorf("%s: %d users, want 1", r.upn, len(us))
			continue
		}
		u := us[0]
		id := strings.ToLower(u.ID)
		if !slices.ContainsFunc(u.AssignedLicenses, func(l graphsim.AssignedLicense) bool { return strings.EqualFold(l.SkuID, sku.SkuID) }) {
			t.Errorf("%s: no %s license", r.upn, sku.SkuPartNumber)
		}
		if ins := instances[id]; len(ins) != 1 || ins[0].ApplicationID != r.appID() {
			t.Errorf("%s: application instances %+v, want one with application id %s", r.upn, ins, r.appID())
		}
		held := numbersByTarget[id]
		var want []string
		if r.expect == "completed" && r.e164 != "" {
			want = []string{r.e164}
			requested[r.e164] = true
		}
		if !slices.Equal(held, want) {
			t.Errorf("%s: holds numbers %v, want %v", r.upn, held, want)
		}
		var wantAssoc []teamssim.Association
		if r.expect == "completed" && r.associate != "" {
			wantAssoc = []teamssim.Association{{ObjectID: u.ID, ConfigurationID: r.associate, ConfigurationType: r.configType()}}
		}
		if got := associations[id]; !equalAssociations(got, wantAssoc) {
			t.Errorf("%s: associations %+v, want %+v", r.upn, got, wantAssoc)
		}
	}

	// Every number is held by the account that asked for it, or as in the
	// seed.
	for _, n := range st.Teams.Numbers {
		if requested[n.TelephoneNumber] {
			if n.AssignmentStatus != teamssim.StatusVoiceApplicationAssigned || n.ActivationState == teamssim.ActivationAssignmentPending {
				t.Errorf("%s: status %s, activation %s; want voiceApplicationAssigned, activated", n.TelephoneNumber, n.AssignmentStatus, n.ActivationState)
			}
			continue
		}
		was := baseNumbers[n.TelephoneNumber]
		if !strings.EqualFold(n.AssignmentTargetID, was.AssignmentTargetID) || n.AssignmentStatus != was.AssignmentStatus {
			t.Errorf("%s: assigned to %q (%s), want %q (%s) as seeded", n.TelephoneNumber, n.AssignmentTargetID, n.AssignmentStatus, was.AssignmentTargetID, was.AssignmentStatus)
		}
	}

	// Redundant Teams operations are allowed (a restarted step may start an
	// assignment whose first attempt it did not see), wrong ones are not.
	ops := map[string]int{}
	for _, op := range st.Teams.Operations {
		if op.Action == "assignNumber" && op.Status == teamssim.OperationSucceeded {
			ops[op.TelephoneNumber]++
		}
	}
	extra := 0
	for tel, n := range ops {
		if !requested[tel] {
			t.Errorf("%s: %d succeeded assignments of a number no completed request holds", tel, n)
		}
		extra += n - 1
	}
	t.Logf("tenant: %d users created, %d licensed in all, %d numbers assigned (%d redundant succeeded assignment operations), %d operations in all",
		len(st.Users)-len(base.Users), licensed, len(requested), extra, len(st.Teams.Operations))
}

func equalAssociations(got, want []teamssim.Association) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.EqualFold(got[i].ObjectID, want[i].ObjectID) || !strings.EqualFold(got[i].ConfigurationID, want[i].ConfigurationID) ||
			got[i].ConfigurationType != want[i].ConfigurationType {
			return false
		}
	}
	return true
}

// tail returns the last n bytes of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// unexpected returns a run's output without its progress lines and the
// table rows that went as expected, at most 80 lines.
func unexpected(out string) string {
	var keep []string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		row := strings.HasPrefix(line, "CR-") || strings.HasPrefix(line, "req-")
		if progressLine.MatchString(line) || row && !strings.Contains(line, "≠") {
			continue
		}
		keep = append(keep, line)
		if len(keep) == 80 {
			keep = append(keep, "…")
			break
		}
	}
	return strings.Join(keep, "\n")
}

// dropLines writes the log lines not containing a string to w.
type dropLines struct {
	w          io.Writer
	containing string
}

func (d dropLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(d.containing)) {
		return len(p), nil
	}
	return d.w.Write(p)
}

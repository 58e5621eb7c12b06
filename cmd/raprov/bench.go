package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// Targets of the benchmark table; docs/benchmarks.md explains each.
const (
	targetAccountsPerSecond = 500.0
	targetFloorRatio        = 1.10
	targetWritesPerAccount  = 2.2
	targetThrottledShare    = 0.02
)

type benchFlags struct {
	requests    int
	repeat      int
	sequential  int
	scale       float64
	headroom    float64
	concurrency int
	db          string
	logFile     string
	cpuProfile  string
	memProfile  string
	timeout     time.Duration
	output      outputFormat
	// diag receives the progress lines when output is JSON.
	diag io.Writer
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the chain's throughput against the in-process Graph simulator",
		Long: `bench provisions resource accounts on the embedded default against the
in-process Graph simulator in several runs, each on a new simulator and a new
database, and prints one table:

  unthrottled  --requests accounts (auto attendants and call queues, each with
               a phone number and an association), simulator throttling off,
               no replication or operation delays: accounts per second, the
               median of --repeat runs;
  throttled    the same requests under Graph's throttling limits, their
               windows multiplied by --scale in the simulator and in the
               client's budget alike: wall time against the floor the
               identity write quota (3,000 writes per 150 s) sets, identity
               calls per account and the share of 429 responses;
  sequential   --sequential requests one at a time, one handler per step:
               the latency baseline.

It exits 1 when a target is missed. See docs/benchmarks.md. -o json and
-o jsonl print the tables' rows as JSON records (docs/cli.md), the progress
lines going to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.diag = cmd.ErrOrStderr()
			return runBench(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	addOutputFlag(cmd, &f.output)
	fl := cmd.Flags()
	fl.IntVar(&f.requests, "requests", 1000, "accounts provisioned by the unthrottled and by the throttled run")
	fl.IntVar(&f.repeat, "repeat", 3, "unthrottled runs; the table reports their median, since a run of a few seconds on a shared machine varies")
	fl.IntVar(&f.sequential, "sequential", 100, "accounts provisioned one at a time by the baseline (0 skips it)")
	fl.Float64Var(&f.scale, "scale", 0.2, "time scale of Graph's throttling windows in the throttled run (0.2: 150 s last 30 s)")
	fl.Float64Var(&f.headroom, "headroom", budget.DefaultHeadroom, "share of each Graph quota the client's budget sustains in the throttled run")
	fl.IntVar(&f.concurrency, "concurrency", 64, "running handlers per step")
	fl.StringVar(&f.db, "db", "", "directory for the runs' SQLite databases (default: a temporary directory, removed afterwards)")
	fl.StringVar(&f.logFile, "log-file", "", `JSON log file of the runs, "-" for stderr (default: none)`)
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the runs to this file (go tool pprof)")
	fl.StringVar(&f.memProfile, "memprofile", "", "write an allocation profile of the runs to this file (go tool pprof -sample_index=alloc_space)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up a run after this long")
	return cmd
}

func (f benchFlags) validate() error {
	switch {
	case f.requests <= 0:
		return errors.New("--requests must be positive")
	case f.repeat <= 0:
		return errors.New("--repeat must be positive")
	case f.sequential < 0:
		return errors.New("--sequential must not be negative")
	case f.scale <= 0 || f.scale > 1:
		return errors.New("--scale must be in (0, 1]")
	case f.headroom <= 0 || f.headroom > 1:
		return errors.New("--headroom must be in (0, 1]")
	case f.concurrency <= 0:
		return errors.New("--concurrency must be positive")
	case f.timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}

// scenario is one run of the chain.
type scenario struct {
	name        string
	requests    []events.Request
	throttle    bool
	scale       float64 // throttling windows' time scale; 1 when not throttled
	concurrency int
	oneAtATime  bool // submit each request once the previous one finished
}

// runResult is what one run measured.
type runResult struct {
	requests  int
	completed int
	failures  map[string]int // reason → count
	wall      time.Duration
	cpu       time.Duration // process CPU time during the run; 0 when unknown
	calls     callCounts
	// rates are the accounts/s of every repetition when this result is
	// their median (see median); nil for a single run.
	rates []float64
	// incomplete are the outcomes of the other repetitions that did not
	// complete every request.
	incomplete []string
}

// median returns the run with the median throughput (the lower middle one
// of an even count), carrying every run's rate.
func median(runs []runResult) runResult {
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b runResult) int {
		return cmp.Compare(a.perSecond(), b.perSecond())
	})
	mi := (len(sorted) - 1) / 2
	m := sorted[mi]
	if len(runs) > 1 {
		m.rates = nil
		for _, r := range runs {
			m.rates = append(m.rates, r.perSecond())
		}
		for i, r := range sorted {
			if i != mi && r.completed != r.requests {
				m.incomplete = append(m.incomplete, r.outcome())
			}
		}
	}
	return m
}

func (r runResult) perSecond() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.completed) / r.wall.Seconds()
}

// cpuPerAccount is the CPU time per request, "" when unknown.
func (r runResult) cpuPerAccount() string {
	if r.cpu <= 0 || r.requests == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f ms CPU each", float64(r.cpu.Microseconds())/1000/float64(r.requests))
}

func (r runResult) outcome() string {
	s := fmt.Sprintf("%d of %d", r.completed, r.requests)
	for _, reason := range slices.Sorted(maps.Keys(r.failures)) {
		s += fmt.Sprintf(", %d %s", r.failures[reason], reason)
	}
	return s
}

// callCounts sums what the simulator counted per route.
type callCounts struct {
	total, throttled int
	// Identity calls (users, licenses, subscribedSkus) that were admitted,
	// i.e. charged to the tenant's quotas; 429s are not.
	identityReads, identityWrites int
}

func sumCounts(counts map[string]graphsim.EndpointCount) callCounts {
	var c callCounts
	for route, n := range counts {
		c.total += n.Total
		c.throttled += n.Throttled
		method, pattern, _ := strings.Cut(route, " ")
		if graphcost.Of(method, pattern, nil).Service != graphcost.Identity {
			continue
		}
		admitted := n.Total - n.Throttled
		if method == http.MethodGet || method == http.MethodHead {
			c.identityReads += admitted
		} else {
			c.identityWrites += admitted
		}
	}
	return c
}

// writeFloor is the shortest time Graph's identity write quota allows for
// writes at its sustained rate, 3,000 writes per 150 s, with the window
// multiplied by scale.
func writeFloor(writes int, scale float64) time.Duration {
	window := float64(graphcost.WriteWindow) * scale
	return time.Duration(float64(writes) / graphcost.WritesPerWindow * window)
}

// runBench runs the benchmarks, printing progress as they go and the
// tables (or their JSON records, f.output) to out at the end of each
// section; it returns exitCode(1) when a target is missed.
func runBench(ctx context.Context, f benchFlags, out io.Writer) error {
	if err := f.validate(); err != nil {
		return usageError(err)
	}
	msgs := f.output.messages(out, f.diag)
	dir := f.db
	if dir == "" {
		tmp, err := os.MkdirTemp("", "raprov-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log, closeLog, err := benchLogger(f.logFile)
	if err != nil {
		return err
	}
	defer closeLog()
	reqs, err := benchRequests(max(f.requests, f.sequential))
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintf(msgs, "raprov bench: %d requests, %d handlers per step, GOMAXPROCS %d; throttled run: time scale %g, headroom %g\n",
		f.requests, f.concurrency, runtime.GOMAXPROCS(0), f.scale, f.headroom)
	b := bencher{dir: dir, log: log, headroom: f.headroom, timeout: f.timeout, out: msgs}
	uns := make([]runResult, f.repeat)
	for i := range uns {
		if uns[i], err = b.run(ctx, scenario{name: "unthrottled", requests: reqs[:f.requests], scale: 1, concurrency: f.concurrency}); err != nil {
			return err
		}
	}
	un := median(uns)
	th, err := b.run(ctx, scenario{name: "throttled", requests: reqs[:f.requests], throttle: true, scale: f.scale, concurrency: f.concurrency})
	if err != nil {
		return err
	}
	var seq *runResult
	if f.sequential > 0 {
		r, err := b.run(ctx, scenario{name: "sequential", requests: reqs[:f.sequential], scale: 1, concurrency: 1, oneAtATime: true})
		if err != nil {
			return err
		}
		seq = &r
	}
	if f.memProfile != "" {
		if err := writeHeapProfile(f.memProfile); err != nil {
			return err
		}
	}
	rss, _ := peakRSS()
	rows := benchTable(f.scale, un, th, seq, rss)
	if !f.output.machine() {
		fmt.Fprintln(out)
		printBenchTable(out, rows)
	}
	fleet, err := benchFleet(ctx, f, log, msgs) // bench_fleet.go
	if err != nil {
		return err
	}
	if f.output.machine() {
		if err := writeList(out, f.output, benchRecords(rows, fleet)); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out)
		printFleetTable(out, fleet)
	}
	if !benchPassed(rows) || !fleetPassed(fleet) {
		return exitCode(1)
	}
	return nil
}

// writeHeapProfile writes the allocation profile of the process so far.
func writeHeapProfile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(fh, 0); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func benchLogger(file string) (*slog.Logger, func(), error) {
	switch file {
	case "":
		return slog.New(slog.DiscardHandler), func() {}, nil
	case "-":
		return slog.New(logctx.Handler(slog.NewJSONHandler(os.Stderr, nil))), func() {}, nil
	}
	fh, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, err
	}
	w := bufio.NewWriterSize(fh, 64<<10)
	return slog.New(logctx.Handler(slog.NewJSONHandler(w, nil))), func() { w.Flush(); fh.Close() }, nil
}

// bencher runs scenarios.
type bencher struct {
	dir      string
	log      *slog.Logger
	headroom float64
	timeout  time.Duration
	out      io.Writer
}

// run provisions sc's requests on a new simulator and a new database and
// returns what it measured. The clock runs from the submission of the
// first request to the arrival of the last outcome on the results queue.
func (b bencher) run(ctx context.Context, sc scenario) (runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	// Label the run's goroutines, and those they start, with its scenario:
	// go tool pprof -tagfocus scenario=unthrottled shows one run alone.
	defer pprof.SetGoroutineLabels(ctx)
	ctx = pprof.WithLabels(ctx, pprof.Labels("scenario", sc.name))
	pprof.SetGoroutineLabels(ctx)
	fmt.Fprintf(b.out, "%-12s %d requests… ", sc.name, len(sc.requests))

	run, err := graphsim.Start(ctx, benchSimulator(sc), "127.0.0.1:0")
	if err != nil {
		return runResult{}, err
	}
	defer run.Close()
	m, err := benchMicrosoft(run, sc, b.headroom, b.log)
	if err != nil {
		return runResult{}, err
	}
	path := filepath.Join(b.dir, sc.name+".db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return runResult{}, err
		}
	}
	store, err := local.Open(ctx, path, local.Options{Logger: b.log})
	if err != nil {
		return runResult{}, err
	}
	defer store.Close()
	chain, err := embedded.New(store, chainSteps(m, store.Claims(), store.NumberHolds(), nil, benchTiming(m.domains), b.log),
		embedded.Options{Concurrency: sc.concurrency, Logger: b.log})
	if err != nil {
		return runResult{}, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- chain.Run(runCtx) }()
	results := make(chan events.Event, 64)
	drained := make(chan error, 1)
	go func() { drained <- collectResults(runCtx, chain.Queue(events.Results), results) }()
	defer func() {
		stop()
		<-drained
		if err := <-done; err != nil {
			b.log.Warn("bench: shutdown", "error", err.Error())
		}
	}()

	// Fetch both tokens and open connections before the clock starts.
	if _, err := m.graph.Sku(ctx, steps.DefaultConfig().SkuPartNumber); err != nil {
		return runResult{}, fmt.Errorf("%s: warm-up: %w", sc.name, err)
	}
	if _, err := m.teams.ApplicationInstance(ctx, teamssim.SeedReceptionAccountID); err != nil {
		return runResult{}, fmt.Errorf("%s: warm-up: %w", sc.name, err)
	}
	run.Server.ResetLog()

	res := runResult{requests: len(sc.requests), failures: map[string]int{}}
	seen := make(map[string]bool, len(sc.requests))
	// record counts the first outcome of each request; a second one (a
	// redelivered complete step) reports nothing new.
	record := func(ev events.Event) bool {
		if seen[ev.Subject] {
			return false
		}
		seen[ev.Subject] = true
		if ev.Type == events.TypeProvisioningCompleted {
			res.completed++
			return true
		}
		reason := "unknown"
		if ev.Data.Failure != nil {
			reason = string(ev.Data.Failure.Reason)
		}
		res.failures[reason]++
		return true
	}
	waitOne := func() error {
		for {
			select {
			case ev := <-results:
				if record(ev) {
					return nil
				}
			case <-ctx.Done():
				return fmt.Errorf("%s: %d of %d requests finished: %w", sc.name, len(seen), len(sc.requests), ctx.Err())
			}
		}
	}

	start, cpu0 := time.Now(), cpuTime()
	if sc.oneAtATime {
		for _, r := range sc.requests {
			if _, err := chain.Submit(ctx, "", r); err != nil {
				return runResult{}, err
			}
			if err := waitOne(); err != nil {
				return runResult{}, err
			}
		}
	} else {
		if _, err := chain.Submit(ctx, "", sc.requests...); err != nil {
			return runResult{}, err
		}
		for range sc.requests {
			if err := waitOne(); err != nil {
				return runResult{}, err
			}
		}
	}
	res.wall = time.Since(start)
	if cpu1 := cpuTime(); cpu0 > 0 && cpu1 > cpu0 {
		res.cpu = cpu1 - cpu0
	}
	res.calls = sumCounts(run.Server.Counts())
	fmt.Fprintf(b.out, "%s completed in %s: %.0f accounts/s", res.outcome(), res.wall.Round(time.Millisecond), res.perSecond())
	if c := res.cpuPerAccount(); c != "" {
		fmt.Fprintf(b.out, ", %s", c)
	}
	fmt.Fprintln(b.out)
	return res, nil
}

// collectResults acknowledges every final event on the results queue and
// hands it to out, until ctx is done.
func collectResults(ctx context.Context, q *local.Queue, out chan<- events.Event) error {
	return local.Consume(ctx, q, local.ConsumeOptions{Concurrency: 4}, func(hctx context.Context, d transport.Delivery) error {
		ev, err := events.Decode(d.Body)
		if err != nil {
			return q.DeadLetter(hctx, d, "poison", err.Error())
		}
		if err := q.Delete(hctx, d.ID); err != nil {
			return err
		}
		select {
		case out <- ev:
		case <-ctx.Done(): // the run is over: nobody reads out any more
		}
		return nil
	})
}

// benchMicrosoft connects the adapters to the simulator with a budget of
// their own (not the process-wide one of the tenant, which the previous run
// drew from): unpaced when the simulator does not throttle, else Graph's
// limits with the simulator's time scale.
func benchMicrosoft(run *graphsim.Running, sc scenario, headroom float64, log *slog.Logger) (*microsoft, error) {
	limits := budget.Limits{} // no quotas: unpaced
	if sc.throttle {
		limits = budget.DefaultLimits(0)
		limits.Headroom = headroom
		limits.TimeScale = sc.scale
	}
	gc, tc := simulatorAt(run.URL, sc.scale)
	// Graph and the Teams admin back end are different hosts in Microsoft's
	// cloud, so each gets connections of its own here too.
	g, err := graph.New(gc, graph.WithHTTPClient(run.Client()), graph.WithBudget(budget.New(limits)), graph.WithLogger(log))
	if err != nil {
		return nil, err
	}
	t, err := teamsadmin.New(tc, g.Credential(), teamsadmin.WithHTTPClient(run.Client()), teamsadmin.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return &microsoft{graph: g, teams: t, simulated: true, domains: run.Server.State().VerifiedDomains}, nil
}

// callingPlanOperatorID is the operatorId Graph reports for Microsoft
// Calling Plan numbers.
const callingPlanOperatorID = "0019adbc-b82a-47b4-a799-4e993a9982f1"

// benchSimulator is the default tenant plus a free resource-account license
// and a free Calling Plan service number for every request, with no
// replication or operation delays, throttling as the scenario asks.
func benchSimulator(sc scenario) graphsim.Config {
	seed := graphsim.DefaultSeed()
	for i := range seed.Skus {
		if seed.Skus[i].SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			seed.Skus[i].Enabled += len(sc.requests)
		}
	}
	for _, r := range sc.requests {
		seed.Teams.Numbers = append(seed.Teams.Numbers, teamssim.Number{
			TelephoneNumber: r.PhoneNumber,
			OperatorID:      callingPlanOperatorID,
			NumberType:      teamssim.NumberTypeCallingPlan,
			Capabilities:    []string{teamssim.CapabilityConferenceAssignment, teamssim.CapabilityVoiceApplicationAssignment},
			IsoCountryCode:  r.UsageLocation,
		})
	}
	return graphsim.Config{
		Seed:     seed,
		RandSeed: 1, // nothing random is injected; fixed for reproducibility anyway
		Knobs:    graphsim.Knobs{Throttle: sc.throttle, TimeScale: sc.scale},
	}
}

// benchTiming is the step timing against a simulator without delays: short
// polls and retries, so that what is measured is work, not waiting.
func benchTiming(domains []string) steps.Config {
	c := steps.DefaultConfig()
	c.VerifiedDomains = domains
	c.LicenseRecheck = steps.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	c.NumberPoll = steps.Backoff{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond}
	c.Retry = steps.Backoff{Initial: 10 * time.Millisecond, Max: time.Second}
	c.LicenseWait = time.Minute
	c.NumberWait = time.Minute
	return c
}

// benchConfigurations are the default seed's auto attendant and call queue
// that the requests associate with.
var benchConfigurations = map[string]string{
	events.AccountTypeAutoAttendant: teamssim.SeedMainReceptionAAID,
	events.AccountTypeCallQueue:     teamssim.SeedSupportCQID,
}

// benchRequests returns n requests alternating auto attendants and call
// queues in the US, each with a phone number of its own and associated with
// one of the default seed's auto attendants or call queues.
func benchRequests(n int) ([]events.Request, error) {
	numbers, err := benchNumbers(n)
	if err != nil {
		return nil, err
	}
	reqs := make([]events.Request, n)
	for i := range reqs {
		kind, short := events.AccountTypeAutoAttendant, "aa"
		if i%2 == 1 {
			kind, short = events.AccountTypeCallQueue, "cq"
		}
		reqs[i] = events.Request{
			RequestID:         fmt.Sprintf("bench-%06d", i+1),
			DisplayName:       fmt.Sprintf("Bench %s %06d", strings.ToUpper(short), i+1),
			UserPrincipalName: fmt.Sprintf("ra-bench-%s-%06d@contoso.com", short, i+1),
			AccountType:       kind,
			UsageLocation:     "US",
			PhoneNumber:       numbers[i],
			NumberType:        events.NumberTypeCallingPlan,
			AssociateWith:     benchConfigurations[kind],
		}
	}
	return reqs, nil
}

// benchNumbers returns n distinct US numbers in E.164 form that libphonenumber
// accepts as valid and the default seed does not hold: first the 555-0100 to
// 555-0199 lines, reserved for fiction, in every US area code, then the
// other 555 lines.
func benchNumbers(n int) ([]string, error) {
	seeded := map[string]bool{}
	for _, num := range teamssim.DefaultSeed().Numbers {
		seeded[num.TelephoneNumber] = true
	}
	out := make([]string, 0, n)
	for _, lines := range [][2]int{{100, 199}, {200, 9999}} {
		for line := lines[0]; line <= lines[1]; line++ {
			for area := 201; area <= 989; area++ {
				if len(out) == n {
					return out, nil
				}
				if area%100 == 11 { // N11 codes are service codes, not area codes
					continue
				}
				e164 := fmt.Sprintf("+1%d555%04d", area, line)
				if seeded[e164] {
					continue
				}
				num, err := phonenumbers.Parse(e164, "US")
				if err != nil || !phonenumbers.IsValidNumberForRegion(num, "US") {
					continue
				}
				out = append(out, e164)
			}
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("only %d distinct US numbers available, %d requested", len(out), n)
	}
	return out, nil
}

// benchRow is one line of the table.
type benchRow struct {
	metric, target, measured string
	pass                     *bool // nil: information only
}

func verdict(ok bool) *bool { return &ok }

// benchTable turns the runs' measurements into the table's rows. rssKiB is
// the process's peak resident set size, 0 when unknown.
func benchTable(scale float64, un, th runResult, seq *runResult, rssKiB int) []benchRow {
	var rows []benchRow
	unOutcome := un.outcome()
	for _, o := range un.incomplete {
		unOutcome += "; another unthrottled run " + o
	}
	rows = append(rows, benchRow{"requests completed", "all",
		fmt.Sprintf("unthrottled %s; throttled %s", unOutcome, th.outcome()),
		verdict(un.completed == un.requests && len(un.incomplete) == 0 && th.completed == th.requests)})

	measured := fmt.Sprintf("%.0f accounts/s (%d in %s", un.perSecond(), un.completed, un.wall.Round(time.Millisecond))
	if len(un.rates) > 1 {
		rates := make([]string, len(un.rates))
		for i, r := range un.rates {
			rates[i] = fmt.Sprintf("%.0f", r)
		}
		measured = fmt.Sprintf("%.0f accounts/s, median of %d runs: %s (median run: %d in %s", un.perSecond(), len(un.rates),
			strings.Join(rates, ", "), un.completed, un.wall.Round(time.Millisecond))
	}
	if c := un.cpuPerAccount(); c != "" {
		measured += "; " + c
	}
	rows = append(rows, benchRow{"1. unthrottled throughput", fmt.Sprintf("≥ %.0f accounts/s", targetAccountsPerSecond),
		measured + ")", verdict(un.perSecond() >= targetAccountsPerSecond)})

	floor := writeFloor(th.calls.identityWrites, scale)
	ratio := 0.0
	if floor > 0 {
		ratio = th.wall.Seconds() / floor.Seconds()
	}
	measured = fmt.Sprintf("%.3f × floor (%s; floor %s = %d writes ÷ %d per %s)", ratio, th.wall.Round(time.Millisecond),
		floor.Round(time.Millisecond), th.calls.identityWrites, graphcost.WritesPerWindow, time.Duration(float64(graphcost.WriteWindow)*scale))
	if un.wall > floor/2 {
		measured += fmt.Sprintf("; the chain alone needs %s of it: raise --scale", un.wall.Round(time.Millisecond))
	}
	rows = append(rows, benchRow{"2. throttled wall time ÷ write floor", fmt.Sprintf("≤ %.2f × floor", targetFloorRatio),
		measured, verdict(floor > 0 && ratio <= targetFloorRatio)})

	per := func(n int) float64 { return float64(n) / float64(max(th.completed, 1)) }
	rows = append(rows, benchRow{"3. identity calls per account (throttled)", fmt.Sprintf("≤ %.1f writes", targetWritesPerAccount),
		fmt.Sprintf("%.2f writes, %.2f reads", per(th.calls.identityWrites), per(th.calls.identityReads)),
		verdict(th.completed > 0 && per(th.calls.identityWrites) <= targetWritesPerAccount)})

	share := float64(th.calls.throttled) / float64(max(th.calls.total, 1))
	rows = append(rows, benchRow{"4. 429 responses (throttled)", fmt.Sprintf("< %.0f %% of calls", targetThrottledShare*100),
		fmt.Sprintf("%.2f %% (%d of %d calls)", share*100, th.calls.throttled, th.calls.total),
		verdict(share < targetThrottledShare)})

	if seq != nil {
		measured := fmt.Sprintf("%.1f accounts/s (%s in %s, %s each", seq.perSecond(), seq.outcome(), seq.wall.Round(time.Millisecond),
			(seq.wall / time.Duration(max(seq.requests, 1))).Round(100*time.Microsecond))
		if c := seq.cpuPerAccount(); c != "" {
			measured += "; " + c
		}
		measured += fmt.Sprintf("); unthrottled is %.1f× faster", un.perSecond()/max(seq.perSecond(), 1e-9))
		var pass *bool // no target: information, unless requests failed
		if seq.completed != seq.requests {
			pass = verdict(false)
		}
		rows = append(rows, benchRow{"5. sequential baseline, one at a time", "—", measured, pass})
	}

	rss := "unknown"
	if rssKiB > 0 {
		rss = fmt.Sprintf("%.0f MiB", float64(rssKiB)/1024)
	}
	rows = append(rows, benchRow{"peak RSS (whole process, all runs)", "—", rss, nil})
	return rows
}

// result is the row's RESULT: PASS, FAIL, or info for a row without a target.
func (r benchRow) result() string {
	switch {
	case r.pass == nil:
		return "info"
	case *r.pass:
		return "PASS"
	}
	return "FAIL"
}

// benchPassed reports whether every target was met.
func benchPassed(rows []benchRow) bool {
	for _, r := range rows {
		if r.pass != nil && !*r.pass {
			return false
		}
	}
	return true
}

// printBenchTable writes the rows and reports whether every target was met.
func printBenchTable(out io.Writer, rows []benchRow) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tTARGET\tMEASURED\tRESULT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.metric, r.target, r.measured, r.result())
	}
	tw.Flush()
	return benchPassed(rows)
}

// benchRecords returns the JSON records of both tables: the chain's rows,
// then the fleet's.
func benchRecords(rows []benchRow, fleet []fleetResult) []benchRecord {
	out := make([]benchRecord, 0, len(rows)+len(fleet))
	for _, r := range rows {
		out = append(out, benchRecord{Section: "chain", Metric: r.metric, Target: r.target, Measured: r.measured, Result: r.result()})
	}
	for _, r := range fleet {
		row := r.row()
		out = append(out, benchRecord{
			Section:  "fleet",
			Metric:   fmt.Sprintf("%s, buckets at start %s", row.fleet, row.start),
			Target:   row.target,
			Measured: fmt.Sprintf("%s instances started; 429 responses %s; wall ÷ write floor %s", row.instances, row.throttled, row.floor),
			Result:   row.result,
		})
	}
	return out
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat CPU times;
// 100 on every architecture Go supports.
const clockTicks = 100

// cpuTime returns the CPU time, user and system, the process has used so
// far, from /proc/self/stat (Linux); 0 elsewhere.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// peakRSS returns the process's peak resident set size in KiB, from
// /proc/self/status (Linux).
func peakRSS() (int, bool) {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb, err == nil
		}
	}
	return 0, false
}

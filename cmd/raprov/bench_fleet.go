package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ctxsleep"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
	"github.com/raprov/raprov/shared/steps"
)

// The fleet section of raprov bench: a Lambda fleet of K instances against
// one simulated tenant, each instance a process of its own with its own
// Graph client and budget of Share = K, instances replaced every fraction
// of a write window as in a crash loop. docs/aws-budget.md explains it.

// targetFleetThrottledShare is the most 429s, as a share of the fleet's
// Graph calls, that the budget with the fix may cause.
const targetFleetThrottledShare = 0.02

// fleetScenario is one fleet run.
type fleetScenario struct {
	// instances is K: the step's MaximumConcurrency, and each instance's
	// Share.
	instances int
	// startEmpty: instances start with empty buckets (the fix, what
	// Share sets); false starts them full, as raprov did before.
	startEmpty bool
	// unshared gives every instance the whole tenant's quotas, as when
	// RAPROV_GRAPH_SHARE is not set (buckets full at start).
	unshared bool
	// accounts are provisioned by the fleet: one create and one license
	// assignment each, the chain's two identity writes.
	accounts int
	headroom float64
	// writesPerWindow is the simulated tenant's identity write quota per
	// write window (Graph's 3,000 per 150 s, lowered so that a run spans
	// several windows without the machine's CPU limiting it).
	writesPerWindow int
	// scale multiplies every window, in the simulator and the budgets.
	scale float64
	// minLife and maxLife bound an instance's lifetime, in write windows:
	// each one's is drawn uniformly between them.
	minLife, maxLife float64
	// handlers are the accounts one instance works on at once: 1, as the
	// template's functions take one record per invocation (BatchSize 1).
	handlers int
	// seed draws the lifetimes; the same seed gives every variant the same
	// schedule of instance starts.
	seed uint64
}

// maxFleetAccounts caps the accounts of one fleet run, so that a large
// --requests does not make the fleet section last minutes: at the fleet's
// quota 1,000 accounts take about 3.7 s.
const maxFleetAccounts = 1000

// defaultFleetScenarios are the bench's runs: K = 2, 5 and 10, each with
// instances that start full (before) and empty (the fix), and K = 5 without
// a share for reference. The write window lasts 1 s, the quota is 600
// writes per window, and instances live 5–25 % of a window (7.5–37.5 s in
// real time: a crash loop), each working on one account at a time.
func defaultFleetScenarios(accounts int, headroom float64) []fleetScenario {
	base := fleetScenario{
		accounts: min(accounts, maxFleetAccounts), headroom: headroom,
		writesPerWindow: 600, scale: 1.0 / 150, minLife: 0.05, maxLife: 0.25, handlers: 1, seed: 1,
	}
	var out []fleetScenario
	for _, k := range []int{2, 5, 10} {
		for _, empty := range []bool{false, true} {
			sc := base
			sc.instances, sc.startEmpty = k, empty
			out = append(out, sc)
		}
	}
	sc := base
	sc.instances, sc.unshared = 5, true
	return append(out, sc)
}

// window is the scaled write window.
func (sc fleetScenario) window() time.Duration {
	return time.Duration(float64(graphcost.WriteWindow) * sc.scale)
}

// limits are one instance's budget: the tenant's quotas (the write quota
// lowered to the simulator's) shared by K.
func (sc fleetScenario) limits() budget.Limits {
	l := budget.DefaultLimits(0)
	l.Writes = sc.writesPerWindow
	l.Headroom = sc.headroom
	l.TimeScale = sc.scale
	if sc.unshared {
		return l
	}
	l = l.Share(sc.instances)
	l.StartEmpty = sc.startEmpty
	return l
}

// share is each instance's Share: K, or none.
func (sc fleetScenario) share() string {
	if sc.unshared {
		return "none"
	}
	return fmt.Sprint(sc.instances)
}

func (sc fleetScenario) startName() string {
	switch {
	case sc.unshared:
		return "full (no share)"
	case sc.startEmpty:
		return "empty (fix)"
	}
	return "full (before)"
}

// fleetResult is what one fleet run measured.
type fleetResult struct {
	scenario fleetScenario
	starts   int // instances started
	// calls are the Graph calls the simulator saw (identity and Teams; not
	// the token endpoint), throttled those answered 429.
	calls, throttled int
	writes           int // identity writes admitted (charged to the quota)
	wall             time.Duration
}

func (r fleetResult) throttledShare() float64 {
	return float64(r.throttled) / float64(max(r.calls, 1))
}

// floor is the time the tenant's write quota needs for the writes made:
// writes ÷ quota × window, as writeFloor computes it for Graph's quota.
func (r fleetResult) floor() time.Duration {
	return time.Duration(float64(r.writes) / float64(r.scenario.writesPerWindow) * float64(r.scenario.window()))
}

func (r fleetResult) floorRatio() float64 {
	f := r.floor()
	if f <= 0 {
		return 0
	}
	return r.wall.Seconds() / f.Seconds()
}

// pass reports whether the run met its target: only runs with the fix
// have one.
func (r fleetResult) pass() *bool {
	if !r.scenario.startEmpty {
		return nil
	}
	return verdict(r.calls > 0 && r.throttledShare() < targetFleetThrottledShare)
}

// benchFleet runs the fleet section of raprov bench, printing what it runs
// to progress, and returns the runs' results for printFleetTable or
// benchRecords.
func benchFleet(ctx context.Context, f benchFlags, log *slog.Logger, progress io.Writer) ([]fleetResult, error) {
	scs := defaultFleetScenarios(f.requests, f.headroom)
	sc0 := scs[0]
	fmt.Fprintf(progress, "\nfleet: %d accounts (2 identity writes each) per run by K instances of Share K; quota %d writes per %s window (time scale %.4g), headroom %g; instances live %.0f–%.0f %% of a window (a crash loop), %d account(s) at a time each\n",
		sc0.accounts, sc0.writesPerWindow, sc0.window(), sc0.scale, sc0.headroom, sc0.minLife*100, sc0.maxLife*100, sc0.handlers)
	var results []fleetResult
	for _, sc := range scs {
		r, err := runFleetLabelled(ctx, sc, f.timeout, log, progress)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return results, nil
}

// runFleetLabelled runs sc with a timeout and a pprof label, printing a
// progress line.
func runFleetLabelled(ctx context.Context, sc fleetScenario, timeout time.Duration, log *slog.Logger, out io.Writer) (fleetResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer pprof.SetGoroutineLabels(ctx)
	ctx = pprof.WithLabels(ctx, pprof.Labels("scenario", "fleet"))
	pprof.SetGoroutineLabels(ctx)
	fmt.Fprintf(out, "fleet        K=%-2d start %-15s %d accounts… ", sc.instances, sc.startName(), sc.accounts)
	r, err := runFleet(ctx, sc, log)
	if err != nil {
		fmt.Fprintln(out, "failed")
		return r, err
	}
	fmt.Fprintf(out, "%d instances, %s, %.2f %% 429\n", r.starts, r.wall.Round(time.Millisecond), r.throttledShare()*100)
	return r, nil
}

// runFleet provisions sc.accounts on a new throttling simulator with a fleet
// of sc.instances slots. Each slot runs one instance at a time: a new
// graph client with a connection, a token and a budget of its own, which
// takes accounts from the shared queue until its lifetime is over, finishes
// what it holds and is replaced by a new one, until the queue is empty.
func runFleet(ctx context.Context, sc fleetScenario, log *slog.Logger) (fleetResult, error) {
	res := fleetResult{scenario: sc}
	run, err := graphsim.Start(ctx, fleetSimulator(sc), "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()

	jobs := make(chan int, sc.accounts)
	for i := range sc.accounts {
		jobs <- i
	}
	close(jobs)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var starts atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for slot := range sc.instances {
		rng := rand.New(rand.NewPCG(sc.seed, uint64(slot)))
		wg.Go(func() {
			for ctx.Err() == nil {
				life := sc.minLife + rng.Float64()*(sc.maxLife-sc.minLife)
				starts.Add(1)
				more, err := runInstance(ctx, run, sc, jobs, time.Now().Add(time.Duration(life*float64(sc.window()))), log)
				if err != nil {
					cancel(err)
					return
				}
				if !more {
					return
				}
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("fleet K=%d: %w", sc.instances, err)
	}
	res.starts = int(starts.Load())
	for route, n := range run.Server.Counts() {
		method, pattern, _ := strings.Cut(route, " ")
		cost := graphcost.Of(method, pattern, nil)
		if cost.Service == graphcost.Other {
			continue // the token endpoint
		}
		res.calls += n.Total
		res.throttled += n.Throttled
		if cost.Service == graphcost.Identity && method != http.MethodGet && method != http.MethodHead {
			res.writes += n.Total - n.Throttled
		}
	}
	return res, nil
}

// runInstance is one instance's life: until the deadline, each of its
// handlers takes an account and provisions it. It reports whether accounts
// are left for another instance.
func runInstance(ctx context.Context, run *graphsim.Running, sc fleetScenario, jobs <-chan int, until time.Time, log *slog.Logger) (bool, error) {
	hc := run.Client() // a new process: connections of its own
	defer hc.CloseIdleConnections()
	gc, _ := simulatorAt(run.URL, sc.scale)
	g, err := graph.New(gc, graph.WithHTTPClient(hc), graph.WithBudget(budget.New(sc.limits())), graph.WithLogger(log))
	if err != nil {
		return false, err
	}
	var drained atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, sc.handlers)
	for range sc.handlers {
		wg.Go(func() {
			for time.Now().Before(until) && ctx.Err() == nil {
				i, ok := <-jobs
				if !ok {
					drained.Store(true)
					return
				}
				if err := fleetProvision(ctx, g, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return !drained.Load(), <-errs
}

// fleetProvision makes the chain's two identity writes for account i: the
// create (usageLocation set in the same call) and the license assignment.
func fleetProvision(ctx context.Context, g *graph.Client, i int) error {
	upn := fmt.Sprintf("ra-fleet-%06d@contoso.com", i)
	var acc steps.Account
	err := retryThrottled(ctx, func() error {
		var err error
		acc, err = g.Create(ctx, steps.NewAccount{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Fleet %06d", i), UsageLocation: "US"})
		return err
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", upn, err)
	}
	if err := retryThrottled(ctx, func() error { return g.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID) }); err != nil {
		return fmt.Errorf("assign license to %s: %w", upn, err)
	}
	return nil
}

// retryThrottled calls fn again after the Retry-After of each Throttled
// error it returns, as the queue's delayed redelivery does in production
// once the client's own retries are spent.
func retryThrottled(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Throttled {
			return err
		}
		if err := ctxsleep.Sleep(ctx, max(e.RetryAfter, time.Millisecond)); err != nil {
			return err
		}
	}
}

// fleetSimulator is the default tenant with a free resource-account license
// for every account, throttling on with sc's write quota and time scale.
func fleetSimulator(sc fleetScenario) graphsim.Config {
	seed := graphsim.DefaultSeed()
	for i := range seed.Skus {
		if seed.Skus[i].SkuPartNumber == graphsim.VirtualUserSkuPartNumber {
			seed.Skus[i].Enabled += sc.accounts
		}
	}
	return graphsim.Config{
		Seed:     seed,
		RandSeed: 1,
		Knobs:    graphsim.Knobs{Throttle: true, TimeScale: sc.scale, WritesPerWindow: sc.writesPerWindow},
	}
}

// fleetRow is one fleet run as its table row shows it.
type fleetRow struct {
	fleet, start, instances, throttled, floor, target, result string
}

func (r fleetResult) row() fleetRow {
	row := fleetRow{
		fleet:     fmt.Sprintf("K=%d, Share %s", r.scenario.instances, r.scenario.share()),
		start:     r.scenario.startName(),
		instances: fmt.Sprint(r.starts),
		throttled: fmt.Sprintf("%.2f %% (%d of %d calls)", r.throttledShare()*100, r.throttled, r.calls),
		floor: fmt.Sprintf("%.2f × (%s; floor %s = %d writes)", r.floorRatio(), r.wall.Round(time.Millisecond),
			r.floor().Round(time.Millisecond), r.writes),
		target: "—", result: "info",
	}
	if p := r.pass(); p != nil {
		row.target, row.result = fmt.Sprintf("< %.0f %% 429", targetFleetThrottledShare*100), "PASS"
		if !*p {
			row.result = "FAIL"
		}
	}
	return row
}

// fleetPassed reports whether every fleet run met its target.
func fleetPassed(results []fleetResult) bool {
	for _, r := range results {
		if p := r.pass(); p != nil && !*p {
			return false
		}
	}
	return true
}

// printFleetTable writes the fleet's rows and reports whether every target
// was met.
func printFleetTable(out io.Writer, results []fleetResult) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLEET\tBUCKETS AT START\tINSTANCES STARTED\t429 RESPONSES\tWALL ÷ WRITE FLOOR\tTARGET\tRESULT")
	for _, r := range results {
		row := r.row()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.fleet, row.start, row.instances, row.throttled, row.floor, row.target, row.result)
	}
	tw.Flush()
	return fleetPassed(results)
}

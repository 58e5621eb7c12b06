//go:build linux

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/ledger"
)

// reportEnv turns TestReportAWS on; `make report-aws` sets it.
const reportEnv = "RAPROV_REPORT_AWS"

// warmInvocations is how many empty batches measure a warm invocation.
const warmInvocations = 25

// coldStarts is how many cold starts of each function, and of the bare
// handler, measure init and the first invocation: the report gives their
// medians. The starts go round the functions in turn, so that the load of
// a shared machine falls on all of them alike.
const coldStarts = 9

// initRuns is how many runs of each binary measure its package init.
const initRuns = 11

// The targets the report checks (docs/aws.md's functions, 128 MB each).
const (
	targetZip        = 3 << 20 // functions without Graph, zipped
	targetZipGraph   = 9 << 20 // functions that link msgraph-sdk-go
	targetFirst      = 10 * time.Millisecond
	targetFirstGraph = 25 * time.Millisecond
	targetMemory     = 128 << 20 // MemorySize 128 (MB, that is MiB)
)

// bareHandler is the baseline every function is measured against: an
// aws-lambda-go SQS handler that does nothing, built, packaged and run as
// the functions are, in the same run.
const bareHandler = `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	})
}
`

// bareName is the baseline's row in the report.
const bareName = "(bare handler)"

// TestReportAWS prints one row per function, after one for a bare
// aws-lambda-go handler measured the same way in the same run (the ×bare
// columns divide by it):
//
//   - zip: the deployable zip (make package: linux/arm64);
//   - package init: the sum of GODEBUG=inittrace=1's per-package clock
//     times, the function's amd64 binary run alone (it exits at once for
//     want of configuration), median of initRuns runs; and the CPU time
//     (user + system) of that process, start to exit, which a loaded
//     machine inflates less than clock times;
//   - under the Lambda Runtime Interface Emulator, median of coldStarts
//     fresh emulators each (and the least, for the first invocation): init (the emulator's INIT REPORT, from starting
//     the function's process to its first request for work: runtime and
//     package init, main, reading the secret), first invoke (the first
//     invocation call, an empty batch, seen by the caller: the emulator
//     starts the function's process on it, so this is process start to the
//     first answer plus the emulator's hand-offs) and the first
//     invocation's REPORT Duration (the emulator starts its clock once it
//     has set the process starting, so this is the same span as the
//     emulator measures it, init included);
//   - warm: median of warmInvocations empty batches, seen by the caller and
//     inside the function (REPORT Duration);
//   - peak RSS: VmHWM of the function's process after a real request went
//     through the whole chain.
//
// It only prints: the last column says which targets a function misses,
// judging the first invocation by the caller's figure.
func TestReportAWS(t *testing.T) {
	if os.Getenv(reportEnv) != "1" {
		t.Skip("prints the AWS functions' report; run it with `make report-aws` (" + reportEnv + "=1)")
	}
	zips := deployableZips(t)
	bare, bareZip := buildBare(t)
	s := newStack(t, stackConfig{noPollers: true}) // starts each function cold, one after the other

	type row struct {
		step                string
		graph               bool
		zip                 int64
		pkgInit, cpu        time.Duration
		init, call, report  time.Duration
		warm, warmInside    time.Duration
		peak                int64
		misses              []string
		bootstrap, function string
		env                 []string
		inits, calls, reps  []time.Duration
	}
	rows := []*row{{step: bareName, zip: bareZip, bootstrap: bare, function: s.name + "-bare"}}
	for _, step := range events.AllSteps {
		f := s.fns[step]
		rows = append(rows, &row{step: step, graph: f.graph, zip: zips[step], bootstrap: filepath.Join(functionsDir, step), function: s.name + "-" + step, env: f.env})
	}
	ctx := context.Background()
	floor, floorMin := execFloor(t)

	for _, r := range rows {
		d, cpu, err := packageInit(ctx, r.bootstrap)
		if err != nil {
			t.Fatalf("%s: %v", r.step, err)
		}
		r.pkgInit, r.cpu = d, cpu
	}

	for round := range coldStarts {
		for i := range rows {
			r := rows[(i+round)%len(rows)]
			c, err := coldStart(ctx, r.bootstrap, r.env, r.function)
			if err != nil {
				t.Fatalf("%s: cold start: %v", r.step, err)
			}
			r.inits, r.calls, r.reps = append(r.inits, c.init), append(r.calls, c.call), append(r.reps, c.first)
		}
	}
	for _, r := range rows {
		r.init, r.call, r.report = median(r.inits), median(r.calls), median(r.reps)
	}

	// Warm invocations: the stack's emulators, and one more for the bare
	// handler, which it keeps to the end for its peak memory.
	bareRIE, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{Bootstrap: bare, FunctionName: s.name + "-bare"})
	if err != nil {
		t.Fatalf("bare handler: %v", err)
	}
	defer bareRIE.Close()
	if _, err := bareRIE.Invoke(ctx, emptyBatch); err != nil {
		t.Fatalf("bare handler: %v\n%s", err, tail(bareRIE.Output(), 4<<10))
	}
	rie := func(r *row) *awslocal.RIE {
		if r.step == bareName {
			return bareRIE
		}
		return s.fns[r.step].current()
	}
	for _, r := range rows {
		e := rie(r)
		var warm []time.Duration
		for range warmInvocations {
			t0 := time.Now()
			if _, err := e.Invoke(ctx, emptyBatch); err != nil {
				t.Fatalf("%s: %v", r.step, err)
			}
			warm = append(warm, time.Since(t0))
		}
		var inside []time.Duration
		deadline := time.Now().Add(5 * time.Second)
		for len(inside) < warmInvocations && time.Now().Before(deadline) {
			reps := e.Reports()
			inside = inside[:0]
			for _, rep := range reps[min(1, len(reps)):] { // the first is the cold invocation
				inside = append(inside, rep.Duration)
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.warm, r.warmInside = median(warm), median(inside)
	}

	// A real request through the chain, so that peak memory covers the
	// handling of a record (Graph calls, ledger writes, sends).
	s.startPollers()
	req := request("e2e-report", cq, "+13125550105", teamssim.SeedSupportCQID)
	s.submit(t, req)
	s.await(t, req.RequestID, ledger.Completed)
	s.quiesce(t)
	for _, r := range rows {
		peak, err := rie(r).PeakRSS()
		if err != nil {
			t.Fatalf("%s: %v", r.step, err)
		}
		r.peak = peak
		if r.step == bareName {
			continue
		}
		zipMax, firstMax := int64(targetZip), targetFirst
		if r.graph {
			zipMax, firstMax = targetZipGraph, targetFirstGraph
		}
		if r.zip > zipMax {
			r.misses = append(r.misses, fmt.Sprintf("zip > %s", mib(zipMax)))
		}
		if r.call > firstMax {
			r.misses = append(r.misses, fmt.Sprintf("first > %s", ms(firstMax)))
		}
		if r.peak > targetMemory {
			r.misses = append(r.misses, fmt.Sprintf("memory > %s", mib(targetMemory)))
		}
	}

	base := rows[0]
	var b strings.Builder
	fmt.Fprintf(&b, "\nraprov AWS functions (make report-aws)\n")
	fmt.Fprintf(&b, "targets: without Graph ≤ %s zipped and ≤ %s first invocation; Graph functions ≤ %s and ≤ %s; every function within %s (MemorySize 128)\n",
		mib(targetZip), ms(targetFirst), mib(targetZipGraph), ms(targetFirstGraph), mib(targetMemory))
	fmt.Fprintf(&b, "zip: dist/<step>.zip (linux/arm64, make package). Times and memory: the same code built for linux/%s, run natively on this machine (%d CPUs), by the Lambda Runtime Interface Emulator but for package init; not Lambda's arm64.\n",
		runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "this machine starts and reaps a process that does nothing (true) in %s (median of %d; least %s): a floor under every first invocation here.\n", ms(floor), initRuns*2, ms(floorMin))
	fmt.Fprintf(&b, "pkg init = sum of GODEBUG=inittrace=1 clock times, the binary run alone (it exits for want of configuration), median of %d runs; CPU = that process's user + system time, start to exit. Under the emulator, median of %d cold starts each: init = INIT REPORT (process start to its first request for work: package init, main, reading the secret); first = the first invocation call (median, and min = the least), an empty batch, as the caller saw it (process start to the first answer, plus the emulator's hand-offs: the emulator starts the process on this call); 1st REPORT = the first invocation's REPORT Duration (the emulator's own clock, from setting the process starting to the first answer: init included). warm = median of %d empty batches, seen by the caller / inside the function (REPORT Duration); peak RSS = VmHWM of the function's process after one request went through the chain. ×bare = this figure over the bare aws-lambda-go handler's in this run. targets judge first.\n\n",
		initRuns, coldStarts, warmInvocations)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\tGraph\tzip (arm64)\t×bare\tpkg init\tCPU\t×bare\tinit\tfirst invoke\tmin\t×bare\t1st REPORT\twarm\twarm (REPORT)\tpeak RSS\t\ttargets\t")
	for _, r := range rows {
		graph, verdict := "no", "met"
		if r.graph {
			graph = "yes"
		}
		if len(r.misses) > 0 {
			verdict = "missed: " + strings.Join(r.misses, ", ")
		}
		if r == base {
			graph, verdict = "-", "(baseline)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t%s\t\n", r.step, graph,
			mib(r.zip), ratio(float64(r.zip), float64(base.zip)),
			ms(r.pkgInit), ms(r.cpu), ratio(float64(r.cpu), float64(base.cpu)),
			ms(r.init), ms(r.call), ms(slices.Min(r.calls)), ratio(float64(r.call), float64(base.call)), ms(r.report),
			ms(r.warm), ms(r.warmInside), mib(r.peak), verdict)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\ncold starts, in order (first invoke): ")
	for i, r := range rows {
		if i > 0 {
			b.WriteString("; ")
		}
		parts := make([]string, len(r.calls))
		for j, d := range r.calls {
			parts[j] = fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
		}
		fmt.Fprintf(&b, "%s %s", r.step, strings.Join(parts, " "))
	}
	b.WriteString(" ms\n")
	fmt.Println(b.String())
}

// buildBare builds bareHandler with this module's aws-lambda-go, as the
// Makefile's build-aws builds a function: for this machine (returned, to
// run under the emulator) and for linux/arm64, zipped as `make package`
// zips (its size returned).
func buildBare(t *testing.T) (bootstrap string, zipSize int64) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(bareHandler), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(goarch, out string) {
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, src)
		cmd.Dir = repoRoot // this module's go.mod: the functions' aws-lambda-go
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bare handler, linux/%s: %v\n%s", goarch, err, b)
		}
	}
	bootstrap = filepath.Join(dir, runtime.GOARCH, "bootstrap")
	build(runtime.GOARCH, bootstrap)
	arm := filepath.Join(dir, "arm64", "bootstrap")
	if runtime.GOARCH != "arm64" {
		build("arm64", arm)
	}
	zip := filepath.Join(dir, "bare.zip")
	cmd := exec.Command("go", "run", "./infra/aws/cmd/lambdazip", "-o", zip, arm)
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bare handler: lambdazip: %v\n%s", err, b)
	}
	st, err := os.Stat(zip)
	if err != nil {
		t.Fatal(err)
	}
	return bootstrap, st.Size()
}

// packageInit runs bin alone initRuns times with GODEBUG=inittrace=1 and
// returns the medians of the sums of its packages' init clock times and of
// the process's CPU time (user + system, start to exit). bin gets an empty
// environment: a function finds no configuration and no Runtime API and
// exits at once, after its package init.
func packageInit(ctx context.Context, bin string) (clock, cpu time.Duration, err error) {
	var sums, cpus []time.Duration
	for range initRuns {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cmd := exec.CommandContext(ctx, bin)
		cmd.Dir = filepath.Dir(bin)
		cmd.Env = []string{"GODEBUG=inittrace=1"}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Run() // it fails, for want of configuration
		cancel()
		if cmd.ProcessState == nil {
			return 0, 0, fmt.Errorf("%s did not start", bin)
		}
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		var sum float64
		n := 0
		for line := range strings.Lines(stderr.String()) {
			// init <package> @<since start> ms, <clock> ms clock, <n> bytes, <n> allocs
			f := strings.Fields(line)
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			v, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				return 0, 0, fmt.Errorf("inittrace line %q: %w", line, err)
			}
			sum += v
			n++
		}
		if n == 0 {
			return 0, 0, fmt.Errorf("%s printed no inittrace lines:\n%s", bin, tail(stderr.String(), 4<<10))
		}
		sums = append(sums, time.Duration(sum*float64(time.Millisecond)))
	}
	return median(sums), median(cpus), nil
}

// execFloor returns the median and the least of 2×initRuns runs of
// true(1): what starting a process costs on this machine before any Go
// runs.
func execFloor(t *testing.T) (med, least time.Duration) {
	t.Helper()
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Fatalf("true(1) is not on PATH: %v", err)
	}
	var ds []time.Duration
	for range initRuns * 2 {
		t0 := time.Now()
		if err := exec.Command(bin).Run(); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	return median(ds), slices.Min(ds)
}

// coldSample is one cold start under the emulator.
type coldSample struct {
	init  time.Duration // INIT REPORT
	call  time.Duration // the first invocation call, as the caller saw it
	first time.Duration // the first invocation's REPORT Duration
}

// coldStart starts a fresh emulator for bootstrap, invokes it once with an
// empty batch and stops it.
func coldStart(ctx context.Context, bootstrap string, env []string, name string) (coldSample, error) {
	r, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{Bootstrap: bootstrap, Env: env, FunctionName: name})
	if err != nil {
		return coldSample{}, err
	}
	defer r.Close()
	t0 := time.Now()
	if _, err := r.Invoke(ctx, emptyBatch); err != nil {
		return coldSample{}, fmt.Errorf("%w\n%s", err, tail(r.Output(), 4<<10))
	}
	call := time.Since(t0)
	deadline := time.Now().Add(2 * time.Second)
	for {
		inits, reps := r.InitDurations(), r.Reports()
		if len(inits) == 1 && len(reps) == 1 {
			return coldSample{init: inits[0], call: call, first: reps[0].Duration}, nil
		}
		if time.Now().After(deadline) {
			return coldSample{}, fmt.Errorf("%d INIT REPORT and %d REPORT lines after one invocation, want one each", len(inits), len(reps))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ratio(x, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", x/base)
}

// deployableZips returns the size of each dist/<step>.zip, running
// `make package` first when one is missing.
func deployableZips(t *testing.T) map[string]int64 {
	t.Helper()
	sizes := func() (map[string]int64, []string) {
		out := map[string]int64{}
		var missing []string
		for _, step := range events.AllSteps {
			st, err := os.Stat(filepath.Join(repoRoot, "dist", step+".zip"))
			if err != nil {
				missing = append(missing, step)
				continue
			}
			out[step] = st.Size()
		}
		return out, missing
	}
	out, missing := sizes()
	if len(missing) == 0 {
		return out
	}
	t.Logf("no deployable zip of %v: running make package", missing)
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("dist/ lacks the zips of %v and make is not on PATH to build them (make package): %v", missing, err)
	}
	cmd := exec.Command(mk, "package")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, b)
	}
	if out, missing = sizes(); len(missing) > 0 {
		t.Fatalf("make package made no zip of %v", missing)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

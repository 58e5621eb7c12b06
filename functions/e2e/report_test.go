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
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/ledger"
)

// reportEnv turns TestReportAWS on; `make report-aws` sets it.
const reportEnv = "RAPROV_REPORT_AWS"

// warmInvocations is how many empty batches measure a warm invocation.
const warmInvocations = 25

// The targets the report checks (docs/aws.md's functions, 128 MB each).
const (
	targetZip        = 3 << 20 // functions without Graph, zipped
	targetZipGraph   = 9 << 20 // functions that link msgraph-sdk-go
	targetFirst      = 10 * time.Millisecond
	targetFirstGraph = 25 * time.Millisecond
	targetMemory     = 128 << 20 // MemorySize 128 (MB, that is MiB)
)

// TestReportAWS prints one row per function: the size of its deployable
// zip (make package: linux/arm64), its init time (the emulator's INIT
// REPORT), its first invocation (emulator process start to the first
// answer, an empty batch), its warm invocation (median of
// warmInvocations empty batches, as the test saw it and as the emulator's
// REPORT measured it) and its peak resident memory after a real request
// went through the whole chain. It only prints: the last column says which
// targets a function misses.
func TestReportAWS(t *testing.T) {
	if os.Getenv(reportEnv) != "1" {
		t.Skip("prints the AWS functions' report; run it with `make report-aws` (" + reportEnv + "=1)")
	}
	zips := deployableZips(t)
	s := newStack(t, stackConfig{noPollers: true}) // starts each function cold, one after the other

	type row struct {
		step              string
		graph             bool
		zip               int64
		init, first, call time.Duration
		warm, warmInside  time.Duration
		peak              int64
		misses            []string
	}
	rows := make([]*row, 0, len(events.Steps))
	ctx := context.Background()
	for _, step := range events.Steps {
		f := s.fns[step]
		r := f.current()
		inits := r.InitDurations()
		if len(inits) != 1 {
			t.Fatalf("%s: %d INIT REPORT lines, want 1", step, len(inits))
		}
		var warm []time.Duration
		for range warmInvocations {
			t0 := time.Now()
			if _, err := r.Invoke(ctx, emptyBatch); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			warm = append(warm, time.Since(t0))
		}
		var inside []time.Duration
		deadline := time.Now().Add(5 * time.Second)
		for len(inside) < warmInvocations && time.Now().Before(deadline) {
			reps := r.Reports()
			inside = inside[:0]
			for _, rep := range reps[min(1, len(reps)):] { // the first is the cold invocation
				inside = append(inside, rep.Duration)
			}
			time.Sleep(10 * time.Millisecond)
		}
		rows = append(rows, &row{step: step, graph: f.graph, zip: zips[step], init: inits[0], first: f.cold, call: f.coldInvoke, warm: median(warm), warmInside: median(inside)})
	}

	// A real request through the chain, so that peak memory covers the
	// handling of a record (Graph calls, ledger writes, sends).
	s.startPollers()
	req := request("e2e-report", cq, "+13125550105", teamssim.SeedSupportCQID)
	s.submit(t, req)
	s.await(t, req.RequestID, ledger.Completed)
	s.quiesce(t)
	for _, r := range rows {
		peak, err := s.fns[r.step].current().PeakRSS()
		if err != nil {
			t.Fatalf("%s: %v", r.step, err)
		}
		r.peak = peak
		zipMax, firstMax := int64(targetZip), targetFirst
		if r.graph {
			zipMax, firstMax = targetZipGraph, targetFirstGraph
		}
		if r.zip > zipMax {
			r.misses = append(r.misses, fmt.Sprintf("zip > %s", mib(zipMax)))
		}
		if r.first > firstMax {
			r.misses = append(r.misses, fmt.Sprintf("first > %s", ms(firstMax)))
		}
		if r.peak > targetMemory {
			r.misses = append(r.misses, fmt.Sprintf("memory > %s", mib(targetMemory)))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nraprov AWS functions (make report-aws)\n")
	fmt.Fprintf(&b, "targets: without Graph ≤ %s zipped and ≤ %s first invocation; Graph functions ≤ %s and ≤ %s; every function within %s (MemorySize 128)\n",
		mib(targetZip), ms(targetFirst), mib(targetZipGraph), ms(targetFirstGraph), mib(targetMemory))
	fmt.Fprintf(&b, "zip: dist/<step>.zip (linux/arm64, make package). Times and memory: the same code built for linux/%s, run natively by the Lambda Runtime Interface Emulator on this machine (%d CPUs), not on Lambda's arm64.\n",
		runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "init = the emulator's INIT REPORT; first = emulator process start to the first answer (an empty batch: init, reading the secret, one invocation), and of it the first invocation call alone; warm = median of %d empty batches, seen by the caller / inside the function (REPORT Duration); peak RSS = VmHWM of the function's process after one request went through the chain.\n\n", warmInvocations)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\tGraph\tzip (arm64)\tinit\tfirst invoke\t(call)\twarm\twarm (REPORT)\tpeak RSS\t\ttargets\t")
	for _, r := range rows {
		graph := "no"
		if r.graph {
			graph = "yes"
		}
		verdict := "met"
		if len(r.misses) > 0 {
			verdict = "missed: " + strings.Join(r.misses, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t%s\t\n", r.step, graph, mib(r.zip), ms(r.init), ms(r.first), ms(r.call), ms(r.warm), ms(r.warmInside), mib(r.peak), verdict)
	}
	tw.Flush()
	fmt.Println(b.String())
}

// deployableZips returns the size of each dist/<step>.zip, running
// `make package` first when one is missing.
func deployableZips(t *testing.T) map[string]int64 {
	t.Helper()
	sizes := func() (map[string]int64, []string) {
		out := map[string]int64{}
		var missing []string
		for _, step := range events.Steps {
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

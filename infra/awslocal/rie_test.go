//go:build linux

package awslocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/awslocal"
)

// fakeRuntimeEnv makes this test binary a Lambda function: started with it
// set (as the emulator's bootstrap), it serves the Runtime API loop of
// fakeRuntime instead of running tests.
const fakeRuntimeEnv = "RAPROV_RIE_TEST_BOOTSTRAP"

func init() {
	if os.Getenv(fakeRuntimeEnv) == "1" {
		os.Exit(fakeRuntime())
	}
}

// fakeInput is what the fake function understands.
type fakeInput struct {
	Echo    string `json:"echo"`
	Sleep   string `json:"sleep"`   // sleep this long first (after logging "sleeping")
	AllocMB int    `json:"allocMB"` // touch this much memory first
	Fail    bool   `json:"fail"`    // answer with the Runtime API's error document
}

// fakeRuntime is a Lambda custom runtime on the Runtime API alone
// (no aws-lambda-go, which this package does not link).
func fakeRuntime() int {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	fmt.Println("fake runtime ready, memory size", os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	var keep [][]byte
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			return 1
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var in fakeInput
		json.Unmarshal(body, &in)
		if in.AllocMB > 0 {
			b := make([]byte, in.AllocMB<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		if d, err := time.ParseDuration(in.Sleep); err == nil {
			fmt.Println("sleeping", d)
			time.Sleep(d)
		}
		path, out := "/response", []byte(fmt.Sprintf(`{"echo":%q,"pid":%d}`, in.Echo, os.Getpid()))
		if in.Fail {
			path, out = "/error", []byte(`{"errorMessage":"asked to fail","errorType":"FakeError"}`)
		}
		r, err := http.Post(api+id+path, "application/json", bytes.NewReader(out))
		if err != nil {
			fmt.Fprintln(os.Stderr, "respond:", err)
			return 1
		}
		r.Body.Close()
	}
}

// startFake starts an emulator whose function is this test binary.
func startFake(t *testing.T) *awslocal.RIE {
	t.Helper()
	r, err := tryStartFake(t)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryStartFake is startFake for any goroutine: it returns the error.
func tryStartFake(t *testing.T) (*awslocal.RIE, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // the first install compiles the emulator
	defer cancel()
	r, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{
		Bootstrap:    self,
		Env:          []string{fakeRuntimeEnv + "=1"},
		FunctionName: "fake",
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", r.Output())
		}
	})
	return r, nil
}

func invokeFake(t *testing.T, r *awslocal.RIE, in fakeInput) (echo string, pid int) {
	t.Helper()
	payload, _ := json.Marshal(in)
	body, err := r.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var out struct {
		Echo string `json:"echo"`
		PID  int    `json:"pid"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	return out.Echo, out.PID
}

// gone reports whether pid no longer runs (or is a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

func TestRIEInvokeReportsAndMemory(t *testing.T) {
	t.Parallel()
	r := startFake(t)
	if !strings.HasPrefix(r.Endpoint, "http://127.0.0.1:") || !strings.HasPrefix(r.RuntimeAPI, "127.0.0.1:") {
		t.Errorf("endpoint %s, runtime API %s: want 127.0.0.1 only", r.Endpoint, r.RuntimeAPI)
	}
	if _, err := r.PeakRSS(); err == nil {
		t.Error("PeakRSS before the first invocation: no error, want one (no function process yet)")
	}

	echo, pid := invokeFake(t, r, fakeInput{Echo: "cold"})
	if echo != "cold" {
		t.Errorf("echo %q, want cold", echo)
	}
	if got := r.RuntimePID(); got != pid {
		t.Errorf("RuntimePID %d, want the function's pid %d", got, pid)
	}
	if _, pid2 := invokeFake(t, r, fakeInput{Echo: "warm", AllocMB: 48}); pid2 != pid {
		t.Errorf("warm invocation ran in process %d, want the same process %d", pid2, pid)
	}

	inits := r.InitDurations()
	if len(inits) != 1 || inits[0] <= 0 || inits[0] > 30*time.Second {
		t.Errorf("init durations %v, want one positive INIT REPORT", inits)
	}
	// The emulator prints REPORT after its response: wait for the second.
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Reports()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reps := r.Reports()
	if len(reps) != 2 {
		t.Fatalf("%d REPORT lines, want 2", len(reps))
	}
	for _, rep := range reps {
		if rep.RequestID == "" || rep.Duration <= 0 {
			t.Errorf("report %+v: want a request id and a positive duration", rep)
		}
	}
	if out := r.Output(); !strings.Contains(out, "fake runtime ready, memory size 128") {
		t.Errorf("output lacks the function's own line (with the default memory size):\n%s", out)
	}

	peak, err := r.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if peak < 48<<20 || peak > 1<<30 {
		t.Errorf("peak RSS %d MiB, want at least the 48 MiB the function touched", peak>>20)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !r.Exited() || !gone(pid) {
		t.Errorf("after Close: emulator exited %v, function process %d gone %v; want both gone", r.Exited(), pid, gone(pid))
	}
	if after, err := r.PeakRSS(); err != nil || after != peak {
		t.Errorf("PeakRSS after Close = %d, %v; want the last reading %d", after, err, peak)
	}
}

func TestRIEFunctionError(t *testing.T) {
	t.Parallel()
	r := startFake(t)
	_, err := r.Invoke(context.Background(), []byte(`{"fail":true}`))
	var ie *awslocal.InvokeError
	if !errors.As(err, &ie) || !bytes.Contains(ie.Body, []byte("FakeError")) {
		t.Fatalf("invoke of a failing function: %v, want an *InvokeError carrying its error document", err)
	}
	// The function lives on: the next invocation works.
	if echo, _ := invokeFake(t, r, fakeInput{Echo: "again"}); echo != "again" {
		t.Errorf("echo %q after a function error", echo)
	}
}

// TestRIEKillMidInvocation kills an emulator while its function handles an
// invocation: the invocation fails at once, both processes are gone, and a
// new emulator (on ports of its own) serves the function again.
func TestRIEKillMidInvocation(t *testing.T) {
	t.Parallel()
	r := startFake(t)
	_, pid := invokeFake(t, r, fakeInput{Echo: "warm up"})

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := r.Invoke(context.Background(), []byte(`{"sleep":"60s"}`))
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.Output(), "sleeping") {
		if time.Now().After(deadline) {
			t.Fatal("the function never started the long invocation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("the invocation in flight succeeded, want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the invocation in flight did not end after Kill")
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("the killed invocation took %s", elapsed)
	}
	if !r.Exited() || !gone(pid) {
		t.Errorf("after Kill: emulator exited %v, function process %d gone %v; want both gone", r.Exited(), pid, gone(pid))
	}
	if _, err := r.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Error("invoke of a killed emulator succeeded")
	}
	if err := r.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}

	r2 := startFake(t)
	if r2.Endpoint == r.Endpoint || r2.RuntimeAPI == r.RuntimeAPI {
		t.Errorf("restarted emulator reuses ports: %s %s", r2.Endpoint, r2.RuntimeAPI)
	}
	if echo, pid2 := invokeFake(t, r2, fakeInput{Echo: "restarted"}); echo != "restarted" || pid2 == pid {
		t.Errorf("restarted function: echo %q pid %d (old %d)", echo, pid2, pid)
	}
}

// TestRIEInstancesRunSideBySide starts emulators at once: each gets ports
// of its own and serves its own function process.
func TestRIEInstancesRunSideBySide(t *testing.T) {
	t.Parallel()
	const n = 4
	rs := make([]*awslocal.RIE, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() { rs[i], errs[i] = tryStartFake(t) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	endpoints, pids := map[string]bool{}, map[int]bool{}
	for i, r := range rs {
		endpoints[r.Endpoint], endpoints[r.RuntimeAPI] = true, true
		echo, pid := invokeFake(t, r, fakeInput{Echo: strconv.Itoa(i)})
		if echo != strconv.Itoa(i) {
			t.Errorf("instance %d answered %q", i, echo)
		}
		pids[pid] = true
	}
	if len(endpoints) != 2*n || len(pids) != n {
		t.Errorf("%d distinct addresses and %d function processes for %d instances, want %d and %d", len(endpoints), len(pids), n, 2*n, n)
	}
}

//go:build linux

package awslocal

// The AWS Lambda Runtime Interface Emulator (RIE) runs a function's
// bootstrap natively, as Lambda's provided.al2023 runtime would, behind the
// Lambda invoke API. It is Linux-only (it is a piece of Lambda's Linux
// sandbox, and the peak memory figure below is read from /proc), hence this
// file's build tag.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The pinned emulator, installed with `go install RIEModule@RIEVersion`
// through the Go module proxy.
const (
	RIEModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// RIE defaults, those of template.yaml's functions.
const (
	DefaultRIEMemorySize   = 128               // MB, AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	DefaultRIETimeout      = 120 * time.Second // AWS_LAMBDA_FUNCTION_TIMEOUT
	DefaultRIEStartTimeout = 30 * time.Second
)

// invokePath is the Lambda invoke API path the emulator serves.
const invokePath = "/2015-03-31/functions/function/invocations"

// maxRIEOutput is how much of an emulator's output (its own log and the
// function's) is kept: the last 1 MiB.
const maxRIEOutput = 1 << 20

// InstallRIE installs the emulator once into a directory of the cache (see
// CacheDir) with `go install`, which needs the go command on PATH and the Go
// module proxy the first time; concurrent callers, in this process or
// others, wait for the first install under a file lock. It returns the
// emulator's path.
func InstallRIE(ctx context.Context) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(RIEModule + "@" + RIEVersion + "\n" + runtime.GOOS + "/" + runtime.GOARCH))
	dir := filepath.Join(cache, "rie-"+hex.EncodeToString(sum[:6]))
	bin := filepath.Join(dir, "aws-lambda-rie")
	done := filepath.Join(dir, ".installed")
	if _, err := os.Stat(done); err == nil {
		return bin, nil
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return bin, nil // installed by the holder of the lock before us
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("awslocal: the Lambda Runtime Interface Emulator is installed with `go install %s@%s`, and no go command is on PATH: %w", RIEModule, RIEVersion, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	cmd := exec.CommandContext(ctx, goTool, "install", RIEModule+"@"+RIEVersion)
	cmd.Dir = dir // outside any module or workspace
	cmd.Env = rieInstallEnv(os.Environ(), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("awslocal: go install %s@%s: %w\n%s", RIEModule, RIEVersion, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("awslocal: go install %s@%s left no binary: %w", RIEModule, RIEVersion, err)
	}
	if err := os.WriteFile(done, []byte(RIEModule+"@"+RIEVersion+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	return bin, nil
}

// rieInstallEnv is env for `go install` of the emulator into gobin: built
// for this machine (no GOOS/GOARCH a caller may have set for
// cross-compiling), static, and free of GOFLAGS (a -mod flag breaks
// `go install pkg@version`) and of any workspace.
func rieInstallEnv(env []string, gobin string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOBIN", "GOOS", "GOARCH", "GOFLAGS", "GOWORK", "CGO_ENABLED":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOBIN="+gobin, "CGO_ENABLED=0", "GOWORK=off")
}

// RIEOptions configure StartRIE.
type RIEOptions struct {
	// Bootstrap is the function's executable, built for this machine: the
	// emulator runs it natively (a Lambda deployable is built for
	// linux/arm64; tests build the same code for runtime.GOARCH). Its
	// directory is its working directory, as /var/task is on Lambda.
	Bootstrap string
	// Env is the function's whole environment, as Lambda would set it
	// (template variables, credentials) plus what the stand-ins need
	// (AWS_ENDPOINT_URL_*, SSL_CERT_FILE). Nothing of this process's
	// environment is passed on: the emulator hands its own environment to
	// the function.
	Env []string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME; default "function".
	FunctionName string
	// MemorySize is AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB; default
	// DefaultRIEMemorySize. The emulator only reports it back: it sets no
	// memory limit (see RIE.PeakRSS).
	MemorySize int
	// Timeout is AWS_LAMBDA_FUNCTION_TIMEOUT; default DefaultRIETimeout.
	Timeout time.Duration
	// StartTimeout bounds the wait for the emulator to listen; default
	// DefaultRIEStartTimeout.
	StartTimeout time.Duration
}

// RIE is a running Lambda Runtime Interface Emulator serving one function
// on 127.0.0.1. The emulator starts the function's bootstrap on the first
// invocation (Lambda's init phase) and keeps it for the next ones; it
// handles one invocation at a time.
//
// Its output, which carries the function's own stdout and stderr, is kept
// (Output) and read for two figures: INIT REPORT(durationMs: …), the init
// phase (InitDurations), and the REPORT line of each invocation (Reports).
// The REPORT line's "Init Duration" is the emulator's own bookkeeping, not
// the function's init, and its "Max Memory Used" merely repeats the
// configured memory size; neither is read. PeakRSS measures the function's
// memory from /proc instead.
type RIE struct {
	// Endpoint is the base URL of its invoke API, http://127.0.0.1:<port>.
	Endpoint string
	// RuntimeAPI is the host:port of the Runtime API it gives the function
	// (AWS_LAMBDA_RUNTIME_API).
	RuntimeAPI string
	// Started is when the emulator's process was started.
	Started time.Time

	cmd    *exec.Cmd
	out    *rieOutput
	exited chan struct{}
	client *http.Client

	mu       sync.Mutex
	runtime  proc          // the function's process, pid 0 when unknown
	runtimes map[proc]bool // the function processes seen
	peakRSS  int64         // bytes, the largest VmHWM seen
	stopped  bool

	stopOnce sync.Once
	stopErr  error
}

// StartRIE installs the emulator (InstallRIE) and starts it for
// opts.Bootstrap on two free ports of 127.0.0.1, one for the invoke API and
// one for the Runtime API, and returns once the invoke API accepts
// connections. Every instance has ports of its own. ctx bounds the
// installation and the start, not the emulator's life: Close or Kill ends
// it, and it is killed when this process exits (parent-death signal).
func StartRIE(ctx context.Context, opts RIEOptions) (*RIE, error) {
	if opts.Bootstrap == "" {
		return nil, errors.New("awslocal: RIEOptions.Bootstrap is required")
	}
	if st, err := os.Stat(opts.Bootstrap); err != nil {
		return nil, fmt.Errorf("awslocal: bootstrap: %w", err)
	} else if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("awslocal: bootstrap %s is not an executable file", opts.Bootstrap)
	}
	bin, err := InstallRIE(ctx)
	if err != nil {
		return nil, err
	}
	// Ports are picked free, then bound by the emulator: another process
	// may take one in between. The emulator then exits at once, and a
	// fresh pair is tried.
	var lastErr error
	for range 5 {
		r, retry, err := startRIE(ctx, bin, opts)
		if err == nil {
			return r, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func startRIE(ctx context.Context, bin string, opts RIEOptions) (r *RIE, retry bool, err error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, false, err
	}
	invokeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	name := opts.FunctionName
	if name == "" {
		name = "function"
	}
	mem := opts.MemorySize
	if mem <= 0 {
		mem = DefaultRIEMemorySize
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultRIETimeout
	}
	env := append([]string(nil), opts.Env...)
	env = append(env,
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(mem),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int((timeout+time.Second-1)/time.Second)),
	)

	cmd := exec.Command(bin,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", apiAddr,
		opts.Bootstrap)
	cmd.Dir = filepath.Dir(opts.Bootstrap)
	cmd.Env = env
	// A process group of its own, so that Kill reaches all of it, and
	// killed with this process (the function's own process, which the
	// emulator puts in a group of its own, ends when its Runtime API goes:
	// aws-lambda-go exits on a failed /next).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &rieOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	r = &RIE{
		Endpoint:   "http://" + invokeAddr,
		RuntimeAPI: apiAddr,
		cmd:        cmd,
		out:        out,
		exited:     make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{
			Proxy:       nil, // loopback only, whatever HTTP_PROXY says
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		}},
		runtimes: map[proc]bool{},
	}
	r.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("awslocal: start the Lambda Runtime Interface Emulator: %w", err)
	}
	go func() {
		cmd.Wait()
		close(r.exited)
	}()

	startTimeout := opts.StartTimeout
	if startTimeout <= 0 {
		startTimeout = DefaultRIEStartTimeout
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		c, err := net.DialTimeout("tcp", invokeAddr, time.Second)
		if err == nil {
			c.Close()
			return r, false, nil
		}
		select {
		case <-r.exited:
			inUse := strings.Contains(out.String(), "address already in use")
			return nil, inUse, fmt.Errorf("awslocal: the Lambda Runtime Interface Emulator exited before listening (%v):\n%s", cmd.ProcessState, out)
		case <-deadline.C:
			r.Kill()
			return nil, false, fmt.Errorf("awslocal: the Lambda Runtime Interface Emulator did not listen on %s within %s:\n%s", invokeAddr, startTimeout, out)
		case <-ctx.Done():
			r.Kill()
			return nil, false, fmt.Errorf("awslocal: start the Lambda Runtime Interface Emulator: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("awslocal: free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// InvokeError is an invocation the emulator or the function answered with
// an error: a status other than 200, or the Runtime API's error document
// ({"errorMessage": …, "errorType": …}) of a function that returned an
// error or panicked.
type InvokeError struct {
	Status int
	Body   []byte
}

func (e *InvokeError) Error() string {
	return fmt.Sprintf("awslocal: invoke: status %d: %s", e.Status, bytes.TrimSpace(e.Body))
}

// Invoke sends payload to the function, as Lambda's invoke API does
// (RequestResponse), and returns its response. An emulator that was killed
// or a function that crashed mid-invocation gives a transport error; a
// function error gives an *InvokeError.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Endpoint+invokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("awslocal: invoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("awslocal: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r.sampleRSS()
	if err != nil {
		return nil, fmt.Errorf("awslocal: invoke: reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK || isFunctionError(body) {
		return body, &InvokeError{Status: resp.StatusCode, Body: body}
	}
	return body, nil
}

// isFunctionError reports whether body is the Runtime API's error document.
func isFunctionError(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	_, msg := doc["errorMessage"]
	_, typ := doc["errorType"]
	return msg && typ
}

// Kill ends the emulator and the function as a crash does: SIGKILL to the
// emulator's process group and to the function's (the emulator gives the
// function a group of its own), with no chance to finish what they were
// doing. An invocation in flight fails. It waits until both are gone.
// Killing an emulator that has stopped does nothing.
func (r *RIE) Kill() error { return r.stop(true) }

// Close stops the emulator, which kills the function, and waits until both
// are gone; after a few seconds it kills them as Kill does. Closing twice
// is harmless.
func (r *RIE) Close() error { return r.stop(false) }

func (r *RIE) stop(hard bool) error {
	r.stopOnce.Do(func() {
		r.sampleRSS()
		pgid := r.cmd.Process.Pid // Setpgid: the group is the emulator's pid
		if !hard {
			syscall.Kill(pgid, syscall.SIGTERM)
			select {
			case <-r.exited:
			case <-time.After(3 * time.Second):
				hard = true
			}
		}
		var runtimes []proc
		if hard {
			// Freeze the emulator first: it cannot start a function
			// process while its children are collected (they are no
			// longer its children once it is dead).
			syscall.Kill(-pgid, syscall.SIGSTOP)
			runtimes = childrenOf(pgid)
			for _, p := range runtimes {
				p.kill()
			}
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				r.stopErr = fmt.Errorf("awslocal: kill the Lambda Runtime Interface Emulator: %w", err)
			}
		}
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			r.stopErr = errors.Join(r.stopErr, errors.New("awslocal: the Lambda Runtime Interface Emulator did not exit within 10 s"))
		}
		r.mu.Lock()
		for p := range r.runtimes {
			runtimes = append(runtimes, p)
		}
		r.stopped = true
		r.mu.Unlock()
		// The function's processes were reparented when the emulator
		// died; wait until they are gone too.
		// A process is known by its pid and start time: once one has
		// gone, its pid may soon name another (another test's emulator,
		// say), which must be neither waited for nor killed.
		deadline := time.Now().Add(5 * time.Second)
		for _, p := range runtimes {
			for p.alive() {
				if time.Now().After(deadline) {
					p.kill()
					deadline = time.Now().Add(5 * time.Second)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		r.client.CloseIdleConnections()
	})
	return r.stopErr
}

// Exited reports whether the emulator's process has ended.
func (r *RIE) Exited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// Output returns what the emulator and the function have written, its last
// MiB.
func (r *RIE) Output() string { return r.out.String() }

// InitDurations returns the duration of each init phase so far, from the
// emulator's INIT REPORT lines (one per start of the function's process).
func (r *RIE) InitDurations() []time.Duration {
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	return append([]time.Duration(nil), r.out.inits...)
}

// RIEReport is one invocation's REPORT line.
type RIEReport struct {
	RequestID string
	// Duration is the invocation's duration as the emulator measured it,
	// from handing the event to the function to its response.
	Duration time.Duration
}

// Reports returns the REPORT lines so far, in order.
func (r *RIE) Reports() []RIEReport {
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	return append([]RIEReport(nil), r.out.reports...)
}

// RuntimePID returns the pid of the function's process, 0 when there is
// none (before the first invocation, or after Kill or Close).
func (r *RIE) RuntimePID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.findRuntime()
}

// findRuntime returns the pid of the function's process, 0 when there is
// none; r.mu is held. The emulator runs one function process at a time
// (it starts no extensions): the known one is checked with one read of
// /proc, and /proc is scanned only when it has gone.
func (r *RIE) findRuntime() int {
	if r.stopped || r.Exited() {
		return 0
	}
	rie := r.cmd.Process.Pid
	if r.runtime.pid != 0 {
		if st, ok := statOf(r.runtime.pid); ok && st.ppid == rie && r.runtime.alive() {
			return r.runtime.pid
		}
		r.runtime = proc{}
	}
	for _, p := range childrenOf(rie) {
		if p.alive() {
			r.runtime = p
			r.runtimes[p] = true
			break
		}
	}
	return r.runtime.pid
}

// PeakRSS returns the function's peak resident memory in bytes: the
// largest VmHWM (/proc/<pid>/status) of its processes, read now if one
// runs and otherwise as last read (after every invocation, and before Kill
// and Close end it). The emulator enforces no memory limit and its REPORT
// repeats the configured size, so this is how a test checks that a
// function fits its MemorySize. It fails when no function process was ever
// seen.
func (r *RIE) PeakRSS() (int64, error) {
	r.sampleRSS()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.runtimes) == 0 {
		return 0, errors.New("awslocal: the function's process was never seen (not invoked yet?)")
	}
	return r.peakRSS, nil
}

// sampleRSS reads VmHWM of the function's process and keeps the largest
// seen.
func (r *RIE) sampleRSS() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pid := r.findRuntime(); pid != 0 {
		if hwm, err := vmHWM(pid); err == nil && hwm > r.peakRSS {
			r.peakRSS = hwm
		}
	}
}

// proc is one process: its pid and its start time (clock ticks after
// boot), which together name it even after the pid is reused.
type proc struct {
	pid   int
	start uint64
}

// alive reports whether the process still runs: its pid names a process
// started when it was, and not a zombie.
func (p proc) alive() bool {
	st, ok := statOf(p.pid)
	return ok && st.start == p.start && st.state != 'Z' && st.state != 'X'
}

// kill sends SIGKILL to the process and its group, if it is still the
// same process.
func (p proc) kill() {
	if p.alive() {
		syscall.Kill(-p.pid, syscall.SIGKILL)
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// stat is what this package reads of /proc/<pid>/stat.
type stat struct {
	state byte
	ppid  int
	start uint64
}

// statOf reads /proc/<pid>/stat; false when pid is gone.
func statOf(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice num_threads
	// itrealvalue starttime …; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], ppid: ppid, start: start}, true
}

// childrenOf returns the processes whose parent is ppid, from /proc.
func childrenOf(ppid int) []proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := statOf(pid); ok && st.ppid == ppid {
			out = append(out, proc{pid: pid, start: st.start})
		}
	}
	return out
}

// vmHWM returns the peak resident set size of pid in bytes.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM")
}

// rieOutput keeps the emulator's output and reads its report lines.
type rieOutput struct {
	mu      sync.Mutex
	tail    []byte // the last maxRIEOutput bytes
	partial []byte // an unfinished line
	inits   []time.Duration
	reports []RIEReport
}

var (
	// INIT REPORT(durationMs: 114.695000), the init phase.
	initReportLine = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	// REPORT RequestId: <id>\t[Init Duration: … ms\t]Duration: 3.15 ms\t…
	reportLine = regexp.MustCompile(`^REPORT RequestId: (\S+)\t`)
)

// Write implements io.Writer; it never fails.
func (o *rieOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, p...)
	if over := len(o.tail) - maxRIEOutput; over > 0 {
		o.tail = append(o.tail[:0], o.tail[over:]...)
	}
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.line(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > 64<<10 { // a line this long is a function's log, not a report
		o.partial = o.partial[:0]
	}
	return len(p), nil
}

// line reads one line of output.
func (o *rieOutput) line(s string) {
	if m := initReportLine.FindStringSubmatch(s); m != nil {
		if ms, err := strconv.ParseFloat(m[1], 64); err == nil {
			o.inits = append(o.inits, time.Duration(ms*float64(time.Millisecond)))
		}
		return
	}
	m := reportLine.FindStringSubmatch(s)
	if m == nil {
		return
	}
	rep := RIEReport{RequestID: m[1]}
	for _, field := range strings.Split(s, "\t") {
		// "Duration: 3.15 ms", not "Init Duration" nor "Billed Duration".
		if v, ok := strings.CutPrefix(strings.TrimSpace(field), "Duration: "); ok {
			if ms, err := strconv.ParseFloat(strings.TrimSuffix(v, " ms"), 64); err == nil {
				rep.Duration = time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	o.reports = append(o.reports, rep)
}

func (o *rieOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.tail)
}

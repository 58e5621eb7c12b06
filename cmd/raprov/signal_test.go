//go:build unix

package main_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
)

// TestSignals: a first SIGINT or SIGTERM lets the steps in progress finish
// and exits as shells report an interrupted program (130, 143) with a clear
// line, or 0 for `run --serve`; a second signal stops at once, without
// waiting for steps held up by a slow Microsoft.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds raprov")
	}
	dir := t.TempDir()
	bin := buildRaprov(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // after the parallel subtests, not when this function returns
	// With a delay, every Graph and Teams answer is held back that long:
	// steps are still in progress when the signals come.
	simWith := func(delay time.Duration) (url, ca string) {
		knobs := graphsim.Knobs{TimeScale: 1, OperationStepDelay: 100 * time.Millisecond}
		if delay > 0 {
			knobs.SlowRate, knobs.SlowDelay = 1, delay
		}
		sim, err := graphsim.Start(ctx, graphsim.Config{Knobs: knobs}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		ca = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, sim.CACertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return sim.URL, ca
	}
	type result struct {
		code    int
		out     string
		elapsed time.Duration // from the last signal to the exit
	}
	run := func(t *testing.T, url, ca string, extra []string, sigs ...syscall.Signal) result {
		t.Helper()
		args := append([]string{"run", "--graph-url", url, "--graph-ca", ca, "--db", filepath.Join(t.TempDir(), "raprov.db"),
			"--log-file", filepath.Join(t.TempDir(), "raprov.log"), "--progress", "lines", "--demo-timing"}, extra...)
		cmd := exec.Command(bin, args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "RAPROV_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		time.Sleep(1500 * time.Millisecond) // started, requests submitted, steps running
		var last time.Time
		for _, sig := range sigs {
			last = time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		select {
		case err := <-done:
			r := result{out: out.String(), elapsed: time.Since(last)}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				r.code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return r
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("raprov did not stop; output:\n%s", out.String())
			return result{}
		}
	}

	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		url, ca := simWith(300 * time.Millisecond)
		r := run(t, url, ca, nil, syscall.SIGTERM)
		t.Logf("stopped %s after SIGTERM", r.elapsed.Round(time.Millisecond))
		if r.code != 143 || !strings.Contains(r.out, "stopped by SIGTERM") || strings.Contains(r.out, "context canceled") || r.elapsed > 20*time.Second {
			t.Fatalf("exit %d, output:\n%s\nwant 143 and a clear line", r.code, r.out)
		}
	})
	t.Run("SIGINT twice", func(t *testing.T) {
		t.Parallel()
		url, ca := simWith(time.Minute)
		r := run(t, url, ca, nil, syscall.SIGINT, syscall.SIGINT)
		if r.code != 130 || !strings.Contains(r.out, "stopping now") || r.elapsed > 10*time.Second {
			t.Fatalf("exit %d after %s, output:\n%s\nwant 130 at once", r.code, r.elapsed, r.out)
		}
	})
	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		url, ca := simWith(0)
		r := run(t, url, ca, []string{"--serve"}, syscall.SIGTERM)
		if r.code != 0 {
			t.Fatalf("exit %d, output:\n%s\nwant 0: stopping a server is its normal end", r.code, r.out)
		}
	})
}

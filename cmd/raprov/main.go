// Command raprov provisions Microsoft Teams Phone resource accounts.
//
//	raprov run [FILE]        provision FILE (or the bundled example) on the embedded default
//	raprov submit FILE       queue requests for a running `raprov run --serve`
//	raprov status [ID]       where requests stand
//	raprov dlq list|replay|delete|purge   inspect, replay and delete dead letters
//	raprov login             sign a Teams service admin in for the delegated Teams credential
//	raprov doctor            check a tenant read-only before a run
//	raprov graphsim          start the Microsoft Graph simulator alone
//	raprov bench             throughput benchmarks against the simulator
//
// Configuration comes from RAPROV_* environment variables (see
// docs/configuration.md); flags override them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	ctx, stopped := notifyStop(context.Background(), os.Stderr)
	err := newRoot().ExecuteContext(ctx)
	if sig := stopped(); sig != nil && (err == nil || errors.Is(err, context.Canceled)) {
		// The command ended because it was asked to: `run --serve` is done
		// (0); an interrupted run is reported as shells do (128 + signal).
		if err == nil {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "raprov: stopped by %s; requests still in progress continue on the next run (see raprov status)\n", signalName(sig))
		os.Exit(128 + signalNumber(sig))
	}
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "raprov:", err)
		os.Exit(1)
	}
}

// notifyStop returns a context cancelled by the first SIGINT or SIGTERM,
// which lets running steps finish within their grace period, and a function
// reporting that signal (nil while none came). A second signal stops the
// process at once: messages in flight come back after their visibility
// timeout, and nothing committed is lost.
func notifyStop(parent context.Context, msg io.Writer) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Pointer[os.Signal]
	go func() {
		sig := <-sigs
		got.Store(&sig)
		fmt.Fprintf(msg, "raprov: %s: finishing the steps in progress; %s again stops at once\n", signalName(sig), signalName(sig))
		cancel()
		sig = <-sigs
		fmt.Fprintf(msg, "raprov: %s again: stopping now; messages in flight are delivered again after their visibility timeout\n", signalName(sig))
		os.Exit(128 + signalNumber(sig))
	}()
	return ctx, func() os.Signal {
		if p := got.Load(); p != nil {
			return *p
		}
		return nil
	}
}

func signalNumber(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return int(s)
	}
	return int(syscall.SIGINT)
}

func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "SIGINT"
	}
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}

// exitCode ends the process with a code and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

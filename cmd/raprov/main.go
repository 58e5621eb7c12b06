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
//	raprov version           version, commit and Go version (also raprov --version)
//	raprov completion SHELL  shell completion script (bash, zsh, fish, powershell)
//
// run, status, dlq list, bench and version print a table, or JSON with
// -o json (one document) or -o jsonl (one object per line). Exit codes are
// the same for every command: see exitcode.go and docs/cli.md.
//
// Configuration comes from RAPROV_* environment variables (see
// docs/configuration.md); flags override them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// main runs the command and exits once, with the code exitStatus gives
// (exitcode.go; docs/cli.md).
func main() {
	ctx, stopped := notifyStop(context.Background(), os.Stderr)
	cmd, err := newRoot().ExecuteContextC(ctx)
	os.Exit(report(os.Stderr, cmd, err, stopped()))
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
		os.Exit(128 + signalNumber(sig)) // at once: the command may be stuck, so this cannot wait for main's exit
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

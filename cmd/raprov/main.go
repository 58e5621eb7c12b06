// Command raprov provisions Microsoft Teams Phone resource accounts.
//
//	raprov run [FILE]        provision FILE (or the bundled example) on the embedded default
//	raprov submit FILE       queue requests for a running `raprov run --serve`
//	raprov status [ID]       where requests stand
//	raprov dlq list|replay   inspect and replay dead letters
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
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "raprov:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a code and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

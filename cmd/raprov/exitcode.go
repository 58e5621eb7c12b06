package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/shared/apperr"
)

// Exit codes, the same for every command (docs/cli.md). An interrupted
// command exits 128 + the signal's number: 130 (SIGINT), 143 (SIGTERM).
const (
	exitOK          = 0 // every request reached the outcome expected of it
	exitFailed      = 1 // some did not, or the command failed otherwise
	exitUsage       = 2 // unknown command, flag or output format; bad argument; unreadable input file
	exitConfig      = 3 // configuration or credentials unusable
	exitUnreachable = 4 // Microsoft Graph or the queue could not be reached
)

// exitCode ends the process with a code and no further message: the
// command has already said why.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// exitError is an error that ends the process with code; its message is
// printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or input-file error (exit 2); nil stays nil.
func usageError(err error) error { return withCode(exitUsage, err) }

// configError marks err as a configuration or credentials error (exit 3),
// unless it is one of reaching Microsoft or the queue (exitStatus).
func configError(err error) error { return withCode(exitConfig, err) }

// unreachableError marks err as one of reaching Microsoft or the queue (exit 4).
func unreachableError(err error) error { return withCode(exitUnreachable, err) }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// exitStatus maps what a command returned, and the signal that stopped it
// (nil when none came), to the process's exit code and the message to
// print ("" for none). It is the one place that decides exit codes.
func exitStatus(err error, sig os.Signal) (int, string) {
	if sig != nil && (err == nil || errors.Is(err, context.Canceled)) {
		// The command ended because it was asked to: `run --serve` is done
		// (0); an interrupted run is reported as shells do (128 + signal).
		if err == nil {
			return exitOK, ""
		}
		return 128 + signalNumber(sig), fmt.Sprintf("stopped by %s; requests still in progress continue on the next run (see raprov status)", signalName(sig))
	}
	if err == nil {
		return exitOK, ""
	}
	if ec, ok := errors.AsType[exitCode](err); ok {
		return int(ec), ""
	}
	return classify(err), err.Error()
}

// classify returns the exit code of an error that carries no exitCode.
func classify(err error) int {
	var cert *tls.CertificateVerificationError
	var op *net.OpError
	switch {
	case errors.As(err, &cert):
		return exitConfig // the simulator's or a proxy's certificate is not trusted: --graph-ca
	case errors.As(err, &op) && op.Op == "listen":
		return exitConfig // serve's --listen address is taken or not ours
	case unreachable(err):
		return exitUnreachable
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	if apperr.CodeOf(err) == apperr.Forbidden {
		return exitConfig
	}
	return exitFailed
}

// unreachable reports whether err is a failure to reach a remote side: a
// network or name-resolution error, or an adapter's Unavailable.
func unreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || apperr.CodeOf(err) == apperr.Unavailable
}

// report prints why cmd ended (a usage error with a pointer to its help)
// and returns the process's exit code.
func report(w io.Writer, cmd *cobra.Command, err error, sig os.Signal) int {
	code, msg := exitStatus(err, sig)
	if msg != "" {
		fmt.Fprintln(w, "raprov:", msg)
	}
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

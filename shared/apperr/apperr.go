// Package apperr is raprov's one application error type. Adapters (Graph,
// Teams admin, transports) translate what they see into an *Error with a Code
// and, where the cause is known, a Reason; steps and transports branch on
// those with errors.As helpers, never on message text.
package apperr

import (
	"errors"
	"fmt"
	"time"

	"github.com/raprov/raprov/events"
)

// Code classifies an error by what the caller can do about it.
type Code string

// Error codes.
const (
	// Invalid: the remote side rejected the request as malformed or against its rules (HTTP 400).
	Invalid Code = "invalid"
	// NotFound: the object does not exist (HTTP 404). Right after a create it
	// may be replication lag; the step decides whether to retry.
	NotFound Code = "not_found"
	// Conflict: the object exists already or is owned by someone else.
	Conflict Code = "conflict"
	// Forbidden: authentication or authorisation failed (HTTP 401/403).
	Forbidden Code = "forbidden"
	// Throttled: the caller exceeded a rate limit (HTTP 429); see RetryAfter.
	Throttled Code = "throttled"
	// Unavailable: the remote side failed or timed out (HTTP 5xx, network errors).
	Unavailable Code = "unavailable"
	// Internal: a bug or an unexpected response shape.
	Internal Code = "internal"
)

// Error is an application error.
type Error struct {
	Code       Code
	Reason     events.Reason // cause for provisioning.failed; empty when unknown
	Message    string        // human-readable, never contains secrets
	RetryAfter time.Duration // server-suggested wait for Throttled/Unavailable; 0 if none
	Err        error         // underlying error, if any
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Reason != "" {
		msg += " (" + string(e.Reason) + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a formatted message.
func New(code Code, reason events.Reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns the code of the *Error in err's chain; Internal for other
// non-nil errors and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// ReasonOf returns the reason of the *Error in err's chain, or "".
func ReasonOf(err error) events.Reason {
	if e, ok := As(err); ok {
		return e.Reason
	}
	return ""
}

// IsTransient reports whether retrying the same call later may succeed:
// throttling and unavailability. NotFound is not transient by itself.
func IsTransient(err error) bool {
	switch CodeOf(err) {
	case Throttled, Unavailable:
		return true
	}
	return false
}

// RetryAfterOf returns the server-suggested wait carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	if e, ok := As(err); ok {
		return e.RetryAfter
	}
	return 0
}

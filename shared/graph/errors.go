package graph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/retryafter"
	"github.com/raprov/raprov/shared/steps"
)

// graphError is what a failed Graph response says, whichever way the SDK
// reported it.
type graphError struct {
	status  int
	code    string // Graph's error.code, e.g. Request_BadRequest
	message string // Graph's error.message
	details []detail
	header  http.Header
}

type detail struct{ code, target string }

// errorMappings routes every 4XX/5XX body into odataerrors.ODataError, as
// the SDK's generated request builders do.
var errorMappings = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// mapError translates an error of the Graph call op into an *apperr.Error.
// rec holds the last response the call saw, if any. Messages carry the
// operation, HTTP status and Graph's code and message; never a token or
// secret (tokens travel only in request headers, which are not reported).
func mapError(op string, err error, rec *recorder) error {
	if err == nil {
		return nil
	}
	if e, ok := apperr.As(err); ok {
		return e // e.g. the budget's, wrapped by net/http and kiota
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		ge := graphError{status: oe.GetStatusCode(), header: headersOf(oe.GetResponseHeaders())}
		if m := oe.GetErrorEscaped(); m != nil {
			ge.code, ge.message = deref(m.GetCode()), deref(m.GetMessage())
			for _, d := range m.GetDetails() {
				ge.details = append(ge.details, detail{code: deref(d.GetCode()), target: deref(d.GetTarget())})
			}
		}
		return fromResponse(op, ge)
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		return fromResponse(op, graphError{status: ae.ResponseStatusCode, header: headersOf(ae.ResponseHeaders)})
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		return fromTokenError(op, afe)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apperr.Error{Code: apperr.Unavailable, Message: "graph: " + op + ": call cancelled or timed out", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &apperr.Error{Code: apperr.Unavailable, Message: "graph: " + op + ": network error", Err: err}
	}
	// The SDK reports some failed responses without their status, e.g. a
	// body in a content type it cannot parse.
	if rec != nil && rec.status >= 400 {
		return fromResponse(op, graphError{status: rec.status, header: rec.header})
	}
	return &apperr.Error{Code: apperr.Internal, Message: "graph: " + op, Err: err}
}

// fromResponse maps a Graph error response by HTTP status and Graph code.
func fromResponse(op string, ge graphError) *apperr.Error {
	msg := fmt.Sprintf("graph: %s: HTTP %d", op, ge.status)
	if ge.code != "" {
		msg += " " + ge.code
	}
	if ge.message != "" {
		msg += ": " + ge.message
	}
	e := &apperr.Error{Message: msg}
	switch s := ge.status; {
	case s == http.StatusBadRequest:
		e.Code, e.Reason = classifyBadRequest(ge)
		if isInvalidUsageLocation(ge) {
			// Retried by assign-license: right after the usage location
			// was set, licensing may not see it yet.
			e.Err = steps.ErrUsageLocationRejected
		}
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		e.Code, e.Reason = apperr.Forbidden, events.ReasonPermissionDenied
	case s == http.StatusNotFound:
		e.Code = apperr.NotFound
	case s == http.StatusConflict:
		e.Code = apperr.Conflict
	case s == http.StatusTooManyRequests:
		e.Code = apperr.Throttled
		e.RetryAfter = retryAfterOf(ge.header)
	case s == http.StatusRequestTimeout, s >= 500:
		e.Code = apperr.Unavailable
		e.RetryAfter = retryAfterOf(ge.header)
	case s >= 400:
		e.Code, e.Reason = apperr.Invalid, events.ReasonRejected
	default:
		e.Code = apperr.Internal
	}
	return e
}

// classifyBadRequest tells Graph's 400s apart. Duplicates carry a
// machine-readable detail (ObjectConflict with its target). The license,
// usage-location and domain cases share the generic code Request_BadRequest
// and differ only in their message, so for them, and only them, the message
// is matched: Microsoft documents no other signal.
func classifyBadRequest(ge graphError) (apperr.Code, events.Reason) {
	for _, d := range ge.details {
		if strings.EqualFold(d.code, "ObjectConflict") {
			if strings.EqualFold(d.target, "userPrincipalName") {
				return apperr.Conflict, events.ReasonUPNConflict
			}
			return apperr.Conflict, events.ReasonRejected
		}
	}
	m := strings.ToLower(ge.message)
	switch {
	case strings.Contains(m, "does not have any available licenses"),
		strings.Contains(m, "does not correspond to a valid company license"):
		return apperr.Invalid, events.ReasonNoLicense
	case strings.Contains(m, "domain portion of the userprincipalname property is invalid"):
		return apperr.Invalid, events.ReasonDomainNotVerified
	}
	// Everything else, an invalid usage location included (fromResponse
	// marks that one for a retry): the message carries Graph's code.
	return apperr.Invalid, events.ReasonRejected
}

// isInvalidUsageLocation reports Graph's refusal of a license assignment for
// the user's usage location: 400 Request_BadRequest "License assignment
// cannot be done for user with invalid usage location." (user: assignLicense).
func isInvalidUsageLocation(ge graphError) bool {
	return strings.Contains(strings.ToLower(ge.message), "invalid usage location")
}

// lacksLicense reports Graph's refusal to remove a license the user does not
// have: 400 Request_BadRequest "User does not have a corresponding
// license." The wording is the directory's answer to the same removal
// through Azure AD PowerShell (MicrosoftDocs/OfficeDocs-Enterprise#873);
// that Graph's assignLicense answers with it is inferred. Matched on the
// message, as the license cases of classifyBadRequest are: Graph gives no
// other signal.
func lacksLicense(err error) bool {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.GetStatusCode() != http.StatusBadRequest {
		return false
	}
	m := oe.GetErrorEscaped()
	return m != nil && strings.Contains(strings.ToLower(deref(m.GetMessage())), "does not have a corresponding license")
}

// fromTokenError maps a failed token request. Entra answers bad credentials
// with 400/401 (invalid_client, unauthorized_client); its body names the
// error and a trace id, never the secret or assertion that was sent.
func fromTokenError(op string, afe *azidentity.AuthenticationFailedError) *apperr.Error {
	status := 0
	var header http.Header
	if afe.RawResponse != nil {
		status, header = afe.RawResponse.StatusCode, afe.RawResponse.Header
	}
	msg := fmt.Sprintf("graph: %s: token request failed", op)
	if status != 0 {
		msg += fmt.Sprintf(": HTTP %d", status)
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &apperr.Error{Code: apperr.Throttled, Message: msg, RetryAfter: retryAfterOf(header)}
	case status >= 500, status == http.StatusRequestTimeout:
		return &apperr.Error{Code: apperr.Unavailable, Message: msg, RetryAfter: retryAfterOf(header)}
	case status == 0:
		// No response: azidentity could not reach the authority.
		return &apperr.Error{Code: apperr.Unavailable, Message: msg + ": no response"}
	}
	return &apperr.Error{Code: apperr.Forbidden, Reason: events.ReasonPermissionDenied, Message: msg + " (check the tenant id, client id, credential and scope)"}
}

func retryAfterOf(h http.Header) time.Duration {
	d := retryafter.Header(h)
	return d
}

func headersOf(rh *abs.ResponseHeaders) http.Header {
	h := http.Header{}
	if rh == nil {
		return h
	}
	for _, k := range rh.ListKeys() {
		for _, v := range rh.Get(k) {
			h.Add(k, v)
		}
	}
	return h
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

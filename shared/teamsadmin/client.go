package teamsadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ctxsleep"
	"github.com/raprov/raprov/shared/retryafter"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsauth"
)

var _ steps.TeamsAdmin = (*Client)(nil)

// maxBody bounds how much of a response body is read.
const maxBody = 1 << 20

// Client talks to the Teams admin back end. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	cred azcore.TokenCredential
	http *http.Client
	log  *slog.Logger

	ready readiness // the cached answer of Ready
}

// Option customises a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (for example one that trusts a test
// server's certificate). The default is a client without a global timeout;
// Config.Timeout bounds each attempt. Nil keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithLogger sets the logger; the default is slog.Default(). Nil keeps the
// default.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a Client for cfg that authenticates with cred (client
// credentials of an app registration holding a role that may manage
// resource accounts; see docs/permissions.md).
func New(cfg Config, cred azcore.TokenCredential, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, errors.New("teamsadmin: nil token credential")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("teamsadmin: base URL: %w", err)
	}
	c := &Client{cfg: cfg, base: base, cred: cred, http: &http.Client{}, log: slog.Default()}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// call is one logical request: it may be sent several times.
type call struct {
	op     string // operation name for logs and errors, e.g. "bind"
	method string
	path   string // already expanded, starting with /
	query  url.Values
	body   any // JSON-encoded when non-nil
	// reasons maps an HTTP status to the events.Reason of the resulting
	// error for this operation; statuses not listed get the default.
	reasons map[int]events.Reason
}

// response is a completed HTTP exchange.
type response struct {
	status     int
	body       []byte
	retryAfter time.Duration // from Retry-After on non-2xx responses
}

// do sends c, retrying throttled and failed attempts, and returns the
// response of a 2xx status, or of a 404 when allow404 is set. Every other
// outcome is an *apperr.Error.
func (c *Client) do(ctx context.Context, cl call, allow404 bool) (response, error) {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return response{}, &apperr.Error{Code: apperr.Internal, Message: "teams admin " + cl.op + ": encode request", Err: err}
		}
		payload = b
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = min(500*time.Millisecond, c.cfg.MaxRetryWait/2)
	bo.MaxInterval = c.cfg.MaxRetryWait
	for attempt := 0; ; attempt++ {
		start := time.Now()
		res, err := c.attempt(ctx, cl, payload)
		if err == nil && (res.status/100 == 2 || (allow404 && res.status == http.StatusNotFound)) {
			c.log.DebugContext(ctx, "teams admin call", "op", cl.op, "method", cl.method, "path", cl.path,
				"status", res.status, "attempt", attempt+1, "duration", time.Since(start))
			return res, nil
		}
		if err == nil {
			err = c.statusError(cl, res)
		}
		if !apperr.IsTransient(err) || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			c.log.DebugContext(ctx, "teams admin call failed", "op", cl.op, "method", cl.method, "path", cl.path,
				"attempt", attempt+1, "duration", time.Since(start), "error", err)
			return response{}, err
		}
		wait := apperr.RetryAfterOf(err)
		switch {
		case wait > c.cfg.MaxRetryWait:
			return response{}, err // too long to hold the message: the step re-schedules
		case wait == 0:
			wait = min(bo.NextBackOff(), c.cfg.MaxRetryWait)
		}
		if wait <= 0 {
			return response{}, err // in-process retries disabled
		}
		c.log.WarnContext(ctx, "teams admin call retrying", "op", cl.op, "method", cl.method, "path", cl.path,
			"attempt", attempt+1, "wait", wait, "error", err)
		if serr := ctxsleep.Sleep(ctx, wait); serr != nil {
			return response{}, err
		}
	}
}

// attempt sends one HTTP request. A returned error is an *apperr.Error
// (token or transport failure); otherwise the caller classifies the status.
func (c *Client) attempt(ctx context.Context, cl call, payload []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cfg.Scope}})
	if err != nil {
		return response{}, tokenError(cl.op, err)
	}

	u := *c.base
	u.Path = c.base.Path + cl.path
	u.RawPath = ""
	if len(cl.query) > 0 {
		u.RawQuery = cl.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return response{}, &apperr.Error{Code: apperr.Internal, Message: "teams admin " + cl.op + ": build request", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("x-authz-scope", "tenant")
	req.Header.Set("x-ms-correlation-id", uuid.NewString())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "raprov-teamsadmin")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names method and URL, never headers: no token leaks.
		return response{}, &apperr.Error{Code: apperr.Unavailable, Message: "teams admin " + cl.op + ": " + cl.method + " " + cl.path, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, &apperr.Error{Code: apperr.Unavailable, Message: "teams admin " + cl.op + ": read response", Err: err}
	}
	res := response{status: resp.StatusCode, body: data}
	if resp.StatusCode/100 != 2 {
		// Keep what statusError needs beyond the body.
		res.retryAfter = retryafter.Header(resp.Header)
	}
	return res, nil
}

// statusError turns a non-success response into an *apperr.Error.
func (c *Client) statusError(cl call, res response) error {
	code, reason := classify(res.status)
	if r, ok := cl.reasons[res.status]; ok {
		reason = r
	}
	msg := fmt.Sprintf("teams admin %s: %s %s: HTTP %d", cl.op, cl.method, cl.path, res.status)
	if detail := errorDetail(res.body); detail != "" {
		msg += ": " + detail
	}
	e := &apperr.Error{Code: code, Reason: reason, Message: msg}
	if code == apperr.Throttled || code == apperr.Unavailable {
		e.RetryAfter = res.retryAfter
	}
	return e
}

// classify maps an HTTP status to an error code and default reason.
func classify(status int) (apperr.Code, events.Reason) {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return apperr.Forbidden, events.ReasonPermissionDenied
	case status == http.StatusTooManyRequests:
		return apperr.Throttled, ""
	case status == http.StatusRequestTimeout || status >= 500:
		return apperr.Unavailable, ""
	case status == http.StatusNotFound:
		return apperr.NotFound, ""
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return apperr.Conflict, ""
	case status >= 400:
		return apperr.Invalid, events.ReasonRejected
	default: // 1xx, 3xx: nothing the back end is known to send
		return apperr.Internal, ""
	}
}

// errorDetail extracts "code: message" from an error body. The back end's
// error shape is not documented: {"error":{"code","message"}} (Graph style)
// is tried first, then top-level code/message fields, then a short text.
func errorDetail(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var code, msg string
	if json.Unmarshal(body, &v) == nil {
		if v.Error != nil {
			code, msg = v.Error.Code, v.Error.Message
		} else {
			code, msg = v.Code, v.Message
		}
	} else if body[0] != '{' && body[0] != '<' {
		msg = string(body)
	}
	switch {
	case code != "" && msg != "":
		return truncate(code + ": " + msg)
	case code != "":
		return truncate(code)
	default:
		return truncate(msg)
	}
}

func truncate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 300
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// tokenError classifies a token acquisition failure, as shared/graph
// classifies its own:
//
//	no response from the token endpoint     Unavailable (network, timeout)
//	token endpoint 429                      Throttled, RetryAfter from its header
//	token endpoint 408, 5xx                 Unavailable
//	a delegated sign-in only "raprov login" Forbidden, permission_denied, with the
//	can fix (*teamsauth.Error)              credential's message (never a token)
//	any other refusal (NonRetriable)        Forbidden, permission_denied
//	anything else                           Unavailable
//
// azidentity marks all of its failures NonRetriable, an unreachable
// authority included, having retried transient ones already; only a
// response from the token endpoint says the credentials were refused. The
// error of a refusal is dropped: azidentity's dumps the token endpoint's
// response.
func tokenError(op string, err error) error {
	prefix := "teams admin " + op + ": "
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		if afe.RawResponse == nil {
			// azidentity could not reach the authority; its message
			// names the URL and the network error, never the credential.
			return &apperr.Error{Code: apperr.Unavailable, Message: prefix + "token request failed: no response", Err: err}
		}
		status := afe.RawResponse.StatusCode
		msg := fmt.Sprintf("%stoken request failed: HTTP %d", prefix, status)
		switch {
		case status == http.StatusTooManyRequests:
			return &apperr.Error{Code: apperr.Throttled, Message: msg, RetryAfter: retryafter.Header(afe.RawResponse.Header)}
		case status == http.StatusRequestTimeout || status >= 500:
			return &apperr.Error{Code: apperr.Unavailable, Message: msg, RetryAfter: retryafter.Header(afe.RawResponse.Header)}
		}
		return &apperr.Error{Code: apperr.Forbidden, Reason: events.ReasonPermissionDenied,
			Message: msg + ": the token endpoint refused the app's credentials (check the tenant id, client id, credential and scope)"}
	}
	var se *teamsauth.Error
	if errors.As(err, &se) {
		// teamsauth's messages say what to do and never hold a token.
		return &apperr.Error{Code: apperr.Forbidden, Reason: events.ReasonPermissionDenied, Message: prefix + se.Error()}
	}
	var nr interface{ NonRetriable() }
	if errors.As(err, &nr) {
		return &apperr.Error{Code: apperr.Forbidden, Reason: events.ReasonPermissionDenied,
			Message: prefix + "the credential cannot get a token (check the tenant id, client id, credential and scope)"}
	}
	return &apperr.Error{Code: apperr.Unavailable, Message: prefix + "acquire token", Err: err}
}

// expand substitutes objectID, a GUID (see checkGUID), into a path template.
func expand(tmpl, objectID string) string {
	return strings.ReplaceAll(tmpl, objectIDPlaceholder, objectID)
}

// checkGUID rejects ids that are not GUIDs in their 36-character form. Entra
// object ids and Teams application ids are; the check also keeps arbitrary
// text out of request paths.
func checkGUID(op, what, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "teams admin %s: %s %q is not a GUID", op, what, id)
	}
	return nil
}

package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/submission"
)

// The submission types, under the names the door's documentation uses.
type (
	Submitter     = submission.Submitter
	SubmitterFunc = submission.SubmitterFunc
	Outcome       = submission.Outcome
	Submitted     = submission.Submitted
)

// Submit outcomes and the HTTP status each answers with.
const (
	Sent      = submission.Sent      // 202
	Duplicate = submission.Duplicate // 200 with the request's status
	Conflict  = submission.Conflict  // 409, reason request_conflict
)

// Defaults of Options.
const (
	DefaultMaxBody  = 1 << 20 // bytes
	DefaultMaxBatch = 1000    // requests
)

// MaxListLimit is the largest limit of GET /requests.
const MaxListLimit = 1000

// submitTimeout bounds one Submit. The submission is detached from the
// client's connection: a sender that hangs up must not cut a submission
// in half.
const submitTimeout = 30 * time.Second

// Options configure the handler. Submitter, Ledger and Keys are required.
type Options struct {
	Submitter Submitter
	Ledger    ledger.Ledger
	// Keys are the active HMAC keys, each at least MinKeyLen bytes; one or
	// two (MaxKeys), so that senders can move to a new key before the old
	// one is removed.
	Keys []string
	// MaxBody is the largest request body in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// MaxBatch is the most requests in one batch; 0 means DefaultMaxBatch.
	MaxBatch int
	// Normalize validates and normalises one request, as the intake step
	// does: pass validate.Normalizer with the tenant's options (verified
	// domains, callback hosts). nil means validate.Normalizer with zero
	// options, leaving the domain check to intake.
	Normalize func(events.Request) (events.Request, []events.FieldError)
	// AllowAdopt accepts requests with "adopt": true, as the intake step's
	// RAPROV_ALLOW_ADOPT does; without it they are refused with 400.
	AllowAdopt bool
	// Now is the clock of signature checks; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per refused or accepted call; nil discards.
	Logger *slog.Logger
	// Senders, by name, read the payloads of systems that cannot send a
	// request as raprov writes it (a ServiceNow catalog request, a
	// Workday event): POST /senders/{name} is signed, limited and answered
	// like POST /requests, with the request the sender's payload maps to.
	Senders map[string]Sender
	// SenderKeys, by sender name, are keys that sign POST /senders/{name}
	// for that sender and nothing else: not another sender, not POST,
	// GET or DELETE /requests. Give each sending system its own, so that a
	// key leaked from one system can only submit what that system's
	// mapping reads. One or two (MaxKeys) per sender, each at least
	// MinKeyLen bytes, none equal to one of Keys; every name must be one
	// of Senders. Keys signs every route, the sender routes included.
	SenderKeys map[string][]string
	// Planner plans the requests of a POST /requests marked "dryRun": true
	// instead of submitting them. nil (a host that cannot read the tenant)
	// answers such a POST 501 with reason dry_run_unavailable.
	Planner Planner
	// Accounts, when set, checks the account a DELETE /requests/{id} names
	// before anything is queued: a userPrincipalName no account has, or an
	// account raprov did not create for {id}, is refused (422) instead of
	// queued. nil leaves the check to the deprovisioning chain.
	Accounts Accounts
	// Signatures remembers every POST and DELETE signature that verified,
	// so that a captured request sent again is refused (401, signature
	// already used). nil means this process's memory, which a restart forgets and
	// other processes do not see: a door with several instances (Lambda)
	// passes one log they share (dynamoledger.Signatures). When the log
	// fails, the request is refused with 503 reason unavailable and
	// nothing is queued.
	Signatures SignatureLog
}

// Accounts reads the tenant's accounts for DELETE /requests/{id}.
type Accounts interface {
	// CreatedFor reports whether an account has the userPrincipalName upn
	// and, if so, whether raprov created it for the request requestID (it
	// carries that request's ownership mark).
	CreatedFor(ctx context.Context, upn, requestID string) (exists, created bool, err error)
}

// Sender turns one payload of a sending system into a request. A payload
// that names a request but misses or garbles some of its fields returns
// those as field errors (answered 400 with each field); an unreadable one
// returns an error (400, malformed).
type Sender func(body []byte) (events.Request, []events.FieldError, error)

// handler serves the API.
type handler struct {
	submit     Submitter
	ledger     ledger.Ledger
	keys       [][]byte
	maxBody    int64
	maxBatch   int
	normalize  func(events.Request) (events.Request, []events.FieldError)
	allowAdopt bool
	now        func() time.Time
	log        *slog.Logger
	senders    map[string]Sender
	planner    Planner
	accounts   Accounts
	// senderKeys are, by sender name, the keys that sign its route: keys
	// and the sender's own.
	senderKeys map[string][][]byte
	signatures SignatureLog
}

// New returns the HTTP handler of POST /requests, GET /requests, GET
// /requests/{id} and DELETE /requests/{id}. It fails when a required option is missing or a key is
// too short; its errors never quote a key.
func New(opts Options) (http.Handler, error) {
	if opts.Submitter == nil {
		return nil, errors.New("httpapi: Options.Submitter is required")
	}
	if opts.Ledger == nil {
		return nil, errors.New("httpapi: Options.Ledger is required")
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("httpapi: at least one HMAC key is required")
	}
	if len(opts.Keys) > MaxKeys {
		return nil, fmt.Errorf("httpapi: %d HMAC keys given; at most %d may be active (the current and the previous one)", len(opts.Keys), MaxKeys)
	}
	h := &handler{
		submit:     opts.Submitter,
		ledger:     opts.Ledger,
		maxBody:    opts.MaxBody,
		maxBatch:   opts.MaxBatch,
		normalize:  opts.Normalize,
		allowAdopt: opts.AllowAdopt,
		now:        opts.Now,
		log:        opts.Logger,
		senders:    opts.Senders,
		planner:    opts.Planner,
		accounts:   opts.Accounts,
		signatures: opts.Signatures,
	}
	for i, k := range opts.Keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("httpapi: HMAC key %d is %d bytes; at least %d are required", i+1, len(k), MinKeyLen)
		}
		h.keys = append(h.keys, []byte(k))
	}
	if err := h.setSenderKeys(opts.SenderKeys, opts.Keys); err != nil {
		return nil, err
	}
	switch {
	case h.maxBody < 0:
		return nil, fmt.Errorf("httpapi: MaxBody %d is negative", h.maxBody)
	case h.maxBody == 0:
		h.maxBody = DefaultMaxBody
	}
	switch {
	case h.maxBatch < 0:
		return nil, fmt.Errorf("httpapi: MaxBatch %d is negative", h.maxBatch)
	case h.maxBatch == 0:
		h.maxBatch = DefaultMaxBatch
	}
	if h.normalize == nil {
		h.normalize = validate.Normalizer(validate.Options{})
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.signatures == nil {
		h.signatures = &memorySignatures{now: h.now}
	}
	return h, nil
}

const (
	requestsPath = "/requests"
	sendersPath  = "/senders/"
)

// ServeHTTP routes by path and method. Paths are matched on their escaped
// form, so a request id holding "/" (sent as %2F) stays one path segment.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "http: handler panicked", "method", r.Method, "panic", fmt.Sprint(v))
			writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
		}
	}()
	path := r.URL.EscapedPath()
	switch {
	case path == requestsPath:
		switch r.Method {
		case http.MethodPost:
			h.post(w, r, h.keys, func(hdr http.Header, raw []byte) (body, *bodyError) { return parseBody(hdr, raw, h.maxBatch) })
		case http.MethodGet:
			h.list(w, r)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(path, requestsPath+"/"):
		id, err := url.PathUnescape(path[len(requestsPath)+1:])
		if err != nil || id == "" || strings.Contains(path[len(requestsPath)+1:], "/") {
			writeError(w, http.StatusNotFound, ErrorResponse{Error: "no such resource", Reason: ReasonNotFound})
			return
		}
		switch r.Method {
		case http.MethodGet:
			h.get(w, r, id)
		case http.MethodDelete:
			h.delete(w, r, id)
		default:
			methodNotAllowed(w, "GET, DELETE")
		}
	case strings.HasPrefix(path, sendersPath) && h.senders[path[len(sendersPath):]] != nil:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		name := path[len(sendersPath):]
		h.post(w, r, h.senderKeys[name], senderBody(h.senders[name]))
	default:
		writeError(w, http.StatusNotFound, ErrorResponse{Error: "no such resource; the API serves /requests, /requests/{id} and /senders/{name}", Reason: ReasonNotFound})
	}
}

// Reasons of answers that are not about a request's fields. Field and
// envelope errors carry the reason codes of package events instead
// (events.Reason values and the events.Poison* codes).
const (
	ReasonUnauthenticated  = "unauthenticated"        // 401
	ReasonNotFound         = "not_found"              // 404
	ReasonMethodNotAllowed = "method_not_allowed"     // 405
	ReasonTooLarge         = events.PoisonTooLarge    // 413
	ReasonUnsupportedType  = "unsupported_media_type" // 415
	ReasonBadFilter        = "invalid_filter"         // 400 on GET /requests
	ReasonUnavailable      = "unavailable"            // 503
	ReasonInternal         = "internal"               // 500

	// DELETE /requests/{id}.
	ReasonNotProvisioning = deprovision.NotProvisioning // 400: {id} is itself a deprovision request
	ReasonInProgress      = deprovision.InProgress      // 409: {id} has not ended yet
	ReasonNothingToRemove = deprovision.NothingToRemove // 422: {id} failed before any account was made
	ReasonTakenOver       = deprovision.TakenOver       // 409: another request adopted {id}'s account and holds it
	ReasonAccountUnknown  = deprovision.NoAccount       // 400: the ledger does not know {id}'s account and the body names none

	// POST /requests with "dryRun": true.
	ReasonDryRunUnavailable = "dry_run_unavailable" // 501: no Planner on this host
)

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error  string `json:"error"`            // human-readable
	Field  string `json:"field,omitempty"`  // the field or attribute at fault, when one is
	Reason string `json:"reason,omitempty"` // machine-readable code
	// Index is the batch item at fault, for errors about one item of a batch.
	Index *int `json:"index,omitempty"`
	// Errors lists every invalid field of a request, or of every bad item
	// of a batch.
	Errors []ItemError `json:"errors,omitempty"`
	// RequestID and Status name the request of a 409.
	RequestID string `json:"requestId,omitempty"`
	Status    string `json:"status,omitempty"`
}

// ItemError is one invalid field of a request.
type ItemError struct {
	Index   *int   `json:"index,omitempty"` // the batch item; absent for a single request
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Receipt answers an accepted request (202) and each item of a batch.
type Receipt struct {
	Index     *int   `json:"index,omitempty"` // batch item; absent for a single request
	RequestID string `json:"requestId"`
	Status    string `json:"status"` // path of the request's status: /requests/<id>
	// Target is, on the answer to DELETE /requests/{id}, {id}: the
	// provisioning request whose account the deprovision request removes.
	Target string `json:"target,omitempty"`
	// Result, Code, Error and Reason are set on batch items: what was done
	// with the item and the status code it would have had on its own.
	Result Outcome `json:"result,omitempty"`
	Code   int     `json:"code,omitempty"`
	Error  string  `json:"error,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// BatchResponse answers a batch: one Receipt per item, in order.
type BatchResponse struct {
	Results []Receipt `json:"results"`
}

// Status is one request's status (GET /requests/{id}, and the answer to a
// repeated request).
type Status struct {
	RequestID string `json:"requestId"`
	// Link is the status path; set only on the answer to a repeated request.
	Link    string         `json:"status,omitempty"`
	Outcome ledger.Outcome `json:"outcome"` // in_progress, completed or failed
	Step    string         `json:"step"`    // step of the latest entry
	Type    string         `json:"type,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Detail  string         `json:"detail,omitempty"`
	Attempt int            `json:"attempt"`
	Started time.Time      `json:"started"`
	Updated time.Time      `json:"updated"`
	// Account is the request's userPrincipalName, ObjectID the account's
	// Entra object id once a step learned it, Action "deprovision" on a
	// deprovision request (absent on provisioning).
	Account  string `json:"account,omitempty"`
	ObjectID string `json:"objectId,omitempty"`
	Action   string `json:"action,omitempty"`
	// History lists every entry, oldest first; GET /requests leaves it out.
	History []HistoryEntry `json:"history,omitempty"`
}

// HistoryEntry is one line of a request's history.
type HistoryEntry struct {
	Time    time.Time      `json:"time"`
	Step    string         `json:"step"`
	Type    string         `json:"type,omitempty"`
	Attempt int            `json:"attempt"`
	Reason  string         `json:"reason,omitempty"`
	Detail  string         `json:"detail,omitempty"`
	Outcome ledger.Outcome `json:"outcome"`
}

// ListResponse answers GET /requests.
type ListResponse struct {
	Requests []Status `json:"requests"`
}

// StatusPath returns the path of a request's status: /requests/<id>, the
// id escaped as one path segment.
func StatusPath(requestID string) string {
	return requestsPath + "/" + url.PathEscape(requestID)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, ErrorResponse{Error: "method not allowed; use " + allow, Reason: ReasonMethodNotAllowed})
}

func writeError(w http.ResponseWriter, code int, e ErrorResponse) {
	writeJSON(w, code, e)
}

// writeJSON writes v as the JSON answer with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"internal error","reason":"internal"}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// authenticate checks r's signature over body under one of keys; on
// failure it answers 401 and returns false.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request, keys [][]byte, sig signature, body []byte) bool {
	if err := sig.check(keys, body); err != nil {
		h.unauthorized(w, r, err)
		return false
	}
	return true
}

// signature parses r's signature header and checks its timestamp; on
// failure it answers 401 and returns false.
func (h *handler) signature(w http.ResponseWriter, r *http.Request) (signature, bool) {
	vals := r.Header.Values(SignatureHeader)
	if len(vals) > 1 {
		h.unauthorized(w, r, ErrMalformedSignature)
		return signature{}, false
	}
	sig, err := parseSignature(r.Header.Get(SignatureHeader), h.now())
	if err != nil {
		h.unauthorized(w, r, err)
		return signature{}, false
	}
	return sig, true
}

func (h *handler) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	h.log.WarnContext(r.Context(), "http: unauthenticated call refused",
		"method", r.Method, "path", r.URL.EscapedPath(), "remote", r.RemoteAddr, "error", err.Error())
	w.Header().Set("WWW-Authenticate", `Raprov-HMAC-SHA256 header="`+SignatureHeader+`"`)
	writeError(w, http.StatusUnauthorized, ErrorResponse{Error: err.Error(), Reason: ReasonUnauthenticated})
}

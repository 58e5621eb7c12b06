package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// Keys of the tests: 32 bytes and more.
const (
	key1 = "k1-0123456789abcdef0123456789abcdef"
	key2 = "k2-fedcba9876543210fedcba9876543210"
)

// now is the server's clock in every test.
var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// fakeSubmitter mimics the embedded submit: it claims request ids with the
// request's fingerprint, records a "submit" ledger entry for each request
// it sends, and records every call.
type fakeSubmitter struct {
	ledger ledger.Ledger
	err    error // returned by Submit when set

	mu     sync.Mutex
	claims map[string]string // request id → fingerprint
	calls  []submitCall
	events []events.Event // the events of the requests sent
}

type submitCall struct {
	traceParent string
	reqs        []events.Request
}

var _ httpapi.Submitter = (*fakeSubmitter)(nil)

func (f *fakeSubmitter) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]httpapi.Submitted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, submitCall{traceParent, slices.Clone(reqs)})
	if f.err != nil {
		return nil, f.err
	}
	out := make([]httpapi.Submitted, len(reqs))
	for i, r := range reqs {
		ev := events.New(events.RequestedType(r), "raprov/http", events.Data{Request: r})
		ev.TraceParent = traceParent
		out[i].Event = ev
		fp, claimed := f.claims[r.RequestID]
		switch {
		case !claimed:
			f.claims[r.RequestID] = r.Fingerprint()
			out[i].Outcome = httpapi.Sent
			f.events = append(f.events, ev)
			if err := f.ledger.Record(ctx, ledger.Entry{EventID: ev.ID, RequestID: r.RequestID, Type: ev.Type, Step: "submit", Time: ev.Time}); err != nil {
				return nil, err
			}
		case fp == r.Fingerprint():
			out[i].Outcome = httpapi.Duplicate
		default:
			out[i].Outcome = httpapi.Conflict
		}
	}
	return out, nil
}

// sent returns every request the fake was given, across calls.
func (f *fakeSubmitter) sent() []events.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []events.Request
	for _, c := range f.calls {
		out = append(out, c.reqs...)
	}
	return out
}

// sentEvents returns the events of the requests sent, across calls.
func (f *fakeSubmitter) sentEvents() []events.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func (f *fakeSubmitter) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// env is a server on loopback with its fake submitter, ledger and log.
type env struct {
	srv    *httptest.Server
	sub    *fakeSubmitter
	ledger *memledger.Ledger
	log    *bytes.Buffer
}

// newEnv starts the API on loopback with keys key1 and key2; change
// adjusts the options first.
func newEnv(t *testing.T, change func(*httpapi.Options)) *env {
	t.Helper()
	led := memledger.New()
	sub := &fakeSubmitter{ledger: led, claims: map[string]string{}}
	var logBuf bytes.Buffer
	opts := httpapi.Options{
		Submitter: sub,
		Ledger:    led,
		Keys:      []string{key1, key2},
		Now:       func() time.Time { return now },
		Logger:    slog.New(slog.NewJSONHandler(&lockedWriter{w: &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if change != nil {
		change(&opts)
	}
	h, err := httpapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	return &env{srv: srv, sub: sub, ledger: led, log: &logBuf}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is an answer of the API.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v, failing t if it is not JSON.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.code, err, r.body)
	}
}

func (r response) errorBody(t *testing.T) httpapi.ErrorResponse {
	t.Helper()
	var e httpapi.ErrorResponse
	r.decode(t, &e)
	return e
}

// call sends method path with body and headers; the signature header is
// whatever headers say.
func (e *env) call(t *testing.T, method, path string, body []byte, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{code: resp.StatusCode, header: resp.Header, body: b}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: answer %d is not JSON: %s", method, path, r.code, b)
	}
	return r
}

// post sends body signed with key1 at now, with contentType and extra headers.
func (e *env) post(t *testing.T, contentType string, body []byte, extra map[string]string) response {
	t.Helper()
	h := map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, now, body)}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	for k, v := range extra {
		h[k] = v
	}
	return e.call(t, http.MethodPost, "/requests", body, h)
}

// get sends a GET signed with key1 over the empty body.
func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	return e.call(t, http.MethodGet, path, nil, map[string]string{httpapi.SignatureHeader: httpapi.SignGet(key1, now, path)})
}

// request returns a valid request as JSON, with changes applied.
func request(id string, change ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"displayName":       "Contoso Main Line",
		"userPrincipalName": "RA-MainLine@Contoso.com",
		"accountType":       "AA",
		"usageLocation":     "us",
		"phoneNumber":       "(425) 555-0100",
	}
	if id != "" {
		m["requestId"] = id
	}
	for _, c := range change {
		c(m)
	}
	return m
}

// cloudEvent returns a structured-mode provisioning.requested event carrying data.
func cloudEvent(id string, data any) map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"type":            events.TypeProvisioningRequested,
		"source":          "servicenow/catalog",
		"id":              id,
		"time":            "2026-11-25T08:59:00Z",
		"datacontenttype": "application/json",
		"data":            data,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noSecrets fails t if the log holds a key.
func (e *env) noSecrets(t *testing.T) {
	t.Helper()
	for _, k := range []string{key1, key2} {
		if strings.Contains(e.log.String(), k) {
			t.Errorf("log holds an HMAC key:\n%s", e.log)
		}
	}
}

var errQueueDown = errors.New("queue down")

// failingLedger fails every read as an unavailable store would.
type failingLedger struct{ ledger.Ledger }

func (failingLedger) Get(context.Context, string) (ledger.Status, error) {
	return ledger.Status{}, &apperr.Error{Code: apperr.Unavailable, Message: "dynamodb: timeout"}
}

func (failingLedger) List(context.Context, ledger.Filter) ([]ledger.Status, error) {
	return nil, &apperr.Error{Code: apperr.Unavailable, Message: "dynamodb: timeout"}
}

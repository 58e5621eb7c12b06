package statuspage_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/door/statuspage"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/transport"
)

const (
	key1 = "k1-0123456789abcdef0123456789abcdef"
	key2 = "k2-0123456789abcdef0123456789abcdef"
)

// t0 is the fixture's "now".
var t0 = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)

// fakeDLQ is a hand-written transport.DeadLetterQueues.
type fakeDLQ struct {
	letters []transport.DeadLetter
}

var _ transport.DeadLetterQueues = (*fakeDLQ)(nil)

func (f *fakeDLQ) List(_ context.Context, queue string, limit int) ([]transport.DeadLetter, error) {
	var out []transport.DeadLetter
	for _, d := range f.letters {
		if (queue == "" || d.Queue == queue) && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeDLQ) Count(_ context.Context, queue string) (int, error) {
	n := 0
	for _, d := range f.letters {
		if queue == "" || d.Queue == queue {
			n++
		}
	}
	return n, nil
}
func (f *fakeDLQ) Delete(context.Context, string) error       { return nil }
func (f *fakeDLQ) Purge(context.Context, string) (int, error) { return 0, nil }

// replayRecorder records Replay calls; ids in missing answer NotFound.
type replayRecorder struct {
	mu      sync.Mutex
	calls   []string
	missing map[string]bool
}

func (r *replayRecorder) Replay(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, id)
	if r.missing[id] {
		return apperr.New(apperr.NotFound, "", "no dead letter %s", id)
	}
	return nil
}

func (r *replayRecorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type fixture struct {
	srv    *httptest.Server
	ledger *memledger.Ledger
	dlq    *fakeDLQ
	replay *replayRecorder
	clock  *clock
	client *http.Client
}

// newFixture serves a status page over a memledger and a fake DLQ on loopback.
func newFixture(t *testing.T, keys ...string) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, keys...)
}

// newFixtureWith is newFixture with options changed by with.
func newFixtureWith(t *testing.T, with func(*statuspage.Options), keys ...string) *fixture {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{key1, key2}
	}
	f := &fixture{
		ledger: memledger.New(),
		dlq:    &fakeDLQ{},
		replay: &replayRecorder{missing: map[string]bool{}},
		clock:  &clock{t: t0},
	}
	opts := statuspage.Options{
		Ledger:      f.ledger,
		DeadLetters: f.dlq,
		Replay:      f.replay.Replay,
		Keys:        keys,
		Now:         f.clock.Now,
	}
	if with != nil {
		with(&opts)
	}
	h, err := statuspage.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	f.client = noRedirects(f.srv.Client())
	return f
}

func noRedirects(c *http.Client) *http.Client {
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// MustRecord records entries in the fixture's ledger.
func (f *fixture) MustRecord(t *testing.T, entries ...ledger.Entry) {
	t.Helper()
	if err := f.ledger.Record(context.Background(), entries...); err != nil {
		t.Fatal(err)
	}
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	Body string
}

// do sends a request; cookie may be nil, form nil for GET. hdr adds headers.
func (f *fixture) do(t *testing.T, method, path string, cookie *http.Cookie, form url.Values, hdr map[string]string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Response: resp, Body: string(b)}
}

func (f *fixture) get(t *testing.T, path string, cookie *http.Cookie) answer {
	t.Helper()
	return f.do(t, http.MethodGet, path, cookie, nil, nil)
}

// post posts form as the page's own form does: with Origin set to the server.
func (f *fixture) post(t *testing.T, path string, cookie *http.Cookie, form url.Values) answer {
	t.Helper()
	return f.do(t, http.MethodPost, path, cookie, form, map[string]string{"Origin": f.srv.URL})
}

// MustLogin logs in with key and returns the session cookie.
func (f *fixture) MustLogin(t *testing.T, key string) *http.Cookie {
	t.Helper()
	a := f.post(t, "/login", nil, url.Values{"key": {key}})
	if a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %q, want 303 to /", a.StatusCode, a.Header.Get("Location"))
	}
	for _, c := range a.Cookies() {
		if c.Name == "raprov_session" && c.Value != "" {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

var replayCSRF = regexp.MustCompile(`action="/dead-letters/[^"]*/replay"><input type="hidden" name="csrf" value="([^"]+)"`)
var logoutCSRF = regexp.MustCompile(`action="/logout"><input type="hidden" name="csrf" value="([^"]+)"`)

// mustMatch returns the first group of re in body.
func mustMatch(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, body)
	}
	return m[1]
}

// mustBody encodes an event for a dead letter's body.
func mustBody(t *testing.T, requestID, displayName string) []byte {
	t.Helper()
	ev := events.New(events.TypeLicenseAvailable, "raprov/license", events.Data{Request: events.Request{RequestID: requestID, DisplayName: displayName}})
	b, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRedirect fails unless a is a 303 to location.
func wantRedirect(t *testing.T, a answer, location string) {
	t.Helper()
	if a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != location {
		t.Fatalf("got %d to %q, want 303 to %q", a.StatusCode, a.Header.Get("Location"), location)
	}
}

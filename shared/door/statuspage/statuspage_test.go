package statuspage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/door/statuspage"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/transport"
)

func TestNewRefusesBadOptions(t *testing.T) {
	l := memledger.New()
	for name, opts := range map[string]statuspage.Options{
		"no ledger":  {Keys: []string{key1}},
		"no key":     {Ledger: l},
		"short key":  {Ledger: l, Keys: []string{"too-short"}},
		"three keys": {Ledger: l, Keys: []string{key1, key2, key1 + "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := statuspage.New(opts)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if strings.Contains(err.Error(), "too-short") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestUnauthenticatedRedirectsToLogin(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/dead-letters", "/requests/r-1/view"} {
		wantRedirect(t, f.get(t, path, nil), "/login")
	}
	wantRedirect(t, f.post(t, "/dead-letters/dl-1/replay", nil, url.Values{"csrf": {"x"}}), "/login")
	if calls := f.replay.Calls(); len(calls) != 0 {
		t.Errorf("Replay called %v without a session", calls)
	}
	if a := f.get(t, "/login", nil); a.StatusCode != http.StatusOK || !strings.Contains(a.Body, `name="key"`) {
		t.Errorf("GET /login: %d\n%s", a.StatusCode, a.Body)
	}
}

func TestLoginWithWrongKey(t *testing.T) {
	f := newFixture(t)
	for _, key := range []string{"", "wrong", key1 + "x", strings.ToUpper(key1)} {
		a := f.post(t, "/login", nil, url.Values{"key": {key}})
		if a.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: status %d, want 401", key, a.StatusCode)
		}
		if len(a.Cookies()) != 0 {
			t.Errorf("key %q: cookies %v", key, a.Cookies())
		}
		if !strings.Contains(a.Body, "not valid") {
			t.Errorf("key %q: page does not say so:\n%s", key, a.Body)
		}
	}
}

func TestLoginFromAnotherSiteRefused(t *testing.T) {
	f := newFixture(t)
	a := f.do(t, http.MethodPost, "/login", nil, url.Values{"key": {key1}}, map[string]string{"Origin": "https://evil.example"})
	if a.StatusCode != http.StatusForbidden || len(a.Cookies()) != 0 {
		t.Errorf("cross-origin login: %d, cookies %v; want 403 and none", a.StatusCode, a.Cookies())
	}
}

func TestLoginCookie(t *testing.T) {
	f := newFixture(t)
	for _, key := range []string{key1, key2, " " + key2 + "\n"} {
		c := f.MustLogin(t, key)
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
		}
		if c.MaxAge != int((8 * time.Hour).Seconds()) {
			t.Errorf("MaxAge %d, want 8h", c.MaxAge)
		}
		if strings.Contains(c.Value, key1) || strings.Contains(c.Value, key2) {
			t.Error("cookie holds the key")
		}
		wantRedirect(t, f.get(t, "/login", c), "/")
	}
}

func TestLoginCookieSecureOverTLS(t *testing.T) {
	h, err := statuspage.New(statuspage.Options{Ledger: memledger.New(), Keys: []string{key1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	resp, err := noRedirects(srv.Client()).PostForm(srv.URL+"/login", url.Values{"key": {key1}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies over TLS: %+v", cs)
	}
}

// Behind a proxy that terminates TLS the page sees plain HTTP:
// SecureCookies still marks the cookie Secure.
func TestLoginCookieSecureBehindATLSProxy(t *testing.T) {
	h, err := statuspage.New(statuspage.Options{Ledger: memledger.New(), Keys: []string{key1}, SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := noRedirects(srv.Client()).PostForm(srv.URL+"/login", url.Values{"key": {key1}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("cookies over plain HTTP with SecureCookies: %+v", cs)
	}
}

// requestsFixture records three requests: r-done completed at create,
// r-fail failed at license with no_license, r-busy in progress at number.
func requestsFixture(t *testing.T, f *fixture) {
	t.Helper()
	at := func(m int) time.Time { return t0.Add(time.Duration(m-60) * time.Minute) }
	f.MustRecord(t,
		ledger.Entry{EventID: "e1", RequestID: "r-done", Type: "raprov.provisioning.accepted.v1", Step: "intake", Time: at(0)},
		ledger.Entry{EventID: "e2", RequestID: "r-done", Type: "raprov.provisioning.completed.v1", Step: "complete", Time: at(5), Outcome: ledger.Completed},
		ledger.Entry{EventID: "e3", RequestID: "r-fail", Type: "raprov.provisioning.accepted.v1", Step: "intake", Time: at(10)},
		ledger.Entry{EventID: "e4", RequestID: "r-fail", Type: "raprov.provisioning.failed.v1", Step: "license", Time: at(20), Reason: "no_license", Detail: "0 of 25 left", Attempt: 3, Outcome: ledger.Failed},
		ledger.Entry{EventID: "e5", RequestID: "r-busy", Type: "raprov.provisioning.accepted.v1", Step: "intake", Time: at(40)},
		ledger.Entry{EventID: "e6", RequestID: "r-busy", Type: "raprov.number.assignmentPending.v1", Step: "number", Time: at(50)},
	)
}

func TestIndexFilters(t *testing.T) {
	f := newFixture(t)
	requestsFixture(t, f)
	c := f.MustLogin(t, key1)
	all := []string{"r-done", "r-fail", "r-busy"}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?outcome=failed", []string{"r-fail"}},
		{"?outcome=completed", []string{"r-done"}},
		{"?outcome=in_progress&step=number", []string{"r-busy"}},
		{"?step=license", []string{"r-fail"}},
		{"?reason=no_license", []string{"r-fail"}},
		{"?since=2025-01-31T11:30:00Z", []string{"r-busy"}},
		{"?since=2025-01-31T11:15", []string{"r-fail", "r-busy"}},
		{"?since=30m", []string{"r-busy"}},
		{"?limit=1", []string{"r-busy"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			a := f.get(t, "/"+tc.query, c)
			if a.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", a.StatusCode, a.Body)
			}
			for _, id := range all {
				link := fmt.Sprintf(`href="/requests/%s/view"`, id)
				if got, want := strings.Contains(a.Body, link), slices.Contains(tc.want, id); got != want {
					t.Errorf("%s listed: %v, want %v", id, got, want)
				}
			}
		})
	}
	a := f.get(t, "/", c)
	for _, want := range []string{"All requests: 3", "no_license", "0 of 25 left"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	for _, q := range []string{"?outcome=bogus", "?since=yesterday", "?limit=0", "?limit=5000"} {
		if a := f.get(t, "/"+q, c); a.StatusCode != http.StatusBadRequest || strings.Contains(a.Body, `href="/requests/`) {
			t.Errorf("%s: status %d, want 400 and no list", q, a.StatusCode)
		}
	}
}

func TestTimeline(t *testing.T) {
	f := newFixture(t)
	f.MustRecord(t, // recorded out of order; shown by time
		ledger.Entry{EventID: "e3", RequestID: "r/1", Type: "raprov.account.created.v1", Step: "create", Time: t0.Add(-10 * time.Minute), Detail: "third-detail"},
		ledger.Entry{EventID: "e1", RequestID: "r/1", Type: "raprov.provisioning.accepted.v1", Step: "intake", Time: t0.Add(-30 * time.Minute), Detail: "first-detail"},
		ledger.Entry{EventID: "e2", RequestID: "r/1", Type: "raprov.license.available.v1", Step: "license", Time: t0.Add(-20 * time.Minute), Attempt: 2, Reason: "throttled", Detail: "second-detail"},
	)
	c := f.MustLogin(t, key1)
	// A request id holding "/" is one escaped path segment, as in the API.
	if a := f.get(t, "/", c); !strings.Contains(a.Body, `href="/requests/r%2f1/view"`) && !strings.Contains(a.Body, `href="/requests/r%2F1/view"`) {
		t.Fatalf("index does not link r/1 escaped:\n%s", a.Body)
	}
	a := f.get(t, "/requests/r%2F1/view", c)
	if a.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", a.StatusCode, a.Body)
	}
	timeline := a.Body[strings.Index(a.Body, "Timeline"):]
	last := -1
	for _, want := range []string{"first-detail", "throttled", "second-detail", "third-detail"} {
		i := strings.Index(timeline, want)
		if i < 0 || i < last {
			t.Fatalf("%q at %d, after %d: timeline out of order\n%s", want, i, last, timeline)
		}
		last = i
	}
	for _, want := range []string{"2025-01-31 11:30:00Z", "raprov.license.available.v1", "in_progress"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if a := f.get(t, "/requests/nope/view", c); a.StatusCode != http.StatusNotFound {
		t.Errorf("unknown request: %d, want 404", a.StatusCode)
	}
}

func deadLettersFixture(t *testing.T, f *fixture) {
	t.Helper()
	f.dlq.letters = []transport.DeadLetter{
		{ID: "dl-1", Queue: "license", Body: mustBody(t, "r-1", "Reception AA"), Reason: "max_receive", Detail: "gave up after 5", Received: 5, At: t0.Add(-time.Hour)},
		{ID: "dl-2", Queue: "create", Body: []byte("not json"), Reason: "poison_malformed_envelope", Detail: "bad json", Received: 1, At: t0},
	}
}

func TestDeadLettersPage(t *testing.T) {
	f := newFixture(t)
	deadLettersFixture(t, f)
	c := f.MustLogin(t, key1)
	a := f.get(t, "/dead-letters", c)
	if a.StatusCode != http.StatusOK {
		t.Fatalf("status %d", a.StatusCode)
	}
	for _, want := range []string{"2 dead letter(s)", "max_receive", "gave up after 5", "poison_malformed_envelope", "undecodable body",
		`href="/requests/r-1/view"`, "Reception AA", `action="/dead-letters/dl-1/replay"`, `action="/dead-letters/dl-2/replay"`, "2025-01-31 11:00:00Z"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	a = f.get(t, "/dead-letters?queue=create", c)
	if strings.Contains(a.Body, "dl-1") || !strings.Contains(a.Body, "dl-2") {
		t.Errorf("queue filter not applied:\n%s", a.Body)
	}
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	deadLettersFixture(t, f)
	c := f.MustLogin(t, key1)
	token := mustMatch(t, replayCSRF, f.get(t, "/dead-letters", c).Body)

	a := f.post(t, "/dead-letters/dl-1/replay", c, url.Values{"csrf": {token}})
	wantRedirect(t, a, "/dead-letters?replayed=dl-1")
	if calls := f.replay.Calls(); !slices.Equal(calls, []string{"dl-1"}) {
		t.Fatalf("Replay calls %v, want [dl-1]", calls)
	}
	if page := f.get(t, a.Header.Get("Location"), c); !strings.Contains(page.Body, "Replayed dead letter") {
		t.Errorf("no flash:\n%s", page.Body)
	}

	// Without Origin (an older browser), the token alone is enough; a
	// same-host Referer is accepted too.
	a = f.do(t, http.MethodPost, "/dead-letters/dl-2/replay", c, url.Values{"csrf": {token}}, map[string]string{"Referer": f.srv.URL + "/dead-letters"})
	wantRedirect(t, a, "/dead-letters?replayed=dl-2")

	f.replay.missing["gone"] = true
	wantRedirect(t, f.post(t, "/dead-letters/gone/replay", c, url.Values{"csrf": {token}}), "/dead-letters?notfound=gone")
	if page := f.get(t, "/dead-letters?notfound=gone", c); !strings.Contains(page.Body, "No such dead letter") {
		t.Errorf("no not-found flash")
	}
}

func TestReplayRefused(t *testing.T) {
	f := newFixture(t)
	deadLettersFixture(t, f)
	c := f.MustLogin(t, key1)
	token := mustMatch(t, replayCSRF, f.get(t, "/dead-letters", c).Body)
	other := f.MustLogin(t, key1) // another session of the same key
	otherToken := mustMatch(t, replayCSRF, f.get(t, "/dead-letters", other).Body)
	logoutToken := mustMatch(t, logoutCSRF, f.get(t, "/dead-letters", c).Body)
	if token == otherToken {
		t.Fatal("two sessions share a CSRF token")
	}
	same := f.srv.URL
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{}, map[string]string{"Origin": same}},
		{"empty token", url.Values{"csrf": {""}}, map[string]string{"Origin": same}},
		{"wrong token", url.Values{"csrf": {flipLast(token)}}, map[string]string{"Origin": same}},
		{"other session's token", url.Values{"csrf": {otherToken}}, map[string]string{"Origin": same}},
		{"logout token", url.Values{"csrf": {logoutToken}}, map[string]string{"Origin": same}},
		{"cross-origin Origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "https://evil.example"}},
		{"null Origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "null"}},
		{"cross-origin Referer", url.Values{"csrf": {token}}, map[string]string{"Referer": "https://evil.example/x"}},
		{"cross-site fetch", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(t, http.MethodPost, "/dead-letters/dl-1/replay", c, tc.form, tc.hdr)
			if a.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", a.StatusCode)
			}
		})
	}
	if calls := f.replay.Calls(); len(calls) != 0 {
		t.Errorf("Replay called %v", calls)
	}
	if a := f.do(t, http.MethodGet, "/dead-letters/dl-1/replay", c, nil, nil); a.StatusCode == http.StatusOK || len(f.replay.Calls()) != 0 {
		t.Errorf("GET replay: %d, calls %v", a.StatusCode, f.replay.Calls())
	}
}

func TestSessionRefused(t *testing.T) {
	f := newFixture(t)
	c := f.MustLogin(t, key1)
	v := c.Value
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	parts := strings.Split(v, ".")
	laterExp := fmt.Sprint(t0.Add(7 * time.Hour).Unix())
	for name, value := range map[string]string{
		"mac flipped":    flip(v, len(v)-1),
		"expiry changed": strings.Join([]string{parts[0], laterExp, parts[2], parts[3]}, "."),
		"nonce changed":  strings.Join([]string{parts[0], parts[1], flip(parts[2], 0), parts[3]}, "."),
		"no mac":         strings.Join(parts[:3], "."),
		"garbage":        "<script>",
		"huge":           strings.Repeat("a", 5000),
	} {
		t.Run(name, func(t *testing.T) {
			a := f.get(t, "/", &http.Cookie{Name: c.Name, Value: value})
			wantRedirect(t, a, "/login")
			if cs := a.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
				t.Errorf("refused cookie not cleared: %v", cs)
			}
		})
	}
	if a := f.get(t, "/", c); a.StatusCode != http.StatusOK {
		t.Fatalf("valid cookie refused: %d", a.StatusCode)
	}
	f.clock.Advance(8*time.Hour - time.Second)
	if a := f.get(t, "/", c); a.StatusCode != http.StatusOK {
		t.Fatalf("cookie refused before 8h: %d", a.StatusCode)
	}
	f.clock.Advance(2 * time.Second)
	wantRedirect(t, f.get(t, "/", c), "/login")

	// A key taken out of rotation ends its sessions.
	f2 := newFixture(t, key1, key2)
	c2 := f2.MustLogin(t, key2)
	f3 := newFixture(t, key1)
	wantRedirect(t, f3.get(t, "/", c2), "/login")
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	c := f.MustLogin(t, key1)
	token := mustMatch(t, logoutCSRF, f.get(t, "/", c).Body)
	if a := f.post(t, "/logout", c, url.Values{}); a.StatusCode != http.StatusForbidden {
		t.Errorf("logout without token: %d, want 403", a.StatusCode)
	}
	a := f.post(t, "/logout", c, url.Values{"csrf": {token}})
	wantRedirect(t, a, "/login")
	if cs := a.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %v", cs)
	}
	// A copy of the cookie kept from before the logout is refused: the
	// session ended on the server, not only in the browser.
	wantRedirect(t, f.get(t, "/", c), "/login")
	if a := f.get(t, "/login", c); a.StatusCode != http.StatusOK {
		t.Errorf("login page with the logged-out cookie: %d, want the form", a.StatusCode)
	}
	// Another session of the same key is not affected.
	c2 := f.MustLogin(t, key1)
	if a := f.get(t, "/", c2); a.StatusCode != http.StatusOK {
		t.Errorf("a new session after a logout: %d", a.StatusCode)
	}
}

// Failed logins are limited per client: past MaxLoginFailures in
// LoginWindow every attempt is 429 without the key being checked (the
// right key too), until the window has passed.
func TestLoginFailuresLimited(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < statuspage.MaxLoginFailures; i++ {
		if a := f.post(t, "/login", nil, url.Values{"key": {"wrong-key-wrong-key-wrong-key-wrong"}}); a.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, a.StatusCode)
		}
	}
	a := f.post(t, "/login", nil, url.Values{"key": {key1}})
	if a.StatusCode != http.StatusTooManyRequests || a.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures: %d (Retry-After %q), want 429", statuspage.MaxLoginFailures, a.StatusCode, a.Header.Get("Retry-After"))
	}
	if len(a.Cookies()) != 0 {
		t.Error("a refused login set a cookie")
	}
	f.clock.Advance(statuspage.LoginWindow)
	f.MustLogin(t, key1)
}

func TestHostileStringsRenderInert(t *testing.T) {
	f := newFixture(t)
	const hostile = "<script>alert(1)</script>\u202egnp.exe\u2066\x1b[2J\"'&"
	f.MustRecord(t, ledger.Entry{EventID: "e1", RequestID: "r-" + hostile, Type: "t" + hostile, Step: "s" + hostile,
		Reason: "why" + hostile, Detail: "detail" + hostile, Outcome: ledger.Failed, Time: t0})
	f.dlq.letters = []transport.DeadLetter{{ID: "dl" + hostile, Queue: "q" + hostile, Body: mustBody(t, "r-x", "name"+hostile),
		Reason: "reason" + hostile, Detail: "detail" + hostile, At: t0}}
	c := f.MustLogin(t, key1)
	pages := []string{"/", "/requests/" + url.PathEscape("r-"+hostile) + "/view", "/dead-letters",
		"/dead-letters?replayed=" + url.QueryEscape(hostile), "/?step=" + url.QueryEscape(hostile)}
	for _, p := range pages {
		a := f.get(t, p, c)
		if a.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", p, a.StatusCode)
		}
		for _, bad := range []string{"<script", "\u202e", "\u2066", "\x1b"} {
			if strings.Contains(a.Body, bad) {
				t.Errorf("%s: page holds %q", p, bad)
			}
		}
		if !strings.Contains(a.Body, "&lt;script&gt;") || !strings.Contains(a.Body, `\u202e`) {
			t.Errorf("%s: hostile string not shown escaped", p)
		}
	}
	if a := f.get(t, "/dead-letters", c); !strings.Contains(a.Body, "name&lt;script&gt;") {
		t.Errorf("display name not shown")
	}
}

func TestHeadersAndStylesheet(t *testing.T) {
	f := newFixture(t)
	requestsFixture(t, f)
	deadLettersFixture(t, f)
	c := f.MustLogin(t, key1)
	for _, p := range []string{"/login", "/", "/requests/r-fail/view", "/dead-letters", "/static/style.css", "/nope"} {
		a := f.get(t, p, c)
		if csp := a.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'; style-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if a.Header.Get("X-Frame-Options") != "DENY" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: frame/nosniff headers %v", p, a.Header)
		}
		if strings.Contains(strings.ToLower(a.Body), "<script") || strings.Contains(a.Body, "style=") || strings.Contains(a.Body, "https://") {
			t.Errorf("%s: inline script or style, or an external resource", p)
		}
	}
	a := f.get(t, "/static/style.css", nil)
	if a.StatusCode != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/css") || !strings.Contains(a.Body, "body") {
		t.Errorf("stylesheet: %d %q", a.StatusCode, a.Header.Get("Content-Type"))
	}
	if a := f.get(t, "/", c); a.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("pages cacheable: %q", a.Header.Get("Cache-Control"))
	}
}

func TestMountBesideTheAPI(t *testing.T) {
	h, err := statuspage.New(statuspage.Options{Ledger: memledger.New(), Keys: []string{key1}})
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "api") })
	mux := http.NewServeMux()
	mux.Handle("/requests", api)
	mux.Handle("/requests/", api)
	mux.Handle("/senders/", api)
	h.Mount(mux) // must not panic
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/requests", "api"},
		{"POST", "/requests", "api"},
		{"GET", "/requests/r-1", "api"},
		{"POST", "/senders/servicenow", "api"},
		{"GET", "/requests/r-1/view", "page"},
		{"GET", "/", "page"},
		{"GET", "/dead-letters", "page"},
		{"GET", "/login", "page"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		got := "page"
		if rec.Body.String() == "api" {
			got = "api"
		}
		if got != tc.want {
			t.Errorf("%s %s served by %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
	if len(h.Routes()) != 8 {
		t.Errorf("Routes: %v", h.Routes())
	}
}

func TestWithoutDeadLettersOrReplay(t *testing.T) {
	h, err := statuspage.New(statuspage.Options{Ledger: memledger.New(), Keys: []string{key1}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: httptest.NewServer(h)}
	defer f.srv.Close()
	f.client = noRedirects(f.srv.Client())
	c := f.MustLogin(t, key1)
	a := f.get(t, "/dead-letters", c)
	if a.StatusCode != http.StatusOK || !strings.Contains(a.Body, "no dead-letter queues") || strings.Contains(a.Body, "/replay") {
		t.Errorf("dead letters without a queue: %d\n%s", a.StatusCode, a.Body)
	}
	token := mustMatch(t, logoutCSRF, a.Body) // any token: the replay check comes first
	if a := f.post(t, "/dead-letters/x/replay", c, url.Values{"csrf": {token}}); a.StatusCode != http.StatusForbidden {
		t.Errorf("replay with a logout token: %d, want 403", a.StatusCode)
	}
}

// flipLast returns s with its last character changed, so it is never s.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}

// revocations is a Revocations shared by two pages, standing for the
// database `raprov serve` keeps them in; fail makes every call fail,
// failRevoke only the writes.
type revocations struct {
	mu               sync.Mutex
	revoked          map[string]bool
	fail, failRevoke bool
}

func (r *revocations) Revoke(_ context.Context, token string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail || r.failRevoke {
		return errors.New("database is locked")
	}
	r.revoked[token] = true
	return nil
}

func (r *revocations) Revoked(_ context.Context, token string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return false, errors.New("database is locked")
	}
	return r.revoked[token], nil
}

func (r *revocations) setFail(v bool) { r.mu.Lock(); r.fail = v; r.mu.Unlock() }

// With Options.Revocations a logout outlives the process: a second page
// over the same store (the same database after a restart) refuses a copy
// of the logged-out cookie. A store that cannot be read refuses sessions;
// a logout that cannot be recorded is 503 and keeps the cookie, so that
// the operator can log out again.
func TestLogoutRemembered(t *testing.T) {
	store := &revocations{revoked: map[string]bool{}}
	with := func(o *statuspage.Options) { o.Revocations = store }
	first, restarted := newFixtureWith(t, with), newFixtureWith(t, with)
	c := first.MustLogin(t, key1)
	if a := restarted.get(t, "/", c); a.StatusCode != http.StatusOK {
		t.Fatalf("the cookie on the second page before logout: %d, want 200", a.StatusCode)
	}
	token := mustMatch(t, logoutCSRF, first.get(t, "/", c).Body)
	wantRedirect(t, first.post(t, "/logout", c, url.Values{"csrf": {token}}), "/login")
	wantRedirect(t, restarted.get(t, "/", c), "/login")

	c2 := first.MustLogin(t, key1)
	store.setFail(true)
	wantRedirect(t, first.get(t, "/", c2), "/login") // unreadable: refused, not let in
	store.setFail(false)
	token = mustMatch(t, logoutCSRF, first.get(t, "/", c2).Body)
	store.mu.Lock()
	store.failRevoke = true
	store.mu.Unlock()
	a := first.post(t, "/logout", c2, url.Values{"csrf": {token}})
	if a.StatusCode != http.StatusServiceUnavailable || len(a.Cookies()) != 0 {
		t.Errorf("logout that cannot be recorded: %d, cookies %v; want 503 and the cookie kept", a.StatusCode, a.Cookies())
	}
	if a := first.get(t, "/", c2); a.StatusCode != http.StatusOK {
		t.Errorf("the session after a logout that was not recorded: %d, want 200 (still logged in)", a.StatusCode)
	}
}

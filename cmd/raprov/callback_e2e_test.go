package main

// End-to-end tests of result callbacks on the embedded default: the
// production chain posts each request's final event to its callbackUrl
// through a real callback.Client, which reaches a TLS receiver in this test
// (shared/callback/callbacktest). The test checks what docs/http.md
// ("Result callbacks") promises a receiver, with code of its own
// (callbacktest.Verify, not the product's signer): the signature recomputed from the
// documented algorithm and key, the headers, the body as the final
// CloudEvent, one delivery per outcome, retries, and a callback that
// never gets through dead-lettered while the outcome stands.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/callback"
	"github.com/raprov/raprov/shared/callback/callbacktest"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
)

const (
	// cbHostName is the receiver's public-looking name: intake accepts it
	// as it would a customer's, and only the test client's resolver maps
	// it to the loopback receiver.
	cbHostName = "hooks.contoso.com"
	// cbKey is the callback HMAC key (RAPROV_CALLBACK_SECRET).
	cbKey = "e2e-callback-hmac-key-0123456789abcdef"
	// cbToken is a token in the callback URL's query, as receivers use.
	cbToken = "q-t0ken-e2e"
)

// cbURL is the callback URL of path on r, with a token.
func cbURL(r *callbacktest.Receiver, path string) string {
	return r.URL(path, cbToken)
}

// cbNotifier is the callback client of the chain: callback.New's protection
// with two test hooks only, so that it reaches r: its resolver answers the
// loopback address for cbHostName (and nothing for any other name), which
// AllowPrivate then lets it dial; it trusts the receiver's certificate. The
// allow-list is RAPROV_CALLBACK_ALLOWED_HOSTS's.
func cbNotifier(t *testing.T, r *callbacktest.Receiver, allowed []string) *callback.Client {
	t.Helper()
	loopback := netip.MustParseAddr("127.0.0.1")
	c, err := callback.NewForTests(cbKey, callback.Options{AllowedHosts: allowed}, callback.TestHooks{
		AllowPrivate: true,
		TLS:          &tls.Config{RootCAs: r.Pool, MinVersion: tls.VersionTLS12},
		LookupNetIP: func(_ context.Context, _, host string) ([]netip.Addr, error) {
			if strings.EqualFold(host, cbHostName) {
				return []netip.Addr{loopback}, nil
			}
			return nil, &net.DNSError{Err: "no such host (test resolver)", Name: host, IsNotFound: true}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cbEnvelope is the body of a callback as a receiver reads it: the
// CloudEvents attributes and the parts of data this test looks at.
type cbEnvelope struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	ReplayCount     int    `json:"replaycount"`
	Data            struct {
		Request struct {
			RequestID   string `json:"requestId"`
			Action      string `json:"action"`
			Target      string `json:"target"`
			CallbackURL string `json:"callbackUrl"`
		} `json:"request"`
		Failure *struct {
			Reason  string `json:"reason"`
			Step    string `json:"step"`
			Message string `json:"message"`
		} `json:"failure"`
	} `json:"data"`
}

// checkPost checks one callback as the documented contract describes it,
// and returns its body's envelope.
func checkPost(t *testing.T, p callbacktest.Post, path string) cbEnvelope {
	t.Helper()
	if p.Method != http.MethodPost || p.URL.Path != path || p.URL.Query().Get("token") != cbToken {
		t.Errorf("%s: %s %s, want POST to the callback URL as given (path and query)", path, p.Method, p.URL)
	}
	for name, want := range map[string]string{"Content-Type": "application/cloudevents+json", "User-Agent": "raprov-callback"} {
		if got := p.Header.Get(name); got != want {
			t.Errorf("%s: header %s %q, want %q", path, name, got, want)
		}
	}
	sig := p.Header.Get("X-Raprov-Signature")
	if err := callbacktest.Verify([]byte(cbKey), sig, p.Body, p.At); err != nil {
		t.Errorf("%s: signature %q does not verify with the callback key: %v", path, sig, err)
	}
	// The check can fail: another key, or another body, does not verify.
	if callbacktest.Verify([]byte(cbKey+"x"), sig, p.Body, p.At) == nil || callbacktest.Verify([]byte(cbKey), sig, append(slices.Clone(p.Body), ' '), p.At) == nil {
		t.Errorf("%s: the signature verifies with another key or body", path)
	}
	if strings.Contains(sig, cbKey) || strings.Contains(string(p.Body), cbKey) {
		t.Errorf("%s: the callback carries the key", path)
	}
	var env cbEnvelope
	if err := json.Unmarshal(p.Body, &env); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", path, err, p.Body)
	}
	if env.SpecVersion != "1.0" || env.ID == "" || env.Source != events.Source(events.StepComplete) || env.DataContentType != "application/json" {
		t.Errorf("%s: envelope %+v, want a CloudEvent 1.0 from %s", path, env, events.Source(events.StepComplete))
	}
	if env.Subject == "" || env.Subject != env.Data.Request.RequestID {
		t.Errorf("%s: subject %q, request id %q", path, env.Subject, env.Data.Request.RequestID)
	}
	if _, err := time.Parse(time.RFC3339Nano, env.Time); err != nil {
		t.Errorf("%s: time %q: %v", path, env.Time, err)
	}
	return env
}

// sameEvent checks that a callback's body is o's final event, as published
// on the results queue.
func sameEvent(t *testing.T, p callbacktest.Post, o e2eOutcome) {
	t.Helper()
	got, err := events.Decode(p.Body)
	if err != nil {
		t.Fatalf("%s: the body does not decode as an event: %v", o.Final.Subject, err)
	}
	// The callback is posted inside the complete step, before the tracing
	// middleware makes the step's span the parent of the events it emits:
	// the callback's traceparent is the same trace, its parent the span of
	// the event complete consumed.
	if diff := cmp.Diff(o.Final, got, cmpopts.IgnoreFields(events.Event{}, "TraceParent")); diff != "" {
		t.Errorf("%s: the callback's event differs from the final event on the results queue (-results +callback):\n%s", o.Final.Subject, diff)
	}
	if traceID(got.TraceParent) == "" || traceID(got.TraceParent) != traceID(o.Final.TraceParent) {
		t.Errorf("%s: callback traceparent %q, want the request's trace (%q)", o.Final.Subject, got.TraceParent, o.Final.TraceParent)
	}
}

// traceID is the trace id of a W3C traceparent.
func traceID(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

// TestE2ECallback: requests with a callbackUrl run through the production
// chain; each outcome (completed, failed with a reason, a deprovision) is
// posted once, signed, to its receiver, which verifies it as documented.
func TestE2ECallback(t *testing.T) {
	t.Parallel()
	rcv := callbacktest.Start(t, cbHostName, func(string, int) int { return http.StatusNoContent })
	allowed := []string{cbHostName}
	e := startE2E(t, e2eConfig{
		notifier: cbNotifier(t, rcv, allowed),
		steps:    func(c *steps.Config) { c.CallbackAllowedHosts = allowed },
	})

	ok := e2eReq("cb-ok", "e2e-cb-ok", cq, "US", "+13125550105", teamssim.SeedSupportCQID)
	ok.CallbackURL = cbURL(rcv, "/raprov/ok")
	failed := e2eReq("cb-failed", "e2e-cb-failed", aa, "US", "+12065550199", "") // not in the inventory
	failed.CallbackURL = cbURL(rcv, "/raprov/failed")
	e.submit(t, ok, failed)
	outs := e.await(t, ok.RequestID, failed.RequestID)
	mustComplete(t, outs[ok.RequestID])
	mustFail(t, outs[failed.RequestID], events.ReasonNumberNotFound, events.StepCheckLicense)

	dep := events.Request{RequestID: events.DeprovisionID(ok.RequestID), UserPrincipalName: ok.UserPrincipalName,
		Action: events.ActionDeprovision, Target: ok.RequestID, CallbackURL: cbURL(rcv, "/raprov/deprovision")}
	e.submit(t, dep)
	outs[dep.RequestID] = e.await(t, dep.RequestID)[dep.RequestID]
	mustComplete(t, outs[dep.RequestID])
	e.quiesce(t)

	for _, tc := range []struct {
		req    events.Request
		path   string
		typ    string
		reason events.Reason
		action string
	}{
		{ok, "/raprov/ok", events.TypeProvisioningCompleted, "", ""},
		{failed, "/raprov/failed", events.TypeProvisioningFailed, events.ReasonNumberNotFound, ""},
		{dep, "/raprov/deprovision", events.TypeProvisioningCompleted, "", events.ActionDeprovision},
	} {
		posts := rcv.PostsTo(tc.path)
		if len(posts) != 1 {
			t.Errorf("%s: %d callbacks, want exactly 1", tc.req.RequestID, len(posts))
			continue
		}
		env := checkPost(t, posts[0], tc.path)
		o := outs[tc.req.RequestID]
		if env.Type != tc.typ || env.Subject != tc.req.RequestID || env.ID != o.Final.ID {
			t.Errorf("%s: callback %s %s id %s, want %s %s id %s (the final event)", tc.req.RequestID, env.Type, env.Subject, env.ID, tc.typ, tc.req.RequestID, o.Final.ID)
		}
		switch {
		case tc.reason == "" && env.Data.Failure != nil:
			t.Errorf("%s: completed callback with failure %+v", tc.req.RequestID, env.Data.Failure)
		case tc.reason != "" && (env.Data.Failure == nil || env.Data.Failure.Reason != string(tc.reason) || env.Data.Failure.Message == ""):
			t.Errorf("%s: failure %+v, want reason %s with a message", tc.req.RequestID, env.Data.Failure, tc.reason)
		}
		if env.Data.Request.Action != tc.action {
			t.Errorf("%s: data.request.action %q, want %q", tc.req.RequestID, env.Data.Request.Action, tc.action)
		}
		if tc.action == events.ActionDeprovision && env.Data.Request.Target != ok.RequestID {
			t.Errorf("%s: data.request.target %q, want %s", tc.req.RequestID, env.Data.Request.Target, ok.RequestID)
		}
		sameEvent(t, posts[0], o)
	}
	if dls, err := e.store.DeadLetters().List(context.Background(), "", 10); err != nil || len(dls) != 0 {
		t.Errorf("dead letters %+v (%v), want none", dls, err)
	}
}

// TestE2ECallbackRetried: a receiver that answers 500 twice, then 200, gets
// the callback on the third attempt; every attempt carries the same event
// id, so the receiver keeps one delivery. The request completes without a
// dead letter.
func TestE2ECallbackRetried(t *testing.T) {
	t.Parallel()
	rcv := callbacktest.Start(t, cbHostName, func(_ string, n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e := startE2E(t, e2eConfig{notifier: cbNotifier(t, rcv, nil)})
	req := e2eReq("cb-flaky", "e2e-cb-flaky", aa, "US", "", "")
	req.CallbackURL = cbURL(rcv, "/flaky")
	e.submit(t, req)
	o := e.await(t, req.RequestID)[req.RequestID]
	mustComplete(t, o)
	e.quiesce(t)

	posts := rcv.PostsTo("/flaky")
	if len(posts) != 3 {
		t.Fatalf("%d callbacks, want 3 (500, 500, 200)", len(posts))
	}
	delivered := map[string]int{} // what a receiver deduplicating by id keeps
	for i, p := range posts {
		env := checkPost(t, p, "/flaky")
		if env.ID != o.Final.ID || env.Type != events.TypeProvisioningCompleted {
			t.Errorf("attempt %d: %s id %s, want %s id %s", i+1, env.Type, env.ID, events.TypeProvisioningCompleted, o.Final.ID)
		}
		if p.Status/100 == 2 {
			delivered[env.ID]++
		}
		if i > 0 && p.Header.Get("X-Raprov-Signature") == posts[i-1].Header.Get("X-Raprov-Signature") && string(p.Body) != string(posts[i-1].Body) {
			t.Errorf("attempt %d reuses the signature of another body", i+1)
		}
	}
	if len(delivered) != 1 || delivered[o.Final.ID] != 1 {
		t.Errorf("delivered %v, want the final event once", delivered)
	}
	sameEvent(t, posts[2], o)
	if len(o.Results) != 1 {
		t.Errorf("%d final events on the results queue, want 1", len(o.Results))
	}
	if dls, err := e.store.DeadLetters().List(context.Background(), "", 10); err != nil || len(dls) != 0 {
		t.Errorf("dead letters %+v (%v), want none", dls, err)
	}
}

// TestE2ECallbackFails: a receiver that always answers 503 gets
// RAPROV_MAX_ATTEMPTS attempts, one that answers 410 a single one. Either
// way the outcome stands (ledger, results queue), the complete input is
// dead-lettered with reason callback_failed and `raprov status` shows it;
// a replay of the dead letter posts the callback again.
func TestE2ECallbackFails(t *testing.T) {
	t.Parallel()
	var up sync.Map // path → true once the receiver answers 204
	rcv := callbacktest.Start(t, cbHostName, func(path string, _ int) int {
		if _, ok := up.Load(path); ok {
			return http.StatusNoContent
		}
		if path == "/gone" {
			return http.StatusGone
		}
		return http.StatusServiceUnavailable
	})
	e := startE2E(t, e2eConfig{notifier: cbNotifier(t, rcv, nil)})
	maxAttempts := e2eTiming().MaxAttempts
	down := e2eReq("cb-down", "e2e-cb-down", aa, "US", "", "")
	down.CallbackURL = cbURL(rcv, "/down")
	gone := e2eReq("cb-gone", "e2e-cb-gone", aa, "CA", "+12065550199", "") // fails: not in the inventory
	gone.CallbackURL = cbURL(rcv, "/gone")
	e.submit(t, down, gone)
	outs := e.await(t, down.RequestID, gone.RequestID)
	mustComplete(t, outs[down.RequestID])
	mustFail(t, outs[gone.RequestID], events.ReasonNumberNotFound, events.StepCheckLicense)
	dls := e.deadLetters(t, 2)
	e.quiesce(t)

	for _, tc := range []struct {
		req      events.Request
		path     string
		attempts int
		detail   string
	}{
		{down, "/down", maxAttempts, "callback to " + rcv.Host + ": 503 Service Unavailable"},
		{gone, "/gone", 1, "callback to " + rcv.Host + ": 410 Gone"},
	} {
		id := tc.req.RequestID
		o := outs[id]
		posts := rcv.PostsTo(tc.path)
		if len(posts) != tc.attempts {
			t.Errorf("%s: %d callbacks, want %d", id, len(posts), tc.attempts)
		}
		for _, p := range posts {
			if env := checkPost(t, p, tc.path); env.ID != o.Final.ID {
				t.Errorf("%s: callback id %s, want the final event's %s", id, env.ID, o.Final.ID)
			}
		}
		// The outcome stands: ledger and results queue.
		if st, err := e.store.Ledger().Get(context.Background(), id); err != nil || st.Outcome != o.Status.Outcome || st.Outcome == ledger.InProgress {
			t.Errorf("%s: ledger %s (%v), want it ended as %s", id, st.Outcome, err, o.Status.Outcome)
		}
		if len(o.Results) != 1 {
			t.Errorf("%s: %d final events on the results queue, want 1", id, len(o.Results))
		}
		// The input is dead-lettered from complete's queue.
		i := slices.IndexFunc(dls, func(d transport.DeadLetter) bool { return dlSubject(d) == id })
		if i < 0 {
			t.Errorf("%s: no dead letter among %+v", id, dls)
			continue
		}
		d := dls[i]
		if d.Queue != events.StepComplete || d.Reason != steps.DeadLetterCallbackFailed || !strings.Contains(d.Detail, tc.detail) {
			t.Errorf("%s: dead letter %s/%s %q, want %s/%s %q", id, d.Queue, d.Reason, d.Detail, events.StepComplete, steps.DeadLetterCallbackFailed, tc.detail)
		}
		if strings.Contains(d.Detail, cbToken) || strings.Contains(d.Detail, cbKey) {
			t.Errorf("%s: dead letter detail %q reveals the URL's token or the key", id, d.Detail)
		}
		// `raprov status ID` shows the outcome and the dead letter.
		loc, err := newLocator(context.Background(), localOps{store: e.store})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := requestStatus(context.Background(), loc, id)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome := string(o.Status.Outcome)
		if rec.Outcome != wantOutcome || len(rec.DeadLetters) != 1 || rec.DeadLetters[0].Reason != steps.DeadLetterCallbackFailed ||
			rec.DeadLetters[0].Queue != events.StepComplete || rec.DeadLetters[0].ID != d.ID {
			t.Errorf("%s: status %s with dead letters %+v, want %s with the callback_failed dead letter %s", id, rec.Outcome, rec.DeadLetters, wantOutcome, d.ID)
		}
	}
	if t.Failed() {
		return
	}

	// The receiver is back: a replay of the dead letter (raprov dlq
	// replay) posts the callback again, once, and the outcome still stands.
	up.Store("/down", true)
	i := slices.IndexFunc(dls, func(d transport.DeadLetter) bool { return dlSubject(d) == down.RequestID })
	body, err := replayBody(dls[i].Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeadLetters().Requeue(context.Background(), dls[i].ID, body); err != nil {
		t.Fatal(err)
	}
	posts := rcv.WaitPosts(t, "/down", maxAttempts+1, e2eTimeout)
	e.quiesce(t)
	if posts = rcv.PostsTo("/down"); len(posts) != maxAttempts+1 || posts[maxAttempts].Status != http.StatusNoContent {
		t.Fatalf("%d callbacks after the replay, want %d, the last delivered", len(posts), maxAttempts+1)
	}
	env := checkPost(t, posts[maxAttempts], "/down")
	if env.Type != events.TypeProvisioningCompleted || env.Subject != down.RequestID || env.ReplayCount != 1 || env.ID == "" {
		t.Errorf("replayed callback %s %s replaycount %d id %s, want %s for %s with replaycount 1", env.Type, env.Subject, env.ReplayCount, env.ID, events.TypeProvisioningCompleted, down.RequestID)
	}
	if st, err := e.store.Ledger().Get(context.Background(), down.RequestID); err != nil || st.Outcome != ledger.Completed {
		t.Errorf("after the replay: ledger %s (%v), want completed", st.Outcome, err)
	}
	left, err := e.store.DeadLetters().List(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(left, func(d transport.DeadLetter) bool { return dlSubject(d) == down.RequestID }) {
		t.Errorf("the replayed dead letter is still there: %+v", left)
	}
}

// dlSubject is the request id of the event a dead letter holds.
func dlSubject(d transport.DeadLetter) string {
	ev, err := events.Decode(d.Body)
	if err != nil {
		return ""
	}
	return ev.Subject
}

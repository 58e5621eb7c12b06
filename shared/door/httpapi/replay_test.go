package httpapi_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// A signed POST sent again as captured is refused, even when the extra
// header members differ: a request without requestId would otherwise be
// provisioned once per replay. Signed afresh, the same body is accepted.
func TestReplayedPostIsRefused(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	rec := &recorder{}
	h, err := httpapi.New(httpapi.Options{Submitter: rec, Ledger: memledger.New(), Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	body := `{"displayName":"Front desk","userPrincipalName":"ra-frontdesk@contoso.com","accountType":"AA","usageLocation":"US"}`
	post := func(sig string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/requests", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpapi.SignatureHeader, sig)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	now := time.Now()
	sig := httpapi.Sign(key, now, []byte(body))
	if code, b := post(sig); code != http.StatusAccepted {
		t.Fatalf("first: %d %s", code, b)
	}
	for _, replay := range []string{sig, sig + ",x=1", sig + ",v1=" + strings.Repeat("0", 64)} {
		if code, b := post(replay); code != http.StatusUnauthorized || !strings.Contains(b, "already used") {
			t.Fatalf("replay %q: %d %s", replay, code, b)
		}
	}
	if code, b := post(httpapi.Sign(key, now.Add(-2*time.Second), []byte(body))); code != http.StatusAccepted {
		t.Fatalf("signed afresh: %d %s", code, b)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests submitted, want 2 (the first and the one signed afresh)", len(rec.reqs))
	}
}

// sharedLog is a SignatureLog that several handlers share, as the
// instances of a Lambda door share their DynamoDB table. It records every
// key and expiry it is asked about; err, when set, fails every call.
type sharedLog struct {
	mu    sync.Mutex
	used  map[[32]byte]bool
	asked []logCall
	err   error
}

type logCall struct {
	Key     [32]byte
	Expires time.Time
}

func (l *sharedLog) First(_ context.Context, key [32]byte, expires time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, logCall{key, expires})
	if l.err != nil {
		return false, l.err
	}
	if l.used == nil {
		l.used = map[[32]byte]bool{}
	}
	first := !l.used[key]
	l.used[key] = true
	return first, nil
}

// A DELETE sent again as captured is refused like a POST; signed afresh it
// is the same deprovision request (200).
func TestReplayedDeleteIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.completedRequest(t, "INC-1")
	body := upnBody("ra-main@contoso.com")
	if r := e.del(t, "/requests/INC-1", body); r.code != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.code, r.body)
	}
	r := e.del(t, "/requests/INC-1", body)
	if er := r.errorBody(t); r.code != http.StatusUnauthorized || er.Reason != httpapi.ReasonUnauthenticated || er.Error != httpapi.ErrReplayedSignature.Error() {
		t.Errorf("replay: %d %s", r.code, r.body)
	}
	if r := e.delAt(t, now.Add(-time.Second), "/requests/INC-1", body); r.code != http.StatusOK {
		t.Errorf("signed afresh: %d %s", r.code, r.body)
	}
	if n := e.sub.callCount(); n != 2 {
		t.Errorf("%d submissions, want 2 (the first and the one signed afresh)", n)
	}
}

// Two instances of the door over one shared SignatureLog: a request
// accepted by one is refused by the other when replayed there, for POST
// and DELETE, and the second instance queues nothing.
func TestSharedSignatureLogRefusesReplayOnAnotherInstance(t *testing.T) {
	log := &sharedLog{}
	share := func(o *httpapi.Options) { o.Signatures = log }
	a, b := newEnv(t, share), newEnv(t, share)
	a.completedRequest(t, "INC-1")
	b.completedRequest(t, "INC-1")

	body := mustJSON(t, request("INC-2"))
	if r := a.post(t, "application/json", body, nil); r.code != http.StatusAccepted {
		t.Fatalf("POST on instance a: %d %s", r.code, r.body)
	}
	if r := b.post(t, "application/json", body, nil); r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "already used") {
		t.Errorf("POST replayed on instance b: %d %s", r.code, r.body)
	}
	del := upnBody("ra-main@contoso.com")
	if r := a.del(t, "/requests/INC-1", del); r.code != http.StatusAccepted {
		t.Fatalf("DELETE on instance a: %d %s", r.code, r.body)
	}
	if r := b.del(t, "/requests/INC-1", del); r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "already used") {
		t.Errorf("DELETE replayed on instance b: %d %s", r.code, r.body)
	}
	if n := b.sub.callCount(); n != 0 {
		t.Errorf("instance b queued %d submissions, want none", n)
	}

	// The keys are the documented ones: SHA-256 of "<t>." and what the MAC
	// covers, expiring MaxSkew after t.
	ts := strconv.FormatInt(now.Unix(), 10)
	postKey := sha256.Sum256([]byte(ts + "." + string(body)))
	delKey := sha256.Sum256([]byte(ts + "." + string(httpapi.DeleteMessage("/requests/INC-1", del))))
	exp := now.Add(httpapi.MaxSkew)
	want := []logCall{{postKey, exp}, {postKey, exp}, {delKey, exp}, {delKey, exp}}
	if diff := cmp.Diff(want, log.asked); diff != "" {
		t.Errorf("signature log calls (-want +got):\n%s", diff)
	}
}

// A SignatureLog that fails refuses the request (fails closed): 503 with
// reason unavailable, and nothing is queued.
func TestSignatureLogFailureFailsClosed(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.Signatures = &sharedLog{err: errors.New("dynamodb: throttled")} })
	e.completedRequest(t, "INC-1")
	for name, send := range map[string]func() response{
		"POST":   func() response { return e.post(t, "application/json", mustJSON(t, request("INC-2")), nil) },
		"DELETE": func() response { return e.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com")) },
	} {
		r := send()
		er := r.errorBody(t)
		if r.code != http.StatusServiceUnavailable || er.Reason != httpapi.ReasonUnavailable || !strings.Contains(er.Error, "nothing was queued") {
			t.Errorf("%s: %d %s; want 503 unavailable", name, r.code, r.body)
		}
		if strings.Contains(string(r.body), "throttled") {
			t.Errorf("%s: the answer quotes the store's error: %s", name, r.body)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("%d submissions while the signature log failed, want none", n)
	}
	if !strings.Contains(e.log.String(), "throttled") {
		t.Errorf("the log does not say why the signature log failed:\n%s", e.log)
	}
}

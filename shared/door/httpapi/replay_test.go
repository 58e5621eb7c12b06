package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

package callback_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/callback"
)

func final() events.Event {
	return events.New(events.TypeProvisioningCompleted, events.Source(events.StepComplete), events.Data{
		Request: events.Request{RequestID: "REQ-7", UserPrincipalName: "aa@contoso.com"},
	})
}

func TestNotifySignsAndClassifies(t *testing.T) {
	const secret = "s3cret-webhook-key"
	status := http.StatusNoContent
	var gotSig string
	var gotBody []byte
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSig = r.Header.Get(callback.SignatureHeader)
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
	}))
	defer ts.Close()
	c := callback.New(secret, ts.Client())

	if err := c.Notify(context.Background(), ts.URL+"/hook?token=abc", final()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if err := callback.Verify([]byte(secret), gotSig, gotBody, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if err := callback.Verify([]byte("other"), gotSig, gotBody, time.Now(), time.Minute); err == nil {
		t.Fatal("signature verified with the wrong secret")
	}
	if err := callback.Verify([]byte(secret), gotSig, append(gotBody, ' '), time.Now(), time.Minute); err == nil {
		t.Fatal("signature verified a tampered body")
	}
	if err := callback.Verify([]byte(secret), gotSig, gotBody, time.Now().Add(time.Hour), time.Minute); err == nil {
		t.Fatal("old signature accepted")
	}
	ev, err := events.Decode(gotBody)
	if err != nil || ev.Subject != "REQ-7" {
		t.Fatalf("body is not the final event: %v %+v", err, ev)
	}

	tests := []struct {
		status int
		code   apperr.Code
	}{
		{http.StatusTooManyRequests, apperr.Throttled},
		{http.StatusBadGateway, apperr.Unavailable},
		{http.StatusNotFound, apperr.Invalid},
	}
	for _, tt := range tests {
		status = tt.status
		err := c.Notify(context.Background(), ts.URL+"/hook?token=abc", final())
		if apperr.CodeOf(err) != tt.code {
			t.Errorf("status %d: code %s, want %s", tt.status, apperr.CodeOf(err), tt.code)
		}
		if err != nil && strings.Contains(err.Error(), "token=abc") {
			t.Errorf("error leaks the callback URL's query: %v", err)
		}
		if tt.code == apperr.Throttled && apperr.RetryAfterOf(err) != 3*time.Second {
			t.Errorf("Retry-After not honoured: %v", apperr.RetryAfterOf(err))
		}
	}
}

func TestNotifyRejectsPlainHTTP(t *testing.T) {
	c := callback.New("k", nil)
	if err := c.Notify(context.Background(), "http://example.com/hook", final()); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("http callback: %v", err)
	}
	err := c.Notify(context.Background(), "https://user:pa55@example.com/hook", final())
	if apperr.CodeOf(err) != apperr.Invalid || strings.Contains(err.Error(), "pa55") {
		t.Fatalf("callback with credentials: %v", err)
	}
}

func TestNotifyUnreachable(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	err := callback.New("k", ts.Client()).Notify(context.Background(), url+"/x?sig=secret", final())
	if apperr.CodeOf(err) != apperr.Unavailable || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable: %v", err)
	}
}

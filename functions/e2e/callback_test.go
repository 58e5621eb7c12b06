//go:build linux

package e2e_test

// Result callbacks on AWS: the real complete function, built with the
// e2ehooks tag (functions/complete/hooks_e2e.go) so that its callback client
// resolves hooks.contoso.com to this machine, signs with the key it read from
// Secrets Manager (RAPROV_CALLBACK_SECRET_ARN) and posts to a TLS receiver
// here (shared/callback/callbacktest); the test verifies what docs/http.md
// ("Result callbacks") promises, with code of its own (callbacktest.Verify,
// not the product's signer).

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/callback/callbacktest"
	"github.com/raprov/raprov/shared/ledger"
)

const (
	// receiverHost is the callback receiver's public-looking name, which
	// only the e2ehooks build of complete resolves to 127.0.0.1.
	receiverHost = "hooks.contoso.com"
	// receiverToken is a token in the callback URL's query.
	receiverToken = "q-t0ken-aws-e2e"
)

// callbackBody is a callback's body as a receiver reads it.
type callbackBody struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	DataContentType string `json:"datacontenttype"`
	Data            struct {
		Request struct {
			RequestID string `json:"requestId"`
		} `json:"request"`
		Failure *struct {
			Reason string `json:"reason"`
		} `json:"failure"`
	} `json:"data"`
}

// checkCallback checks one POST against the documented contract: the URL
// as given, the headers, the signature with key, a CloudEvent body.
func checkCallback(t *testing.T, p callbacktest.Post, path string, key []byte) callbackBody {
	t.Helper()
	if p.Method != http.MethodPost || p.URL.Path != path || p.URL.Query().Get("token") != receiverToken {
		t.Errorf("%s: %s %s, want POST to the callback URL as given", path, p.Method, p.URL)
	}
	for name, want := range map[string]string{"Content-Type": "application/cloudevents+json", "User-Agent": "raprov-callback"} {
		if got := p.Header.Get(name); got != want {
			t.Errorf("%s: header %s %q, want %q", path, name, got, want)
		}
	}
	sig := p.Header.Get("X-Raprov-Signature")
	if err := callbacktest.Verify(key, sig, p.Body, p.At); err != nil {
		t.Errorf("%s: signature %q does not verify with the key in Secrets Manager: %v", path, sig, err)
	}
	if callbacktest.Verify(append(key, 'x'), sig, p.Body, p.At) == nil {
		t.Errorf("%s: the signature verifies with another key", path)
	}
	var b callbackBody
	if err := json.Unmarshal(p.Body, &b); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", path, err, p.Body)
	}
	if b.SpecVersion != "1.0" || b.Source != events.Source(events.StepComplete) || b.DataContentType != "application/json" ||
		b.Subject == "" || b.Subject != b.Data.Request.RequestID {
		t.Errorf("%s: envelope %+v, want a CloudEvent 1.0 from %s about its request", path, b, events.Source(events.StepComplete))
	}
	return b
}

// TestE2ECallback: two requests with a callbackUrl run through the real
// functions. The one that completes is posted once; the one that fails
// (its number is not in the inventory) meets a receiver that answers 503
// first, and is posted again after complete's retry through its SQS
// queue, with the same event id. Both callbacks are signed with the key
// complete read from Secrets Manager.
func TestE2ECallback(t *testing.T) {
	t.Parallel()
	rcv := callbacktest.Start(t, receiverHost, func(path string, n int) int {
		if path == "/raprov/failed" && n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	caFile := filepath.Join(t.TempDir(), "receiver-ca.pem") // for the function's SSL_CERT_FILE
	if err := os.WriteFile(caFile, rcv.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackConfig{
		callbackHooks: true,
		env: map[string]map[string]string{events.StepComplete: {
			"RAPROV_E2E_CALLBACK_RESOLVE": receiverHost + "=127.0.0.1",
			"SSL_CERT_FILE":               caFile, // trust the receiver's certificate
		}},
	})
	ok := request("e2e-callback-ok", aa, "", "")
	ok.CallbackURL = rcv.URL("/raprov/ok", receiverToken)
	failed := request("e2e-callback-failed", cq, "+12065550199", "")
	failed.CallbackURL = rcv.URL("/raprov/failed", receiverToken)
	s.submit(t, ok)
	s.submit(t, failed)
	outs := map[string]outcome{
		ok.RequestID:     s.await(t, ok.RequestID, ledger.Completed),
		failed.RequestID: s.await(t, failed.RequestID, ledger.Failed),
	}
	s.quiesce(t)

	for _, tc := range []struct {
		id, path, typ, reason string
		posts                 int
	}{
		{ok.RequestID, "/raprov/ok", events.TypeProvisioningCompleted, "", 1},
		{failed.RequestID, "/raprov/failed", events.TypeProvisioningFailed, string(events.ReasonNumberNotFound), 2},
	} {
		o := outs[tc.id]
		posts := rcv.PostsTo(tc.path)
		if len(posts) != tc.posts {
			t.Errorf("%s: %d callbacks, want %d", tc.id, len(posts), tc.posts)
		}
		for i, p := range posts {
			b := checkCallback(t, p, tc.path, []byte(callbackKey))
			if b.Type != tc.typ || b.Subject != tc.id || b.ID != o.final.ID {
				t.Errorf("%s: callback %d: %s %s id %s, want %s id %s (the final event on the results queue)", tc.id, i+1, b.Type, b.Subject, b.ID, tc.typ, o.final.ID)
			}
			switch {
			case tc.reason == "" && b.Data.Failure != nil:
				t.Errorf("%s: completed callback with failure %+v", tc.id, b.Data.Failure)
			case tc.reason != "" && (b.Data.Failure == nil || b.Data.Failure.Reason != tc.reason):
				t.Errorf("%s: failure %+v, want reason %s", tc.id, b.Data.Failure, tc.reason)
			}
		}
		if len(o.results) != 1 {
			t.Errorf("%s: %d final events on the results queue, want 1", tc.id, len(o.results))
		}
	}
	if n := s.count(t, s.queues.DLQ(events.StepComplete)); n != 0 {
		t.Errorf("complete's dead-letter queue holds %d messages, want none", n)
	}
	if n := s.secrets.readsOf(callbackSecretARN); n != 1 {
		t.Errorf("callback key read %d times, want once (complete's start)", n)
	}
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// FuzzPostRequests checks that POST /requests never panics and always
// answers JSON with a documented status, and that nothing is submitted
// unless the answer says so. Its seeds are the accepted formats and some
// broken ones; `go test` runs them as a unit test.
func FuzzPostRequests(f *testing.F) {
	req := mustJSON(f, request("INC1"))
	ce := mustJSON(f, cloudEvent("e1", request("INC1")))
	encoded, err := events.Encode(events.New(events.TypeProvisioningRequested, "raprov/cli", events.Data{Request: events.Request{RequestID: "INC9"}}))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		contentType string
		binary      bool
		body        []byte
		sig         string
	}{
		{"application/json", false, req, ""},
		{"", false, req, ""},
		{"application/json", false, mustJSON(f, []any{request("A"), request("B"), request("A")}), ""},
		{"application/json", false, mustJSON(f, request("")), ""},
		{"application/cloudevents+json", false, ce, ""},
		{"application/cloudevents+json", false, encoded, ""},
		{"application/cloudevents-batch+json", false, mustJSON(f, []any{json.RawMessage(ce), json.RawMessage(encoded)}), ""},
		{"application/json", true, req, ""},
		{"application/json", true, []byte(`[{}]`), ""},
		{"application/json", false, []byte(`{"requestId":"A","requestId":"B"}`), ""},
		{"application/cloudevents+json", false, []byte(`{"specversion":"1.0","type":"raprov.provisioning.requested.v1","id":"x","source":"y","data":{"request":{"requestId":7}}}`), ""},
		{"application/json", false, []byte(`[[],{},null,"x",1]`), ""},
		{"application/json", false, []byte("\xff\xfe{"), ""},
		{"text/plain; charset=utf-8", false, req, ""},
		{"application/json", false, req, "t=1,v1=00"},
		{"application/json", false, req, "t=9999999999999999,v1=" + string(bytes.Repeat([]byte("ab"), 32))},
	} {
		f.Add(seed.contentType, seed.binary, seed.body, seed.sig)
	}
	led := memledger.New()
	sub := &fakeSubmitter{ledger: led, claims: map[string]string{}}
	h, err := httpapi.New(httpapi.Options{Submitter: sub, Ledger: led, Keys: []string{key1},
		MaxBody: 64 << 10, MaxBatch: 50, Now: func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, binary bool, body []byte, sig string) {
		r := httptest.NewRequest(http.MethodPost, "/requests", bytes.NewReader(body))
		if sig == "" {
			sig = httpapi.Sign(key1, now, body)
		}
		r.Header.Set(httpapi.SignatureHeader, sig)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if binary {
			r.Header.Set("ce-specversion", "1.0")
			r.Header.Set("ce-type", events.TypeProvisioningRequested)
			r.Header.Set("ce-id", "e1")
			r.Header.Set("ce-source", "fuzz")
		}
		before := sub.callCount()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer %d is not a JSON object: %v\n%s", w.Code, err, w.Body)
		}
		submitted := sub.callCount() > before
		switch w.Code {
		case http.StatusAccepted, http.StatusOK, http.StatusConflict:
			if !submitted {
				t.Fatalf("%d without a submission: %s", w.Code, w.Body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if submitted {
				t.Fatalf("%d after a submission: %s", w.Code, w.Body)
			}
			if e, _ := answer["error"].(string); e == "" {
				t.Fatalf("%d without an error message: %s", w.Code, w.Body)
			}
			if reason, _ := answer["reason"].(string); reason == "" {
				t.Fatalf("%d without error and reason: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// A sender's own key signs its route and nothing else: not another
// sender's, not POST, GET or DELETE /requests. The general key still signs
// every route.
func TestSenderKeys(t *testing.T) {
	const (
		general = "general-key-0123456789abcdef012345"
		snow    = "servicenow-key-0123456789abcdef0123"
		wd      = "workday-key-0123456789abcdef0123456"
	)
	rec := &recorder{}
	mapped := func(id string) httpapi.Sender {
		return func(body []byte) (events.Request, []events.FieldError, error) {
			var in struct{ N int }
			if err := json.Unmarshal(body, &in); err != nil {
				return events.Request{}, nil, err
			}
			return events.Request{RequestID: id + "-" + string(rune('a'+in.N)), DisplayName: "Line", UserPrincipalName: id + "@contoso.com",
				AccountType: events.AccountTypeAutoAttendant, UsageLocation: "US"}, nil, nil
		}
	}
	h, err := httpapi.New(httpapi.Options{
		Submitter: rec, Ledger: memledger.New(), Keys: []string{general},
		Senders:    map[string]httpapi.Sender{"servicenow": mapped("snow"), "workday": mapped("wd")},
		SenderKeys: map[string][]string{"servicenow": {snow}, "workday": {wd}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	n := 0
	call := func(method, path, key string) int {
		n++ // a fresh body, so no call is a replay of another
		body := `{"N":` + string(rune('0'+n%10)) + `}`
		if method != http.MethodPost {
			body = ""
		}
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		ts := time.Now().Add(time.Duration(n) * time.Second)
		switch method {
		case http.MethodPost:
			req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key, ts, []byte(body)))
		case http.MethodDelete:
			req.Header.Set(httpapi.SignatureHeader, httpapi.SignDelete(key, ts, path, nil))
		default:
			req.Header.Set(httpapi.SignatureHeader, httpapi.SignGet(key, ts, path))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		method, path, key string
		want              int
	}{
		{http.MethodPost, "/senders/servicenow", snow, http.StatusAccepted},
		{http.MethodPost, "/senders/workday", wd, http.StatusAccepted},
		{http.MethodPost, "/senders/workday", snow, http.StatusUnauthorized},
		{http.MethodPost, "/senders/servicenow", wd, http.StatusUnauthorized},
		{http.MethodPost, "/requests", snow, http.StatusUnauthorized},
		{http.MethodGet, "/requests", snow, http.StatusUnauthorized},
		{http.MethodGet, "/requests/snow-b", snow, http.StatusUnauthorized},
		{http.MethodDelete, "/requests/snow-b", snow, http.StatusUnauthorized},
		{http.MethodPost, "/senders/servicenow", general, http.StatusAccepted},
		{http.MethodGet, "/requests", general, http.StatusOK},
	} {
		if got := call(tt.method, tt.path, tt.key); got != tt.want {
			t.Errorf("%s %s with the %s key: %d, want %d", tt.method, tt.path, map[string]string{general: "general", snow: "servicenow", wd: "workday"}[tt.key], got, tt.want)
		}
	}
	if len(rec.reqs) != 3 {
		t.Errorf("%d requests submitted, want 3 (the accepted sender posts)", len(rec.reqs))
	}
}

// Sender keys that could be taken for another's, or name no sender, stop
// New; the errors never quote a key.
func TestSenderKeysRefused(t *testing.T) {
	const general = "general-key-0123456789abcdef012345"
	long := func(s string) string { return s + strings.Repeat("x", httpapi.MinKeyLen) }
	none := func([]byte) (events.Request, []events.FieldError, error) { return events.Request{}, nil, nil }
	senders := map[string]httpapi.Sender{"servicenow": none, "workday": none}
	for name, tt := range map[string]struct {
		keys map[string][]string
		want string
	}{
		"unknown sender": {map[string][]string{"jira": {long("j")}}, `"jira", which is not a sender`},
		"no key":         {map[string][]string{"servicenow": {}}, "no key given"},
		"three keys":     {map[string][]string{"servicenow": {long("a"), long("b"), long("c")}}, "at most 2"},
		"short key":      {map[string][]string{"servicenow": {"short"}}, "key 1 is 5 bytes"},
		"general key":    {map[string][]string{"servicenow": {general}}, "also a general key"},
		"shared key":     {map[string][]string{"servicenow": {long("s")}, "workday": {long("s")}}, "also a key of the sender"},
	} {
		_, err := httpapi.New(httpapi.Options{Submitter: &recorder{}, Ledger: memledger.New(), Keys: []string{general}, Senders: senders, SenderKeys: tt.keys})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tt.want)
			continue
		}
		for _, ks := range tt.keys {
			for _, k := range ks {
				if len(k) >= 5 && strings.Contains(err.Error(), k) {
					t.Errorf("%s: the error quotes a key: %v", name, err)
				}
			}
		}
	}
}

func TestParseSenderKeys(t *testing.T) {
	got, err := httpapi.ParseSenderKeys(` {"servicenow": ["k1", "k2"], "workday": "k3"} `)
	if err != nil || len(got) != 2 || strings.Join(got["servicenow"], ",") != "k1,k2" || strings.Join(got["workday"], ",") != "k3" {
		t.Errorf("ParseSenderKeys = %v, %v", got, err)
	}
	if got, err := httpapi.ParseSenderKeys("  "); got != nil || err != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{`["secret-key-value"]`, `{"servicenow": 5}`, `{"servicenow": {"k": "secret-key-value"}}`, `secret-key-value`} {
		_, err := httpapi.ParseSenderKeys(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "secret-key-value") {
			t.Errorf("%s: the error quotes the key: %v", bad, err)
		}
	}
}

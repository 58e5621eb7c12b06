package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// recorder is a Submitter that queues everything and remembers it.
type recorder struct {
	mu   sync.Mutex
	reqs []events.Request
}

func (r *recorder) Submit(_ context.Context, _ string, reqs []events.Request) ([]httpapi.Submitted, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, reqs...)
	out := make([]httpapi.Submitted, len(reqs))
	for i := range out {
		out[i].Outcome = httpapi.Sent
	}
	return out, nil
}

// A sender's payload is mapped, then validated, signed and answered like a
// request: POST /senders/{name}.
func TestSenderRoutes(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	rec := &recorder{}
	ticket := func(body []byte) (events.Request, []events.FieldError, error) {
		var in struct{ Number, Name, UPN, Kind string }
		if err := json.Unmarshal(body, &in); err != nil {
			return events.Request{}, nil, errors.New("not a ticket")
		}
		if in.UPN == "" {
			return events.Request{}, []events.FieldError{{Field: "userPrincipalName", Reason: events.ReasonInvalidRequest, Message: "variables.upn is missing"}}, nil
		}
		return events.Request{RequestID: in.Number, DisplayName: in.Name, UserPrincipalName: in.UPN, AccountType: in.Kind, UsageLocation: "US"}, nil, nil
	}
	h, err := httpapi.New(httpapi.Options{Submitter: rec, Ledger: memledger.New(), Keys: []string{key}, Senders: map[string]httpapi.Sender{"ticketing": ticket}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	post := func(path, body string, signed bool) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signed {
			req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key, time.Now(), []byte(body)))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}

	good := `{"Number":"RITM0010001","Name":"Reception","UPN":"reception@contoso.com","Kind":"AA"}`
	if code, body := post("/senders/ticketing", good, false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d %s", code, body)
	}
	if code, body := post("/senders/ticketing", good, true); code != http.StatusAccepted || !strings.Contains(body, "RITM0010001") {
		t.Fatalf("mapped: %d %s", code, body)
	}
	if code, body := post("/senders/ticketing", `{"Number":"RITM0010002","Name":"Sales","Kind":"CQ"}`, true); code != http.StatusBadRequest || !strings.Contains(body, "userPrincipalName") {
		t.Fatalf("missing field: %d %s", code, body)
	}
	if code, body := post("/senders/ticketing", `[1,2`, true); code != http.StatusBadRequest {
		t.Fatalf("unreadable: %d %s", code, body)
	}
	if code, body := post("/senders/unknown", good, true); code != http.StatusNotFound {
		t.Fatalf("unknown sender: %d %s", code, body)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 1 || rec.reqs[0].RequestID != "RITM0010001" || rec.reqs[0].AccountType != events.AccountTypeAutoAttendant {
		t.Fatalf("submitted %+v, want the one mapped and normalised request", rec.reqs)
	}
}

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
)

func at(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }

// seed records three requests: A completed, B failed at assign-number with
// number_in_use, C in progress at create-account.
func seed(t *testing.T, l ledger.Ledger) {
	t.Helper()
	err := l.Record(context.Background(),
		ledger.Entry{EventID: "a1", RequestID: "A", Type: events.TypeProvisioningRequested, Step: "submit", Time: at(-60)},
		ledger.Entry{EventID: "a2", RequestID: "A", Type: events.TypeProvisioningAccepted, Step: "intake", Time: at(-59)},
		ledger.Entry{EventID: "a3", RequestID: "A", Type: events.TypeAccountCreated, Step: "create-account", Time: at(-58), Attempt: 1, Detail: "object 8b5e2f8c"},
		ledger.Entry{EventID: "a4", RequestID: "A", Type: events.TypeProvisioningCompleted, Step: "complete", Time: at(-50), Outcome: ledger.Completed},
		ledger.Entry{EventID: "b1", RequestID: "B", Type: events.TypeProvisioningRequested, Step: "submit", Time: at(-30)},
		ledger.Entry{EventID: "b2", RequestID: "B", Type: events.TypeProvisioningFailed, Step: "assign-number", Time: at(-20),
			Outcome: ledger.Failed, Reason: string(events.ReasonNumberInUse), Detail: "+14255550100 is assigned to another account"},
		ledger.Entry{EventID: "c1", RequestID: "C", Type: events.TypeProvisioningRequested, Step: "submit", Time: at(-10)},
		ledger.Entry{EventID: "c2", RequestID: "C", Type: events.TypeLicenseAvailable, Step: "create-account", Time: at(-5)},
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestGetStatus(t *testing.T) {
	e := newEnv(t, nil)
	seed(t, e.ledger)
	r := e.get(t, "/requests/A")
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	var got httpapi.Status
	r.decode(t, &got)
	want := httpapi.Status{
		RequestID: "A", Outcome: ledger.Completed, Step: "complete", Type: events.TypeProvisioningCompleted,
		Started: at(-60), Updated: at(-50),
		History: []httpapi.HistoryEntry{
			{Time: at(-60), Step: "submit", Type: events.TypeProvisioningRequested, Outcome: ledger.InProgress},
			{Time: at(-59), Step: "intake", Type: events.TypeProvisioningAccepted, Outcome: ledger.InProgress},
			{Time: at(-58), Step: "create-account", Type: events.TypeAccountCreated, Attempt: 1, Detail: "object 8b5e2f8c", Outcome: ledger.InProgress},
			{Time: at(-50), Step: "complete", Type: events.TypeProvisioningCompleted, Outcome: ledger.Completed},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	// The wire names are the documented ones.
	for _, name := range []string{`"requestId":"A"`, `"outcome":"completed"`, `"step":"complete"`, `"started":`, `"updated":`, `"history":[{"time":`} {
		if !strings.Contains(string(r.body), name) {
			t.Errorf("answer lacks %s: %s", name, r.body)
		}
	}

	r = e.get(t, "/requests/B")
	r.decode(t, &got)
	if got.Outcome != ledger.Failed || got.Reason != "number_in_use" || got.Step != "assign-number" || got.Detail == "" {
		t.Errorf("failed request: %+v", got)
	}

	if r := e.get(t, "/requests/NOPE"); r.code != http.StatusNotFound || r.errorBody(t).Reason != httpapi.ReasonNotFound {
		t.Errorf("unknown request: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/requests/"+strings.Repeat("x", 200)); r.code != http.StatusNotFound {
		t.Errorf("overlong id: %d %s", r.code, r.body)
	}
}

func TestGetStatusOfAnIDWithSlashes(t *testing.T) {
	e := newEnv(t, nil)
	const id = "HR/2026/0042?x#y%z"
	r := e.post(t, "application/json", mustJSON(t, request(id)), nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	loc := r.header.Get("Location")
	if loc != httpapi.StatusPath(id) || loc != "/requests/HR%2F2026%2F0042%3Fx%23y%25z" {
		t.Fatalf("Location %q", loc)
	}
	g := e.get(t, loc)
	var st httpapi.Status
	g.decode(t, &st)
	if g.code != http.StatusOK || st.RequestID != id {
		t.Errorf("GET %s: %d %s", loc, g.code, g.body)
	}
	if r := e.get(t, "/requests/HR/2026"); r.code != http.StatusNotFound {
		t.Errorf("unescaped slashes: %d %s", r.code, r.body)
	}
}

func TestGetNeedsSignature(t *testing.T) {
	e := newEnv(t, nil)
	seed(t, e.ledger)
	for _, path := range []string{"/requests/A", "/requests", "/requests/NOPE"} {
		for name, h := range map[string]map[string]string{
			"unsigned":       nil,
			"stale":          {httpapi.SignatureHeader: httpapi.SignGet(key1, now.Add(-6*time.Minute), path)},
			"signed body":    {httpapi.SignatureHeader: httpapi.Sign(key1, now, []byte("{}"))},
			"wrong key":      {httpapi.SignatureHeader: httpapi.SignGet(strings.Repeat("k", 32), now, path)},
			"empty body":     {httpapi.SignatureHeader: httpapi.Sign(key1, now, nil)},
			"other path":     {httpapi.SignatureHeader: httpapi.SignGet(key1, now, "/requests/B")},
			"duplicate sigs": nil,
		} {
			var r response
			if name == "duplicate sigs" {
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
				req.Header.Add(httpapi.SignatureHeader, httpapi.SignGet(key1, now, path))
				req.Header.Add(httpapi.SignatureHeader, httpapi.SignGet(key2, now, path))
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				r.code = resp.StatusCode
			} else {
				r = e.call(t, http.MethodGet, path, nil, h)
			}
			if r.code != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401", name, path, r.code)
			}
		}
	}
	// The second key works for reading as well.
	r := e.call(t, http.MethodGet, "/requests/A", nil, map[string]string{httpapi.SignatureHeader: httpapi.SignGet(key2, now, "/requests/A")})
	if r.code != http.StatusOK {
		t.Errorf("second key: %d %s", r.code, r.body)
	}
}

func TestListStatuses(t *testing.T) {
	e := newEnv(t, nil)
	seed(t, e.ledger)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"C", "B", "A"}},
		{"?outcome=failed", []string{"B"}},
		{"?outcome=in_progress", []string{"C"}},
		{"?outcome=completed&step=complete", []string{"A"}},
		{"?step=create-account", []string{"C"}},
		{"?reason=number_in_use", []string{"B"}},
		{"?since=" + at(-20).Format(time.RFC3339), []string{"C", "B"}},
		{"?since=" + at(-20).Add(time.Second).Format(time.RFC3339Nano), []string{"C"}},
		{"?limit=2", []string{"C", "B"}},
		{"?outcome=&step=&limit=", []string{"C", "B", "A"}},
	}
	for _, tt := range tests {
		r := e.get(t, "/requests"+tt.query)
		if r.code != http.StatusOK {
			t.Errorf("%s: %d %s", tt.query, r.code, r.body)
			continue
		}
		var lr httpapi.ListResponse
		r.decode(t, &lr)
		var got []string
		for _, st := range lr.Requests {
			got = append(got, st.RequestID)
			if st.History != nil {
				t.Errorf("%s: list item with history", tt.query)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.query, diff)
		}
	}
	if r := e.get(t, "/requests?outcome=failed&step=intake"); string(r.body) != "{\"requests\":[]}\n" {
		t.Errorf("empty list: %s", r.body)
	}
}

func TestListRefusesBadFilters(t *testing.T) {
	e := newEnv(t, nil)
	for query, field := range map[string]string{
		"?outcome=done":             "outcome",
		"?step=Create%20Account":    "step",
		"?reason=%3Cscript%3E":      "reason",
		"?since=yesterday":          "since",
		"?since=2026-11-25":         "since",
		"?limit=0":                  "limit",
		"?limit=1001":               "limit",
		"?limit=ten":                "limit",
		"?status=failed":            "status",
		"?outcome=failed&outcome=x": "outcome",
		"?outcome=%zz":              "",
	} {
		r := e.get(t, "/requests"+query)
		if r.code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", query, r.code)
			continue
		}
		if er := r.errorBody(t); er.Field != field || er.Reason != httpapi.ReasonBadFilter {
			t.Errorf("%s: %+v; want field %q", query, er, field)
		}
	}
}

func TestMethodsAndPaths(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodPut, "/requests", 405, "GET, POST"},
		{http.MethodDelete, "/requests", 405, "GET, POST"},
		{http.MethodPost, "/requests/A", 405, "GET, DELETE"},
		{http.MethodPut, "/requests/A", 405, "GET, DELETE"},
		{http.MethodPatch, "/requests/A", 405, "GET, DELETE"},
		{http.MethodDelete, "/requests/A", 401, ""}, // served: unsigned
		{http.MethodDelete, "/requests/A/history", 404, ""},
		{http.MethodGet, "/", 404, ""},
		{http.MethodGet, "/requests/", 404, ""},
		{http.MethodGet, "/requestsX", 404, ""},
		{http.MethodGet, "/requests/A/history", 404, ""},
	}
	for _, tt := range tests {
		r := e.call(t, tt.method, tt.path, nil, nil)
		if r.code != tt.code || r.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q; want %d %q", tt.method, tt.path, r.code, r.header.Get("Allow"), tt.code, tt.allow)
		}
		er := r.errorBody(t)
		if er.Error == "" || er.Reason == "" {
			t.Errorf("%s %s: answer %s", tt.method, tt.path, r.body)
		}
	}
}

func TestLedgerFailure(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.Ledger = failingLedger{} })
	for _, path := range []string{"/requests/A", "/requests"} {
		r := e.get(t, path)
		if r.code != http.StatusServiceUnavailable || r.errorBody(t).Reason != httpapi.ReasonUnavailable {
			t.Errorf("%s: %d %s", path, r.code, r.body)
		}
		if strings.Contains(string(r.body), "dynamo") {
			t.Errorf("%s: internal error shown: %s", path, r.body)
		}
	}
}

package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
)

// fakePlanner plans every request as a create, or fails with err; it
// records what it was asked.
type fakePlanner struct {
	err error

	mu    sync.Mutex
	calls [][]events.Request
}

var _ httpapi.Planner = (*fakePlanner)(nil)

func (p *fakePlanner) Plan(_ context.Context, reqs []events.Request) (httpapi.DryRun, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, slices.Clone(reqs))
	if p.err != nil {
		return httpapi.DryRun{}, p.err
	}
	out := httpapi.DryRun{License: &httpapi.LicensePlan{SKU: "PHONESYSTEM_VIRTUALUSER", FreeBefore: 5, FreeAfter: 5 - len(reqs)}}
	for i, r := range reqs {
		out.Plans = append(out.Plans, httpapi.Plan{
			RequestID: r.RequestID, UserPrincipalName: r.UserPrincipalName, Outcome: "completed", Verdict: httpapi.VerdictCreate,
			PhoneNumber: r.PhoneNumber, Number: "free", TakesSeat: true, SeatsBefore: 5 - i, SeatsAfter: 4 - i,
		})
	}
	return out, nil
}

func (p *fakePlanner) asked() [][]events.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func dry(m map[string]any) { m["dryRun"] = true }

// A dry run is planned and answered 200: nothing is submitted, nothing is
// claimed, and the planner sees the request as intake normalises it, with
// no trace of the flag.
func TestDryRunPlansWithoutSubmitting(t *testing.T) {
	pl := &fakePlanner{}
	e := newEnv(t, func(o *httpapi.Options) { o.Planner = pl })

	r := e.post(t, "application/json", mustJSON(t, request("INC1", dry)), nil)
	if r.code != http.StatusOK {
		t.Fatalf("dry run: %d %s, want 200", r.code, r.body)
	}
	var got httpapi.DryRun
	r.decode(t, &got)
	want := httpapi.DryRun{DryRun: true, License: &httpapi.LicensePlan{SKU: "PHONESYSTEM_VIRTUALUSER", FreeBefore: 5, FreeAfter: 4},
		Plans: []httpapi.Plan{{RequestID: "INC1", UserPrincipalName: "ra-mainline@contoso.com", Outcome: "completed", Verdict: "create",
			PhoneNumber: "+14255550100", Number: "free", TakesSeat: true, SeatsBefore: 5, SeatsAfter: 4}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]events.Request{{normalised}}, pl.asked()); d != "" {
		t.Errorf("planned (-want +got):\n%s", d)
	}
	if n := e.sub.callCount(); n != 0 {
		t.Fatalf("the submitter was called %d times", n)
	}
	if r := e.get(t, "/requests/INC1"); r.code != http.StatusNotFound {
		t.Errorf("GET after the dry run: %d, want 404 (nothing recorded)", r.code)
	}
	if r.header.Get("Location") != "" {
		t.Errorf("a dry run answered with Location %q", r.header.Get("Location"))
	}
	// Nothing was claimed: the same request for real is new.
	if r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil); r.code != http.StatusAccepted {
		t.Errorf("the same request for real: %d %s, want 202", r.code, r.body)
	}
	if d := cmp.Diff([]events.Request{normalised}, e.sub.sent()); d != "" {
		t.Errorf("submitted (-want +got):\n%s", d)
	}
	// dryRun false is an ordinary request.
	if r := e.post(t, "application/json", mustJSON(t, request("INC2", func(m map[string]any) { m["dryRun"] = false })), nil); r.code != http.StatusAccepted {
		t.Errorf("dryRun false: %d %s, want 202", r.code, r.body)
	}
	if n := len(pl.asked()); n != 1 {
		t.Errorf("planned %d times, want once", n)
	}
}

// Every format carries the flag in the request itself; a batch is a dry run
// only as a whole, and its plans are indexed.
func TestDryRunFormats(t *testing.T) {
	second := normalised
	second.RequestID = "INC2"
	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        any
		want        []events.Request
		indexed     bool
	}{
		{name: "structured CloudEvent", contentType: "application/cloudevents+json",
			body: cloudEvent("e1", request("INC1", dry)), want: []events.Request{normalised}},
		{name: "raprov's event data", contentType: "application/cloudevents+json",
			body: cloudEvent("e1", map[string]any{"request": request("INC1", dry)}), want: []events.Request{normalised}},
		{name: "binary CloudEvent", contentType: "application/json", body: request("INC1", dry),
			headers: map[string]string{"ce-specversion": "1.0", "ce-type": events.TypeProvisioningRequested, "ce-id": "e1", "ce-source": "hr"},
			want:    []events.Request{normalised}},
		{name: "array", contentType: "application/json", body: []any{request("INC1", dry), request("INC2", dry)},
			want: []events.Request{normalised, second}, indexed: true},
		{name: "CloudEvents batch", contentType: "application/cloudevents-batch+json",
			body: []any{cloudEvent("e1", request("INC1", dry)), cloudEvent("e2", request("INC2", dry))},
			want: []events.Request{normalised, second}, indexed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := &fakePlanner{}
			e := newEnv(t, func(o *httpapi.Options) { o.Planner = pl })
			r := e.post(t, tt.contentType, mustJSON(t, tt.body), tt.headers)
			if r.code != http.StatusOK {
				t.Fatalf("%d %s, want 200", r.code, r.body)
			}
			if d := cmp.Diff([][]events.Request{tt.want}, pl.asked()); d != "" {
				t.Errorf("planned (-want +got):\n%s", d)
			}
			var got httpapi.DryRun
			r.decode(t, &got)
			for i, p := range got.Plans {
				if (p.Index != nil) != tt.indexed || (tt.indexed && *p.Index != i) {
					t.Errorf("plan %d has index %v", i, p.Index)
				}
			}
			if !got.DryRun || len(got.Plans) != len(tt.want) || e.sub.callCount() != 0 {
				t.Errorf("answer %+v, %d submissions", got, e.sub.callCount())
			}
		})
	}
}

// A flag in the wrong place, or of the wrong kind, is refused: it must
// never be ignored, which would submit the requests for real.
func TestDryRunRefusals(t *testing.T) {
	pl := &fakePlanner{}
	e := newEnv(t, func(o *httpapi.Options) { o.Planner = pl })
	ce := cloudEvent("e1", request("INC1"))
	ce["dryrun"] = true
	tests := []struct {
		name        string
		path        string
		contentType string
		headers     map[string]string
		body        []byte
		code        int
		field       string
	}{
		{name: "mixed batch", body: mustJSON(t, []any{request("INC1", dry), request("INC2")}), code: 400, field: "dryRun"},
		{name: "not a boolean", body: mustJSON(t, request("INC1", func(m map[string]any) { m["dryRun"] = "yes" })), code: 400, field: "dryRun"},
		{name: "lower-case member", body: mustJSON(t, request("INC1", func(m map[string]any) { m["dryrun"] = true })), code: 400, field: "dryrun"},
		{name: "CloudEvent extension", contentType: "application/cloudevents+json", body: mustJSON(t, ce), code: 400, field: "dryrun"},
		{name: "binary header", body: mustJSON(t, request("INC1")), code: 400, field: "ce-dryrun",
			headers: map[string]string{"ce-specversion": "1.0", "ce-type": events.TypeProvisioningRequested, "ce-id": "e1", "ce-source": "hr", "ce-dryrun": "true"}},
		{name: "query parameter", path: "/requests?dryRun=true", body: mustJSON(t, request("Q1")), code: 400, field: "dryRun"},
		{name: "query parameter spelt otherwise", path: "/requests?x=1&Dry-Run", body: mustJSON(t, request("Q2")), code: 400, field: "dryRun"},
		{name: "invalid request", body: mustJSON(t, request("INC1", dry, func(m map[string]any) { m["usageLocation"] = "UK" })), code: 400, field: "usageLocation"},
	}
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = "/requests"
		}
		h := map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, now, tt.body), "Content-Type": "application/json"}
		if tt.contentType != "" {
			h["Content-Type"] = tt.contentType
		}
		for k, v := range tt.headers {
			h[k] = v
		}
		r := e.call(t, http.MethodPost, path, tt.body, h)
		er := r.errorBody(t)
		if r.code != tt.code || er.Field != tt.field || er.Error == "" {
			t.Errorf("%s: %d %+v; want %d field %q", tt.name, r.code, er, tt.code, tt.field)
		}
	}
	if e.sub.callCount() != 0 || len(pl.asked()) != 0 {
		t.Errorf("%d submissions and %d plans, want none", e.sub.callCount(), len(pl.asked()))
	}
}

// Without a planner a dry run is 501 and says where dry runs are
// available; a planner that cannot read the tenant is 503. Neither submits.
func TestDryRunUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post(t, "application/json", mustJSON(t, request("INC1", dry)), nil)
	er := r.errorBody(t)
	if r.code != http.StatusNotImplemented || er.Reason != httpapi.ReasonDryRunUnavailable || !strings.Contains(er.Error, "raprov run --dry-run") {
		t.Errorf("without a planner: %d %+v, want 501 dry_run_unavailable naming raprov run --dry-run", r.code, er)
	}
	pl := &fakePlanner{err: errors.New("graph: GET subscribedSkus: 503 (secret detail)")}
	e2 := newEnv(t, func(o *httpapi.Options) { o.Planner = pl })
	r = e2.post(t, "application/json", mustJSON(t, request("INC1", dry)), nil)
	er = r.errorBody(t)
	if r.code != http.StatusServiceUnavailable || er.Reason != httpapi.ReasonUnavailable || strings.Contains(string(r.body), "secret detail") {
		t.Errorf("planner failing: %d %s, want 503 without the planner's error", r.code, r.body)
	}
	if e.sub.callCount()+e2.sub.callCount() != 0 {
		t.Error("a dry run was submitted")
	}
}

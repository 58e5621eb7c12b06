package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
)

// normalised is request("INC1") as intake normalises it.
var normalised = events.Request{
	RequestID:         "INC1",
	DisplayName:       "Contoso Main Line",
	UserPrincipalName: "ra-mainline@contoso.com",
	AccountType:       events.AccountTypeAutoAttendant,
	UsageLocation:     "US",
	PhoneNumber:       "+14255550100",
	NumberType:        events.NumberTypeCallingPlan,
}

func TestPostAcceptsEachFormat(t *testing.T) {
	encoded, err := events.Encode(events.New(events.TypeProvisioningRequested, "raprov/cli", events.Data{Request: events.Request{
		RequestID: "INC1", DisplayName: "Contoso Main Line", UserPrincipalName: "ra-mainline@contoso.com",
		AccountType: "autoAttendant", UsageLocation: "US", PhoneNumber: "+14255550100",
	}}))
	if err != nil {
		t.Fatal(err)
	}
	second := normalised
	second.RequestID = "INC2"
	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        []byte
		batch       bool
		want        []events.Request
	}{
		{name: "plain request", contentType: "application/json", body: mustJSON(t, request("INC1")), want: []events.Request{normalised}},
		{name: "plain request without Content-Type", body: mustJSON(t, request("INC1")), want: []events.Request{normalised}},
		{name: "plain request with charset", contentType: "application/json; charset=UTF-8", body: mustJSON(t, request("INC1")), want: []events.Request{normalised}},
		{
			name: "structured CloudEvent", contentType: "application/cloudevents+json",
			body: mustJSON(t, cloudEvent("evt-1", request("INC1"))), want: []events.Request{normalised},
		},
		{
			name: "structured CloudEvent as raprov encodes it", contentType: "application/cloudevents+json",
			body: encoded, want: []events.Request{normalised},
		},
		{
			name: "binary CloudEvent", contentType: "application/json",
			headers: map[string]string{
				"ce-specversion": "1.0", "ce-type": events.TypeProvisioningRequested,
				"ce-id": "evt-1", "ce-source": "workday/bp", "ce-time": "2026-11-25T08:59:00Z",
			},
			body: mustJSON(t, request("INC1")), want: []events.Request{normalised},
		},
		{
			name: "array of requests", contentType: "application/json", batch: true,
			body: mustJSON(t, []any{request("INC1"), request("INC2")}), want: []events.Request{normalised, second},
		},
		{
			name: "CloudEvents batch", contentType: "application/cloudevents-batch+json", batch: true,
			body: mustJSON(t, []any{cloudEvent("e1", request("INC1")), cloudEvent("e2", request("INC2"))}),
			want: []events.Request{normalised, second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.post(t, tt.contentType, tt.body, tt.headers)
			if r.code != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %s", r.code, r.body)
			}
			if diff := cmp.Diff(tt.want, e.sub.sent()); diff != "" {
				t.Errorf("submitted requests (-want +got):\n%s", diff)
			}
			if !tt.batch {
				var rc httpapi.Receipt
				r.decode(t, &rc)
				if diff := cmp.Diff(httpapi.Receipt{RequestID: "INC1", Status: "/requests/INC1"}, rc); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				if loc := r.header.Get("Location"); loc != "/requests/INC1" {
					t.Errorf("Location %q", loc)
				}
				return
			}
			var br httpapi.BatchResponse
			r.decode(t, &br)
			want := httpapi.BatchResponse{Results: []httpapi.Receipt{
				{Index: ptr(0), RequestID: "INC1", Status: "/requests/INC1", Result: httpapi.Sent, Code: 202},
				{Index: ptr(1), RequestID: "INC2", Status: "/requests/INC2", Result: httpapi.Sent, Code: 202},
			}}
			if diff := cmp.Diff(want, br); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr(i int) *int { return &i }

func TestPostGivesARequestID(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post(t, "application/json", mustJSON(t, request("")), nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	var rc httpapi.Receipt
	r.decode(t, &rc)
	id, err := uuid.Parse(rc.RequestID)
	if err != nil || id.Version() != 7 {
		t.Fatalf("requestId %q is not a UUIDv7", rc.RequestID)
	}
	sent := e.sub.sent()
	if len(sent) != 1 || sent[0].RequestID != rc.RequestID {
		t.Fatalf("submitted %+v; want the request under %s", sent, rc.RequestID)
	}
	if loc := r.header.Get("Location"); loc != "/requests/"+rc.RequestID || rc.Status != loc {
		t.Errorf("Location %q, status %q", loc, rc.Status)
	}
	// The id the door answered is the one the status knows.
	if g := e.get(t, rc.Status); g.code != http.StatusOK {
		t.Errorf("GET %s: %d %s", rc.Status, g.code, g.body)
	}
}

func TestPostRefusesUnauthenticated(t *testing.T) {
	body := mustJSON(t, request("INC1"))
	other := mustJSON(t, request("INC2"))
	valid := httpapi.Sign(key1, now, body)
	sigOf := strings.SplitN(valid, ",", 2)[1] // "v1=…"
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"missing", nil, "missing"},
		{"empty", map[string]string{httpapi.SignatureHeader: ""}, "missing"},
		{"no timestamp", map[string]string{httpapi.SignatureHeader: sigOf}, "malformed"},
		{"no signature", map[string]string{httpapi.SignatureHeader: "t=" + unix(now)}, "malformed"},
		{"signature not hex", map[string]string{httpapi.SignatureHeader: "t=" + unix(now) + ",v1=zz"}, "malformed"},
		{"signature too short", map[string]string{httpapi.SignatureHeader: "t=" + unix(now) + ",v1=abcd"}, "malformed"},
		{"signed timestamp", map[string]string{httpapi.SignatureHeader: "t=+" + unix(now) + "," + sigOf}, "malformed"},
		{"two timestamps", map[string]string{httpapi.SignatureHeader: "t=" + unix(now) + ",t=" + unix(now) + "," + sigOf}, "malformed"},
		{"not key=value", map[string]string{httpapi.SignatureHeader: "Bearer " + key1}, "malformed"},
		{"wrong key", map[string]string{httpapi.SignatureHeader: httpapi.Sign("another-key-that-is-long-enough-0123", now, body)}, "does not match"},
		{"other body", map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, now, other)}, "does not match"},
		{"timestamp changed", map[string]string{httpapi.SignatureHeader: "t=" + unix(now.Add(time.Second)) + "," + sigOf}, "does not match"},
		{"stale", map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, now.Add(-httpapi.MaxSkew-time.Second), body)}, "5 minutes"},
		{"future", map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, now.Add(httpapi.MaxSkew+time.Second), body)}, "5 minutes"},
		{"stale and wrong", map[string]string{httpapi.SignatureHeader: "t=1,v1=" + strings.Repeat("0", 64)}, "5 minutes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			h := map[string]string{"Content-Type": "application/json"}
			for k, v := range tt.headers {
				h[k] = v
			}
			r := e.call(t, http.MethodPost, "/requests", body, h)
			if r.code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.code, r.body)
			}
			er := r.errorBody(t)
			if er.Reason != httpapi.ReasonUnauthenticated || !strings.Contains(er.Error, tt.want) {
				t.Errorf("answer %+v; want reason unauthenticated and %q", er, tt.want)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if n := e.sub.callCount(); n != 0 {
				t.Errorf("the submitter was called %d times", n)
			}
			if strings.Contains(string(r.body), key1) || strings.Contains(e.log.String(), sigOf[3:]) {
				t.Errorf("key or signature leaked: answer %s, log %s", r.body, e.log)
			}
			e.noSecrets(t)
		})
	}
	t.Run("window edges", func(t *testing.T) {
		e := newEnv(t, nil)
		for i, at := range []time.Time{now.Add(-httpapi.MaxSkew), now.Add(httpapi.MaxSkew)} {
			b := mustJSON(t, request("EDGE"+string(rune('0'+i))))
			r := e.call(t, http.MethodPost, "/requests", b, map[string]string{httpapi.SignatureHeader: httpapi.Sign(key1, at, b)})
			if r.code != http.StatusAccepted {
				t.Errorf("signed %s: status %d %s", at.Sub(now), r.code, r.body)
			}
		}
	})
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestKeyRotation(t *testing.T) {
	const newKey = "k3-the-next-key-0123456789abcdefgh"
	signedWith := func(e *env, key, id string) int {
		b := mustJSON(t, request(id))
		return e.call(t, http.MethodPost, "/requests", b, map[string]string{httpapi.SignatureHeader: httpapi.Sign(key, now, b)}).code
	}
	// During the rotation both keys are active.
	both := newEnv(t, func(o *httpapi.Options) { o.Keys = []string{key1, newKey} })
	if c := signedWith(both, key1, "R1"); c != http.StatusAccepted {
		t.Errorf("old key during rotation: %d", c)
	}
	if c := signedWith(both, newKey, "R2"); c != http.StatusAccepted {
		t.Errorf("new key during rotation: %d", c)
	}
	// After it, the removed key fails and nothing is queued.
	after := newEnv(t, func(o *httpapi.Options) { o.Keys = []string{newKey} })
	if c := signedWith(after, key1, "R3"); c != http.StatusUnauthorized {
		t.Errorf("removed key: %d, want 401", c)
	}
	if c := signedWith(after, newKey, "R4"); c != http.StatusAccepted {
		t.Errorf("new key after rotation: %d", c)
	}
	if diff := cmp.Diff([]string{"R4"}, ids(after.sub.sent())); diff != "" {
		t.Errorf("submitted after rotation (-want +got):\n%s", diff)
	}
	// A sender may send both signatures while it moves to the new key.
	b := mustJSON(t, request("R5"))
	old := httpapi.Sign("k0-a-key-nobody-has-anymore-0123456", now, b)
	cur := httpapi.Sign(newKey, now, b)
	h := old + "," + strings.SplitN(cur, ",", 2)[1]
	if r := after.call(t, http.MethodPost, "/requests", b, map[string]string{httpapi.SignatureHeader: h}); r.code != http.StatusAccepted {
		t.Errorf("two v1 signatures, one valid: %d %s", r.code, r.body)
	}
}

func ids(reqs []events.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.RequestID
	}
	return out
}

func TestPostRefusesOversize(t *testing.T) {
	const max = 2048
	e := newEnv(t, func(o *httpapi.Options) { o.MaxBody = max; o.MaxBatch = 3 })
	big := mustJSON(t, request("BIG", func(m map[string]any) { m["displayName"] = strings.Repeat("x", max) }))

	r := e.post(t, "application/json", big, nil)
	if r.code != http.StatusRequestEntityTooLarge || r.errorBody(t).Reason != httpapi.ReasonTooLarge {
		t.Errorf("with Content-Length: %d %s", r.code, r.body)
	}

	// Without a Content-Length the reader stops at the limit.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/requests", struct{ *bytes.Reader }{bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key1, now, big))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: content length %d, status %d", req.ContentLength, resp.StatusCode)
	}

	batch := mustJSON(t, []any{request("B1"), request("B2"), request("B3"), request("B4")})
	r = e.post(t, "application/json", batch, nil)
	if r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.errorBody(t).Error, "at most 3") {
		t.Errorf("batch over MaxBatch: %d %s", r.code, r.body)
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("the submitter was called %d times", n)
	}
}

func TestPostRefusesMalformed(t *testing.T) {
	ce := func(change func(map[string]any)) []byte {
		m := cloudEvent("e1", request("INC1"))
		change(m)
		return mustJSON(t, m)
	}
	binary := map[string]string{"ce-specversion": "1.0", "ce-type": events.TypeProvisioningRequested, "ce-id": "e1", "ce-source": "x"}
	without := func(h map[string]string, name string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			if k != name {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        string
		code        int
		field       string
		reason      string
	}{
		{"not JSON", "application/json", nil, `{"requestId":`, 400, "", events.PoisonMalformedJSON},
		{"empty", "application/json", nil, ``, 400, "", events.PoisonMalformedJSON},
		{"trailing data", "application/json", nil, `{} {}`, 400, "", events.PoisonMalformedJSON},
		{"not UTF-8", "application/json", nil, "{\"displayName\":\"\xff\"}", 400, "", events.PoisonMalformedJSON},
		{"a string", "application/json", nil, `"hello"`, 400, "", "invalid_request"},
		{"unknown field", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["department"] = "x" }))), 400, "department", "invalid_request"},
		{"field in another case", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["UsageLocation"] = "US" }))), 400, "UsageLocation", "invalid_request"},
		{"field twice", "application/json", nil, `{"requestId":"A","requestId":"B"}`, 400, "requestId", "invalid_request"},
		{"mistyped field", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["adopt"] = "yes" }))), 400, "adopt", "invalid_request"},
		{"invalid field", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["usageLocation"] = "UK" }))), 400, "usageLocation", "invalid_request"},
		{"missing field", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { delete(m, "displayName") }))), 400, "displayName", "invalid_request"},
		{"unverified domain", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["userPrincipalName"] = "ra@fabrikam.com" }))), 400, "userPrincipalName", "domain_not_verified"},
		{"adopt not allowed", "application/json", nil, string(mustJSON(t, request("INC1", func(m map[string]any) { m["adopt"] = true }))), 400, "adopt", "invalid_request"},
		{"empty batch", "application/json", nil, `[]`, 400, "", "invalid_request"},
		{"unsupported media type", "text/plain", nil, string(mustJSON(t, request("INC1"))), 415, "", httpapi.ReasonUnsupportedType},
		{"form", "application/x-www-form-urlencoded", nil, `a=b`, 415, "", httpapi.ReasonUnsupportedType},
		{"other charset", "application/json; charset=latin1", nil, string(mustJSON(t, request("INC1"))), 415, "", httpapi.ReasonUnsupportedType},
		{"CloudEvent of another type", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["type"] = events.TypeProvisioningAccepted })), 400, "type", events.PoisonUnknownType},
		{"CloudEvent of another version", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["type"] = "raprov.provisioning.requested.v2" })), 400, "type", events.PoisonUnknownType},
		{"CloudEvent without type", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { delete(m, "type") })), 400, "type", events.PoisonUnknownType},
		{"CloudEvent spec 0.3", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["specversion"] = "0.3" })), 400, "specversion", events.PoisonBadSpecVersion},
		{"CloudEvent without id", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { delete(m, "id") })), 400, "id", events.PoisonMalformedEnvelope},
		{"CloudEvent with numeric source", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["source"] = 7 })), 400, "source", events.PoisonMalformedEnvelope},
		{"CloudEvent with bad time", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["time"] = "yesterday" })), 400, "time", events.PoisonMalformedEnvelope},
		{"CloudEvent with XML data", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["datacontenttype"] = "application/xml" })), 400, "datacontenttype", events.PoisonMalformedEnvelope},
		{"CloudEvent with data_base64", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { delete(m, "data"); m["data_base64"] = "e30=" })), 400, "data_base64", events.PoisonMalformedEnvelope},
		{"CloudEvent without data", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { delete(m, "data") })), 400, "data", events.PoisonMalformedData},
		{"CloudEvent with string data", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["data"] = "x" })), 400, "data", events.PoisonMalformedData},
		{"CloudEvent with unknown data field", "application/cloudevents+json", nil, string(ce(func(m map[string]any) { m["data"] = request("INC1", func(m map[string]any) { m["dept"] = "x" }) })), 400, "dept", "invalid_request"},
		{"CloudEvent data with progress", "application/cloudevents+json", nil, string(ce(func(m map[string]any) {
			m["data"] = map[string]any{"request": request("INC1"), "progress": map[string]any{"objectId": "x"}}
		})), 400, "data.progress", "invalid_request"},
		{"CloudEvent as an array", "application/cloudevents+json", nil, `[]`, 400, "", events.PoisonMalformedEnvelope},
		{"CloudEvents batch not an array", "application/cloudevents-batch+json", nil, string(ce(func(map[string]any) {})), 400, "", events.PoisonMalformedEnvelope},
		{"binary without ce-source", "application/json", without(binary, "ce-source"), string(mustJSON(t, request("INC1"))), 400, "ce-source", events.PoisonMalformedEnvelope},
		{"binary of another type", "application/json", map[string]string{"ce-specversion": "1.0", "ce-type": "com.example.x", "ce-id": "e1", "ce-source": "x"}, string(mustJSON(t, request("INC1"))), 400, "ce-type", events.PoisonUnknownType},
		{"binary spec 0.3", "application/json", map[string]string{"ce-specversion": "0.3", "ce-type": events.TypeProvisioningRequested, "ce-id": "e1", "ce-source": "x"}, string(mustJSON(t, request("INC1"))), 400, "ce-specversion", events.PoisonBadSpecVersion},
		{"binary with an array", "application/json", binary, `[]`, 400, "", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *httpapi.Options) {
				o.Normalize = validate.Normalizer(validate.Options{VerifiedDomains: []string{"contoso.com"}})
			})
			r := e.post(t, tt.contentType, []byte(tt.body), tt.headers)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d: %s", r.code, tt.code, r.body)
			}
			er := r.errorBody(t)
			if er.Field != tt.field || er.Reason != tt.reason || er.Error == "" {
				t.Errorf("answer %s; want field %q reason %q", r.body, tt.field, tt.reason)
			}
			if n := e.sub.callCount(); n != 0 {
				t.Errorf("the submitter was called %d times", n)
			}
		})
	}
}

func TestPostInvalidRequestListsEveryField(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post(t, "application/json", mustJSON(t, request("INC1", func(m map[string]any) {
		m["accountType"] = "resource"
		m["usageLocation"] = "XX"
		delete(m, "phoneNumber")
	})), nil)
	if r.code != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	er := r.errorBody(t)
	var fields []string
	for _, fe := range er.Errors {
		fields = append(fields, fe.Field+"/"+fe.Reason)
		if fe.Index != nil || fe.Message == "" {
			t.Errorf("error %+v", fe)
		}
	}
	if diff := cmp.Diff([]string{"accountType/invalid_request", "usageLocation/invalid_request"}, fields); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if er.Field != "accountType" || er.Reason != "invalid_request" || er.Index != nil {
		t.Errorf("top level %+v", er)
	}
}

func TestPostBatchWithBadItemsQueuesNothing(t *testing.T) {
	e := newEnv(t, nil)
	body := mustJSON(t, []any{
		request("OK1"),
		request("BAD1", func(m map[string]any) { m["usageLocation"] = "UK"; delete(m, "phoneNumber") }),
		request("OK2"),
		request("BAD2", func(m map[string]any) { m["colour"] = "red" }),
		request("BAD3", func(m map[string]any) { delete(m, "displayName"); m["accountType"] = "x" }),
	})
	r := e.post(t, "application/json", body, nil)
	if r.code != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	er := r.errorBody(t)
	type item struct {
		Index         int
		Field, Reason string
	}
	var got []item
	for _, fe := range er.Errors {
		if fe.Index == nil || fe.Message == "" {
			t.Fatalf("error without index or message: %+v", fe)
		}
		got = append(got, item{*fe.Index, fe.Field, fe.Reason})
	}
	want := []item{
		{1, "usageLocation", "invalid_request"},
		{3, "colour", "invalid_request"},
		{4, "displayName", "invalid_request"},
		{4, "accountType", "invalid_request"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if er.Index == nil || *er.Index != 1 || er.Field != "usageLocation" || !strings.Contains(er.Error, "3 requests") {
		t.Errorf("top level %+v", er)
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("the submitter was called %d times", n)
	}

	// A CloudEvents batch reports envelope errors by index too.
	r = e.post(t, "application/cloudevents-batch+json", mustJSON(t, []any{
		cloudEvent("e1", request("OK1")),
		map[string]any{"specversion": "1.0", "type": "com.example.other", "id": "e2", "source": "x", "data": request("OK2")},
	}), nil)
	er = r.errorBody(t)
	if r.code != 400 || len(er.Errors) != 1 || *er.Errors[0].Index != 1 || er.Errors[0].Field != "type" || er.Errors[0].Reason != events.PoisonUnknownType {
		t.Errorf("CloudEvents batch: %d %s", r.code, r.body)
	}
}

func TestPostBatchRefusesOneIDForTwoRequests(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post(t, "application/json", mustJSON(t, []any{
		request("SAME"),
		request("SAME", func(m map[string]any) { m["displayName"] = "Other Line" }),
	}), nil)
	er := r.errorBody(t)
	if r.code != http.StatusBadRequest || len(er.Errors) != 1 || *er.Errors[0].Index != 1 ||
		er.Errors[0].Field != "requestId" || er.Errors[0].Reason != string(events.ReasonRequestConflict) {
		t.Errorf("%d %s", r.code, r.body)
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("the submitter was called %d times", n)
	}
}

func TestPostDuplicateAnswersStatus(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil); r.code != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.code, r.body)
	}
	// The same request written differently normalises to the same one.
	again := request("INC1", func(m map[string]any) {
		m["accountType"] = "autoAttendant"
		m["userPrincipalName"] = "ra-mainline@contoso.com"
		m["phoneNumber"] = "+1 425 555 0100"
	})
	r := e.post(t, "application/cloudevents+json", mustJSON(t, cloudEvent("e2", again)), nil)
	if r.code != http.StatusOK {
		t.Fatalf("repeat: %d %s", r.code, r.body)
	}
	var st httpapi.Status
	r.decode(t, &st)
	if st.RequestID != "INC1" || st.Link != "/requests/INC1" || st.Outcome != ledger.InProgress ||
		st.Step != "submit" || len(st.History) != 1 || st.History[0].Type != events.TypeProvisioningRequested {
		t.Errorf("status %+v", st)
	}
	if loc := r.header.Get("Content-Location"); loc != "/requests/INC1" {
		t.Errorf("Content-Location %q", loc)
	}
	if n := e.sub.callCount(); n != 2 {
		t.Errorf("%d submit calls, want 2", n)
	}
}

func TestPostConflict(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil); r.code != http.StatusAccepted {
		t.Fatalf("first: %d %s", r.code, r.body)
	}
	r := e.post(t, "application/json", mustJSON(t, request("INC1", func(m map[string]any) { m["usageLocation"] = "CA" })), nil)
	if r.code != http.StatusConflict {
		t.Fatalf("status %d, want 409: %s", r.code, r.body)
	}
	er := r.errorBody(t)
	if er.Reason != "request_conflict" || er.Field != "requestId" || er.RequestID != "INC1" || er.Status != "/requests/INC1" {
		t.Errorf("answer %+v", er)
	}
	st, err := e.ledger.Get(t.Context(), "INC1")
	if err != nil || len(st.History) != 1 {
		t.Errorf("the first request's status changed: %+v %v", st, err)
	}
}

func TestPostBatchOutcomes(t *testing.T) {
	e := newEnv(t, nil)
	for _, id := range []string{"OLD", "TAKEN"} {
		if r := e.post(t, "application/json", mustJSON(t, request(id)), nil); r.code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", id, r.code, r.body)
		}
	}
	body := mustJSON(t, []any{
		request("NEW"),
		request("OLD"),
		request("TAKEN", func(m map[string]any) { m["displayName"] = "Another" }),
		request("NEW"), // the same item twice: queued once
	})
	r := e.post(t, "application/json", body, nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	var br httpapi.BatchResponse
	r.decode(t, &br)
	type res struct {
		ID     string
		Result httpapi.Outcome
		Code   int
		Reason string
	}
	var got []res
	for i, rc := range br.Results {
		if rc.Index == nil || *rc.Index != i || rc.Status != "/requests/"+rc.RequestID {
			t.Errorf("item %d: %+v", i, rc)
		}
		got = append(got, res{rc.RequestID, rc.Result, rc.Code, rc.Reason})
	}
	want := []res{
		{"NEW", httpapi.Sent, 202, ""},
		{"OLD", httpapi.Duplicate, 200, ""},
		{"TAKEN", httpapi.Conflict, 409, "request_conflict"},
		{"NEW", httpapi.Duplicate, 200, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"OLD", "TAKEN", "NEW", "OLD", "TAKEN"}, ids(e.sub.sent())); diff != "" {
		t.Errorf("submitted (-want +got):\n%s", diff)
	}

	// Nothing new: 200 when all were known, 409 when one conflicted.
	if r := e.post(t, "application/json", mustJSON(t, []any{request("NEW"), request("OLD")}), nil); r.code != http.StatusOK {
		t.Errorf("all duplicates: %d %s", r.code, r.body)
	}
	if r := e.post(t, "application/json", mustJSON(t, []any{request("OLD"), request("TAKEN", func(m map[string]any) { m["displayName"] = "Another" })}), nil); r.code != http.StatusConflict {
		t.Errorf("duplicate and conflict: %d %s", r.code, r.body)
	}
}

func TestPostTraceParent(t *testing.T) {
	const (
		header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		inCE   = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	)
	withTP := func(tp string) []byte {
		m := cloudEvent("e1", request("INC1"))
		m["traceparent"] = tp
		return mustJSON(t, m)
	}
	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        []byte
		want        string
	}{
		{"header", "application/json", map[string]string{"traceparent": header}, mustJSON(t, request("INC1")), header},
		{"invalid header ignored", "application/json", map[string]string{"traceparent": "00-xyz"}, mustJSON(t, request("INC1")), ""},
		{"all-zero trace id ignored", "application/json", map[string]string{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, mustJSON(t, request("INC1")), ""},
		{"none", "application/json", nil, mustJSON(t, request("INC1")), ""},
		{"CloudEvent extension", "application/cloudevents+json", nil, withTP(inCE), inCE},
		{"invalid CloudEvent extension ignored", "application/cloudevents+json", nil, withTP("bogus"), ""},
		{"header wins over extension", "application/cloudevents+json", map[string]string{"traceparent": header}, withTP(inCE), header},
		{"binary ce-traceparent", "application/json", map[string]string{
			"ce-specversion": "1.0", "ce-type": events.TypeProvisioningRequested, "ce-id": "e1", "ce-source": "x", "ce-traceparent": inCE,
		}, mustJSON(t, request("INC1")), inCE},
		{"batch takes the header", "application/json", map[string]string{"traceparent": header}, mustJSON(t, []any{request("INC1")}), header},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if r := e.post(t, tt.contentType, tt.body, tt.headers); r.code != http.StatusAccepted {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if got := e.sub.calls[0].traceParent; got != tt.want {
				t.Errorf("traceparent %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPostSubmitFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.sub.err = errQueueDown
	r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil)
	if r.code != http.StatusServiceUnavailable || r.errorBody(t).Reason != httpapi.ReasonUnavailable {
		t.Errorf("%d %s", r.code, r.body)
	}
	if strings.Contains(string(r.body), errQueueDown.Error()) {
		t.Errorf("answer shows the internal error: %s", r.body)
	}
}

func TestPostWrongSubmitterAnswer(t *testing.T) {
	for name, sub := range map[string]httpapi.SubmitterFunc{
		"too few results": func(context.Context, string, []events.Request) ([]httpapi.Submitted, error) {
			return nil, nil
		},
		"unknown outcome": func(context.Context, string, []events.Request) ([]httpapi.Submitted, error) {
			return []httpapi.Submitted{{Outcome: "maybe"}}, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(o *httpapi.Options) { o.Submitter = sub })
			r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil)
			if r.code != http.StatusInternalServerError || r.errorBody(t).Reason != httpapi.ReasonInternal {
				t.Errorf("%d %s", r.code, r.body)
			}
		})
	}
}

func TestPostDuplicateWithoutStatus(t *testing.T) {
	dup := httpapi.SubmitterFunc(func(_ context.Context, _ string, reqs []events.Request) ([]httpapi.Submitted, error) {
		return []httpapi.Submitted{{Outcome: httpapi.Duplicate}}, nil
	})
	e := newEnv(t, func(o *httpapi.Options) { o.Submitter = dup })
	r := e.post(t, "application/json", mustJSON(t, request("INC1")), nil)
	var rc httpapi.Receipt
	r.decode(t, &rc)
	if r.code != http.StatusOK || rc != (httpapi.Receipt{RequestID: "INC1", Status: "/requests/INC1"}) {
		t.Errorf("%d %s", r.code, r.body)
	}
}

package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/steps"
)

// cannedGraph serves the simulator's identity platform endpoints and answers
// every /v1.0 request with h, recording the bearer tokens it was sent.
type cannedGraph struct {
	*fixture
	mu     sync.Mutex
	tokens []string
}

func newCannedGraph(t *testing.T, h http.HandlerFunc) *cannedGraph {
	t.Helper()
	sim, err := graphsim.New(graphsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cg := &cannedGraph{}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1.0/", func(w http.ResponseWriter, r *http.Request) {
		cg.mu.Lock()
		cg.tokens = append(cg.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		cg.mu.Unlock()
		h(w, r)
	})
	mux.Handle("/", sim.Handler())
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	cg.fixture = &fixture{sim: sim, ts: ts}
	return cg
}

func respond(status int, header map[string]string, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func graphErrorBody(code, message string) string {
	return `{"error":{"code":"` + code + `","message":"` + message +
		`","innerError":{"date":"2025-01-06T12:25:59","request-id":"r","client-request-id":"c"}}}`
}

const jsonType = "application/json"

func TestErrorMapping(t *testing.T) {
	retryDate := time.Now().Add(60 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		code       apperr.Code
		reason     events.Reason
		retryAfter func(time.Duration) bool
		message    string // a substring the message must hold
	}{
		{
			name:    "400 other",
			handler: respond(400, nil, jsonType, graphErrorBody("Request_UnsupportedQuery", "Unsupported query.")),
			code:    apperr.Invalid, reason: events.ReasonRejected, message: "Request_UnsupportedQuery",
		},
		{
			name:    "400 no seats",
			handler: respond(400, nil, jsonType, graphErrorBody("Request_BadRequest", "Subscription with SKU 440eaaa8-b3e0-484b-a8be-62870b9ba70a does not have any available licenses.")),
			code:    apperr.Invalid, reason: events.ReasonNoLicense,
		},
		{
			name:    "400 ObjectConflict on another property",
			handler: respond(400, nil, jsonType, `{"error":{"code":"Request_BadRequest","message":"Another object with the same value for property proxyAddresses already exists.","details":[{"code":"ObjectConflict","target":"proxyAddresses"}]}}`),
			code:    apperr.Conflict, reason: events.ReasonRejected,
		},
		{
			name:    "401",
			handler: respond(401, nil, jsonType, graphErrorBody("InvalidAuthenticationToken", "Access token validation failure.")),
			code:    apperr.Forbidden, reason: events.ReasonPermissionDenied,
		},
		{
			name:    "403",
			handler: respond(403, nil, jsonType, graphErrorBody("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")),
			code:    apperr.Forbidden, reason: events.ReasonPermissionDenied, message: "Authorization_RequestDenied",
		},
		{
			name:    "404 without body",
			handler: respond(404, nil, "", ""),
			code:    apperr.NotFound,
		},
		{
			name:    "409",
			handler: respond(409, nil, jsonType, graphErrorBody("Conflict", "Conflict.")),
			code:    apperr.Conflict,
		},
		{
			name:       "429 with fractional seconds",
			handler:    respond(429, map[string]string{"Retry-After": "1.5"}, jsonType, graphErrorBody("TooManyRequests", "Too many requests.")),
			code:       apperr.Throttled,
			retryAfter: func(d time.Duration) bool { return d == 1500*time.Millisecond },
		},
		{
			name:       "429 with an HTTP date",
			handler:    respond(429, map[string]string{"Retry-After": retryDate}, jsonType, graphErrorBody("TooManyRequests", "Too many requests.")),
			code:       apperr.Throttled,
			retryAfter: func(d time.Duration) bool { return d > 55*time.Second && d <= 60*time.Second },
		},
		{
			name:       "503 with Retry-After",
			handler:    respond(503, map[string]string{"Retry-After": "120"}, jsonType, graphErrorBody("serviceNotAvailable", "Unavailable.")),
			code:       apperr.Unavailable,
			retryAfter: func(d time.Duration) bool { return d == 2*time.Minute },
		},
		{
			name:    "502 from a gateway, HTML body",
			handler: respond(502, nil, "text/html", "<html><body>Bad gateway</body></html>"),
			code:    apperr.Unavailable,
		},
		{
			name: "connection dropped",
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			},
			code: apperr.Unavailable,
		},
		{
			name:    "malformed success body",
			handler: respond(200, nil, jsonType, `{"value":[{"skuPartNumber":`),
			code:    apperr.Internal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg := newCannedGraph(t, tt.handler)
			cfg := cg.config()
			cfg.MaxRetries = 0
			_, err := cg.client(t, cfg).Sku(context.Background(), "ANY")
			e := wantAppErr(t, err, tt.code, tt.reason)
			if tt.retryAfter != nil && !tt.retryAfter(e.RetryAfter) {
				t.Errorf("RetryAfter = %v", e.RetryAfter)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q does not contain %q", e.Message, tt.message)
			}
			cg.assertNoCredentialIn(t, err.Error())
		})
	}
}

// assertNoCredentialIn fails when s holds the client secret or a bearer
// token the server received.
func (cg *cannedGraph) assertNoCredentialIn(t *testing.T, s string) {
	t.Helper()
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if strings.Contains(s, graphsim.DefaultClientSecret) {
		t.Errorf("error reveals the client secret: %s", s)
	}
	for _, tok := range cg.tokens {
		if len(tok) > 16 && strings.Contains(s, tok[len(tok)-16:]) {
			t.Errorf("error reveals the access token: %s", s)
		}
	}
}

func TestAssignReadsOperationFromLocation(t *testing.T) {
	tests := []struct {
		location string
		want     string // "" means an Internal error
	}{
		{"https://graph.microsoft.com/v1.0/admin/teams/telephoneNumberManagement/operations('QXNzaWdu')", "QXNzaWdu"},
		{"https://graph.microsoft.com/v1.0/admin/teams/telephoneNumberManagement/operations(%27QXNzaWdu%27)", "QXNzaWdu"},
		{"/v1.0/admin/teams/telephoneNumberManagement/operations/QXNzaWdu", "QXNzaWdu"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			var body string
			cg := newCannedGraph(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/numberAssignments/assignNumber") {
					http.NotFound(w, r)
					return
				}
				b, _ := io.ReadAll(r.Body)
				body = string(b)
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.WriteHeader(http.StatusAccepted)
			})
			id, err := cg.client(t, cg.config()).Assign(context.Background(),
				steps.AssignNumberRequest{TelephoneNumber: "+12065550143", AssignmentTargetID: "obj-1", NumberType: "callingPlan"})
			if tt.want == "" {
				wantAppErr(t, err, apperr.Internal, "")
				return
			}
			if err != nil || id != tt.want {
				t.Errorf("Assign = %q, %v; want %q", id, err, tt.want)
			}
			if want := `{"telephoneNumber":"+12065550143","assignmentTargetId":"obj-1","numberType":"callingPlan"}`; body != want {
				t.Errorf("body = %s, want %s", body, want)
			}
		})
	}
}

func TestRequestShapes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	cg := newCannedGraph(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Content-Encoding")+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", jsonType)
		switch {
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`{"value":[]}`))
		default:
			_, _ = w.Write([]byte(`{"id":"obj-1"}`))
		}
	})
	c := cg.client(t, cg.config())
	ctx := context.Background()
	if _, err := c.FindByUPN(ctx, "o'brien@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, "obj-1", "440eaaa8-b3e0-484b-a8be-62870b9ba70a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, "+12065550143"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		// The quote is doubled by the adapter (the SDK does not), then
		// percent-encoded; kiota decodes "%24" back to "$". Bodies are not
		// compressed.
		"GET /v1.0/users?$filter=userPrincipalName%20eq%20%27o%27%27brien%40contoso.com%27&$select=id,userPrincipalName,displayName,department,usageLocation,accountEnabled,assignedLicenses,onPremisesExtensionAttributes,onPremisesSyncEnabled&$top=1  ",
		`POST /v1.0/users/obj-1/assignLicense?  {"addLicenses":[{"disabledPlans":[],"skuId":"440eaaa8-b3e0-484b-a8be-62870b9ba70a"}],"removeLicenses":[]}`,
		"GET /v1.0/admin/teams/telephoneNumberManagement/numberAssignments?$filter=telephoneNumber%20eq%20%27%2B12065550143%27  ",
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("requests:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestNewOptions(t *testing.T) {
	cfg := graph.Config{TenantID: "t", ClientID: "c", ClientSecret: "s"}
	c1, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Budget() != c2.Budget() {
		t.Error("two clients of one tenant do not share a budget")
	}
	if c1.Credential() == nil {
		t.Error("Credential is nil")
	}
}

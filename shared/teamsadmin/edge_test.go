package teamsadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

const (
	objID  = "6a1e3c55-93d4-4c8e-8f0e-2b7c0f4b9d11"
	objID2 = "0b9d44e2-1f3a-4e55-a0c1-5e8f2d7a6c33"
	aaID   = "c2ee3e18-b738-5515-a97b-46be52dfc057"
)

const (
	instancePath    = "/Teams.PlatformService/v2/ApplicationInstances"
	bindPattern     = "POST " + instancePath + "/{id}/sync"
	associationPath = "/Teams.VoiceApps/applicationinstanceassociations"
)

func instanceBody(appID string) string {
	b, _ := json.Marshal(map[string]string{
		"objectId": objID, "userPrincipalName": "aa-main@contoso.com",
		"displayName": "Main AA", "applicationId": appID, "phoneNumber": "",
	})
	return string(b)
}

// TestTransportErrors covers what the simulator does not produce: throttling,
// server errors, authentication failures and malformed answers, for a read.
func TestTransportErrors(t *testing.T) {
	t.Parallel()
	ok := reply{status: 200, body: instanceBody(steps.AutoAttendantAppID)}
	tests := []struct {
		name         string
		replies      []reply
		maxRetries   int
		wantCode     apperr.Code
		wantReason   string
		wantCalls    int
		wantRetryMin time.Duration
		wantRetryMax time.Duration
	}{
		{
			name:       "429 with fractional Retry-After, then success",
			replies:    []reply{{status: 429, header: map[string]string{"Retry-After": "0.05"}}, ok},
			maxRetries: 2, wantCalls: 2,
		},
		{
			name:       "503 twice, then success",
			replies:    []reply{{status: 503}, {status: 503}, ok},
			maxRetries: 2, wantCalls: 3,
		},
		{
			name:       "500 beyond the retry budget",
			replies:    []reply{{status: 500, body: `{"error":{"code":"InternalError","message":"boom"}}`}},
			maxRetries: 1, wantCalls: 2, wantCode: apperr.Unavailable,
		},
		{
			name:       "no in-process retries configured",
			replies:    []reply{{status: 502}, ok},
			maxRetries: 0, wantCalls: 1, wantCode: apperr.Unavailable,
		},
		{
			name:       "Retry-After longer than MaxRetryWait is returned, not waited for",
			replies:    []reply{{status: 429, header: map[string]string{"Retry-After": "120"}}, ok},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Throttled,
			wantRetryMin: 120 * time.Second, wantRetryMax: 120 * time.Second,
		},
		{
			name: "Retry-After as an HTTP date",
			replies: []reply{{status: 429, header: map[string]string{
				"Retry-After": time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Throttled,
			wantRetryMin: 80 * time.Second, wantRetryMax: 91 * time.Second,
		},
		{
			name:       "503 with Retry-After keeps it",
			replies:    []reply{{status: 503, header: map[string]string{"Retry-After": "30"}}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Unavailable,
			wantRetryMin: 30 * time.Second, wantRetryMax: 30 * time.Second,
		},
		{
			name:       "401",
			replies:    []reply{{status: 401, body: `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Forbidden, wantReason: "permission_denied",
		},
		{
			name:       "403 with a non-JSON body",
			replies:    []reply{{status: 403, body: "Forbidden"}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Forbidden, wantReason: "permission_denied",
		},
		{
			name:       "malformed JSON on success",
			replies:    []reply{{status: 200, body: `{"objectId": "` + objID}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Internal,
		},
		{
			name:       "instance of another object",
			replies:    []reply{{status: 200, body: strings.Replace(instanceBody(""), objID, objID2, 1)}},
			maxRetries: 2, wantCalls: 1, wantCode: apperr.Internal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle("GET "+instancePath+"/{id}", script(tt.replies...))
			rec := &recorder{h: mux}
			c := newClient(t, rec, func(c *teamsadmin.Config) { c.MaxRetries = tt.maxRetries })

			inst, err := c.ApplicationInstance(context.Background(), objID)

			if got := len(rec.requests()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if inst == nil || inst.ApplicationID != steps.AutoAttendantAppID {
					t.Errorf("instance = %+v", inst)
				}
				return
			}
			wantErr(t, err, tt.wantCode, tt.wantReason)
			if ra := apperr.RetryAfterOf(err); ra < tt.wantRetryMin || ra > tt.wantRetryMax {
				t.Errorf("RetryAfter = %v, want in [%v, %v]", ra, tt.wantRetryMin, tt.wantRetryMax)
			}
		})
	}
}

func TestErrorCarriesBackEndCode(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle(bindPattern, script(reply{status: 400,
		body: `{"error":{"code":"InvalidApplicationId","message":"Application id is not allowed."}}`}))
	mux.Handle("GET "+instancePath+"/{id}", script(reply{status: 404}))
	c := newClient(t, mux)

	err := c.Bind(context.Background(), objID, steps.CallQueueAppID)

	wantErr(t, err, apperr.Invalid, "rejected")
	if !strings.Contains(err.Error(), "InvalidApplicationId: Application id is not allowed.") {
		t.Errorf("error %q lacks the back end's code and message", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle(bindPattern, script(reply{status: 200, body: "true"}))
	mux.Handle("GET "+instancePath+"/{id}", script(reply{status: 200, body: instanceBody(steps.AutoAttendantAppID)}))
	rec := &recorder{h: mux}
	c := newClient(t, rec)

	if err := c.Bind(context.Background(), objID, steps.AutoAttendantAppID); err != nil {
		t.Fatalf("Bind: %v", err)
	}

	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want bind + read-back", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.Path, got)
		}
		if got := r.Header.Get("x-authz-scope"); got != "tenant" {
			t.Errorf("%s %s: x-authz-scope = %q, want tenant", r.Method, r.Path, got)
		}
		if r.Header.Get("x-ms-correlation-id") == "" {
			t.Errorf("%s %s: no x-ms-correlation-id", r.Method, r.Path)
		}
	}
	// The shape of Sync-CsOnlineApplicationInstance in the Teams module's
	// generated code: object id in the path, application id in the query,
	// no body.
	bind := reqs[0]
	if bind.Method != http.MethodPost || bind.Path != instancePath+"/"+objID+"/sync" {
		t.Errorf("bind = %s %s", bind.Method, bind.Path)
	}
	if bind.Query != "applicationId="+steps.AutoAttendantAppID {
		t.Errorf("bind query = %q", bind.Query)
	}
	if bind.Body != "" || bind.Header.Get("Content-Type") != "" {
		t.Errorf("bind has a body %q (Content-Type %q), want none", bind.Body, bind.Header.Get("Content-Type"))
	}
	if reqs[1].Method != http.MethodGet || reqs[1].Path != instancePath+"/"+objID {
		t.Errorf("read-back = %s %s", reqs[1].Method, reqs[1].Path)
	}
}

// TestBindConfigurable: the parts of the bind request that are inferred —
// verb, what follows the object id, the query parameter's name — come from
// the configuration.
func TestBindConfigurable(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("PUT /Teams.PlatformService/v2/ApplicationInstances/{id}/applications", script(reply{status: 204}))
	mux.Handle("GET "+instancePath+"/{id}", script(reply{status: 200, body: instanceBody(steps.AutoAttendantAppID)}))
	rec := &recorder{h: mux}
	c := newClient(t, rec, func(c *teamsadmin.Config) {
		c.BindMethod = http.MethodPut
		c.BindPath = "/Teams.PlatformService/v2/ApplicationInstances/{objectId}/applications"
		c.BindAppIDParam = "appId"
	})

	if err := c.Bind(context.Background(), objID, steps.AutoAttendantAppID); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if reqs := rec.requests(); len(reqs) != 2 || reqs[0].Query != "appId="+steps.AutoAttendantAppID {
		t.Errorf("requests = %+v", reqs)
	}
}

// TestBindVerifiesApplicationID: whatever the back end answers a bind with,
// the instance is read back and its application id decides; an answer of
// false is a refusal unless the read-back shows the binding. A failed bind
// is read back too: the instance may show why.
func TestBindVerifiesApplicationID(t *testing.T) {
	t.Parallel()
	same := instanceBody(steps.AutoAttendantAppID)
	other := instanceBody(steps.CallQueueAppID)
	tests := []struct {
		name       string
		answer     reply
		readBack   *reply // nil: the instance must not be read
		wantCode   apperr.Code
		wantReason string
	}{
		{"true, read back same", reply{status: 200, body: "true"}, &reply{status: 200, body: same}, "", ""},
		{"true, other casing", reply{status: 200, body: "true"}, &reply{status: 200, body: instanceBody(strings.ToUpper(steps.AutoAttendantAppID))}, "", ""},
		{"true, read back other", reply{status: 200, body: "true"}, &reply{status: 200, body: other}, apperr.Conflict, "upn_conflict"},
		{"true, read back empty", reply{status: 200, body: "true"}, &reply{status: 200, body: instanceBody("")}, apperr.Unavailable, ""},
		{"true, not readable yet", reply{status: 200, body: "true"}, &reply{status: 404}, apperr.NotFound, ""},
		{"true, read back fails", reply{status: 200, body: "true"}, &reply{status: 503}, apperr.Unavailable, ""},
		{"no body", reply{status: 204}, &reply{status: 200, body: same}, "", ""},
		{"the instance (module 5.x), still read back", reply{status: 200, body: other}, &reply{status: 200, body: same}, "", ""},
		{"not JSON", reply{status: 200, body: "OK"}, &reply{status: 200, body: same}, "", ""},
		{"false, no instance", reply{status: 200, body: "false"}, &reply{status: 404}, apperr.Invalid, "rejected"},
		{"false, instance without application", reply{status: 200, body: " false\n"}, &reply{status: 200, body: instanceBody("")}, apperr.Invalid, "rejected"},
		{"false, instance of another application", reply{status: 200, body: "false"}, &reply{status: 200, body: other}, apperr.Conflict, "upn_conflict"},
		{"false, already bound to ours", reply{status: 200, body: "false"}, &reply{status: 200, body: same}, "", ""},
		{"409", reply{status: 409, body: "An item with the same key has already been added."}, nil, apperr.Conflict, "upn_conflict"},
		{"404: Teams does not know the user yet", reply{status: 404}, nil, apperr.NotFound, ""},
		{"400, instance of another application", reply{status: 400, body: "An item with the same key has already been added."}, &reply{status: 200, body: other}, apperr.Conflict, "upn_conflict"},
		{"400, no instance", reply{status: 400}, &reply{status: 404}, apperr.Invalid, "rejected"},
		{"500, already bound to ours", reply{status: 500}, &reply{status: 200, body: same}, "", ""},
		{"500, no instance", reply{status: 500}, &reply{status: 404}, apperr.Unavailable, ""},
		{"403", reply{status: 403}, nil, apperr.Forbidden, "permission_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle(bindPattern, script(tt.answer))
			read := optional(mux, "GET "+instancePath+"/{id}", tt.readBack)
			c := newClient(t, mux, func(c *teamsadmin.Config) { c.MaxRetries = 0 })

			err := c.Bind(context.Background(), objID, steps.AutoAttendantAppID)

			if read.Load() != (tt.readBack != nil) {
				t.Errorf("read the instance back: %v, want %v", read.Load(), tt.readBack != nil)
			}
			wantOutcome(t, err, tt.wantCode, tt.wantReason)
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantCode apperr.Code
		reason   string
	}{
		{"credential says do not retry", nonRetriable{errors.New("AADSTS7000215: Invalid client secret provided")}, apperr.Forbidden, "permission_denied"},
		{"network failure", errors.New("dial tcp: i/o timeout"), apperr.Unavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{h: http.NotFoundHandler()}
			ts := newTLS(t, rec)
			cfg := teamsadmin.DefaultConfig()
			cfg.BaseURL = ts.URL
			cfg.MaxRetries = 0
			c, err := teamsadmin.New(cfg, staticCred{t: t, err: tt.err}, teamsadmin.WithHTTPClient(ts.Client()))
			if err != nil {
				t.Fatal(err)
			}

			_, err = c.ApplicationInstance(context.Background(), objID)

			wantErr(t, err, tt.wantCode, tt.reason)
			if tt.wantCode == apperr.Forbidden && strings.Contains(err.Error(), "AADSTS") {
				t.Errorf("error %v carries the token endpoint's response", err)
			}
			if tt.wantCode == apperr.Unavailable && !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap the credential's error", err)
			}
			if n := len(rec.requests()); n != 0 {
				t.Errorf("%d requests sent without a token", n)
			}
		})
	}
}

type nonRetriable struct{ error }

func (nonRetriable) NonRetriable() {}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	ts := newTLS(t, http.NotFoundHandler())
	cfg := teamsadmin.DefaultConfig()
	cfg.BaseURL = ts.URL
	cfg.MaxRetries = 0
	hc := ts.Client()
	ts.Close() // connection refused from now on
	c, err := teamsadmin.New(cfg, staticCred{t: t, token: testToken}, teamsadmin.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.ApplicationInstance(context.Background(), objID)

	wantErr(t, err, apperr.Unavailable, "")
}

func TestContextCancelledDuringRetryWait(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("GET "+instancePath+"/{id}", script(reply{status: 503, header: map[string]string{"Retry-After": "5"}}))
	c := newClient(t, mux, func(c *teamsadmin.Config) { c.MaxRetryWait = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := c.ApplicationInstance(ctx, objID)

	wantErr(t, err, apperr.Unavailable, "")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %v; the cancelled context should stop the wait", d)
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	rec := &recorder{h: http.NotFoundHandler()}
	c := newClient(t, rec)
	ctx := context.Background()

	_, err := c.ApplicationInstance(ctx, "../../Skype.Policy")
	wantErr(t, err, apperr.Invalid, "invalid_request")
	wantErr(t, c.Bind(ctx, objID, "autoattendant"), apperr.Invalid, "invalid_request")
	wantErr(t, c.Associate(ctx, steps.Association{ConfigurationID: aaID, ConfigurationType: "Voicemail", ObjectIDs: []string{objID}}), apperr.Invalid, "invalid_request")
	wantErr(t, c.Associate(ctx, steps.Association{ConfigurationID: "", ConfigurationType: "AutoAttendant", ObjectIDs: []string{objID}}), apperr.Invalid, "invalid_request")
	wantErr(t, c.Associate(ctx, steps.Association{ConfigurationID: aaID, ConfigurationType: "AutoAttendant", ObjectIDs: nil}), apperr.Invalid, "invalid_request")
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}

// TestListLookup: with Lookup "list" an instance is found by paging the list
// endpoint, following skip tokens.
func TestListLookup(t *testing.T) {
	t.Parallel()
	page := func(skip string, ids ...string) string {
		var insts []map[string]string
		for _, id := range ids {
			insts = append(insts, map[string]string{"objectId": id, "applicationId": steps.CallQueueAppID, "userPrincipalName": id + "@contoso.com"})
		}
		b, _ := json.Marshal(map[string]any{"applicationInstances": insts, "skipToken": skip})
		return string(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+instancePath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pageSize") != "2" {
			t.Errorf("pageSize = %q", r.URL.Query().Get("pageSize"))
		}
		switch r.URL.Query().Get("skipToken") {
		case "":
			w.Write([]byte(page("p2", "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222")))
		case "p2":
			w.Write([]byte(page("p3", objID2, objID)))
		default:
			w.Write([]byte(page("", "33333333-3333-3333-3333-333333333333")))
		}
	})
	rec := &recorder{h: mux}
	c := newClient(t, rec, func(c *teamsadmin.Config) { c.Lookup = teamsadmin.LookupList; c.PageSize = 2 })
	ctx := context.Background()

	inst, err := c.ApplicationInstance(ctx, objID)
	if err != nil {
		t.Fatal(err)
	}
	want := &steps.ApplicationInstance{ObjectID: objID, UserPrincipalName: objID + "@contoso.com", ApplicationID: steps.CallQueueAppID}
	if d := cmp.Diff(want, inst); d != "" {
		t.Errorf("instance (-want +got):\n%s", d)
	}
	if n := len(rec.requests()); n != 2 {
		t.Errorf("pages read = %d, want 2 (stop when found)", n)
	}

	all, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Errorf("List = %d instances, want 5", len(all))
	}
	absent, err := c.ApplicationInstance(ctx, "44444444-4444-4444-4444-444444444444")
	if err != nil || absent != nil {
		t.Errorf("absent instance = %+v, %v; want nil, nil", absent, err)
	}
}

func TestAssociateRequest(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("GET "+associationPath+"/{id}", script(reply{status: 404}))
	mux.Handle("POST "+associationPath, script(reply{status: 200, body: `{}`}))
	rec := &recorder{h: mux}
	c := newClient(t, rec)

	if err := c.Associate(context.Background(), steps.Association{ConfigurationID: aaID, ConfigurationType: "autoattendant", ObjectIDs: []string{objID, objID2, strings.ToUpper(objID)}}); err != nil {
		t.Fatal(err)
	}

	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 2 reads + 1 post", len(reqs))
	}
	// ICreateApplicationInstanceAssociationsRequest as the Teams module
	// names its properties; no CallPriority unless configured.
	post := reqs[2]
	var body map[string]any
	if err := json.Unmarshal([]byte(post.Body), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ConfigurationId": aaID, "ConfigurationType": "AutoAttendant", "EndpointsId": []any{objID, objID2}}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("associate body (-want +got):\n%s", d)
	}

	rec2 := &recorder{h: mux}
	c = newClient(t, rec2, func(c *teamsadmin.Config) { c.CallPriority = 2 })
	if err := c.Associate(context.Background(), steps.Association{ConfigurationID: aaID, ConfigurationType: "AutoAttendant", ObjectIDs: []string{objID}, Created: true}); err != nil {
		t.Fatal(err)
	}
	body = nil
	if err := json.Unmarshal([]byte(rec2.requests()[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	if got := body["CallPriority"]; got != float64(2) {
		t.Errorf("CallPriority = %v, want 2 (body %v)", got, body)
	}
}

// TestAssociateCreated: for accounts the caller created, the association is
// posted without reading first; a refusal is read back and is success only
// when the instances are already associated with the configuration.
func TestAssociateCreated(t *testing.T) {
	t.Parallel()
	ours := `{"configurationId":"` + aaID + `","configurationType":"AutoAttendant"}`
	elsewhere := `{"configurationId":"d3b5ab94-0a0c-4d3e-9c1f-6b2d8e7f1a22","configurationType":"AutoAttendant"}`
	tests := []struct {
		name       string
		post       reply
		read       *reply // nil: the association must not be read
		instance   *reply // nil: the instance must not be read
		wantCode   apperr.Code
		wantReason string
	}{
		{"accepted", reply{status: 200, body: `{}`}, nil, nil, "", ""},
		{"refused, already ours", reply{status: 409}, &reply{status: 200, body: ours}, nil, "", ""},
		{"refused, associated elsewhere", reply{status: 409}, &reply{status: 200, body: elsewhere}, nil, apperr.Conflict, "association_failed"},
		{"unknown configuration", reply{status: 404}, &reply{status: 404}, &reply{status: 200, body: instanceBody(steps.AutoAttendantAppID)}, apperr.NotFound, "association_failed"},
		{"instance Teams does not know yet", reply{status: 404}, &reply{status: 404}, &reply{status: 404}, apperr.NotFound, ""},
		{"404, instance unreadable", reply{status: 404}, &reply{status: 404}, &reply{status: 400}, apperr.NotFound, "association_failed"},
		{"wrong type", reply{status: 400}, &reply{status: 404}, nil, apperr.Invalid, "association_failed"},
		{"refused, read refused", reply{status: 409}, &reply{status: 400}, nil, apperr.Conflict, "association_failed"},
		{"back end down", reply{status: 503}, &reply{status: 404}, nil, apperr.Unavailable, ""},
		{"duplicate answered 500, already ours", reply{status: 500}, &reply{status: 200, body: ours}, nil, "", ""},
		{"refused, read throttled", reply{status: 409}, &reply{status: 429, header: map[string]string{"Retry-After": "30"}}, nil, apperr.Throttled, ""},
		{"forbidden", reply{status: 403}, nil, nil, apperr.Forbidden, "permission_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle("POST "+associationPath, script(tt.post))
			read := optional(mux, "GET "+associationPath+"/{id}", tt.read)
			readInstance := optional(mux, "GET "+instancePath+"/{id}", tt.instance)
			rec := &recorder{h: mux}
			c := newClient(t, rec, func(c *teamsadmin.Config) { c.MaxRetries = 0 })

			err := c.Associate(context.Background(), steps.Association{
				ConfigurationID: aaID, ConfigurationType: "AutoAttendant", ObjectIDs: []string{objID}, Created: true,
			})

			if reqs := rec.requests(); len(reqs) == 0 || reqs[0].Method != http.MethodPost {
				t.Fatalf("first request %+v, want the POST", reqs)
			}
			if read.Load() != (tt.read != nil) {
				t.Errorf("read the association: %v, want %v", read.Load(), tt.read != nil)
			}
			if readInstance.Load() != (tt.instance != nil) {
				t.Errorf("read the instance: %v, want %v", readInstance.Load(), tt.instance != nil)
			}
			wantOutcome(t, err, tt.wantCode, tt.wantReason)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*teamsadmin.Config)
		ok   bool
	}{
		{"defaults", func(*teamsadmin.Config) {}, true},
		{"http on loopback", func(c *teamsadmin.Config) { c.BaseURL = "http://127.0.0.1:8080/teams" }, true},
		{"http elsewhere", func(c *teamsadmin.Config) { c.BaseURL = "http://teams.example.com" }, false},
		{"relative base", func(c *teamsadmin.Config) { c.BaseURL = "/teams" }, false},
		{"get path without placeholder", func(c *teamsadmin.Config) { c.GetPath = "/x" }, false},
		{"bind path without placeholder", func(c *teamsadmin.Config) { c.BindPath = "/Teams.PlatformService/v2/ApplicationInstances" }, false},
		{"bind path with another suffix", func(c *teamsadmin.Config) { c.BindPath = "/x/{objectId}/applications" }, true},
		{"bind by PUT", func(c *teamsadmin.Config) { c.BindMethod = "PUT" }, true},
		{"bind by GET", func(c *teamsadmin.Config) { c.BindMethod = "GET" }, false},
		{"bind method in lower case", func(c *teamsadmin.Config) { c.BindMethod = "post" }, false},
		{"empty application id parameter", func(c *teamsadmin.Config) { c.BindAppIDParam = "" }, false},
		{"application id parameter needing escapes", func(c *teamsadmin.Config) { c.BindAppIDParam = "app id&x" }, false},
		{"call priority 5", func(c *teamsadmin.Config) { c.CallPriority = 5 }, true},
		{"call priority 6", func(c *teamsadmin.Config) { c.CallPriority = 6 }, false},
		{"negative call priority", func(c *teamsadmin.Config) { c.CallPriority = -1 }, false},
		{"path with query", func(c *teamsadmin.Config) { c.ListPath = "/x?y=1" }, false},
		{"unknown lookup", func(c *teamsadmin.Config) { c.Lookup = "scan" }, false},
		{"empty scope", func(c *teamsadmin.Config) { c.Scope = " " }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := teamsadmin.DefaultConfig()
			tt.edit(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("RAPROV_TEAMS_ADMIN_BASE_URL", "https://teams.example.com/proxy")
	t.Setenv("RAPROV_TEAMS_ADMIN_BIND_PATH", "/Teams.PlatformService/v2/ApplicationInstances/{objectId}/applicationId")
	t.Setenv("RAPROV_TEAMS_ADMIN_BIND_METHOD", "PUT")
	t.Setenv("RAPROV_TEAMS_ADMIN_BIND_APP_ID_PARAM", "appId")
	t.Setenv("RAPROV_TEAMS_ADMIN_CALL_PRIORITY", "1")
	t.Setenv("RAPROV_TEAMS_ADMIN_MAX_RETRY_WAIT", "3s")

	c, err := teamsadmin.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := teamsadmin.DefaultConfig()
	want.BaseURL = "https://teams.example.com/proxy"
	want.BindPath = "/Teams.PlatformService/v2/ApplicationInstances/{objectId}/applicationId"
	want.BindMethod = "PUT"
	want.BindAppIDParam = "appId"
	want.CallPriority = 1
	want.MaxRetryWait = 3 * time.Second
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
}

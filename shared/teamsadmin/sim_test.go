package teamsadmin_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// Fixture of the simulated tenant.
const (
	userAA    = "7d0f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b" // bound to the auto attendant app
	userCQ    = "8e1a2b3c-4d5e-4f6a-9b0c-1d2e3f4a5b6c" // bound to the call queue app
	userFresh = "9f2b3c4d-5e6f-4a7b-8c9d-2e3f4a5b6c7d" // directory user, not yet an instance
	userGone  = "a03c4d5e-6f7a-4b8c-9d0e-3f4a5b6c7d8e" // unknown to the directory (replication lag)
	cfgAA     = "c2ee3e18-b738-5515-a97b-46be52dfc057"
	cfgAA2    = "d3ff4f29-c849-4626-b0a8-57cf63e0d168"
	cfgCQ     = "e4a05a3a-d95a-4737-81b9-68d074f1e279"
)

type directory map[string]teamssim.DirUser

func (d directory) User(id string) (teamssim.DirUser, bool) {
	u, ok := d[strings.ToLower(id)]
	return u, ok
}

// requireAuth rejects requests without the bearer token and tenant scope
// header, as the real back end would.
func requireAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("x-authz-scope") != "tenant" {
			http.Error(w, `{"error":{"code":"Unauthorized","message":"missing token or scope"}}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// newSim returns a simulator holding the fixture, and a Client talking to it
// through a TLS server that mounts the simulator under /teams.
func newSim(t *testing.T, edit ...func(*teamsadmin.Config)) (*teamssim.Sim, *recorder, *teamsadmin.Client) {
	t.Helper()
	dir := directory{
		userAA:    {ID: userAA, UserPrincipalName: "aa-main@contoso.com", DisplayName: "Main AA", UsageLocation: "US", Licensed: true},
		userCQ:    {ID: userCQ, UserPrincipalName: "cq-sales@contoso.com", DisplayName: "Sales CQ", UsageLocation: "US", Licensed: true},
		userFresh: {ID: userFresh, UserPrincipalName: "cq-support@contoso.com", DisplayName: "Support CQ", UsageLocation: "GB"},
	}
	sim := teamssim.New(teamssim.Config{
		Directory: dir,
		Seed: teamssim.Seed{
			ApplicationInstances: []teamssim.AppInstance{
				{ObjectID: userAA, UserPrincipalName: "aa-main@contoso.com", DisplayName: "Main AA", ApplicationID: teamssim.AutoAttendantAppID},
				{ObjectID: userCQ, UserPrincipalName: "cq-sales@contoso.com", DisplayName: "Sales CQ", ApplicationID: teamssim.CallQueueAppID},
			},
			Configurations: []teamssim.Configuration{
				{ID: cfgAA, Type: teamssim.ConfigurationAutoAttendant, Name: "Main"},
				{ID: cfgAA2, Type: teamssim.ConfigurationAutoAttendant, Name: "After hours"},
				{ID: cfgCQ, Type: teamssim.ConfigurationCallQueue, Name: "Sales"},
			},
		},
	})
	mux := http.NewServeMux()
	sim.Register(mux)
	root := http.NewServeMux()
	root.Handle("/teams/", http.StripPrefix("/teams", requireAuth(mux)))
	rec := &recorder{h: root}
	c := newClient(t, rec, append([]func(*teamsadmin.Config){func(c *teamsadmin.Config) {
		c.BaseURL += "/teams"
	}}, edit...)...)
	return sim, rec, c
}

func TestSimApplicationInstance(t *testing.T) {
	t.Parallel()
	for _, lookup := range []string{teamsadmin.LookupGet, teamsadmin.LookupList} {
		t.Run(lookup, func(t *testing.T) {
			t.Parallel()
			_, _, c := newSim(t, func(c *teamsadmin.Config) { c.Lookup = lookup; c.PageSize = 1 })
			ctx := context.Background()

			got, err := c.ApplicationInstance(ctx, strings.ToUpper(userCQ))
			if err != nil {
				t.Fatal(err)
			}
			want := &steps.ApplicationInstance{ObjectID: userCQ, UserPrincipalName: "cq-sales@contoso.com",
				DisplayName: "Sales CQ", ApplicationID: steps.CallQueueAppID}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("found instance (-want +got):\n%s", d)
			}

			for _, id := range []string{userFresh, userGone} {
				got, err := c.ApplicationInstance(ctx, id)
				if err != nil || got != nil {
					t.Errorf("ApplicationInstance(%s) = %+v, %v; want nil, nil", id, got, err)
				}
			}
		})
	}
}

func TestSimList(t *testing.T) {
	t.Parallel()
	_, _, c := newSim(t, func(c *teamsadmin.Config) { c.PageSize = 1 })

	all, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range all {
		ids = append(ids, i.ObjectID)
	}
	if d := cmp.Diff([]string{userAA, userCQ}, ids); d != "" {
		t.Errorf("listed ids (-want +got):\n%s", d)
	}
}

func TestSimBind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		objectID   string
		appID      string
		wantCode   apperr.Code
		wantReason string
		wantApp    string // applicationId of objectID in the simulator afterwards; "" = no instance
	}{
		{name: "created", objectID: userFresh, appID: steps.CallQueueAppID, wantApp: teamssim.CallQueueAppID},
		{name: "already bound to the same app", objectID: userAA, appID: steps.AutoAttendantAppID, wantApp: teamssim.AutoAttendantAppID},
		{name: "bound to the other app", objectID: userAA, appID: steps.CallQueueAppID,
			wantCode: apperr.Conflict, wantReason: "upn_conflict", wantApp: teamssim.AutoAttendantAppID},
		{name: "user not replicated yet", objectID: userGone, appID: steps.AutoAttendantAppID, wantCode: apperr.NotFound},
		{name: "application id the back end refuses", objectID: userFresh, appID: "00000000-0000-0000-0000-000000000001",
			wantCode: apperr.Invalid, wantReason: "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, _, c := newSim(t)

			err := c.Bind(context.Background(), tt.objectID, tt.appID)

			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Bind: %v", err)
				}
			} else {
				wantErr(t, err, tt.wantCode, tt.wantReason)
			}
			if got := simAppID(sim, tt.objectID); got != tt.wantApp {
				t.Errorf("simulator applicationId of %s = %q, want %q", tt.objectID, got, tt.wantApp)
			}
		})
	}
}

// TestSimBindTwice: a re-delivered bind converges on the same state.
func TestSimBindTwice(t *testing.T) {
	t.Parallel()
	sim, _, c := newSim(t)
	ctx := context.Background()
	for i := range 2 {
		if err := c.Bind(ctx, userFresh, steps.AutoAttendantAppID); err != nil {
			t.Fatalf("bind #%d: %v", i+1, err)
		}
	}
	if n := len(sim.State().ApplicationInstances); n != 3 {
		t.Errorf("instances = %d, want 3", n)
	}
}

func TestSimAssociate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		config     string
		typ        string
		ids        []string
		wantCode   apperr.Code
		wantReason string
	}{
		{name: "auto attendant", config: cfgAA, typ: "AutoAttendant", ids: []string{userAA}},
		{name: "call queue, type in other casing", config: cfgCQ, typ: "callqueue", ids: []string{userCQ}},
		{name: "unknown configuration", config: "f5b16b4b-ea6b-4848-92ca-79e185020380", typ: "AutoAttendant", ids: []string{userAA},
			wantCode: apperr.NotFound, wantReason: "association_failed"},
		{name: "configuration of the other type", config: cfgCQ, typ: "AutoAttendant", ids: []string{userAA},
			wantCode: apperr.Invalid, wantReason: "association_failed"},
		{name: "instance of the other application", config: cfgCQ, typ: "CallQueue", ids: []string{userAA},
			wantCode: apperr.Invalid, wantReason: "association_failed"},
		{name: "not an application instance", config: cfgAA, typ: "AutoAttendant", ids: []string{userFresh},
			wantCode: apperr.Invalid, wantReason: "association_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, _, c := newSim(t)

			err := c.Associate(context.Background(), steps.Association{ConfigurationID: tt.config, ConfigurationType: tt.typ, ObjectIDs: tt.ids})

			var want []teamssim.Association
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Associate: %v", err)
				}
				typ := teamssim.ConfigurationAutoAttendant
				if tt.config == cfgCQ {
					typ = teamssim.ConfigurationCallQueue
				}
				want = []teamssim.Association{{ObjectID: tt.ids[0], ConfigurationID: tt.config, ConfigurationType: typ}}
			} else {
				wantErr(t, err, tt.wantCode, tt.wantReason)
			}
			if d := cmp.Diff(want, sim.State().Associations, cmpEmpty); d != "" {
				t.Errorf("simulator associations (-want +got):\n%s", d)
			}
		})
	}
}

// TestSimAssociateIdempotent: associating again with the same configuration
// succeeds without a second write; another configuration is a conflict.
func TestSimAssociateIdempotent(t *testing.T) {
	t.Parallel()
	sim, rec, c := newSim(t)
	ctx := context.Background()

	for i := range 2 {
		if err := c.Associate(ctx, steps.Association{ConfigurationID: cfgAA, ConfigurationType: "AutoAttendant", ObjectIDs: []string{userAA}}); err != nil {
			t.Fatalf("associate #%d: %v", i+1, err)
		}
	}
	posts := 0
	for _, r := range rec.requests() {
		if r.Method == http.MethodPost {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("POSTs = %d, want 1", posts)
	}

	err := c.Associate(ctx, steps.Association{ConfigurationID: cfgAA2, ConfigurationType: "AutoAttendant", ObjectIDs: []string{userAA}})
	wantErr(t, err, apperr.Conflict, "association_failed")
	// Created skips the read, but the simulator refuses to move the
	// instance and the adapter reads why.
	err = c.Associate(ctx, steps.Association{ConfigurationID: cfgAA2, ConfigurationType: "AutoAttendant", ObjectIDs: []string{userAA}, Created: true})
	wantErr(t, err, apperr.Conflict, "association_failed")
	if got := sim.State().Associations; len(got) != 1 || got[0].ConfigurationID != cfgAA {
		t.Errorf("associations = %+v, want only the first", got)
	}
}

// TestSimAssociateCreated: an account the caller created is associated with
// one POST and no read, and a repeated call converges.
func TestSimAssociateCreated(t *testing.T) {
	t.Parallel()
	sim, rec, c := newSim(t)
	ctx := context.Background()
	for i := range 2 {
		if err := c.Associate(ctx, steps.Association{ConfigurationID: cfgAA, ConfigurationType: "AutoAttendant", ObjectIDs: []string{userAA}, Created: true}); err != nil {
			t.Fatalf("associate #%d: %v", i+1, err)
		}
	}
	var methods []string
	for _, r := range rec.requests() {
		if strings.Contains(r.Path, "applicationinstanceassociations") {
			methods = append(methods, r.Method)
		}
	}
	if want := []string{http.MethodPost, http.MethodPost}; !slices.Equal(methods, want) {
		t.Errorf("association requests %v, want %v", methods, want)
	}
	if got := sim.State().Associations; len(got) != 1 || got[0].ConfigurationID != cfgAA {
		t.Errorf("associations = %+v, want one", got)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []teamssim.Association) bool {
	return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
})

func simAppID(sim *teamssim.Sim, objectID string) string {
	for _, i := range sim.State().ApplicationInstances {
		if strings.EqualFold(i.ObjectID, objectID) {
			return i.ApplicationID
		}
	}
	return ""
}

package teamsadmin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/teamsadmin"
)

// TestGraphsimUnassociate: against the simulator, Unassociate removes the
// instance's association with one DELETE; again, or for an instance without
// one, or for a user that is no instance, it reads and sends nothing.
func TestGraphsimUnassociate(t *testing.T) {
	t.Parallel()
	srv, c := newGraphsimClient(t, graphsim.DefaultClientSecret)
	ctx := context.Background()
	const route = "DELETE /Teams.VoiceApps/applicationinstanceassociations/{objectId}"

	for range 2 {
		if err := c.Unassociate(ctx, teamssim.SeedReceptionAccountID); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range srv.State().Teams.Associations {
		if a.ObjectID == teamssim.SeedReceptionAccountID {
			t.Errorf("association still there: %+v", a)
		}
	}
	if err := c.Unassociate(ctx, teamssim.SeedSalesUKAccountID); err != nil { // an instance without one
		t.Error(err)
	}
	if err := c.Unassociate(ctx, plainUser(t, srv)); err != nil { // no instance
		t.Error(err)
	}
	counts := srv.Counts()
	if n := counts[route]; n.Total != 1 || n.ByStatus[http.StatusOK] != 1 {
		t.Errorf("DELETE requests = %+v, want one", n)
	}
	if n := counts["GET /Teams.VoiceApps/applicationinstanceassociations/{objectId}"]; n.Total != 4 {
		t.Errorf("association reads = %+v, want 4", n)
	}
	// The other seeded association is untouched.
	if got := len(srv.State().Teams.Associations); got != 1 {
		t.Errorf("%d associations left, want 1", got)
	}
	wantErr(t, c.Unassociate(ctx, "not-a-guid"), apperr.Invalid, "invalid_request")
}

// TestUnassociate: the DELETE goes to RemoveAssociationPath (GetAssociationPath
// when unset); its 404 is success, other failures map as every call's.
func TestUnassociate(t *testing.T) {
	t.Parallel()
	associated := reply{status: 200, body: `{"id":"` + objID + `","configurationId":"` + aaID + `","configurationType":"AutoAttendant","callPriority":3}`}
	tests := []struct {
		name       string
		read       reply
		remove     *reply // nil: no DELETE expected
		wantCode   apperr.Code
		wantReason string
	}{
		{"removed", associated, &reply{status: 200, body: `{"results":[]}`}, "", ""},
		{"removed, 204", associated, &reply{status: 204}, "", ""},
		{"removed meanwhile", associated, &reply{status: 404}, "", ""},
		{"no association", reply{status: 404}, nil, "", ""},
		{"empty association", reply{status: 200, body: `{}`}, nil, "", ""},
		{"read forbidden", reply{status: 403, body: "Access Denied."}, nil, apperr.Forbidden, "permission_denied"},
		{"read throttled", reply{status: 429, header: map[string]string{"Retry-After": "30"}}, nil, apperr.Throttled, ""},
		{"delete forbidden", associated, &reply{status: 403, body: "Access Denied."}, apperr.Forbidden, "permission_denied"},
		{"delete throttled", associated, &reply{status: 429, header: map[string]string{"Retry-After": "30"}}, apperr.Throttled, ""},
		{"delete failed", associated, &reply{status: 503}, apperr.Unavailable, ""},
		{"delete refused", associated, &reply{status: 400, body: `{"error":{"code":"BadRequest","message":"no"}}`}, apperr.Invalid, "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle("GET "+associationPath+"/{id}", script(tt.read))
			removed := optional(mux, "DELETE "+associationPath+"/{id}", tt.remove)
			c := newClient(t, mux, func(c *teamsadmin.Config) { c.MaxRetries = 0 })
			wantOutcome(t, c.Unassociate(context.Background(), objID), tt.wantCode, tt.wantReason)
			if removed.Load() != (tt.remove != nil) {
				t.Errorf("DELETE sent: %v, want %v", removed.Load(), tt.remove != nil)
			}
		})
	}

	t.Run("configured path", func(t *testing.T) {
		t.Parallel()
		mux := http.NewServeMux()
		mux.Handle("GET "+associationPath+"/{id}", script(associated))
		mux.Handle("DELETE /v3/associations/{id}/remove", script(reply{status: 204}))
		rec := &recorder{h: mux}
		c := newClient(t, rec, func(c *teamsadmin.Config) { c.RemoveAssociationPath = "/v3/associations/{objectId}/remove" })
		if err := c.Unassociate(context.Background(), objID); err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		if len(reqs) != 2 || reqs[1].Method != http.MethodDelete || reqs[1].Path != "/v3/associations/"+objID+"/remove" || reqs[1].Body != "" {
			t.Errorf("requests = %+v, want the read and a DELETE without body at the configured path", reqs)
		}
	})
}

func TestRemoveAssociationPathConfig(t *testing.T) {
	c := teamsadmin.DefaultConfig()
	c.RemoveAssociationPath = "/x"
	if err := c.Validate(); err == nil {
		t.Error("a remove path without {objectId} validated")
	}
	t.Setenv("RAPROV_TEAMS_ADMIN_REMOVE_ASSOCIATION_PATH", "/v3/associations/{objectId}")
	got, err := teamsadmin.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got.RemoveAssociationPath != "/v3/associations/{objectId}" {
		t.Errorf("RemoveAssociationPath = %q", got.RemoveAssociationPath)
	}
}

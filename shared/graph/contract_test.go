package graph_test

// Contract tests: the real Client, through the real SDK, kiota and
// azidentity, over HTTPS to the Graph simulator (infra/graphsim).

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
	"github.com/raprov/raprov/shared/steps"
)

const virtualUser = graphsim.VirtualUserSkuPartNumber

type fixture struct {
	sim *graphsim.Server
	ts  *httptest.Server
}

func startSim(t *testing.T, cfg graphsim.Config) *fixture {
	t.Helper()
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(ts.Close)
	return &fixture{sim: sim, ts: ts}
}

// config is a client configuration for the simulator: secret credential,
// small bounded retries.
func (f *fixture) config() graph.Config {
	return graph.Config{
		TenantID:                 graphsim.DefaultTenantID,
		ClientID:                 graphsim.DefaultClientID,
		ClientSecret:             graphsim.DefaultClientSecret,
		AuthorityHost:            f.ts.URL + "/",
		DisableInstanceDiscovery: true,
		BaseURL:                  f.ts.URL + "/v1.0",
		MaxRetries:               2,
		MaxWait:                  2 * time.Second,
		Timeout:                  20 * time.Second,
	}
}

// client returns a Client for cfg with a budget of its own, so tests do not
// share pauses through the process-wide registry.
func (f *fixture) client(t *testing.T, cfg graph.Config) *graph.Client {
	t.Helper()
	c, err := graph.New(cfg,
		graph.WithHTTPClient(f.ts.Client()),
		graph.WithBudget(budget.New(cfg.Limits())),
		graph.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantAppErr(t *testing.T, err error, code apperr.Code, reason events.Reason) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error = %v (%T), want an *apperr.Error %s", err, err, code)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("error = %v, want code %q reason %q", err, code, reason)
	}
	return e
}

func TestTokenWithSecretAndCertificate(t *testing.T) {
	cert, pemFile := selfSignedCertificate(t)
	f := startSim(t, graphsim.Config{ClientCertificate: cert})

	tests := []struct {
		name       string
		credential string
		cfg        func(graph.Config) graph.Config
	}{
		{"secret", "secret", func(c graph.Config) graph.Config { return c }},
		{"certificate", "certificate", func(c graph.Config) graph.Config {
			c.ClientSecret, c.CertificatePath = "", pemFile
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetLog()
			c := f.client(t, tt.cfg(f.config()))
			ctx := context.Background()
			for range 2 { // the second call reuses the cached token
				if _, err := c.Sku(ctx, virtualUser); err != nil {
					t.Fatal(err)
				}
			}
			var tokens []graphsim.RequestRecord
			for _, r := range f.sim.Requests() {
				if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
					tokens = append(tokens, r)
				}
			}
			if len(tokens) != 1 || tokens[0].Credential != tt.credential || tokens[0].Status != http.StatusOK {
				t.Errorf("token requests = %+v, want one successful %s request", tokens, tt.credential)
			}
			if tokens[0].Scope != graph.DefaultScope {
				t.Errorf("scope = %q, want %q", tokens[0].Scope, graph.DefaultScope)
			}
		})
	}
}

func TestWrongCredentialIsForbidden(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	const wrong = "not-the-secret-Zq9"
	cfg := f.config()
	cfg.ClientSecret = wrong
	_, err := f.client(t, cfg).Sku(context.Background(), virtualUser)
	e := wantAppErr(t, err, apperr.Forbidden, events.ReasonPermissionDenied)
	if strings.Contains(err.Error(), wrong) || strings.Contains(e.Message, wrong) {
		t.Errorf("error reveals the secret: %v", err)
	}
}

func TestSku(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()

	got, err := c.Sku(ctx, strings.ToLower(virtualUser))
	if err != nil {
		t.Fatal(err)
	}
	// The default seed: 50 seats, three held by its resource accounts.
	want := steps.Sku{ID: graphsim.VirtualUserSkuID, PartNumber: virtualUser, CapabilityStatus: "Enabled", Enabled: 50, Consumed: 3}
	if got != want {
		t.Errorf("Sku = %+v, want %+v", got, want)
	}
	if got.Free() != 47 {
		t.Errorf("Free = %d, want 47", got.Free())
	}

	_, err = c.Sku(ctx, "NO_SUCH_SKU")
	wantAppErr(t, err, apperr.NotFound, events.ReasonNoLicense)
}

func TestFindByUPN(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	tests := []struct {
		upn    string
		wantID string // "" means not found
	}{
		{"AdeleV@contoso.com", "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01"},
		{"adelev@CONTOSO.com", "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01"},
		{"o'brien@contoso.com", "7b9d1f3a-5c7e-4a9b-8d1f-3e5a7c9e1b03"},
		{"nobody@contoso.com", ""},
		{"o'nobody@contoso.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.upn, func(t *testing.T) {
			got, err := c.FindByUPN(context.Background(), tt.upn)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantID == "" && got != nil:
				t.Errorf("FindByUPN = %+v, want nil", got)
			case tt.wantID != "" && (got == nil || got.ID != tt.wantID):
				t.Errorf("FindByUPN = %+v, want id %s", got, tt.wantID)
			}
		})
	}

	ra, err := c.FindByUPN(context.Background(), "ra-reception@contoso.com")
	if err != nil || ra == nil {
		t.Fatalf("FindByUPN(resource account) = %v, %v", ra, err)
	}
	if ra.AccountEnabled || ra.Department != steps.ResourceAccountDepartment || ra.UsageLocation != "US" || !ra.HasSku(graphsim.VirtualUserSkuID) {
		t.Errorf("resource account = %+v", ra)
	}
}

func TestCreate(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()
	f.sim.ResetLog()

	got, err := c.Create(ctx, steps.NewAccount{
		UserPrincipalName: "ra-helpdesk@contoso.com",
		DisplayName:       "Helpdesk",
		UsageLocation:     "us",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := steps.Account{
		ID: got.ID, UserPrincipalName: "ra-helpdesk@contoso.com", DisplayName: "Helpdesk",
		Department: steps.ResourceAccountDepartment, UsageLocation: "US",
	}
	if got.ID == "" || !accountsEqual(got, want) {
		t.Errorf("Create = %+v, want %+v", got, want)
	}
	// usageLocation and department travel in the create call: one write.
	counts := f.sim.Counts()
	if n := counts["POST /v1.0/users"]; n.Total != 1 || n.Writes != 1 {
		t.Errorf("POST /v1.0/users = %+v, want exactly one write", n)
	}
	if n := counts["PATCH /v1.0/users/{id}"]; n.Total != 0 {
		t.Errorf("PATCH /v1.0/users/{id} = %+v, want none", n)
	}
	i := slices.IndexFunc(f.sim.State().Users, func(u graphsim.User) bool { return u.ID == got.ID })
	if i < 0 {
		t.Fatal("created user not in the simulator's state")
	}
	if u := f.sim.State().Users[i]; u.AccountEnabled || u.UsageLocation != "US" || u.Department != steps.ResourceAccountDepartment || u.MailNickname != "ra-helpdesk" {
		t.Errorf("stored user = %+v", u)
	}

	t.Run("duplicate UPN", func(t *testing.T) {
		_, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "RA-Helpdesk@contoso.com", DisplayName: "Again", UsageLocation: "US"})
		wantAppErr(t, err, apperr.Conflict, events.ReasonUPNConflict)
	})
	t.Run("unverified domain", func(t *testing.T) {
		_, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-x@fabrikam.com", DisplayName: "X", UsageLocation: "US"})
		wantAppErr(t, err, apperr.Invalid, events.ReasonDomainNotVerified)
	})
	t.Run("invalid usage location", func(t *testing.T) {
		_, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-y@contoso.com", DisplayName: "Y", UsageLocation: "XX1"})
		e := wantAppErr(t, err, apperr.Invalid, events.ReasonRejected)
		if !strings.Contains(e.Message, "Request_BadRequest") {
			t.Errorf("message %q does not carry Graph's code", e.Message)
		}
	})
}

func accountsEqual(a, b steps.Account) bool {
	return a.ID == b.ID && a.UserPrincipalName == b.UserPrincipalName && a.DisplayName == b.DisplayName &&
		a.Department == b.Department && a.UsageLocation == b.UsageLocation && a.AccountEnabled == b.AccountEnabled &&
		slices.Equal(a.AssignedSkuIDs, b.AssignedSkuIDs)
}

func TestGetDuringReplicationDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{ReplicationDelay: delay}})
	c := f.client(t, f.config())
	ctx := context.Background()

	created, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-lag@contoso.com", DisplayName: "Lag", UsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Get(ctx, created.ID)
	if time.Since(start) < delay {
		wantAppErr(t, err, apperr.NotFound, "")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := c.Get(ctx, created.ID)
		if err == nil {
			if got.UserPrincipalName != "ra-lag@contoso.com" {
				t.Errorf("Get = %+v", got)
			}
			break
		}
		wantAppErr(t, err, apperr.NotFound, "")
		if time.Now().After(deadline) {
			t.Fatal("user still not found after the replication delay")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSetUsageLocationAndAssignLicense(t *testing.T) {
	// Assigns right after setting the usage location: without the
	// simulator's UsageLocationDelay (TestUsageLocationJustSet covers it).
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{UsageLocationDelay: -1}})
	c := f.client(t, f.config())
	ctx := context.Background()

	acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-nolocation@contoso.com", DisplayName: "No location"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID)
	wantAppErr(t, err, apperr.Invalid, events.ReasonRejected) // no usage location

	if err := c.SetUsageLocation(ctx, acc.ID, "gb"); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UsageLocation != "GB" || !got.HasSku(graphsim.VirtualUserSkuID) {
		t.Errorf("after SetUsageLocation and AssignLicense: %+v", got)
	}
	sku, err := c.Sku(ctx, virtualUser)
	if err != nil {
		t.Fatal(err)
	}
	if sku.Consumed != 4 {
		t.Errorf("consumedUnits = %d, want 4", sku.Consumed)
	}

	t.Run("unknown SKU", func(t *testing.T) {
		err := c.AssignLicense(ctx, acc.ID, "00000000-0000-0000-0000-0000000000ff")
		wantAppErr(t, err, apperr.Invalid, events.ReasonNoLicense)
	})
	t.Run("no free seats", func(t *testing.T) {
		if err := f.sim.AddLicenses(virtualUser, -sku.Free()); err != nil {
			t.Fatal(err)
		}
		other, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-noseat@contoso.com", DisplayName: "No seat", UsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		err = c.AssignLicense(ctx, other.ID, graphsim.VirtualUserSkuID)
		wantAppErr(t, err, apperr.Invalid, events.ReasonNoLicense)
	})
	t.Run("unknown user", func(t *testing.T) {
		err := c.AssignLicense(ctx, "00000000-0000-0000-0000-00000000dead", graphsim.VirtualUserSkuID)
		wantAppErr(t, err, apperr.NotFound, "")
	})
}

func TestThrottled(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	ctx := context.Background()

	t.Run("long Retry-After is returned, and pauses the budget", func(t *testing.T) {
		c := f.client(t, f.config())
		f.sim.ResetLog()
		f.sim.InjectFault(graphsim.Fault{Method: http.MethodGet, PathPrefix: "/v1.0/subscribedSkus", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
		start := time.Now()
		_, err := c.Sku(ctx, virtualUser)
		e := wantAppErr(t, err, apperr.Throttled, "")
		if e.RetryAfter != 30*time.Second {
			t.Errorf("RetryAfter = %v, want 30s", e.RetryAfter)
		}
		if n := f.sim.Counts()["GET /v1.0/subscribedSkus"].Total; n != 1 {
			t.Errorf("%d requests, want 1: a 30 s wait exceeds MaxWait", n)
		}
		paused := c.Budget().PausedUntil(graphcost.Identity).Sub(start)
		if paused < 29*time.Second || paused > 31*time.Second {
			t.Errorf("identity budget paused for %v, want about 30s", paused)
		}
		if !c.Budget().PausedUntil(graphcost.Teams).IsZero() {
			t.Error("a throttled identity call paused the Teams budget")
		}

		// While paused, identity calls fail fast without reaching Graph;
		// Teams calls go on.
		start = time.Now()
		_, err = c.FindByUPN(ctx, "AdeleV@contoso.com")
		e = wantAppErr(t, err, apperr.Throttled, "")
		if e.RetryAfter < 29*time.Second || time.Since(start) > time.Second {
			t.Errorf("paused call: RetryAfter %v after %v, want about 30s at once", e.RetryAfter, time.Since(start))
		}
		if n := f.sim.Counts()["GET /v1.0/users"].Total; n != 0 {
			t.Errorf("%d user reads reached Graph during the pause", n)
		}
		if _, err := c.Lookup(ctx, "+12065550142"); err != nil {
			t.Errorf("Teams call during an identity pause: %v", err)
		}
	})

	t.Run("short fractional Retry-After is waited out in process", func(t *testing.T) {
		// A time-scaled simulator writes sub-second Retry-After as "0.25".
		f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{TimeScale: 0.01}})
		c := f.client(t, f.config())
		const retryAfter = 250 * time.Millisecond
		f.sim.InjectFault(graphsim.Fault{Method: http.MethodGet, PathPrefix: "/v1.0/subscribedSkus", Status: http.StatusTooManyRequests, RetryAfter: retryAfter})
		start := time.Now()
		if _, err := c.Sku(ctx, virtualUser); err != nil {
			t.Fatal(err)
		}
		// kiota truncates "0.25" to 0 s; the budget's pause holds the retry.
		if d := time.Since(start); d < retryAfter {
			t.Errorf("retried after %v, before Retry-After %v", d, retryAfter)
		}
		if n := f.sim.Counts()["GET /v1.0/subscribedSkus"]; n.Total != 2 || n.ByStatus[http.StatusTooManyRequests] != 1 {
			t.Errorf("requests = %+v, want one 429 then one success", n)
		}
	})
}

// TestBudgetKeepsBelowSimulatedLimit runs writes concurrently against the
// simulator's throttling with the same (time-scaled) limits: the budget
// paces them so that none is throttled.
func TestBudgetKeepsBelowSimulatedLimit(t *testing.T) {
	const (
		writesPerWindow = 20
		scale           = 0.01 // 150 s → 1.5 s
		writes          = 30
	)
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{Throttle: true, TimeScale: scale, WritesPerWindow: writesPerWindow}})
	cfg := f.config()
	cfg.MaxRetries = 0
	cfg.MaxWait = 10 * time.Second // the last writes wait about 2.7 s
	c, err := graph.New(cfg,
		graph.WithHTTPClient(f.ts.Client()),
		graph.WithBudget(budget.New(budget.Limits{ResourceUnits: 3500, Writes: writesPerWindow, TeamsRequests: 15000, Headroom: 0.9, TimeScale: scale})),
		graph.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-paced@contoso.com", DisplayName: "Paced"})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, writes)
	for i := range writes {
		go func() {
			errs <- c.SetUsageLocation(ctx, acc.ID, []string{"US", "GB", "DE"}[i%3])
		}()
	}
	for range writes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := f.sim.Counts()["PATCH /v1.0/users/{id}"]; n.Throttled != 0 || n.Total != writes {
		t.Errorf("PATCH requests = %+v, want %d and none throttled", n, writes)
	}
}

func TestUnavailable(t *testing.T) {
	// Time-scaled so that the simulator's Retry-After stays short.
	f := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{TimeScale: 0.01}})
	c := f.client(t, f.config()) // MaxRetries 2
	ctx := context.Background()
	const prefix = "/v1.0/subscribedSkus"

	t.Run("exhausted retries", func(t *testing.T) {
		f.sim.ResetLog()
		f.sim.InjectFault(graphsim.Fault{PathPrefix: prefix, Count: 3, Status: http.StatusServiceUnavailable, RetryAfter: 10 * time.Millisecond})
		_, err := c.Sku(ctx, virtualUser)
		wantAppErr(t, err, apperr.Unavailable, "")
		if !apperr.IsTransient(err) {
			t.Error("Unavailable is not transient")
		}
		if n := f.sim.Counts()["GET /v1.0/subscribedSkus"].Total; n != 3 {
			t.Errorf("%d requests, want 3 (one try, two retries)", n)
		}
		// The fault has cleared: the next call succeeds.
		if _, err := c.Sku(ctx, virtualUser); err != nil {
			t.Errorf("after the fault cleared: %v", err)
		}
	})
	t.Run("fault clears within the retries", func(t *testing.T) {
		f.sim.InjectFault(graphsim.Fault{PathPrefix: prefix, Count: 1, Status: http.StatusServiceUnavailable, RetryAfter: 10 * time.Millisecond})
		if _, err := c.Sku(ctx, virtualUser); err != nil {
			t.Error(err)
		}
	})
	t.Run("500 is not retried", func(t *testing.T) {
		f.sim.ResetLog()
		f.sim.InjectFault(graphsim.Fault{PathPrefix: prefix, Count: 1, Status: http.StatusInternalServerError})
		_, err := c.Sku(ctx, virtualUser)
		wantAppErr(t, err, apperr.Unavailable, "")
		if n := f.sim.Counts()["GET /v1.0/subscribedSkus"].Total; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("504 on a write is not retried", func(t *testing.T) {
		f.sim.ResetLog()
		f.sim.InjectFault(graphsim.Fault{Method: http.MethodPost, PathPrefix: "/v1.0/users", Count: 1, Status: http.StatusGatewayTimeout})
		_, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-504@contoso.com", DisplayName: "504", UsageLocation: "US"})
		wantAppErr(t, err, apperr.Unavailable, "")
		if n := f.sim.Counts()["POST /v1.0/users"].Total; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestLookup(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()

	got, err := c.Lookup(ctx, "+12065550142")
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.AssignmentTargetID != teamssim.SeedReceptionAccountID || got.AssignmentStatus != "voiceApplicationAssigned" ||
		got.NumberType != "callingPlan" || got.IsoCountryCode != "US" || got.City != "Seattle" ||
		got.ActivationState != "activated" || !got.HasCapability("voiceApplicationAssignment") {
		t.Errorf("Lookup = %+v", got)
	}

	missing, err := c.Lookup(ctx, "+19995550100")
	if err != nil || missing != nil {
		t.Errorf("Lookup(not in inventory) = %+v, %v; want nil, nil", missing, err)
	}
}

func TestAssignAndOperation(t *testing.T) {
	const failing = "+14155550170"
	seed := teamssim.DefaultSeed()
	for i := range seed.Numbers {
		if seed.Numbers[i].TelephoneNumber == failing {
			seed.Numbers[i].FailWith = "The telephone number cannot be assigned: emergency address missing."
		}
	}
	f := startSim(t, graphsim.Config{
		Seed:  graphsim.Seed{Teams: seed},
		Knobs: graphsim.Knobs{OperationStepDelay: 30 * time.Millisecond},
	})
	c := f.client(t, f.config())
	ctx := context.Background()

	acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: "ra-numbers@contoso.com", DisplayName: "Numbers", UsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, number string
		wantStatus   string
		wantDetail   string
	}{
		{"free number", "+15125550132", steps.OperationSucceeded, ""},
		{"number in use", "+12065550142", steps.OperationFailed, "already assigned"},
		{"failing number", failing, steps.OperationFailed, "emergency address missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.Assign(ctx, steps.AssignNumberRequest{TelephoneNumber: tt.number, AssignmentTargetID: acc.ID, NumberType: "callingPlan"})
			if err != nil {
				t.Fatal(err)
			}
			if id == "" || strings.ContainsAny(id, "'()/") {
				t.Fatalf("operation id %q", id)
			}
			op, seen := pollOperation(t, c, id)
			if op.Status != tt.wantStatus {
				t.Fatalf("operation = %+v, want %s", op, tt.wantStatus)
			}
			if !slices.Contains(seen, steps.OperationRunning) && !slices.Contains(seen, steps.OperationNotStarted) {
				t.Errorf("statuses seen %v: the operation never was in progress", seen)
			}
			if len(op.Numbers) != 1 || !strings.Contains(op.Numbers[0].StatusDetail, tt.wantDetail) {
				t.Errorf("numbers = %+v, want statusDetail containing %q", op.Numbers, tt.wantDetail)
			}
			if tt.wantStatus != steps.OperationSucceeded {
				return
			}
			got, err := c.Lookup(ctx, tt.number)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.AssignmentTargetID != acc.ID {
				t.Errorf("after assignment Lookup = %+v, want target %s", got, acc.ID)
			}
		})
	}

	t.Run("unknown operation", func(t *testing.T) {
		_, err := c.Operation(ctx, "QXNzaWdubWVudHxkb2VzLW5vdC1leGlzdA")
		wantAppErr(t, err, apperr.NotFound, "")
	})
}

// pollOperation reads the operation until it is done and returns it with
// every status seen.
func pollOperation(t *testing.T, c *graph.Client, id string) (steps.Operation, []string) {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		op, err := c.Operation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if op.ID != id {
			t.Fatalf("operation id = %q, want %q", op.ID, id)
		}
		seen = append(seen, op.Status)
		switch op.Status {
		case steps.OperationSucceeded, steps.OperationFailed, steps.OperationSkipped:
			return op, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation still %s after 5s", op.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// selfSignedCertificate returns a certificate and the path of a PEM file
// holding it and its private key.
func selfSignedCertificate(t *testing.T) (*x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "raprov graph test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, path
}

// TestConcurrentCalls drives one Client from many goroutines, as the steps
// do; run with -race it also checks the client shares no mutable state.
func TestConcurrentCalls(t *testing.T) {
	f := startSim(t, graphsim.Config{})
	c := f.client(t, f.config())
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upn := fmt.Sprintf("ra-concurrent-%d@contoso.com", i)
			acc, err := c.Create(ctx, steps.NewAccount{UserPrincipalName: upn, DisplayName: upn, UsageLocation: "US"})
			if err != nil {
				errs <- err
				return
			}
			if _, err := c.FindByUPN(ctx, upn); err != nil {
				errs <- err
			}
			if _, err := c.Sku(ctx, graphsim.VirtualUserSkuPartNumber); err != nil {
				errs <- err
			}
			if err := c.AssignLicense(ctx, acc.ID, graphsim.VirtualUserSkuID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	created := 0
	for _, u := range f.sim.State().Users {
		if strings.HasPrefix(u.UserPrincipalName, "ra-concurrent-") {
			created++
		}
	}
	if created != n {
		t.Fatalf("%d users created, want %d", created, n)
	}
}

package teamsauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/teamsauth"
)

const admin = "AdeleV@contoso.com"

// env is a simulator and the sign-in endpoint pointing at it.
type env struct {
	sim *graphsim.Server
	ts  *httptest.Server
	ep  teamsauth.Endpoint
}

func newEnv(t *testing.T, cfg graphsim.Config) *env {
	t.Helper()
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(ts.Close)
	return &env{sim: sim, ts: ts, ep: teamsauth.Endpoint{
		AuthorityHost: ts.URL + "/", TenantID: graphsim.DefaultTenantID, ClientID: graphsim.DefaultClientID,
		Scope: graphsim.TeamsAdminScope, HTTPClient: ts.Client(),
	}}
}

// noSecrets fails when text holds a simulator token, device code or JWT.
func noSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, marker := range []string{"graphsim-rt.", "graphsim-dc.", "eyJ"} {
		if strings.Contains(text, marker) {
			t.Errorf("%s contains a secret (%q): %s", what, marker, text)
		}
	}
}

// pending waits until the simulator has a pending sign-in matching ok.
func (e *env) pending(t *testing.T, ok func(graphsim.PendingSignIn) bool) graphsim.PendingSignIn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range e.sim.SignIns().Pending {
			if ok(p) {
				return p
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no matching pending sign-in: %+v", e.sim.SignIns().Pending)
	return graphsim.PendingSignIn{}
}

type loginResult struct {
	tok teamsauth.Token
	err error
}

// startLogin runs Login in the background, the admin's prompt going to shown.
func (e *env) startLogin(t *testing.T, scale float64) (<-chan loginResult, <-chan teamsauth.DeviceCode) {
	t.Helper()
	res := make(chan loginResult, 1)
	shown := make(chan teamsauth.DeviceCode, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	go func() {
		tok, err := teamsauth.Login(ctx, e.ep, func(dc teamsauth.DeviceCode) error { shown <- dc; return nil },
			teamsauth.LoginOptions{TimeScale: scale})
		res <- loginResult{tok, err}
	}()
	return res, shown
}

// login signs the admin in and saves the token in a file store.
func (e *env) login(t *testing.T) teamsauth.FileStore {
	t.Helper()
	res, shown := e.startLogin(t, 0.02)
	dc := <-shown
	e.pending(t, func(p graphsim.PendingSignIn) bool { return p.UserCode == dc.UserCode })
	if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: admin}); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := teamsauth.FileStore{Path: filepath.Join(t.TempDir(), ".raprov", "teams-admin.token")}
	if err := st.Save(context.Background(), r.tok); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLoginPendingThenApproved(t *testing.T) {
	e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond})
	res, shown := e.startLogin(t, 0.02) // polls every 20 ms
	dc := <-shown
	if dc.UserCode == "" || !strings.HasPrefix(dc.VerificationURI, e.ts.URL) || dc.ExpiresIn != 15*time.Minute {
		t.Fatalf("device code shown = %+v", dc)
	}
	noSecrets(t, "prompt", fmt.Sprintf("%+v", dc))
	// Pending: the client keeps polling.
	e.pending(t, func(p graphsim.PendingSignIn) bool { return p.UserCode == dc.UserCode && p.Polls >= 2 })
	select {
	case r := <-res:
		t.Fatalf("Login returned before approval: %+v", r)
	default:
	}
	if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: admin}); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	tok := r.tok
	if !strings.HasPrefix(tok.RefreshToken.Reveal(), "graphsim-rt.") || tok.Account != admin || tok.TenantID != graphsim.DefaultTenantID ||
		tok.ClientID != graphsim.DefaultClientID || tok.Scope != graphsim.TeamsAdminScope || tok.SignedIn.IsZero() {
		t.Errorf("token = %+v", tok)
	}
	if s := e.sim.SignIns(); len(s.Sessions) != 1 || s.Sessions[0].UserPrincipalName != admin {
		t.Errorf("sessions = %+v", s.Sessions)
	}
}

func TestLoginSlowDown(t *testing.T) {
	// The simulator wants 150 ms between polls; the client's first poll
	// comes after 1 s × 0.05 = 50 ms: slow_down, after which it waits
	// (1 + 5) × 0.05 = 300 ms, and is never told to slow down again.
	e := newEnv(t, graphsim.Config{DeviceCodeInterval: 150 * time.Millisecond})
	res, shown := e.startLogin(t, 0.05)
	dc := <-shown
	p := e.pending(t, func(p graphsim.PendingSignIn) bool { return p.UserCode == dc.UserCode && p.Polls >= 3 })
	if p.SlowDowns != 1 {
		t.Errorf("slow_down answers = %d over %d polls, want exactly 1", p.SlowDowns, p.Polls)
	}
	if err := e.sim.ApproveSignIn(dc.UserCode, graphsim.SignInUser{UserPrincipalName: admin}); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
}

func TestLoginEndings(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond, DeviceCodeLifetime: 150 * time.Millisecond})
		res, _ := e.startLogin(t, 0.02)
		r := <-res
		var se *teamsauth.Error
		if !errors.As(r.err, &se) || se.Code != "expired_token" || se.AADSTS != 70019 || !strings.Contains(r.err.Error(), "raprov login") {
			t.Fatalf("err = %v, want expired_token telling to run raprov login", r.err)
		}
		noSecrets(t, "error", r.err.Error())
	})
	t.Run("declined", func(t *testing.T) {
		e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond})
		res, shown := e.startLogin(t, 0.02)
		dc := <-shown
		e.pending(t, func(p graphsim.PendingSignIn) bool { return p.UserCode == dc.UserCode })
		if err := e.sim.DenySignIn(dc.UserCode); err != nil {
			t.Fatal(err)
		}
		r := <-res
		var se *teamsauth.Error
		if !errors.As(r.err, &se) || se.Code != "authorization_declined" || !strings.Contains(r.err.Error(), "declined") {
			t.Fatalf("err = %v", r.err)
		}
	})
	t.Run("refused scope", func(t *testing.T) {
		e := newEnv(t, graphsim.Config{})
		e.ep.Scope = graphsim.GraphScope
		_, err := teamsauth.Login(context.Background(), e.ep, func(teamsauth.DeviceCode) error { return nil }, teamsauth.LoginOptions{})
		var se *teamsauth.Error
		if !errors.As(err, &se) || se.Code != "invalid_scope" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		e := newEnv(t, graphsim.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		_, err := teamsauth.Login(ctx, e.ep, func(teamsauth.DeviceCode) error { cancel(); return nil }, teamsauth.LoginOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func debugLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestCredentialRotatesAndCaches(t *testing.T) {
	e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond})
	st := e.login(t)
	loggedIn, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cred, err := teamsauth.NewCredential(e.ep, st, teamsauth.WithLogger(debugLogger(logs)), teamsauth.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	opts := policy.TokenRequestOptions{Scopes: []string{graphsim.TeamsAdminScope}}

	// Many callers at once share one redemption.
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Go(func() {
			tok, err := cred.GetToken(context.Background(), opts)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok.Token
		})
	}
	wg.Wait()
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
	if s := e.sim.SignIns().Sessions; s[0].Redemptions != 1 {
		t.Errorf("redemptions = %d, want 1 (cached)", s[0].Redemptions)
	}
	rotated, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rotated.RefreshToken.Reveal() == loggedIn.RefreshToken.Reveal() || rotated.Account != admin || !rotated.Refreshed.After(loggedIn.SignedIn.Add(-time.Second)) {
		t.Fatalf("the rotated refresh token was not saved: %+v", rotated)
	}
	if fi, err := os.Stat(st.Path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("token file mode = %v, %v", fi.Mode(), err)
	}

	// The access token works on the Teams back end.
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/Teams.PlatformService/v2/ApplicationInstances", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[0])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Teams call with the delegated token: %d", resp.StatusCode)
	}

	// Shortly before expiry it redeems again and saves the next rotation.
	mu.Lock()
	now = now.Add(56 * time.Minute)
	mu.Unlock()
	tok, err := cred.GetToken(context.Background(), opts)
	if err != nil || tok.Token == tokens[0] {
		t.Fatalf("GetToken after 56 min = %v (same token: %v)", err, tok.Token == tokens[0])
	}
	again, _ := st.Load(context.Background())
	if again.RefreshToken.Reveal() == rotated.RefreshToken.Reveal() {
		t.Error("second rotation not saved")
	}

	// A new process reads the rotated token; the simulator refuses the
	// ones already redeemed, so this works only if rotation was saved.
	cred2, _ := teamsauth.NewCredential(e.ep, st, teamsauth.WithLogger(debugLogger(logs)))
	if _, err := cred2.GetToken(context.Background(), opts); err != nil {
		t.Fatalf("new credential: %v", err)
	}
	noSecrets(t, "logs", logs.String())
}

func TestCredentialRevoked(t *testing.T) {
	e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond})
	st := e.login(t)
	e.sim.RevokeSignIns(admin)
	logs := &logBuffer{}
	cred, _ := teamsauth.NewCredential(e.ep, st, teamsauth.WithLogger(debugLogger(logs)))
	err := cred.Check(context.Background())
	var se *teamsauth.Error
	if !errors.As(err, &se) || se.Code != "invalid_grant" || se.AADSTS != 50173 {
		t.Fatalf("err = %v, want invalid_grant AADSTS50173", err)
	}
	var nr interface{ NonRetriable() }
	if !errors.As(err, &nr) {
		t.Error("a revoked sign-in is not marked NonRetriable")
	}
	msg := err.Error()
	if !strings.Contains(msg, `run "raprov login" again`) || !strings.Contains(msg, admin) || !strings.Contains(msg, "revoked") {
		t.Errorf("message = %q", msg)
	}
	if !strings.Contains(logs.String(), "raprov login") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the failure was not logged as an error: %s", logs.String())
	}
	noSecrets(t, "error", msg)
	noSecrets(t, "logs", logs.String())
}

func TestCredentialWithoutSignIn(t *testing.T) {
	e := newEnv(t, graphsim.Config{DeviceCodeInterval: 10 * time.Millisecond})
	st := teamsauth.FileStore{Path: filepath.Join(t.TempDir(), "missing.token")}
	cred, _ := teamsauth.NewCredential(e.ep, st, teamsauth.WithLogger(slog.New(slog.DiscardHandler)))
	err := cred.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), `run "raprov login"`) || !strings.Contains(err.Error(), st.Path) {
		t.Fatalf("err = %v", err)
	}

	// A sign-in for another tenant is refused, not sent.
	other := e.ep
	other.TenantID = "contoso.onmicrosoft.com"
	saved := e.login(t)
	cred, _ = teamsauth.NewCredential(other, saved, teamsauth.WithLogger(slog.New(slog.DiscardHandler)))
	if err := cred.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "is for tenant") {
		t.Fatalf("other tenant: %v", err)
	}
}

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st := teamsauth.FileStore{Path: filepath.Join(dir, "teams-admin.token")}
	ctx := context.Background()
	if _, err := st.Load(ctx); !errors.Is(err, teamsauth.ErrNoToken) {
		t.Fatalf("Load of a missing file = %v", err)
	}
	tok := teamsauth.Token{RefreshToken: "graphsim-rt.one", Account: admin, AuthorityHost: "https://login.microsoftonline.us/",
		TenantID: "t", ClientID: "c", Scope: "s", SignedIn: time.Now().UTC().Truncate(time.Second)}
	if err := st.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	tok.RefreshToken = "graphsim-rt.two"
	if err := st.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx)
	if err != nil || got.RefreshToken.Reveal() != "graphsim-rt.two" || got.Account != admin || !got.SignedIn.Equal(tok.SignedIn) {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the token file alone (no temporary files left)", len(entries))
	}
	if runtime.GOOS == "windows" {
		return
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, want 0700", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(st.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(st.Path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := st.Load(ctx)
		var se *teamsauth.Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "accessible by group or others") || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: Load = %v", mode, err)
		}
		noSecrets(t, "error", fmt.Sprint(err))
	}
	// Save restores 0600.
	if err := st.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx); err != nil {
		t.Errorf("after Save: %v", err)
	}
	if err := os.WriteFile(st.Path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx); err == nil || !strings.Contains(err.Error(), "raprov login") {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	tok := teamsauth.Token{RefreshToken: "graphsim-rt.secret", Account: admin}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", tok, "rt", tok.RefreshToken)
	j, _ := json.Marshal(tok)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %q %x", tok, tok, tok, tok.RefreshToken, tok.RefreshToken, tok.RefreshToken), string(j), logs.String()} {
		noSecrets(t, "rendering", s)
	}
	if tok.RefreshToken.Reveal() != "graphsim-rt.secret" {
		t.Error("Reveal lost the value")
	}
}

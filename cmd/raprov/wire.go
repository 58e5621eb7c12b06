package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/callback"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/numbercache"
	"github.com/raprov/raprov/shared/skucache"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/transport/local"
)

// microsoft is the Microsoft side the steps talk to: Graph and the Teams
// admin back end, real or simulated.
type microsoft struct {
	graph *graph.Client
	teams *teamsadmin.Client
	// sim is the in-process simulator, when there is one.
	sim *graphsim.Running
	// simulated is true when Graph is any simulator (in-process or --graph-url).
	simulated bool
	// domains are the tenant's verified domains when known (simulator).
	domains []string
}

func (m *microsoft) Close() {
	if m.sim != nil {
		m.sim.Close()
	}
}

// simulatorAt returns the adapters' configuration for a simulator at url
// and nothing else: its endpoints and public test credentials, defaults
// everywhere else (bench, which configures its own budget).
func simulatorAt(url string, timeScale float64) (graph.Config, teamsadmin.Config) {
	url = strings.TrimRight(url, "/")
	g := graph.Config{
		TenantID:                 graphsim.DefaultTenantID,
		ClientID:                 graphsim.DefaultClientID,
		ClientSecret:             graph.Secret(graphsim.DefaultClientSecret),
		AuthorityHost:            url + "/",
		DisableInstanceDiscovery: true,
		BaseURL:                  url + "/v1.0",
		Scope:                    graphsim.GraphScope,
		TimeScale:                timeScale,
		MaxRetries:               2,
	}
	t := teamsadmin.DefaultConfig()
	t.BaseURL, t.Scope = url, graphsim.TeamsAdminScope
	return g, t
}

// simulatorFromEnv returns the adapters' configuration for a simulator at
// url: RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_* read as against Microsoft,
// the simulator filling in only what they cannot say or do not say:
//
//   - its endpoints, always: the authority host (instance discovery off),
//     Graph's root and the Teams admin base URL; the scopes unless
//     RAPROV_GRAPH_SCOPE or RAPROV_TEAMS_ADMIN_SCOPE is set. RAPROV_CLOUD
//     is not read: a simulator is no national cloud.
//   - its public test tenant id, client id and secret, each where none is
//     configured. A configured one is sent as given: a wrong secret fails
//     as it would against Microsoft.
//
// timeScale, when positive, is the simulator's own (in process) and serves
// unless RAPROV_GRAPH_TIME_SCALE is set.
func simulatorFromEnv(url string, timeScale float64) (graph.Config, teamsadmin.Config, error) {
	simG, simT := simulatorAt(url, timeScale)
	gc, err := graph.ConfigFromEnvAt(simG)
	if err != nil {
		return graph.Config{}, teamsadmin.Config{}, err
	}
	if timeScale > 0 && os.Getenv(graph.EnvPrefix+"_TIME_SCALE") == "" {
		gc.TimeScale = timeScale
	}
	var tc teamsadmin.Config
	if err := envconfig.Process(teamsadmin.EnvPrefix, &tc); err != nil {
		return graph.Config{}, teamsadmin.Config{}, fmt.Errorf("teamsadmin config: %w", err)
	}
	tc.BaseURL = simT.BaseURL
	if os.Getenv(teamsadmin.EnvPrefix+"_SCOPE") == "" {
		tc.Scope = simT.Scope
	}
	signIn, err := teamsadmin.SignInFromEnv() // defaults for variables set to ""
	if err != nil {
		return graph.Config{}, teamsadmin.Config{}, err
	}
	tc.SignIn, tc.Cloud = signIn, ""
	if err := tc.Validate(); err != nil {
		return graph.Config{}, teamsadmin.Config{}, err
	}
	return gc, tc, nil
}

// connectSimulator builds the adapters for the in-process simulator at url
// trusted through hc, whose throttling windows are scaled by timeScale.
func connectSimulator(url string, hc *http.Client, timeScale float64, log *slog.Logger) (*microsoft, error) {
	gc, tc, err := simulatorFromEnv(url, timeScale)
	if err != nil {
		return nil, err
	}
	return connect(gc, tc, hc, log)
}

// connect builds the Graph and Teams-admin adapters sharing one credential.
func connect(gc graph.Config, tc teamsadmin.Config, hc *http.Client, log *slog.Logger) (*microsoft, error) {
	var opts []graph.Option
	if hc != nil {
		opts = append(opts, graph.WithHTTPClient(hc))
	}
	g, err := graph.New(gc, append(opts, graph.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	var topts []teamsadmin.Option
	if hc != nil {
		topts = append(topts, teamsadmin.WithHTTPClient(hc))
	}
	cred := g.Credential()
	if tc.Delegated() { // a signed-in admin (raprov login) instead of the app
		if cred, err = delegatedCredential(gc, tc, hc, log); err != nil {
			return nil, err
		}
	}
	t, err := teamsadmin.New(tc, cred, append(topts, teamsadmin.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	return &microsoft{graph: g, teams: t}, nil
}

// connectConfigured picks the Microsoft side from settings: a simulator at
// --graph-url, Microsoft when RAPROV_GRAPH_TENANT_ID is set, else nil (the
// caller starts an in-process simulator).
func connectConfigured(s settings, log *slog.Logger) (*microsoft, error) {
	if s.GraphURL != "" {
		gc, tc, hc, err := simulatorConfig(s)
		if err != nil {
			return nil, err
		}
		m, err := connect(gc, tc, hc, log)
		if err != nil {
			return nil, err
		}
		m.simulated = true
		return m, nil
	}
	if os.Getenv("RAPROV_GRAPH_TENANT_ID") == "" {
		return nil, nil
	}
	gc, tc, err := microsoftConfig()
	if err != nil {
		return nil, err
	}
	return connect(gc, tc, nil, log)
}

// simulatorConfig is the adapters' configuration for the simulator at
// --graph-url, trusted through --graph-ca: RAPROV_GRAPH_* and
// RAPROV_TEAMS_ADMIN_* (sign-in included) as against Microsoft, the
// simulator supplying its endpoints and any credential not configured
// (simulatorFromEnv).
func simulatorConfig(s settings) (graph.Config, teamsadmin.Config, *http.Client, error) {
	hc := http.DefaultClient
	if s.GraphCA != "" {
		pem, err := os.ReadFile(s.GraphCA)
		if err != nil {
			return graph.Config{}, teamsadmin.Config{}, nil, fmt.Errorf("simulator certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return graph.Config{}, teamsadmin.Config{}, nil, fmt.Errorf("simulator certificate %s: no PEM certificate", s.GraphCA)
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	gc, tc, err := simulatorFromEnv(s.GraphURL, 0)
	if err != nil {
		return graph.Config{}, teamsadmin.Config{}, nil, err
	}
	return gc, tc, hc, nil
}

// microsoftConfig reads RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_*, the
// endpoints defaulting to RAPROV_CLOUD's.
func microsoftConfig() (graph.Config, teamsadmin.Config, error) {
	gc, err := graph.ConfigFromEnv()
	if err != nil {
		return graph.Config{}, teamsadmin.Config{}, err
	}
	tc, err := teamsadmin.ConfigFromEnv()
	if err != nil {
		return graph.Config{}, teamsadmin.Config{}, err
	}
	return gc, tc, nil
}

// startSimulator starts the in-process simulator on a free loopback port.
func startSimulator(ctx context.Context, cfg graphsim.Config, log *slog.Logger) (*microsoft, error) {
	cfg.Logger = log
	run, err := graphsim.Start(ctx, cfg, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m, err := connectSimulator(run.URL, run.Client(), cfg.Knobs.TimeScale, log)
	if err != nil {
		run.Close()
		return nil, err
	}
	m.sim, m.simulated = run, true
	m.domains = run.Server.State().VerifiedDomains
	return m, nil
}

// chainSteps wraps each step function in the production middleware.
func chainSteps(m *microsoft, claims steps.Claims, holds steps.NumberHolds, notifier steps.Notifier, cfg steps.Config, log *slog.Logger) map[string]steps.Step {
	// One cache for both license steps: an assignment that finds no seat
	// drops the counts check-license reads.
	licenses := skucache.New(m.graph, cfg.SkuCacheTTL, cfg.Now)
	raw := map[string]steps.Step{
		events.StepIntake:        steps.Intake(claims, validate.Normalizer(validate.Options{VerifiedDomains: cfg.VerifiedDomains, CallbackAllowedHosts: cfg.CallbackAllowedHosts}), cfg),
		events.StepCheckLicense:  steps.CheckLicense(licenses, numbercache.New(m.graph, cfg.NumberCacheTTL, cfg.Now), m.graph, holds, cfg),
		events.StepCreateAccount: steps.CreateAccount(m.graph, m.teams, m.graph, cfg),
		events.StepAssignLicense: steps.AssignLicense(m.graph, licenses, cfg),
		events.StepAssignNumber:  steps.AssignNumber(m.graph, cfg),
		events.StepAssociate:     steps.Associate(m.teams, cfg),
		events.StepComplete:      steps.Complete(notifier, holds, cfg),

		events.StepUnassociate:    steps.Unassociate(m.graph, m.teams, cfg),
		events.StepUnassignNumber: steps.UnassignNumber(m.graph, m.graph, m.graph, cfg),
		events.StepRemoveLicense:  steps.RemoveLicense(m.graph, licenses, m.graph, cfg),
		events.StepRemoveAccount:  steps.RemoveAccount(m.graph, m.graph, cfg),
	}
	out := make(map[string]steps.Step, len(raw))
	for name, s := range raw {
		out[name] = steps.Production(name, s, cfg, log)
	}
	return out
}

// newChain opens the embedded chain on store against m.
func newChain(store *local.Store, m *microsoft, s settings, log *slog.Logger) (*embedded.Chain, error) {
	cfg := s.Steps
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if len(cfg.VerifiedDomains) == 0 {
		cfg.VerifiedDomains = m.domains
	}
	var notifier steps.Notifier
	if s.CallbackSecret != "" {
		c, err := callback.New(s.CallbackSecret, callback.Options{AllowedHosts: s.CallbackAllowedHosts})
		if err != nil {
			return nil, fmt.Errorf("RAPROV_CALLBACK_ALLOWED_HOSTS: %w", err)
		}
		notifier = c
	} else {
		log.Warn("RAPROV_CALLBACK_SECRET is not set: results are not posted to callbackUrl (callbacks are always signed)")
	}
	fns := chainSteps(m, store.Claims(), store.NumberHolds(), notifier, cfg, log)
	return embedded.New(store, fns, embedded.Options{Concurrency: s.Concurrency, Visibility: s.Visibility, MaxReceive: s.MaxReceive, Logger: log})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/shared/cloud"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/teamsauth"
)

// loginTimeScale scales the sign-in's polling interval (tests against a
// simulator).
var loginTimeScale = 1.0

func newLoginCmd() *cobra.Command {
	s, err := loadSettings()
	var tokenFile string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in a Teams administrator for the Teams admin back end (device code) and keep the refresh token",
		Long: `login signs a service administrator in with the OAuth 2.0 device code flow: it
prints a web address and a code, and waits while someone opens the address,
enters the code and signs in as a Teams Administrator (and User
Administrator) of the tenant. It then stores the refresh token in
RAPROV_TEAMS_ADMIN_TOKEN_FILE (default .raprov/teams-admin.token, mode 0600),
which raprov uses for the Teams admin back end when RAPROV_TEAMS_ADMIN_AUTH is
"delegated" — required in GCC High and DoD, where that back end refuses
app-only tokens for application instances.

The app registration (RAPROV_TEAMS_ADMIN_CLIENT_ID, else RAPROV_GRAPH_CLIENT_ID)
must allow public client flows. The cloud is RAPROV_CLOUD's. Run login again
when raprov reports that the sign-in expired or was revoked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err != nil {
				return err
			}
			return login(cmd.Context(), s, tokenFile, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.GraphURL, "graph-url", s.GraphURL, "sign in at a running Graph simulator (RAPROV_GRAPH_URL)")
	f.StringVar(&s.GraphCA, "graph-ca", s.GraphCA, "PEM certificate of that simulator (RAPROV_GRAPH_CA)")
	f.StringVar(&tokenFile, "token-file", "", "where to keep the refresh token (RAPROV_TEAMS_ADMIN_TOKEN_FILE)")
	return cmd
}

// login runs the device code sign-in and stores the refresh token.
func login(ctx context.Context, s settings, tokenFile string, out io.Writer) error {
	var (
		gc   graph.Config
		tc   teamsadmin.Config
		hc   *http.Client
		err  error
		name string
	)
	switch {
	case s.GraphURL != "":
		if gc, tc, hc, err = simulatorConfig(s); err != nil {
			return configError(err)
		}
		name = "the simulator at " + s.GraphURL
	case os.Getenv("RAPROV_GRAPH_TENANT_ID") != "":
		if gc, tc, err = microsoftConfig(); err != nil {
			return configError(err)
		}
		cl, _ := cloud.FromEnv() // microsoftConfig checked it
		name = "tenant " + gc.TenantID + " (" + cl.Name + " cloud)"
	default:
		return configError(errors.New("login: set RAPROV_GRAPH_TENANT_ID and RAPROV_GRAPH_CLIENT_ID (and RAPROV_CLOUD outside the public cloud) to sign in to Microsoft, or --graph-url for a simulator"))
	}
	if tokenFile != "" {
		tc.TokenFile = tokenFile
	}
	ep := signInEndpoint(gc, tc, hc)
	fmt.Fprintf(out, "raprov: signing in to the Teams admin back end of %s (app %s)\n", name, ep.ClientID)
	tok, err := teamsauth.Login(ctx, ep, func(dc teamsauth.DeviceCode) error {
		_, err := fmt.Fprintf(out, "To sign in, open %s and enter the code %s (valid for %s).\n"+
			"Sign in as a Teams Administrator who may also manage users (User Administrator).\n",
			dc.VerificationURI, dc.UserCode, dc.ExpiresIn)
		return err
	}, teamsauth.LoginOptions{TimeScale: loginTimeScale})
	if err != nil {
		return err
	}
	store := teamsauth.FileStore{Path: tc.TokenFile}
	if err := store.Save(ctx, tok); err != nil {
		return fmt.Errorf("login: save the sign-in: %w", err)
	}
	who := tok.Account
	if who == "" {
		who = "an administrator"
	}
	fmt.Fprintf(out, "raprov: signed in as %s; refresh token saved to %s (mode 0600)\n", who, tc.TokenFile)
	if !tc.Delegated() {
		fmt.Fprintf(out, "raprov: RAPROV_TEAMS_ADMIN_AUTH is %q: set it to %q for raprov to use this sign-in\n", tc.Auth, teamsadmin.AuthDelegated)
	}
	return nil
}

// signInEndpoint is where the delegated sign-in happens: the Graph
// configuration's authority and tenant, the Teams admin scope, and the
// Teams sign-in's own client id or else the Graph app's.
func signInEndpoint(gc graph.Config, tc teamsadmin.Config, hc *http.Client) teamsauth.Endpoint {
	client := tc.ClientID
	if client == "" {
		client = gc.ClientID
	}
	authority := gc.AuthorityHost
	if authority == "" {
		authority = graph.DefaultAuthorityHost
	}
	return teamsauth.Endpoint{AuthorityHost: authority, TenantID: gc.TenantID, ClientID: client, Scope: tc.Scope, HTTPClient: hc}
}

// delegatedCredential is the Teams admin credential of RAPROV_TEAMS_ADMIN_AUTH=delegated:
// the stored sign-in, checked once now so that a missing, expired or
// revoked sign-in stops raprov at start with the advice to run login.
func delegatedCredential(gc graph.Config, tc teamsadmin.Config, hc *http.Client, log *slog.Logger) (azcore.TokenCredential, error) {
	cred, err := teamsauth.NewCredential(signInEndpoint(gc, tc, hc), teamsauth.FileStore{Path: tc.TokenFile}, teamsauth.WithLogger(log))
	if err != nil {
		return nil, err
	}
	timeout := tc.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := cred.Check(ctx); err != nil {
		return nil, err
	}
	return cred, nil
}

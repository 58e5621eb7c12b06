// Package graphhost connects a Lambda function to Microsoft Graph and the
// Teams admin back end: RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_* as the CLI
// reads them, with the app's client secret taken from Secrets Manager
// (RAPROV_GRAPH_CLIENT_SECRET_ARN), never from a plain variable. Only the
// functions that call Graph import it.
package graphhost

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/secret"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/teamsadmin"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// SecretARNVar names the variable holding the ARN of the app's client secret.
const SecretARNVar = "RAPROV_GRAPH_CLIENT_SECRET_ARN"

// Microsoft is the Graph and Teams-admin adapters of one function.
type Microsoft struct {
	Graph *graph.Client
	Teams *teamsadmin.Client
}

// Run serves the step called name with the function build makes from the
// host and its adapters (host.Run); it does not return.
func Run(name string, build func(*host.Host, *Microsoft) steps.Step) {
	host.Run(name, func(h *host.Host) (steps.Step, error) {
		m, err := Connect(context.Background(), h)
		if err != nil {
			return nil, err
		}
		return build(h, m), nil
	})
}

// RunWithPlanner is Run for the function that also plans the dry runs of
// intake's HTTP door: build makes the step and the planner
// (host.StartWithPlanner).
func RunWithPlanner(name string, build func(*host.Host, *Microsoft) (steps.Step, sqs.Planned)) {
	h, err := host.Load()
	if err != nil {
		host.Exit(name, err)
	}
	m, err := Connect(context.Background(), h)
	if err != nil {
		host.Exit(name, err)
	}
	fn, plan := build(h, m)
	h.StartWithPlanner(name, fn, plan)
}

// Connect builds the adapters from the environment.
func Connect(ctx context.Context, h *host.Host) (*Microsoft, error) {
	if os.Getenv(graph.EnvPrefix+"_CLIENT_SECRET") != "" {
		return nil, fmt.Errorf("%s_CLIENT_SECRET is set: on AWS the secret lives in Secrets Manager; set %s to its ARN instead", graph.EnvPrefix, SecretARNVar)
	}
	gc, err := graph.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	secret, err := secret.FromARNVar(ctx, h.AWS, SecretARNVar)
	if err != nil {
		return nil, err
	}
	if secret == "" && gc.CertificatePath == "" {
		return nil, fmt.Errorf("%s is not set: the app needs its client secret", SecretARNVar)
	}
	gc.ClientSecret = graph.Secret(secret)
	tc, err := teamsadmin.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if tc.Delegated() {
		return nil, errors.New("RAPROV_TEAMS_ADMIN_SIGN_IN: a delegated sign-in keeps its refresh token in a local file, which a Lambda function does not have; use the app's own permissions on AWS")
	}
	g, err := graph.New(gc, graph.WithLogger(h.Log))
	if err != nil {
		return nil, err
	}
	t, err := teamsadmin.New(tc, g.Credential(), teamsadmin.WithLogger(h.Log))
	if err != nil {
		return nil, err
	}
	return &Microsoft{Graph: g, Teams: t}, nil
}

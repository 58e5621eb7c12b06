package graphhost_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/raprov/raprov/functions/internal/graphhost"
	"github.com/raprov/raprov/functions/internal/host"
)

// On AWS the app's secret comes only from Secrets Manager, and the Teams
// admin back end only with the app's own permissions.
func TestConnectRefuses(t *testing.T) {
	h := &host.Host{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "a plain secret variable", env: map[string]string{"RAPROV_GRAPH_CLIENT_SECRET": "s3cr3t"}, want: graphhost.SecretARNVar},
		{name: "no secret at all", env: map[string]string{}, want: graphhost.SecretARNVar + " is not set"},
		{name: "a delegated sign-in", env: map[string]string{"RAPROV_GRAPH_CERTIFICATE_PATH": "app.pem", "RAPROV_TEAMS_ADMIN_AUTH": "delegated"}, want: "delegated sign-in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("RAPROV_GRAPH_TENANT_ID", "00000000-0000-0000-0000-000000000001")
			t.Setenv("RAPROV_GRAPH_CLIENT_ID", "00000000-0000-0000-0000-000000000002")
			t.Setenv(graphhost.SecretARNVar, "")
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := graphhost.Connect(context.Background(), h)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %v, want one saying %q without the secret", err, c.want)
			}
		})
	}
}

package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/raprov/raprov/shared/graph"
)

const plainSecret = "s3cr3t-Value~42"

func TestSecretNeverPrints(t *testing.T) {
	cfg := graph.Config{TenantID: "t", ClientID: "c", ClientSecret: plainSecret, CertificatePassword: plainSecret}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "secret", cfg.ClientSecret, "config", cfg)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "secret", cfg.ClientSecret, "config", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	renderings := map[string]string{
		"%v":     fmt.Sprintf("%v", cfg),
		"%+v":    fmt.Sprintf("%+v", cfg),
		"%#v":    fmt.Sprintf("%#v", cfg),
		"%s":     fmt.Sprintf("%s", cfg.ClientSecret),
		"%q":     fmt.Sprintf("%q", cfg.ClientSecret),
		"%x":     fmt.Sprintf("%x", cfg.ClientSecret),
		"%10.3s": fmt.Sprintf("%10.3s", cfg.ClientSecret),
		"String": cfg.ClientSecret.String(),
		"error":  fmt.Errorf("wrapped: %v", cfg.ClientSecret).Error(),
		"json":   string(js),
		"slog":   logs.String(),
	}
	for name, s := range renderings {
		if strings.Contains(s, plainSecret) || strings.Contains(s, fmt.Sprintf("%x", plainSecret)) || strings.Contains(s, plainSecret[:3]) {
			t.Errorf("%s rendering leaks the secret: %s", name, s)
		}
		if !strings.Contains(s, "REDACTED") {
			t.Errorf("%s rendering does not say the value is redacted: %s", name, s)
		}
	}
	if got := cfg.ClientSecret.Reveal(); got != plainSecret {
		t.Errorf("Reveal = %q, want the value", got)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "tenant")
	t.Setenv("RAPROV_GRAPH_CLIENT_ID", "client")
	t.Setenv("RAPROV_GRAPH_CLIENT_SECRET", plainSecret)
	t.Setenv("RAPROV_GRAPH_MAX_WAIT", "3s")
	t.Setenv("RAPROV_GRAPH_TIME_SCALE", "0.01")
	var cfg graph.Config
	if err := envconfig.Process("RAPROV_GRAPH", &cfg); err != nil {
		t.Fatal(err)
	}
	want := graph.Config{
		TenantID: "tenant", ClientID: "client", ClientSecret: plainSecret,
		AuthorityHost: graph.DefaultAuthorityHost, BaseURL: graph.DefaultBaseURL, Scope: graph.DefaultScope,
		Headroom: 0.9, TimeScale: 0.01, MaxRetries: 2, MaxWait: 3 * time.Second, Timeout: time.Minute,
		OwnerAttribute: graph.DefaultOwnerAttribute,
	}
	if cfg != want {
		t.Errorf("config = %#v\nwant %#v", cfg, want)
	}
	if got := cfg.Limits(); got.ResourceUnits != 3500 || got.Writes != 3000 || got.TimeScale != 0.01 || got.Headroom != 0.9 {
		t.Errorf("Limits = %+v", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  graph.Config
		want string
	}{
		{"no tenant", graph.Config{ClientID: "c", ClientSecret: "s"}, "tenant id"},
		{"no credential", graph.Config{TenantID: "t", ClientID: "c"}, "client secret or a certificate"},
		{"plain http", graph.Config{TenantID: "t", ClientID: "c", ClientSecret: "s", BaseURL: "http://graph.example"}, "https"},
		{"missing certificate", graph.Config{TenantID: "t", ClientID: "c", CertificatePath: "/nonexistent/cert.pem"}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := graph.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

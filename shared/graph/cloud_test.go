package graph_test

import (
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/graph"
)

// RAPROV_CLOUD picks the Graph endpoints; RAPROV_GRAPH_* set explicitly win.
func TestConfigFromEnvCloud(t *testing.T) {
	tests := []struct {
		name                   string
		env                    map[string]string
		authority, base, scope string
		err                    string
	}{
		{"public by default", nil,
			graph.DefaultAuthorityHost, graph.DefaultBaseURL, graph.DefaultScope, ""},
		{"gcc uses the public endpoints", map[string]string{"RAPROV_CLOUD": "gcc"},
			graph.DefaultAuthorityHost, graph.DefaultBaseURL, graph.DefaultScope, ""},
		{"gcchigh", map[string]string{"RAPROV_CLOUD": "gcchigh"},
			"https://login.microsoftonline.us/", "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default", ""},
		{"dod", map[string]string{"RAPROV_CLOUD": "dod"},
			"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default", ""},
		{"explicit settings win", map[string]string{"RAPROV_CLOUD": "dod",
			"RAPROV_GRAPH_BASE_URL": "https://graph.example/v1.0", "RAPROV_GRAPH_AUTHORITY_HOST": "https://login.example/"},
			"https://login.example/", "https://graph.example/v1.0", "https://dod-graph.microsoft.us/.default", ""},
		{"unknown cloud", map[string]string{"RAPROV_CLOUD": "azure-germany"}, "", "", "", "unknown cloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RAPROV_GRAPH_TENANT_ID", "tenant")
			t.Setenv("RAPROV_GRAPH_CLIENT_ID", "client")
			for _, k := range []string{"RAPROV_CLOUD", "RAPROV_GRAPH_BASE_URL", "RAPROV_GRAPH_AUTHORITY_HOST", "RAPROV_GRAPH_SCOPE"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := graph.ConfigFromEnv()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthorityHost != tt.authority || c.BaseURL != tt.base || c.Scope != tt.scope {
				t.Errorf("endpoints = %s %s %s, want %s %s %s", c.AuthorityHost, c.BaseURL, c.Scope, tt.authority, tt.base, tt.scope)
			}
			if c.TenantID != "tenant" || c.ClientID != "client" || c.MaxRetries != 2 {
				t.Errorf("other settings lost: %+v", c)
			}
		})
	}
}

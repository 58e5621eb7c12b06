package teamsadmin_test

import (
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/teamsadmin"
)

// RAPROV_CLOUD picks the back end's host; explicit settings win; GCC High
// and DoD refuse app sign-in with a message naming the way out.
func TestConfigFromEnvCloud(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		base, auth string
		err        []string
	}{
		{"public", nil, "https://api.interfaces.records.teams.microsoft.com", "app", nil},
		{"gcc uses the public host", map[string]string{"RAPROV_CLOUD": "gcc"}, "https://api.interfaces.records.teams.microsoft.com", "app", nil},
		{"gcchigh with app sign-in", map[string]string{"RAPROV_CLOUD": "gcchigh"}, "", "",
			[]string{"RAPROV_CLOUD=gcchigh", "app-only", "RAPROV_TEAMS_ADMIN_AUTH=delegated", "raprov login"}},
		{"dod with app sign-in", map[string]string{"RAPROV_CLOUD": "dod", "RAPROV_TEAMS_ADMIN_AUTH": "app"}, "", "",
			[]string{"RAPROV_CLOUD=dod", "RAPROV_TEAMS_ADMIN_AUTH=delegated"}},
		{"gcchigh delegated", map[string]string{"RAPROV_CLOUD": "gcchigh", "RAPROV_TEAMS_ADMIN_AUTH": "delegated"},
			"https://api.interfaces.records.gov.teams.microsoft.us", "delegated", nil},
		{"dod delegated", map[string]string{"RAPROV_CLOUD": "DoD", "RAPROV_TEAMS_ADMIN_AUTH": "delegated"},
			"https://api.interfaces.records.dod.teams.microsoft.us", "delegated", nil},
		{"explicit base URL wins", map[string]string{"RAPROV_CLOUD": "dod", "RAPROV_TEAMS_ADMIN_AUTH": "delegated",
			"RAPROV_TEAMS_ADMIN_BASE_URL": "https://api.interfaces.records.gov.teams.microsoft.us"},
			"https://api.interfaces.records.gov.teams.microsoft.us", "delegated", nil},
		{"unknown cloud", map[string]string{"RAPROV_CLOUD": "mooncake"}, "", "", []string{"unknown cloud"}},
		{"unknown auth", map[string]string{"RAPROV_TEAMS_ADMIN_AUTH": "managed-identity"}, "", "", []string{"auth must be"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"RAPROV_CLOUD", "RAPROV_TEAMS_ADMIN_AUTH", "RAPROV_TEAMS_ADMIN_BASE_URL", "RAPROV_TEAMS_ADMIN_SCOPE"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := teamsadmin.ConfigFromEnv()
			if tt.err != nil {
				if err == nil {
					t.Fatalf("ConfigFromEnv = %+v, want an error", c)
				}
				for _, want := range tt.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL != tt.base || c.Auth != tt.auth || c.Scope != teamsadmin.DefaultScope || c.TokenFile != teamsadmin.DefaultTokenFile {
				t.Errorf("config = %s %s %s %s", c.BaseURL, c.Auth, c.Scope, c.TokenFile)
			}
		})
	}
}

func TestSignInSettings(t *testing.T) {
	t.Setenv("RAPROV_TEAMS_ADMIN_AUTH", "delegated")
	t.Setenv("RAPROV_TEAMS_ADMIN_TOKEN_FILE", "/var/lib/raprov/teams.token")
	t.Setenv("RAPROV_TEAMS_ADMIN_CLIENT_ID", "public-client")
	s, err := teamsadmin.SignInFromEnv()
	if err != nil || !s.Delegated() || s.TokenFile != "/var/lib/raprov/teams.token" || s.ClientID != "public-client" {
		t.Fatalf("SignInFromEnv = %+v, %v", s, err)
	}

	c := teamsadmin.DefaultConfig()
	if c.Delegated() || c.Auth != teamsadmin.AuthApp {
		t.Errorf("default sign-in = %+v", c.SignIn)
	}
	c.Auth, c.TokenFile = teamsadmin.AuthDelegated, " "
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "token file") {
		t.Errorf("delegated without token file: %v", err)
	}
	c = teamsadmin.DefaultConfig()
	c.Auth = ""
	if err := c.Validate(); err != nil {
		t.Errorf("empty auth (app): %v", err)
	}
	c.Cloud = "gcchigh"
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted app sign-in in gcchigh")
	}
}

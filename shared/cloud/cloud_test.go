package cloud_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/cloud"
)

func TestLookup(t *testing.T) {
	const teams = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
	tests := []struct {
		name string
		want cloud.Cloud
	}{
		{"public", cloud.Cloud{Name: "public", AuthorityHost: "https://login.microsoftonline.com/",
			GraphBaseURL: "https://graph.microsoft.com/v1.0", GraphScope: "https://graph.microsoft.com/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.teams.microsoft.com", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: true}},
		{"gcc", cloud.Cloud{Name: "gcc", AuthorityHost: "https://login.microsoftonline.com/",
			GraphBaseURL: "https://graph.microsoft.com/v1.0", GraphScope: "https://graph.microsoft.com/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.teams.microsoft.com", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: true}},
		{"gcchigh", cloud.Cloud{Name: "gcchigh", AuthorityHost: "https://login.microsoftonline.us/",
			GraphBaseURL: "https://graph.microsoft.us/v1.0", GraphScope: "https://graph.microsoft.us/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.gov.teams.microsoft.us", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: false}},
		{"dod", cloud.Cloud{Name: "dod", AuthorityHost: "https://login.microsoftonline.us/",
			GraphBaseURL: "https://dod-graph.microsoft.us/v1.0", GraphScope: "https://dod-graph.microsoft.us/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.dod.teams.microsoft.us", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: false}},
		{"china", cloud.Cloud{Name: "china", AuthorityHost: "https://login.chinacloudapi.cn/",
			GraphBaseURL: "https://microsoftgraph.chinacloudapi.cn/v1.0", GraphScope: "https://microsoftgraph.chinacloudapi.cn/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.teams.microsoftonline.cn", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: true}},
		{"", cloud.Default()},
		{" GCCHigh ", cloud.Cloud{Name: "gcchigh", AuthorityHost: "https://login.microsoftonline.us/",
			GraphBaseURL: "https://graph.microsoft.us/v1.0", GraphScope: "https://graph.microsoft.us/.default",
			TeamsAdminBaseURL: "https://api.interfaces.records.gov.teams.microsoft.us", TeamsAdminScope: teams,
			AppOnlyApplicationInstances: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cloud.Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.name, d)
			}
		})
	}
	if cloud.Default().Name != cloud.Public {
		t.Errorf("Default = %q", cloud.Default().Name)
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := cloud.Lookup("usgov")
	if err == nil || !strings.Contains(err.Error(), "RAPROV_CLOUD") || !strings.Contains(err.Error(), "gcchigh") {
		t.Errorf("Lookup(usgov) = %v, want an error naming RAPROV_CLOUD and the choices", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(cloud.EnvVar, "dod")
	c, err := cloud.FromEnv()
	if err != nil || c.Name != cloud.DoD {
		t.Errorf("FromEnv = %+v, %v", c, err)
	}
	t.Setenv(cloud.EnvVar, "")
	if c, err := cloud.FromEnv(); err != nil || c.Name != cloud.Public {
		t.Errorf("FromEnv (empty) = %+v, %v", c, err)
	}
}

// Every cloud's endpoints are absolute https URLs and the authority host
// ends with a slash, as azcore expects.
func TestEndpointsWellFormed(t *testing.T) {
	for _, n := range cloud.Names() {
		c, _ := cloud.Lookup(n)
		for _, u := range []string{c.AuthorityHost, c.GraphBaseURL, c.GraphScope, c.TeamsAdminBaseURL} {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("%s: %q is not https", n, u)
			}
		}
		if !strings.HasSuffix(c.AuthorityHost, "/") || !strings.HasSuffix(c.GraphBaseURL, "/v1.0") ||
			!strings.HasSuffix(c.GraphScope, "/.default") || !strings.HasSuffix(c.TeamsAdminScope, "/.default") {
			t.Errorf("%s: malformed endpoints %+v", n, c)
		}
	}
}

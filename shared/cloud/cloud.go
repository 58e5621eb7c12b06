// Package cloud is raprov's table of Microsoft clouds: for each value of
// RAPROV_CLOUD, the Entra ID authority host, the Microsoft Graph root and
// scope, and the Teams admin back end's host and scope. The Graph and
// Teams-admin adapters take their defaults from it; their explicit settings
// (RAPROV_GRAPH_BASE_URL, RAPROV_TEAMS_ADMIN_BASE_URL, …) still win.
//
// It imports nothing of raprov's, so every adapter may use it. Sources and
// what is inferred: docs/teams-admin.md, section "Clouds".
package cloud

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// EnvVar names the environment variable FromEnv reads.
const EnvVar = "RAPROV_CLOUD"

// Names of the clouds.
const (
	Public  = "public"  // commercial (worldwide)
	GCC     = "gcc"     // US Government Community Cloud (moderate): the public endpoints
	GCCHigh = "gcchigh" // US Government Community Cloud High
	DoD     = "dod"     // US Department of Defense
	China   = "china"   // operated by 21Vianet
)

// teamsAdminScope is the "Skype and Teams Tenant Admin API" resource, the
// same application id in every cloud.
const teamsAdminScope = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"

// Cloud is one Microsoft cloud's endpoints.
type Cloud struct {
	// Name is the RAPROV_CLOUD value.
	Name string
	// AuthorityHost is the Entra ID login endpoint, with a trailing slash.
	AuthorityHost string
	// GraphBaseURL is Microsoft Graph's service root including /v1.0.
	GraphBaseURL string
	// GraphScope is the client-credentials scope of Graph.
	GraphScope string
	// TeamsAdminBaseURL is the Teams admin back end (application instances).
	TeamsAdminBaseURL string
	// TeamsAdminScope is the back end's token scope.
	TeamsAdminScope string
	// AppOnlyApplicationInstances is false where Microsoft documents that
	// application instances cannot be read, created or synced with
	// app-only (client-credentials) tokens: raprov then needs a delegated
	// sign-in (RAPROV_TEAMS_ADMIN_AUTH=delegated, raprov login).
	AppOnlyApplicationInstances bool
}

var clouds = []Cloud{
	{
		Name:                        Public,
		AuthorityHost:               "https://login.microsoftonline.com/",
		GraphBaseURL:                "https://graph.microsoft.com/v1.0",
		GraphScope:                  "https://graph.microsoft.com/.default",
		TeamsAdminBaseURL:           "https://api.interfaces.records.teams.microsoft.com",
		TeamsAdminScope:             teamsAdminScope,
		AppOnlyApplicationInstances: true,
	},
	{
		// GCC (moderate) tenants sign in and call Graph on the public
		// endpoints; the Teams admin host is the public one too.
		Name:                        GCC,
		AuthorityHost:               "https://login.microsoftonline.com/",
		GraphBaseURL:                "https://graph.microsoft.com/v1.0",
		GraphScope:                  "https://graph.microsoft.com/.default",
		TeamsAdminBaseURL:           "https://api.interfaces.records.teams.microsoft.com",
		TeamsAdminScope:             teamsAdminScope,
		AppOnlyApplicationInstances: true,
	},
	{
		Name:                        GCCHigh,
		AuthorityHost:               "https://login.microsoftonline.us/",
		GraphBaseURL:                "https://graph.microsoft.us/v1.0",
		GraphScope:                  "https://graph.microsoft.us/.default",
		TeamsAdminBaseURL:           "https://api.interfaces.records.gov.teams.microsoft.us",
		TeamsAdminScope:             teamsAdminScope,
		AppOnlyApplicationInstances: false,
	},
	{
		Name:                        DoD,
		AuthorityHost:               "https://login.microsoftonline.us/",
		GraphBaseURL:                "https://dod-graph.microsoft.us/v1.0",
		GraphScope:                  "https://dod-graph.microsoft.us/.default",
		TeamsAdminBaseURL:           "https://api.interfaces.records.dod.teams.microsoft.us",
		TeamsAdminScope:             teamsAdminScope,
		AppOnlyApplicationInstances: false,
	},
	{
		// The Teams admin host has a single public source (inferred).
		Name:                        China,
		AuthorityHost:               "https://login.chinacloudapi.cn/",
		GraphBaseURL:                "https://microsoftgraph.chinacloudapi.cn/v1.0",
		GraphScope:                  "https://microsoftgraph.chinacloudapi.cn/.default",
		TeamsAdminBaseURL:           "https://api.interfaces.records.teams.microsoftonline.cn",
		TeamsAdminScope:             teamsAdminScope,
		AppOnlyApplicationInstances: true,
	},
}

// Names returns the known cloud names, Public first.
func Names() []string {
	out := make([]string, len(clouds))
	for i, c := range clouds {
		out[i] = c.Name
	}
	return out
}

// Lookup returns the cloud named name (case-insensitive; "" is Public).
func Lookup(name string) (Cloud, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		n = Public
	}
	if i := slices.IndexFunc(clouds, func(c Cloud) bool { return c.Name == n }); i >= 0 {
		return clouds[i], nil
	}
	return Cloud{}, fmt.Errorf("%s=%q: unknown cloud; use one of %s", EnvVar, name, strings.Join(Names(), ", "))
}

// FromEnv returns the cloud named by RAPROV_CLOUD (Public when unset).
func FromEnv() (Cloud, error) {
	return Lookup(os.Getenv(EnvVar))
}

// Default returns the public cloud.
func Default() Cloud {
	c, _ := Lookup(Public)
	return c
}

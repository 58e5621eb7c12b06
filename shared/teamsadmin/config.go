package teamsadmin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/raprov/raprov/shared/cloud"
)

// EnvPrefix is the environment prefix ConfigFromEnv reads: RAPROV_TEAMS_ADMIN_BASE_URL,
// RAPROV_TEAMS_ADMIN_GET_PATH, and so on.
const EnvPrefix = "RAPROV_TEAMS_ADMIN"

// Default values of Config.
const (
	DefaultBaseURL            = "https://api.interfaces.records.teams.microsoft.com"
	DefaultScope              = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
	DefaultListPath           = "/Teams.PlatformService/v2/ApplicationInstances"
	DefaultGetPath            = "/Teams.PlatformService/v2/ApplicationInstances/{objectId}"
	DefaultBindPath           = "/Teams.PlatformService/v2/ApplicationInstances/{objectId}/sync"
	DefaultBindMethod         = "POST"
	DefaultBindAppIDParam     = "applicationId"
	DefaultAssociatePath      = "/Teams.VoiceApps/applicationinstanceassociations"
	DefaultGetAssociationPath = "/Teams.VoiceApps/applicationinstanceassociations/{objectId}"
)

// Sign-in modes of Config.Auth.
const (
	// AuthApp authenticates as the app registration (client credentials),
	// sharing the Graph adapter's credential.
	AuthApp = "app"
	// AuthDelegated authenticates as a signed-in service admin: the refresh
	// token `raprov login` stored in TokenFile (package teamsauth). Government
	// clouds need it: they refuse app-only tokens for application instances.
	AuthDelegated = "delegated"
)

// DefaultTokenFile is where `raprov login` keeps the delegated refresh token.
const DefaultTokenFile = ".raprov/teams-admin.token"

// SignIn selects how the Teams admin back end is authenticated. The
// credential itself is built by the caller (cmd/raprov): the app's, or a
// teamsauth.Credential over TokenFile.
type SignIn struct {
	// Auth is AuthApp (default) or AuthDelegated.
	Auth string `envconfig:"AUTH" default:"app"`
	// TokenFile holds the delegated refresh token (mode 0600).
	TokenFile string `envconfig:"TOKEN_FILE" default:".raprov/teams-admin.token"`
	// ClientID is the public client application of the delegated sign-in;
	// empty means the Graph app registration's client id.
	ClientID string `envconfig:"CLIENT_ID"`
}

// SignInFromEnv reads only the sign-in settings (RAPROV_TEAMS_ADMIN_AUTH,
// _TOKEN_FILE, _CLIENT_ID), for callers that take the back end's address
// from elsewhere, such as a simulator.
func SignInFromEnv() (SignIn, error) {
	var s SignIn
	if err := envconfig.Process(EnvPrefix, &s); err != nil {
		return SignIn{}, fmt.Errorf("teamsadmin config: %w", err)
	}
	s = s.withDefaults()
	return s, s.validate()
}

// withDefaults reads variables set to "" as unset.
func (s SignIn) withDefaults() SignIn {
	if s.Auth == "" {
		s.Auth = AuthApp
	}
	if s.TokenFile == "" {
		s.TokenFile = DefaultTokenFile
	}
	return s
}

func (s SignIn) validate() error {
	switch s.Auth {
	case "", AuthApp:
	case AuthDelegated:
		if strings.TrimSpace(s.TokenFile) == "" {
			return errors.New("teamsadmin config: delegated sign-in needs a token file (RAPROV_TEAMS_ADMIN_TOKEN_FILE)")
		}
	default:
		return fmt.Errorf("teamsadmin config: auth must be %q or %q, got %q", AuthApp, AuthDelegated, s.Auth)
	}
	return nil
}

// Delegated reports whether the back end is called as a signed-in admin.
func (s SignIn) Delegated() bool { return s.Auth == AuthDelegated }

// Lookup modes of Config.Lookup.
const (
	// LookupGet reads one instance with GET GetPath (inferred path, one call).
	LookupGet = "get"
	// LookupList pages through GET ListPath (the path confirmed by public
	// sources) until it finds the instance: slower, for tenants where
	// GetPath does not answer.
	LookupList = "list"
)

// objectIDPlaceholder is replaced by the object id in GetPath, BindPath,
// GetAssociationPath and RemoveAssociationPath.
const objectIDPlaceholder = "{objectId}"

// Config configures a Client. Paths are relative to BaseURL; GetPath,
// BindPath, GetAssociationPath and RemoveAssociationPath contain the
// placeholder {objectId}. See
// docs/teams-admin.md for which parts are verified and which inferred.
type Config struct {
	// BaseURL of the Teams admin back end (a simulator in tests).
	BaseURL string `envconfig:"BASE_URL" default:"https://api.interfaces.records.teams.microsoft.com"`
	// Scope of the access token ("Skype and Teams Tenant Admin API").
	Scope string `envconfig:"SCOPE" default:"48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"`

	// ListPath pages application instances (?pageSize=&skipToken=).
	ListPath string `envconfig:"LIST_PATH" default:"/Teams.PlatformService/v2/ApplicationInstances"`
	// GetPath reads one application instance.
	GetPath string `envconfig:"GET_PATH" default:"/Teams.PlatformService/v2/ApplicationInstances/{objectId}"`
	// BindPath makes an existing user an application instance
	// (Sync-CsOnlineApplicationInstance): the object id is in the path
	// (verified), what follows it is inferred.
	BindPath string `envconfig:"BIND_PATH" default:"/Teams.PlatformService/v2/ApplicationInstances/{objectId}/sync"`
	// BindMethod is the HTTP verb of the bind request (inferred): POST,
	// PUT or PATCH. The request has no body.
	BindMethod string `envconfig:"BIND_METHOD" default:"POST"`
	// BindAppIDParam names the query parameter carrying the application id
	// (verified as a query parameter; its spelling is inferred).
	BindAppIDParam string `envconfig:"BIND_APP_ID_PARAM" default:"applicationId"`
	// AssociatePath (POST) associates instances with an auto attendant or call queue.
	AssociatePath string `envconfig:"ASSOCIATE_PATH" default:"/Teams.VoiceApps/applicationinstanceassociations"`
	// GetAssociationPath reads the association of one instance.
	GetAssociationPath string `envconfig:"GET_ASSOCIATION_PATH" default:"/Teams.VoiceApps/applicationinstanceassociations/{objectId}"`
	// RemoveAssociationPath (DELETE) removes the association of one
	// instance (Remove-CsOnlineApplicationInstanceAssociation: one DELETE
	// per instance is verified, the path is inferred). Empty means
	// GetAssociationPath, so by default
	// /Teams.VoiceApps/applicationinstanceassociations/{objectId}: the
	// instance's association resource, read and deleted at one path.
	RemoveAssociationPath string `envconfig:"REMOVE_ASSOCIATION_PATH"`
	// CallPriority (1–5) is sent with every association; 0 leaves it out
	// and the back end applies its default (3).
	CallPriority int `envconfig:"CALL_PRIORITY" default:"0"`

	// Lookup selects how ApplicationInstance reads an instance: "get" or "list".
	Lookup string `envconfig:"LOOKUP" default:"get"`
	// PageSize is the pageSize of list requests.
	PageSize int `envconfig:"PAGE_SIZE" default:"100"`

	// MaxRetries is the number of in-process retries of a throttled (429) or
	// failed (5xx, network) call; 0 disables them.
	MaxRetries int `envconfig:"MAX_RETRIES" default:"2"`
	// MaxRetryWait caps the wait before an in-process retry. A Retry-After
	// longer than this is not waited for: the error is returned with it.
	// 0 disables in-process retries.
	MaxRetryWait time.Duration `envconfig:"MAX_RETRY_WAIT" default:"10s"`
	// Timeout bounds each HTTP attempt, token acquisition included.
	Timeout time.Duration `envconfig:"TIMEOUT" default:"30s"`

	// SignIn is how calls are authenticated (RAPROV_TEAMS_ADMIN_AUTH, …).
	SignIn
	// Cloud is the cloud.Name the configuration is for (RAPROV_CLOUD, set
	// by ConfigFromEnv; empty: public). Validate refuses app sign-in where
	// the cloud does not allow app-only calls for application instances.
	Cloud string `ignored:"true"`
}

// DefaultConfig returns the configuration for Microsoft's production back end.
func DefaultConfig() Config {
	return Config{
		BaseURL:            DefaultBaseURL,
		Scope:              DefaultScope,
		ListPath:           DefaultListPath,
		GetPath:            DefaultGetPath,
		BindPath:           DefaultBindPath,
		BindMethod:         DefaultBindMethod,
		BindAppIDParam:     DefaultBindAppIDParam,
		AssociatePath:      DefaultAssociatePath,
		GetAssociationPath: DefaultGetAssociationPath,
		Lookup:             LookupGet,
		PageSize:           100,
		MaxRetries:         2,
		MaxRetryWait:       10 * time.Second,
		Timeout:            30 * time.Second,
		SignIn:             SignIn{Auth: AuthApp, TokenFile: DefaultTokenFile},
		Cloud:              cloud.Public,
	}
}

// ConfigFromEnv reads a Config from RAPROV_TEAMS_ADMIN_* environment variables,
// applying the defaults above, and validates it. The cloud named by
// RAPROV_CLOUD (public when unset) supplies BaseURL and Scope unless
// RAPROV_TEAMS_ADMIN_BASE_URL or RAPROV_TEAMS_ADMIN_SCOPE is set.
func ConfigFromEnv() (Config, error) {
	cl, err := cloud.FromEnv()
	if err != nil {
		return Config{}, fmt.Errorf("teamsadmin config: %w", err)
	}
	var c Config
	if err := envconfig.Process(EnvPrefix, &c); err != nil {
		return Config{}, fmt.Errorf("teamsadmin config: %w", err)
	}
	if os.Getenv(EnvPrefix+"_BASE_URL") == "" {
		c.BaseURL = cl.TeamsAdminBaseURL
	}
	if os.Getenv(EnvPrefix+"_SCOPE") == "" {
		c.Scope = cl.TeamsAdminScope
	}
	c.Cloud = cl.Name
	c.SignIn = c.SignIn.withDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports the first problem with c. A plain-http BaseURL is accepted
// only for loopback hosts, so a bearer token never crosses a network in clear.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("teamsadmin config: base URL: %w", err)
	}
	switch {
	case u.Host == "":
		return errors.New("teamsadmin config: base URL must be absolute")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("teamsadmin config: base URL must use https (http only on loopback), got %q", u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("teamsadmin config: base URL must not carry a query or fragment")
	}
	if strings.TrimSpace(c.Scope) == "" {
		return errors.New("teamsadmin config: scope is empty")
	}
	paths := []struct {
		name, path  string
		placeholder bool
	}{
		{"list path", c.ListPath, false},
		{"get path", c.GetPath, true},
		{"bind path", c.BindPath, true},
		{"associate path", c.AssociatePath, false},
		{"get association path", c.GetAssociationPath, true},
		{"remove association path", c.removeAssociationPath(), true},
	}
	for _, p := range paths {
		if !strings.HasPrefix(p.path, "/") || strings.ContainsAny(p.path, "?#") {
			return fmt.Errorf("teamsadmin config: %s %q must start with / and carry no query", p.name, p.path)
		}
		if p.placeholder != strings.Contains(p.path, objectIDPlaceholder) {
			if p.placeholder {
				return fmt.Errorf("teamsadmin config: %s %q lacks %s", p.name, p.path, objectIDPlaceholder)
			}
			return fmt.Errorf("teamsadmin config: %s %q must not contain %s", p.name, p.path, objectIDPlaceholder)
		}
	}
	switch c.BindMethod {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fmt.Errorf("teamsadmin config: bind method must be POST, PUT or PATCH, got %q", c.BindMethod)
	}
	if p := c.BindAppIDParam; p == "" || url.QueryEscape(p) != p {
		return fmt.Errorf("teamsadmin config: bind application id parameter %q must be a plain query parameter name", p)
	}
	if c.CallPriority < 0 || c.CallPriority > 5 {
		return fmt.Errorf("teamsadmin config: call priority %d out of 1..5 (0: the back end's default)", c.CallPriority)
	}
	if c.Lookup != LookupGet && c.Lookup != LookupList {
		return fmt.Errorf("teamsadmin config: lookup must be %q or %q, got %q", LookupGet, LookupList, c.Lookup)
	}
	if c.PageSize < 1 || c.PageSize > 1000 {
		return fmt.Errorf("teamsadmin config: page size %d out of 1..1000", c.PageSize)
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		return fmt.Errorf("teamsadmin config: max retries %d out of 0..10", c.MaxRetries)
	}
	if c.MaxRetryWait < 0 {
		return errors.New("teamsadmin config: max retry wait is negative")
	}
	if c.Timeout <= 0 {
		return errors.New("teamsadmin config: timeout must be positive")
	}
	if err := c.SignIn.validate(); err != nil {
		return err
	}
	if c.Cloud != "" {
		cl, err := cloud.Lookup(c.Cloud)
		if err != nil {
			return fmt.Errorf("teamsadmin config: %w", err)
		}
		if !cl.AppOnlyApplicationInstances && !c.Delegated() {
			return fmt.Errorf("teamsadmin config: %s=%s: Microsoft does not allow app-only (client-credentials) calls for "+
				"application instances in this cloud; set RAPROV_TEAMS_ADMIN_AUTH=%s and sign in a Teams administrator "+
				"with \"raprov login\"", cloud.EnvVar, cl.Name, AuthDelegated)
		}
	}
	return nil
}

// removeAssociationPath is RemoveAssociationPath, or GetAssociationPath
// when it is empty.
func (c Config) removeAssociationPath() string {
	if c.RemoveAssociationPath != "" {
		return c.RemoveAssociationPath
	}
	return c.GetAssociationPath
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

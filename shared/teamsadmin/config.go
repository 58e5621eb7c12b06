package teamsadmin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
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

// Lookup modes of Config.Lookup.
const (
	// LookupGet reads one instance with GET GetPath (inferred path, one call).
	LookupGet = "get"
	// LookupList pages through GET ListPath (the path confirmed by public
	// sources) until it finds the instance: slower, for tenants where
	// GetPath does not answer.
	LookupList = "list"
)

// objectIDPlaceholder is replaced by the object id in GetPath, BindPath and
// GetAssociationPath.
const objectIDPlaceholder = "{objectId}"

// Config configures a Client. Paths are relative to BaseURL; GetPath,
// BindPath and GetAssociationPath contain the placeholder {objectId}. See
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
	}
}

// ConfigFromEnv reads a Config from RAPROV_TEAMS_ADMIN_* environment variables,
// applying the defaults above, and validates it.
func ConfigFromEnv() (Config, error) {
	var c Config
	if err := envconfig.Process(EnvPrefix, &c); err != nil {
		return Config{}, fmt.Errorf("teamsadmin config: %w", err)
	}
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
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

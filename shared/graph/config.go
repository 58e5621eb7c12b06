package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/raprov/raprov/shared/cloud"
	"github.com/raprov/raprov/shared/graph/budget"
)

// Public cloud endpoints, the defaults of Config.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultBaseURL       = "https://graph.microsoft.com/v1.0"
	DefaultScope         = "https://graph.microsoft.com/.default"
)

// EnvPrefix is the environment prefix ConfigFromEnv reads:
// RAPROV_GRAPH_TENANT_ID, RAPROV_GRAPH_BASE_URL, and so on.
const EnvPrefix = "RAPROV_GRAPH"

// ConfigFromEnv reads a Config from RAPROV_GRAPH_* environment variables.
// The cloud named by RAPROV_CLOUD (package cloud; public when unset)
// supplies the authority host, base URL and scope; RAPROV_GRAPH_AUTHORITY_HOST,
// RAPROV_GRAPH_BASE_URL and RAPROV_GRAPH_SCOPE, when set, win over it.
// RAPROV_GRAPH_TENANT_ID and RAPROV_GRAPH_CLIENT_ID are required.
func ConfigFromEnv() (Config, error) {
	cl, err := cloud.FromEnv()
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := processEnv()
	if err != nil {
		return Config{}, err
	}
	for _, key := range []string{"TENANT_ID", "CLIENT_ID"} {
		if _, ok := os.LookupEnv(EnvPrefix + "_" + key); !ok {
			// envconfig's wording, from when the tags said required.
			return Config{}, fmt.Errorf("config: required key %s_%s missing value", EnvPrefix, key)
		}
	}
	return c.withCloud(cl, envSet), nil
}

// ConfigFromEnvAt reads RAPROV_GRAPH_* as ConfigFromEnv does, for a stand-in
// for Microsoft such as a simulator, described by at:
//
//   - at's AuthorityHost, BaseURL and DisableInstanceDiscovery are used
//     whatever the variables say (RAPROV_CLOUD is not read);
//   - at's Scope serves unless RAPROV_GRAPH_SCOPE is set;
//   - at's TenantID and ClientID serve unless RAPROV_GRAPH_TENANT_ID or
//     RAPROV_GRAPH_CLIENT_ID is set, and its ClientSecret unless a client
//     secret or a certificate path is: a configured credential is used as
//     given, so a wrong one is refused by the stand-in's token endpoint;
//   - every other field (headroom, time scale, retries, waits, timeout,
//     owner attribute…) is the variables' or their default.
func ConfigFromEnvAt(at Config) (Config, error) {
	c, err := processEnv()
	if err != nil {
		return Config{}, err
	}
	c.AuthorityHost, c.BaseURL, c.DisableInstanceDiscovery = at.AuthorityHost, at.BaseURL, at.DisableInstanceDiscovery
	if !envSet("SCOPE") {
		c.Scope = at.Scope
	}
	if c.TenantID == "" {
		c.TenantID = at.TenantID
	}
	if c.ClientID == "" {
		c.ClientID = at.ClientID
	}
	if c.ClientSecret == "" && c.CertificatePath == "" {
		c.ClientSecret = at.ClientSecret
	}
	return c, nil
}

// processEnv reads the RAPROV_GRAPH_* variables into a Config.
func processEnv() (Config, error) {
	var c Config
	if err := envconfig.Process(EnvPrefix, &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// envSet reports whether RAPROV_GRAPH_KEY is set to a value.
func envSet(key string) bool { return os.Getenv(EnvPrefix+"_"+key) != "" }

// withCloud replaces the endpoints not set explicitly (set reports whether
// the variable KEY, without prefix, is set) with cl's.
func (c Config) withCloud(cl cloud.Cloud, set func(key string) bool) Config {
	if !set("AUTHORITY_HOST") {
		c.AuthorityHost = cl.AuthorityHost
	}
	if !set("BASE_URL") {
		c.BaseURL = cl.GraphBaseURL
	}
	if !set("SCOPE") {
		c.Scope = cl.GraphScope
	}
	return c
}

// Config configures a Client. Field tags name environment variables without
// a prefix; the caller chooses one, e.g. envconfig.Process("RAPROV_GRAPH", &c)
// reads RAPROV_GRAPH_TENANT_ID. Zero values mean the documented defaults.
// TenantID and ClientID are required by New and ConfigFromEnv, not by their
// tags: ConfigFromEnvAt lets a stand-in supply them.
type Config struct {
	// TenantID is the Entra tenant (directory) id.
	TenantID string `envconfig:"TENANT_ID"`
	// ClientID is the application (client) id of the app registration.
	ClientID string `envconfig:"CLIENT_ID"`
	// ClientSecret authenticates the app. Set it or CertificatePath.
	ClientSecret Secret `envconfig:"CLIENT_SECRET"`
	// CertificatePath is a PEM or PKCS#12 (PFX) file holding the app's
	// certificate and private key; it wins over ClientSecret.
	CertificatePath string `envconfig:"CERTIFICATE_PATH"`
	// CertificatePassword decrypts a PKCS#12 file; empty when unencrypted.
	CertificatePassword Secret `envconfig:"CERTIFICATE_PASSWORD"`
	// AuthorityHost is the Entra ID login endpoint (national clouds, simulator).
	AuthorityHost string `envconfig:"AUTHORITY_HOST" default:"https://login.microsoftonline.com/"`
	// DisableInstanceDiscovery skips Entra instance discovery; needed when
	// AuthorityHost is not a Microsoft cloud (the simulator).
	DisableInstanceDiscovery bool `envconfig:"DISABLE_INSTANCE_DISCOVERY"`
	// BaseURL is Graph's service root including the version segment.
	BaseURL string `envconfig:"BASE_URL" default:"https://graph.microsoft.com/v1.0"`
	// Scope is the OAuth scope requested; national clouds use their Graph
	// host's, e.g. https://graph.microsoft.us/.default.
	Scope string `envconfig:"SCOPE" default:"https://graph.microsoft.com/.default"`
	// TenantUsers selects the identity resource-unit tier (under 50, 50–500,
	// over 500 users); 0 means the smallest tier.
	TenantUsers int `envconfig:"TENANT_USERS"`
	// Headroom is the fraction of each Graph quota the budget uses.
	Headroom float64 `envconfig:"HEADROOM" default:"0.9"`
	// TimeScale multiplies the budget's windows to match a time-scaled
	// simulator (0.01: the 10 s window lasts 100 ms).
	TimeScale float64 `envconfig:"TIME_SCALE" default:"1"`
	// Share divides the tenant's quotas among this many processes that call
	// Graph in parallel (e.g. a step's Lambda MaximumConcurrency); 0 or 1
	// means this process has the whole quota.
	Share int `envconfig:"SHARE"`
	// MaxRetries bounds the in-process retries of a throttled (429) or
	// unavailable (503, 504) call; 0 disables them.
	MaxRetries int `envconfig:"MAX_RETRIES" default:"2"`
	// MaxWait is the longest a call waits in process, for a Retry-After or
	// for the tenant's budget; a longer wait is returned at once as a
	// Throttled error carrying it, for the queue to delay the message.
	MaxWait time.Duration `envconfig:"MAX_WAIT" default:"10s"`
	// Timeout bounds one call including its retries.
	Timeout time.Duration `envconfig:"TIMEOUT" default:"60s"`
	// OwnerAttribute is the number (1–15) of the onPremisesExtensionAttributes
	// extensionAttribute that holds the ownership mark of the accounts raprov
	// creates (see docs/ownership.md).
	// Pick one the tenant does not use for anything else.
	OwnerAttribute int `envconfig:"OWNER_ATTRIBUTE" default:"15"`
}

// withDefaults fills zero fields with the defaults envconfig would set, for
// callers that build a Config in code. MaxRetries 0 is kept: it is a
// meaningful value.
func (c Config) withDefaults() Config {
	if c.AuthorityHost == "" {
		c.AuthorityHost = DefaultAuthorityHost
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.Headroom <= 0 {
		c.Headroom = budget.DefaultHeadroom
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.OwnerAttribute == 0 {
		c.OwnerAttribute = DefaultOwnerAttribute
	}
	return c
}

// Limits returns the budget limits this configuration implies.
func (c Config) Limits() budget.Limits {
	c = c.withDefaults()
	l := budget.DefaultLimits(c.TenantUsers)
	l.Headroom = c.Headroom
	l.TimeScale = c.TimeScale
	return l.Share(c.Share)
}

func (c Config) validate() error {
	var errs []error
	if c.TenantID == "" {
		errs = append(errs, errors.New("tenant id is required"))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id is required"))
	}
	if c.ClientSecret == "" && c.CertificatePath == "" {
		errs = append(errs, errors.New("a client secret or a certificate path is required"))
	}
	for _, u := range []struct{ name, raw string }{{"base URL", c.BaseURL}, {"authority host", c.AuthorityHost}} {
		p, err := url.Parse(u.raw)
		if err != nil || p.Scheme != "https" || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q must be an absolute https URL", u.name, u.raw))
		}
	}
	if c.MaxRetries < 0 {
		errs = append(errs, errors.New("max retries must not be negative"))
	}
	if _, ok := ownerAttributes[c.OwnerAttribute]; !ok {
		errs = append(errs, fmt.Errorf("owner attribute %d must be between 1 and 15 (extensionAttribute1–15)", c.OwnerAttribute))
	}
	return errors.Join(errs...)
}

// Secret is a string that never prints: fmt verbs, %#v, encoding/json and
// log/slog all render it as "[REDACTED]". Reveal returns the value for the
// one place that needs it.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return `graph.Secret("` + redacted + `")` }

// Format implements fmt.Formatter, covering every verb (%s, %q, %x, %v…).
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by text encoders and
// as a map key).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

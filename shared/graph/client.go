package graph

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/retryafter"
	"github.com/raprov/raprov/shared/steps"
)

var (
	_ steps.Licenses = (*Client)(nil)
	_ steps.Accounts = (*Client)(nil)
	_ steps.Numbers  = (*Client)(nil)
)

// sdkVersion is reported in Graph's SdkVersion telemetry header, as the
// SDK's own client does.
const sdkVersion = "1.89.0"

// Client is the Microsoft Graph adapter. It is safe for concurrent use.
type Client struct {
	adapter abs.RequestAdapter
	budget  *budget.Budget
	log     *slog.Logger
	cred    azcore.TokenCredential
	owner   ownerAttribute // where the ownership mark of created accounts lives
}

type options struct {
	httpClient *http.Client
	budget     *budget.Budget
	log        *slog.Logger
}

// Option configures a Client.
type Option func(*options)

// WithHTTPClient sets the HTTP client whose Transport carries Graph and token
// requests, e.g. one that trusts a test server's certificate. Its Timeout
// and redirect policy are not used: Config.Timeout applies, and redirects
// are never followed.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBudget sets the throttling budget; the default is
// budget.ForTenant(cfg.TenantID, cfg.Limits()).
func WithBudget(b *budget.Budget) Option { return func(o *options) { o.budget = b } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New returns a Client for cfg. It reads the certificate file, if any, but
// makes no network call: the first Graph call fetches the token.
func New(cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("graph: invalid config: %w", err)
	}
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.budget == nil {
		o.budget = budget.ForTenant(cfg.TenantID, cfg.Limits())
	}
	base := http.DefaultTransport
	if o.httpClient != nil && o.httpClient.Transport != nil {
		base = o.httpClient.Transport
	}
	baseURL, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("graph: base URL: %w", err)
	}

	cred, err := credential(cfg, &http.Client{Transport: base, Timeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	// Tokens go to the configured Graph host only; kiota sends a request to
	// any other host without one.
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{cfg.Scope}, []string{baseURL.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: authentication provider: %w", err)
	}

	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(
			&pacer{next: base, budget: o.budget, basePath: strings.TrimRight(baseURL.Path, "/"), maxWait: cfg.MaxWait, log: o.log},
			middlewares(cfg)...),
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, core.GraphClientOptions{GraphServiceLibraryVersion: sdkVersion}, parseNodeFactory(), serializationWriterFactory(), httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	adapter.SetBaseUrl(cfg.BaseURL)

	return &Client{
		adapter: adapter,
		budget:  o.budget,
		log:     o.log,
		cred:    cred,
		owner:   ownerAttributes[cfg.OwnerAttribute],
	}, nil
}

// usersBuilder returns a new /users request builder. Builders are made per
// call: kiota writes the base URL into a builder's path-parameter map on
// every request, so one shared builder races under concurrent calls.
func (c *Client) usersBuilder() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, c.adapter)
}

// skusBuilder returns a new /subscribedSkus request builder (see usersBuilder).
func (c *Client) skusBuilder() *subscribedskus.SubscribedSkusRequestBuilder {
	return subscribedskus.NewSubscribedSkusRequestBuilderInternal(map[string]string{}, c.adapter)
}

// Budget returns the throttling budget the client paces its calls by.
func (c *Client) Budget() *budget.Budget { return c.budget }

// Credential returns the client's token source, so other adapters of the
// same app registration (the Teams admin back end) share its token cache.
func (c *Client) Credential() azcore.TokenCredential { return c.cred }

// credential returns the client-credentials token source: a certificate when
// CertificatePath is set, else the client secret.
func credential(cfg Config, hc *http.Client) (azcore.TokenCredential, error) {
	retry := policy.RetryOptions{MaxRetries: int32(min(cfg.MaxRetries, 10)), MaxRetryDelay: cfg.MaxWait}
	if cfg.MaxRetries == 0 {
		retry.MaxRetries = -1 // azcore reads 0 as "default (3)"
	}
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost},
		Transport: hc,
		Retry:     retry,
	}
	if cfg.CertificatePath != "" {
		data, err := os.ReadFile(cfg.CertificatePath)
		if err != nil {
			return nil, fmt.Errorf("graph: read certificate: %w", err)
		}
		var password []byte
		if cfg.CertificatePassword != "" {
			password = []byte(cfg.CertificatePassword.Reveal())
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			// ParseCertificates' errors describe the file, never the password.
			return nil, fmt.Errorf("graph: parse certificate %s: %w", cfg.CertificatePath, err)
		}
		cred, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cfg.DisableInstanceDiscovery})
		if err != nil {
			return nil, fmt.Errorf("graph: certificate credential: %w", err)
		}
		return newCachedCredential(cred, nil), nil
	}
	cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret.Reveal(),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cfg.DisableInstanceDiscovery})
	if err != nil {
		// azidentity validates the tenant id and that the secret is not
		// empty; its errors never include the secret.
		return nil, fmt.Errorf("graph: client secret credential: %w", err)
	}
	return newCachedCredential(cred, nil), nil
}

// middlewares returns kiota's and Graph's default handlers in a fixed order
// (kiota's own default list comes out of a map, in random order), with the
// retry handler configured by retryOptions and placed innermost so that every
// attempt passes the budget.
//
// Request-body compression is off: the compression handler is left out.
// kiota gzips every body by default, but
// Microsoft's SDK maintainers state that Graph does not support compressed
// request bodies (microsoftgraph/msgraph-sdk-go-core#295,
// microsoftgraph/msgraph-sdk-go#747), an API that cannot read one answers 400
// instead of the 415 the handler's fallback needs, and raprov's bodies are a
// few hundred bytes.
func middlewares(cfg Config) []khttp.Middleware {
	return []khttp.Middleware{
		core.NewGraphTelemetryHandler(&core.GraphClientOptions{GraphServiceLibraryVersion: sdkVersion}),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
		khttp.NewRedirectHandler(),
		khttp.NewRetryHandlerWithOptions(retryOptions(cfg)),
	}
}

// retryOptions bounds kiota's retry handler, which retries 429, 503 and 504
// after Retry-After (or an exponential delay). Retries stay in process only
// while they are few and short: at most MaxRetries, none whose wait would
// take the call past MaxWait. Beyond that the response is returned and
// becomes a Throttled or Unavailable error carrying Retry-After, so the
// queue transport can delay the message instead of keeping a function busy.
// A 504 is retried only for GET: the write it answers may have happened.
func retryOptions(cfg Config) khttp.RetryHandlerOptions {
	const delaySeconds = 1
	return khttp.RetryHandlerOptions{
		// kiota reads MaxRetries < 1 as its default of 3; ShouldRetry
		// enforces cfg.MaxRetries, including 0.
		MaxRetries:   max(cfg.MaxRetries, 1),
		DelaySeconds: delaySeconds,
		ShouldRetry: func(waited time.Duration, attempt int, req *http.Request, resp *http.Response) bool {
			if attempt >= cfg.MaxRetries {
				return false
			}
			if resp.StatusCode == http.StatusGatewayTimeout && req.Method != http.MethodGet {
				return false
			}
			next, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
			if !ok {
				// kiota's exponential backoff plus up to 1 s of jitter.
				next = time.Duration(delaySeconds<<attempt)*time.Second + time.Second
			}
			return waited+next <= cfg.MaxWait
		},
	}
}

// parseNodeFactory and serializationWriterFactory register JSON only: the
// SDK's root package registers text, form and multipart too, which no call
// here uses, and would link the whole Graph client (hundreds of packages).
func parseNodeFactory() absser.ParseNodeFactory {
	r := absser.NewParseNodeFactoryRegistry()
	f := jsonser.NewJsonParseNodeFactory()
	ct, _ := f.GetValidContentType()
	r.ContentTypeAssociatedFactories[ct] = f
	return r
}

func serializationWriterFactory() absser.SerializationWriterFactory {
	r := absser.NewSerializationWriterFactoryRegistry()
	f := jsonser.NewJsonSerializationWriterFactory()
	ct, _ := f.GetValidContentType()
	r.ContentTypeAssociatedFactories[ct] = f
	return r
}

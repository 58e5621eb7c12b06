package graphsim

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515)
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// accessClaims are the claims of the access tokens the simulator issues.
// As in Entra's app-only tokens, roles lists the application permissions
// granted on the token's resource (Graph) and wids the template ids of the
// directory roles held by the application's service principal (carried in
// tokens for the Teams admin back end, which authorises by them).
// Delegated tokens (devicecode.go) add scp, the signed-in user's oid and
// upn, and carry the user's directory roles in wids.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid"`
	Roles    []string `json:"roles,omitempty"`
	Wids     []string `json:"wids,omitempty"`
	Scope    string   `json:"scp,omitempty"`
	ObjectID string   `json:"oid,omitempty"`
	UPN      string   `json:"upn,omitempty"`
}

// principal is the application behind a valid bearer token, with what the
// token grants.
type principal struct {
	clientID string
	audience string
	roles    []string
	wids     []string
	// scope is the scp of a delegated token, empty for app-only ones.
	scope string
}

// knownTenant accepts the tenant id or one of its verified domains.
func (s *Server) knownTenant(t string) bool {
	return strings.EqualFold(t, s.cfg.TenantID) || s.dir.verified(t)
}

// aadError writes a Microsoft identity platform error response.
func aadError(w http.ResponseWriter, r *http.Request, status int, errCode string, aadsts int, description string) {
	now := odata.Now(r.Context()).UTC()
	trace := w.Header().Get("request-id")
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = uuid.NewString()
	}
	odata.WriteJSON(w, status, map[string]any{
		"error": errCode,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aadsts, description, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{aadsts},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      baseURL(r) + fmt.Sprintf("/error?code=%d", aadsts),
	})
}

func tenantNotFound(w http.ResponseWriter, r *http.Request, errCode, tenant string) {
	aadError(w, r, http.StatusBadRequest, errCode, 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
}

// openIDConfiguration serves GET /{tenant}/v2.0/.well-known/openid-configuration.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !s.knownTenant(tenant) {
		tenantNotFound(w, r, "invalid_tenant", tenant)
		return
	}
	base := baseURL(r)
	odata.WriteJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/" + tenant + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/" + tenant + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/" + s.cfg.TenantID + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/" + tenant + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/" + tenant + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/" + tenant + "/oauth2/v2.0/logout",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// instanceDiscovery serves GET /common/discovery/instance, which MSAL calls
// for authorities it does not know unless instance discovery is disabled.
func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := s.cfg.TenantID
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil {
			if seg := strings.Split(strings.Trim(u.Path, "/"), "/"); len(seg) > 0 && seg[0] != "" {
				tenant = seg[0]
			}
		}
	}
	odata.WriteJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": r.Host,
			"preferred_cache":   r.Host,
			"aliases":           []string{r.Host},
		}},
	})
}

// resourceOf maps a client-credentials scope to the token audience.
func resourceOf(scope string) (audience string, ok bool) {
	resource := strings.TrimSuffix(strings.TrimSuffix(scope, "/.default"), "/")
	switch strings.ToLower(resource) {
	case graphAudience, "00000003-0000-0000-c000-000000000000":
		return graphAudience, true
	case teamsAudience, "api://" + teamsAudience:
		return teamsAudience, true
	}
	return "", false
}

// token serves POST /{tenant}/oauth2/v2.0/token for the client-credentials
// grant, authenticated by client secret or certificate-signed assertion,
// and the delegated device_code and refresh_token grants (devicecode.go).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	info := requestInfoFrom(r.Context())
	tenant := r.PathValue("tenant")
	if !s.knownTenant(tenant) {
		tenantNotFound(w, r, "invalid_request", tenant)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	grant := form.Get("grant_type")
	if grant == "" {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	switch grant {
	case deviceCodeGrant:
		s.redeemDeviceCode(w, r, form)
		return
	case "refresh_token":
		s.redeemRefreshToken(w, r, form)
		return
	}
	if grant != "client_credentials" {
		aadError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
		return
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	info.clientID = clientID
	if !strings.EqualFold(clientID, s.cfg.ClientID) {
		aadError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
		return
	}
	var scopes []string
	for _, sc := range strings.Fields(form.Get("scope")) {
		if !slices.Contains([]string{"openid", "offline_access", "profile"}, sc) {
			scopes = append(scopes, sc)
		}
	}
	info.scope = strings.Join(scopes, " ")
	if len(scopes) == 0 {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if len(scopes) > 1 || !strings.HasSuffix(scopes[0], "/.default") {
		aadError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", strings.Join(scopes, " ")))
		return
	}
	audience, ok := resourceOf(scopes[0])
	if !ok {
		aadError(w, r, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
			"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
			strings.TrimSuffix(scopes[0], "/.default"), tenant))
		return
	}
	secret, assertion := form.Get("client_secret"), form.Get("client_assertion")
	switch {
	case secret != "":
		if subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1 {
			aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		}
		info.credential = "secret"
	case assertion != "":
		if form.Get("client_assertion_type") != clientAssertionType {
			aadError(w, r, http.StatusBadRequest, "invalid_request", 90014, "The request body must contain the following parameter: 'client_assertion_type'.")
			return
		}
		if status, code, desc := s.verifyAssertion(assertion, clientID, r); status != 0 {
			aadError(w, r, status, "invalid_client", code, desc)
			return
		}
		info.credential = "certificate"
	default:
		aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	now := s.now()
	lifetime := s.cfg.TokenLifetime
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://sts.windows.net/" + s.cfg.TenantID + "/",
			Subject:   clientID,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		TenantID: s.cfg.TenantID,
		AppID:    clientID,
	}
	grants := s.Grants()
	switch audience {
	case graphAudience:
		claims.Roles = grants.Permissions
	case teamsAudience:
		claims.Wids = grants.Roles
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.tokenKey)
	if err != nil {
		aadError(w, r, http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again.")
		return
	}
	s.countToken(scopes[0])
	w.Header().Set("Cache-Control", "no-store, no-cache")
	odata.WriteJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(lifetime.Seconds()),
		"ext_expires_in": int(lifetime.Seconds()),
		"access_token":   signed,
	})
}

// verifyAssertion checks a client assertion the way the identity platform
// documents it: signed (PS256 or RS256) by the registered certificate named
// by its x5t#S256 or x5t header, aud the token endpoint, iss and sub the
// client id, within its validity period. It returns a zero status when the
// assertion is good, else the status, AADSTS code and description.
func (s *Server) verifyAssertion(assertion, clientID string, r *http.Request) (int, int, string) {
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"PS256", "RS256", "ES256"}),
		jwt.WithLeeway(5*time.Minute),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	_, err := parser.ParseWithClaims(assertion, &claims, func(t *jwt.Token) (any, error) {
		if s.cfg.ClientCertificate == nil || !thumbprintMatches(t.Header, s.cfg.ClientCertificate) {
			return nil, errKeyNotFound
		}
		return s.cfg.ClientCertificate.PublicKey, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, errKeyNotFound):
		return http.StatusUnauthorized, 700027, "Client assertion failed signature validation. [Reason - The key was not found.]"
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return http.StatusUnauthorized, 700024, "Client assertion is not within its valid time range."
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return http.StatusUnauthorized, 700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]"
	default:
		return http.StatusBadRequest, 50027, "JWT token is invalid or malformed."
	}
	if !strings.EqualFold(claims.Issuer, clientID) || !strings.EqualFold(claims.Subject, clientID) {
		return http.StatusUnauthorized, 700021, "Client assertion application identifier doesn't match 'client_id' parameter."
	}
	audOK := slices.ContainsFunc(claims.Audience, func(a string) bool {
		u, err := url.Parse(a)
		return err == nil && strings.EqualFold(strings.TrimSuffix(u.Path, "/"), r.URL.Path)
	})
	if !audOK {
		return http.StatusUnauthorized, 700212, "Client assertion audience claim does not match the token endpoint."
	}
	return 0, 0, ""
}

var errKeyNotFound = errors.New("assertion key not found")

// thumbprintMatches compares the x5t#S256 (SHA-256) or x5t (SHA-1) header
// with cert's thumbprint, base64url as RFC 7515 says or standard base64 as
// MSAL writes it.
func thumbprintMatches(header map[string]any, cert *x509.Certificate) bool {
	s256 := sha256.Sum256(cert.Raw)
	s1 := sha1.Sum(cert.Raw) //nolint:gosec // see import
	check := func(key string, want []byte) bool {
		v, ok := header[key].(string)
		if !ok {
			return false
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			if got, err := enc.DecodeString(v); err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
				return true
			}
		}
		return false
	}
	return check("x5t#S256", s256[:]) || check("x5t", s1[:])
}

// authenticate validates the request's bearer token for audience. It returns
// the message of Graph's 401 when the token is missing or invalid.
func (s *Server) authenticate(r *http.Request, audience string) (principal, string) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return principal{}, "Access token is empty."
	}
	claims, err := s.verifyAccessToken(strings.TrimSpace(tok), s.now())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return principal{}, "Lifetime validation failed, the token is expired."
	case err != nil:
		return principal{}, "Access token validation failure."
	case !strings.EqualFold(claims.TenantID, s.cfg.TenantID):
		return principal{}, "Access token validation failure. Invalid tenant."
	case !slices.Contains(claims.Audience, audience):
		return principal{}, "Access token validation failure. Invalid audience."
	}
	return principal{clientID: claims.AppID, audience: audience, roles: claims.Roles, wids: claims.Wids, scope: claims.Scope}, ""
}

// maxVerifiedTokens bounds the cache of verified access tokens; it is
// emptied when full. Clients hold one token per scope for an hour, so a
// handful of entries serve every request.
const maxVerifiedTokens = 1024

// verifiedToken is an access token whose signature and claims were
// checked once; only its lifetime needs checking again.
type verifiedToken struct {
	claims             accessClaims
	notBefore, expires time.Time
}

// verifyAccessToken validates a bearer token the simulator issued: HS256
// signature with its key, expiry required. A token verified before is
// looked up instead of parsed and hashed again, its lifetime still checked
// against now; the errors are jwt's.
func (s *Server) verifyAccessToken(tok string, now time.Time) (accessClaims, error) {
	if v, ok := s.verified.Load(tok); ok {
		vt := v.(verifiedToken)
		switch {
		case !now.Before(vt.expires):
			return accessClaims{}, jwt.ErrTokenExpired
		case now.Before(vt.notBefore):
			return accessClaims{}, jwt.ErrTokenNotValidYet
		}
		return vt.claims, nil
	}
	var claims accessClaims
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return s.tokenKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return accessClaims{}, err
	}
	vt := verifiedToken{claims: claims, expires: claims.ExpiresAt.Time}
	if claims.NotBefore != nil {
		vt.notBefore = claims.NotBefore.Time
	}
	if s.verifiedCount.Add(1) > maxVerifiedTokens {
		s.verified.Clear()
		s.verifiedCount.Store(1)
	}
	s.verified.Store(tok, vt)
	return claims, nil
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, message string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/%s/oauth2/v2.0/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
		baseURL(r), s.cfg.TenantID))
	odata.WriteError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", message)
}

func (s *Server) countToken(scope string) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.tokens[scope]++
}

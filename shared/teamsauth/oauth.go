package teamsauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Endpoint is where a sign-in happens: the identity platform of a cloud,
// the tenant, the public client application and the resource scope.
type Endpoint struct {
	// AuthorityHost is the Entra ID login endpoint, e.g.
	// https://login.microsoftonline.us/ (or a simulator's URL).
	AuthorityHost string
	// TenantID is the directory (tenant) id or a verified domain.
	TenantID string
	// ClientID is the application that signs in; it must allow public
	// client flows (Entra admin center: Authentication → Allow public
	// client flows).
	ClientID string
	// Scope is the resource scope, e.g.
	// 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default; offline_access is
	// added to every request.
	Scope string
	// HTTPClient sends the requests; nil is a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Error is a sign-in failure that only the operator can fix, usually by
// running `raprov login` again. It never contains a token.
type Error struct {
	Op      string // "login", "refresh", "load"
	Code    string // the identity platform's error code (invalid_grant, …), if any
	AADSTS  int    // its AADSTS number, if any
	Message string // what happened and what to do
}

func (e *Error) Error() string {
	msg := "teams admin sign-in: " + e.Message
	switch {
	case e.Code != "" && e.AADSTS != 0:
		msg += fmt.Sprintf(" (%s, AADSTS%d)", e.Code, e.AADSTS)
	case e.Code != "":
		msg += " (" + e.Code + ")"
	}
	return msg
}

// NonRetriable marks the error as one retrying cannot fix, as azidentity's
// authentication failures do.
func (e *Error) NonRetriable() {}

// validate checks the endpoint; plain http only on loopback (tests).
func (e Endpoint) validate() error {
	u, err := url.Parse(e.AuthorityHost)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("teams admin sign-in: authority host %q must be an absolute URL", e.AuthorityHost)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("teams admin sign-in: authority host %q must use https", e.AuthorityHost)
	}
	switch {
	case strings.TrimSpace(e.TenantID) == "":
		return errors.New("teams admin sign-in: tenant id is empty")
	case strings.TrimSpace(e.ClientID) == "":
		return errors.New("teams admin sign-in: client id is empty")
	case strings.TrimSpace(e.Scope) == "":
		return errors.New("teams admin sign-in: scope is empty")
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

func (e Endpoint) url(endpoint string) string {
	return strings.TrimRight(e.AuthorityHost, "/") + "/" + url.PathEscape(e.TenantID) + "/oauth2/v2.0/" + endpoint
}

func (e Endpoint) client() *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// sameAs reports whether t was issued for e (authority, tenant, client).
func (e Endpoint) sameAs(t Token) bool {
	norm := func(s string) string { return strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "/")) }
	return norm(e.AuthorityHost) == norm(t.AuthorityHost) && norm(e.TenantID) == norm(t.TenantID) && norm(e.ClientID) == norm(t.ClientID)
}

// scopes is the scope parameter of every request.
func (e Endpoint) scopes(extra ...string) string {
	return strings.Join(append([]string{e.Scope, "offline_access"}, extra...), " ")
}

// tokenResponse is the identity platform's answer from /token and
// /devicecode, success or error.
type tokenResponse struct {
	TokenType    string  `json:"token_type"`
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	IDToken      string  `json:"id_token"`
	ExpiresIn    seconds `json:"expires_in"`
	Scope        string  `json:"scope"`

	DeviceCode      string  `json:"device_code"`
	UserCode        string  `json:"user_code"`
	VerificationURI string  `json:"verification_uri"`
	VerificationURL string  `json:"verification_url"` // the v1 endpoint's spelling
	Interval        seconds `json:"interval"`
	Message         string  `json:"message"`

	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
}

// seconds decodes a JSON number or numeric string (some servers quote them).
type seconds int

func (s *seconds) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var str string
		if json.Unmarshal(b, &str) != nil {
			return err
		}
		n = json.Number(str)
	}
	v, err := n.Int64()
	if err != nil {
		return err
	}
	*s = seconds(v)
	return nil
}

func (s seconds) duration() time.Duration { return time.Duration(s) * time.Second }

// post sends a form to one of the OAuth endpoints. A transport failure or a
// response that is neither JSON success nor a JSON OAuth error is returned
// as a plain (transient) error naming the endpoint only.
func (e Endpoint) post(ctx context.Context, endpoint string, form url.Values) (tokenResponse, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url(endpoint), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, 0, fmt.Errorf("teams admin sign-in: %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := e.client().Do(req)
	if err != nil {
		// *url.Error names the URL (authority, tenant, endpoint); the
		// secrets travel in the body.
		return tokenResponse{}, 0, fmt.Errorf("teams admin sign-in: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, resp.StatusCode, fmt.Errorf("teams admin sign-in: %s: read response: %w", endpoint, err)
	}
	var tr tokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		return tokenResponse{}, resp.StatusCode, fmt.Errorf("teams admin sign-in: %s: HTTP %d with a body that is not JSON", endpoint, resp.StatusCode)
	}
	if resp.StatusCode/100 != 2 && tr.Error == "" {
		return tokenResponse{}, resp.StatusCode, fmt.Errorf("teams admin sign-in: %s: HTTP %d", endpoint, resp.StatusCode)
	}
	return tr, resp.StatusCode, nil
}

// aadsts returns the response's first AADSTS code.
func (tr tokenResponse) aadsts() int {
	if len(tr.ErrorCodes) > 0 {
		return tr.ErrorCodes[0]
	}
	return 0
}

// summary is the first sentence of the error description without the
// trace and correlation ids, with any of secrets removed.
func (tr tokenResponse) summary(secrets ...string) string {
	d := tr.ErrorDescription
	for _, cut := range []string{"\r", "\n", " Trace ID:"} {
		if i := strings.Index(d, cut); i >= 0 {
			d = d[:i]
		}
	}
	if _, rest, ok := strings.Cut(d, ": "); ok && strings.HasPrefix(d, "AADSTS") {
		d = rest
	}
	for _, s := range secrets {
		if s != "" {
			d = strings.ReplaceAll(d, s, redacted)
		}
	}
	d = strings.TrimSpace(d)
	if len(d) > 240 {
		d = d[:240] + "…"
	}
	return d
}

// accountOf reads the signed-in user's name from an ID token without
// verifying it: it is only shown to the operator, never trusted.
func accountOf(idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c struct {
		PreferredUsername string `json:"preferred_username"`
		UPN               string `json:"upn"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	if c.PreferredUsername != "" {
		return c.PreferredUsername
	}
	return c.UPN
}

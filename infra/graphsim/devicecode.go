package graphsim

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// Delegated sign-in: the device authorization grant (RFC 8628 as the
// Microsoft identity platform serves it) and the refresh-token grant, for
// clients that call the Teams admin back end as a signed-in administrator.
// A test (or an operator, through /_sim/signins) approves a pending code
// for a directory user; the tokens then carry scp and the user's directory
// roles in wids, which the Teams routes check (permissions.go).
//
// Deliberate differences from Entra ID, so that clients are tested
// strictly: a redeemed refresh token is dead (Entra keeps the old one valid
// until it expires; a client that does not keep the rotated token fails
// here), and delegated tokens are issued for the Teams admin back end only
// (raprov's Graph side stays app-only).

// SignInUser is the administrator who approves a device code.
type SignInUser struct {
	// UserPrincipalName names an enabled user of the directory.
	UserPrincipalName string `json:"userPrincipalName"`
	// Roles are the directory role template ids the user holds (the wids
	// of their tokens); nil means Teams Administrator and User
	// Administrator, an empty slice none.
	Roles []string `json:"roles"`
}

// PendingSignIn is a device code waiting for approval. It never carries
// the device code itself.
type PendingSignIn struct {
	UserCode  string    `json:"userCode"`
	ClientID  string    `json:"clientId"`
	Scope     string    `json:"scope"`
	Expires   time.Time `json:"expires"`
	Polls     int       `json:"polls"`
	SlowDowns int       `json:"slowDowns"`
}

// SignInSession is a live or ended delegated session (one refresh token
// chain). Tokens are never shown.
type SignInSession struct {
	UserPrincipalName string    `json:"userPrincipalName"`
	ClientID          string    `json:"clientId"`
	Roles             []string  `json:"roles"`
	SignedIn          time.Time `json:"signedIn"`
	// Redemptions counts refresh-token redemptions (each one rotates).
	Redemptions int  `json:"redemptions"`
	Revoked     bool `json:"revoked"`
}

// SignIns is the delegated sign-in state.
type SignIns struct {
	Pending  []PendingSignIn `json:"pending"`
	Sessions []SignInSession `json:"sessions"`
}

// Defaults of the sign-in timings (Config fields).
const (
	DefaultDeviceCodeInterval   = 5 * time.Second // the identity platform's interval
	DefaultDeviceCodeLifetime   = 15 * time.Minute
	DefaultRefreshTokenLifetime = 90 * 24 * time.Hour

	deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
	// delegatedTeamsScope is the scp of delegated Teams admin tokens, the
	// permission Teams PowerShell requests (inferred as the token's scp).
	delegatedTeamsScope = "user_impersonation"
	// maxDeviceCodes bounds the pending codes; the oldest are dropped.
	maxDeviceCodes = 1000
	// maxRefreshTokens bounds the refresh tokens remembered, dead ones
	// included (so that a reused one gets its specific error).
	maxRefreshTokens = 20000
)

// signIns is the server's delegated sign-in state; its zero value is ready.
type signIns struct {
	mu       sync.Mutex
	codes    map[string]*deviceAuth // by device code
	byUser   map[string]*deviceAuth // by user code
	refresh  map[string]*refreshTok // by refresh token
	sessions []*session
}

type deviceAuth struct {
	deviceCode, userCode string
	clientID, scope      string // scope as requested (all of it)
	issued, expires      time.Time
	lastPoll             time.Time
	polls, slowDowns     int
	approved             *SignInUser
	userID, displayName  string
	declined             bool
}

type session struct {
	user        SignInUser
	userID      string
	displayName string
	clientID    string
	signedIn    time.Time
	redemptions int
	revoked     bool
}

type refreshTok struct {
	s        *session
	expires  time.Time
	redeemed bool
}

func (si *signIns) init() {
	if si.codes == nil {
		si.codes, si.byUser, si.refresh = map[string]*deviceAuth{}, map[string]*deviceAuth{}, map[string]*refreshTok{}
	}
}

func (c Config) deviceCodeInterval() time.Duration {
	if c.DeviceCodeInterval > 0 {
		return c.DeviceCodeInterval
	}
	return DefaultDeviceCodeInterval
}

func (c Config) deviceCodeLifetime() time.Duration {
	if c.DeviceCodeLifetime > 0 {
		return c.DeviceCodeLifetime
	}
	return DefaultDeviceCodeLifetime
}

func (c Config) refreshTokenLifetime() time.Duration {
	if c.RefreshTokenLifetime > 0 {
		return c.RefreshTokenLifetime
	}
	return DefaultRefreshTokenLifetime
}

// wholeSeconds is d in whole seconds, rounded up, at least 1 (the unit of
// interval and expires_in).
func wholeSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// signInRoutes registers the device-code endpoint and the /_sim/signins
// admin API; the token endpoint (auth.go) serves the grants.
func (s *Server) signInRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCode)
	m.HandleFunc("GET /_sim/signins", s.adminSignIns)
	m.HandleFunc("POST /_sim/signins/approve", s.adminApproveSignIn)
	m.HandleFunc("POST /_sim/signins/deny", s.adminDenySignIn)
	m.HandleFunc("POST /_sim/signins/revoke", s.adminRevokeSignIns)
}

// secretToken returns prefix and 32 random bytes, base64url. The prefixes
// (graphsim-dc., graphsim-rt.) let tests search logs for leaked secrets.
func secretToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// userCodeAlphabet avoids letters and digits that read alike.
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newUserCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// delegatedResource checks the scope parameter of a delegated request:
// exactly one resource scope besides openid, profile, email and
// offline_access, for the Teams admin back end, as /.default or
// /user_impersonation. It returns the resource scope and whether a refresh
// token (offline_access) and an ID token (openid) were asked for.
func delegatedResource(scopeParam string) (resource string, offline, openid bool, desc string) {
	var res []string
	for _, sc := range strings.Fields(scopeParam) {
		switch sc {
		case "offline_access":
			offline = true
		case "openid":
			openid = true
		case "profile", "email":
		default:
			res = append(res, sc)
		}
	}
	if len(res) != 1 {
		return "", false, false, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scopeParam)
	}
	i := strings.LastIndex(res[0], "/")
	if i <= 0 {
		return "", false, false, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", res[0])
	}
	aud, ok := resourceOf(res[0][:i] + "/.default")
	perm := res[0][i+1:]
	if !ok || aud != teamsAudience || (perm != ".default" && perm != delegatedTeamsScope) {
		return "", false, false, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. (The simulator issues delegated tokens for the Teams admin back end only.)", res[0])
	}
	return res[0], offline, openid, ""
}

// deviceCode serves POST /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	info := requestInfoFrom(r.Context())
	tenant := r.PathValue("tenant")
	if !s.knownTenant(tenant) {
		tenantNotFound(w, r, "invalid_request", tenant)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	clientID := r.PostForm.Get("client_id")
	info.clientID = clientID
	switch {
	case clientID == "":
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	case !strings.EqualFold(clientID, s.cfg.ClientID):
		aadError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant))
		return
	}
	scope := r.PostForm.Get("scope")
	if strings.TrimSpace(scope) == "" {
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if _, _, _, desc := delegatedResource(scope); desc != "" {
		aadError(w, r, http.StatusBadRequest, "invalid_scope", 70011, desc)
		return
	}
	info.scope = scope
	now := s.now()
	da := &deviceAuth{
		deviceCode: secretToken("graphsim-dc."), userCode: newUserCode(),
		clientID: clientID, scope: scope, issued: now, lastPoll: now,
		expires: now.Add(s.cfg.deviceCodeLifetime()),
	}
	si := &s.signIns
	si.mu.Lock()
	si.init()
	if len(si.codes) >= maxDeviceCodes {
		s.dropOldestCodeLocked()
	}
	si.codes[da.deviceCode], si.byUser[da.userCode] = da, da
	si.mu.Unlock()
	verify := baseURL(r) + "/devicelogin"
	odata.WriteJSON(w, http.StatusOK, map[string]any{
		"user_code":        da.userCode,
		"device_code":      da.deviceCode,
		"verification_uri": verify,
		"expires_in":       wholeSeconds(s.cfg.deviceCodeLifetime()),
		"interval":         wholeSeconds(s.cfg.deviceCodeInterval()),
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate. "+
			"(Simulator: approve it with POST /_sim/signins/approve.)", verify, da.userCode),
	})
}

func (s *Server) dropOldestCodeLocked() {
	si := &s.signIns
	var oldest *deviceAuth
	for _, da := range si.codes {
		if oldest == nil || da.issued.Before(oldest.issued) {
			oldest = da
		}
	}
	if oldest != nil {
		delete(si.codes, oldest.deviceCode)
		delete(si.byUser, oldest.userCode)
	}
}

// redeemDeviceCode serves the device_code grant of POST /{tenant}/oauth2/v2.0/token.
func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request, form url.Values) {
	info := requestInfoFrom(r.Context())
	info.credential = "device_code"
	clientID, code := form.Get("client_id"), form.Get("device_code")
	info.clientID = clientID
	if clientID == "" || code == "" {
		param := "client_id"
		if clientID != "" {
			param = "device_code"
		}
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", param))
		return
	}
	now := s.now()
	si := &s.signIns
	si.mu.Lock()
	si.init()
	da, ok := si.codes[code]
	if !ok || !strings.EqualFold(da.clientID, clientID) {
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid.")
		return
	}
	da.polls++
	info.scope = da.scope
	forget := func() { delete(si.codes, da.deviceCode); delete(si.byUser, da.userCode) }
	switch {
	case !now.Before(da.expires):
		forget()
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "expired_token", 70019, "Verification code expired.")
		return
	case da.declined:
		forget()
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "authorization_declined", 70000, "The user declined the sign-in request.")
		return
	case now.Sub(da.lastPoll) < s.cfg.deviceCodeInterval():
		da.lastPoll = now
		da.slowDowns++
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "slow_down", 70016, "OAuth 2.0 device flow error. Polling faster than the interval; slow down.")
		return
	case da.approved == nil:
		da.lastPoll = now
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return
	}
	forget()
	sess := &session{user: *da.approved, userID: da.userID, displayName: da.displayName, clientID: clientID, signedIn: now}
	si.sessions = append(si.sessions, sess)
	si.mu.Unlock()
	s.issueDelegated(w, r, sess, da.scope)
}

// redeemRefreshToken serves the refresh_token grant.
func (s *Server) redeemRefreshToken(w http.ResponseWriter, r *http.Request, form url.Values) {
	info := requestInfoFrom(r.Context())
	info.credential = "refresh_token"
	clientID, rt := form.Get("client_id"), form.Get("refresh_token")
	info.clientID = clientID
	switch {
	case clientID == "":
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	case !strings.EqualFold(clientID, s.cfg.ClientID):
		aadError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'.", clientID, r.PathValue("tenant")))
		return
	case rt == "":
		aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		return
	}
	now := s.now()
	si := &s.signIns
	si.mu.Lock()
	si.init()
	t, ok := si.refresh[rt]
	var code int
	var desc string
	switch {
	case !ok:
		code, desc = 9002313, "Invalid request. Request is malformed or invalid."
	case t.s.revoked:
		code, desc = 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."
	case !now.Before(t.expires):
		code, desc = 700082, "The refresh token has expired due to inactivity."
	case t.redeemed:
		code, desc = 70000, "Provided grant is invalid or malformed. (Simulator: this refresh token was already redeemed; use the one returned with it.)"
	case !strings.EqualFold(t.s.clientID, clientID):
		code, desc = 70000, "Provided grant is invalid or malformed."
	}
	if code != 0 {
		si.mu.Unlock()
		aadError(w, r, http.StatusBadRequest, "invalid_grant", code, desc)
		return
	}
	t.redeemed = true
	t.s.redemptions++
	sess := t.s
	si.mu.Unlock()
	// A refresh token always brings its successor, as Entra's do.
	scope := form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		scope = TeamsAdminScope
	}
	if !slices.Contains(strings.Fields(scope), "offline_access") {
		scope += " offline_access"
	}
	s.issueDelegated(w, r, sess, scope)
}

// issueDelegated answers a successful delegated grant: an access token for
// the Teams admin back end carrying the user's roles, a new refresh token
// when offline_access was asked for, an ID token when openid was.
func (s *Server) issueDelegated(w http.ResponseWriter, r *http.Request, sess *session, scope string) {
	resource, offline, openid, desc := delegatedResource(scope)
	if desc != "" {
		aadError(w, r, http.StatusBadRequest, "invalid_scope", 70011, desc)
		return
	}
	now := s.now()
	lifetime := s.cfg.TokenLifetime
	roles := sess.user.Roles
	if roles == nil {
		roles = []string{RoleTeamsAdministrator, RoleUserAdministrator}
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://sts.windows.net/" + s.cfg.TenantID + "/",
			Subject:   sess.userID,
			Audience:  jwt.ClaimStrings{teamsAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		TenantID: s.cfg.TenantID,
		AppID:    sess.clientID,
		Wids:     slices.Clone(roles),
		Scope:    delegatedTeamsScope,
		ObjectID: sess.userID,
		UPN:      sess.user.UserPrincipalName,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.tokenKey)
	if err != nil {
		aadError(w, r, http.StatusInternalServerError, "server_error", 90033, "A transient error has occurred. Please try again.")
		return
	}
	granted := strings.TrimSuffix(resource[:strings.LastIndex(resource, "/")+1], "/") + "/" + delegatedTeamsScope
	body := map[string]any{
		"token_type":     "Bearer",
		"scope":          granted,
		"expires_in":     int(lifetime.Seconds()),
		"ext_expires_in": int(lifetime.Seconds()),
		"access_token":   signed,
	}
	if offline {
		rt := secretToken("graphsim-rt.")
		si := &s.signIns
		si.mu.Lock()
		if len(si.refresh) >= maxRefreshTokens {
			for k, t := range si.refresh {
				if t.redeemed || t.s.revoked || !now.Before(t.expires) {
					delete(si.refresh, k)
				}
			}
		}
		si.refresh[rt] = &refreshTok{s: sess, expires: now.Add(s.cfg.refreshTokenLifetime())}
		si.mu.Unlock()
		body["refresh_token"] = rt
		body["scope"] = granted + " offline_access"
	}
	if openid {
		id, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"aud": sess.clientID, "iss": baseURL(r) + "/" + s.cfg.TenantID + "/v2.0",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix(),
			"sub": sess.userID, "oid": sess.userID, "tid": s.cfg.TenantID, "ver": "2.0",
			"name": sess.displayName, "preferred_username": sess.user.UserPrincipalName,
		}).SignedString(s.tokenKey)
		if err == nil {
			body["id_token"] = id
		}
	}
	s.countToken(resource)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	odata.WriteJSON(w, http.StatusOK, body)
}

// ApproveSignIn signs u in on the device code shown as userCode, as the
// user entering it at the verification page would. The user must exist and
// be enabled.
func (s *Server) ApproveSignIn(userCode string, u SignInUser) error {
	user, gerr := s.dir.get(u.UserPrincipalName, s.now())
	if gerr != nil {
		return fmt.Errorf("sign-in: user %q not found", u.UserPrincipalName)
	}
	if !user.AccountEnabled {
		return fmt.Errorf("sign-in: user %q is blocked from signing in (AADSTS50057)", u.UserPrincipalName)
	}
	u.UserPrincipalName = user.UserPrincipalName
	u.Roles = slices.Clone(u.Roles)
	return s.withPending(userCode, func(da *deviceAuth) {
		da.approved, da.userID, da.displayName = &u, user.ID, user.DisplayName
	})
}

// DenySignIn declines the device code shown as userCode.
func (s *Server) DenySignIn(userCode string) error {
	return s.withPending(userCode, func(da *deviceAuth) { da.declined = true })
}

var errNoSuchCode = errors.New("sign-in: no pending device code with that user code")

func (s *Server) withPending(userCode string, fn func(*deviceAuth)) error {
	si := &s.signIns
	si.mu.Lock()
	defer si.mu.Unlock()
	si.init()
	da, ok := si.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok || !s.now().Before(da.expires) || da.approved != nil || da.declined {
		return errNoSuchCode
	}
	fn(da)
	return nil
}

// RevokeSignIns ends every delegated session of the user (as Graph's
// revokeSignInSessions does): their refresh tokens are refused with
// invalid_grant from now on. It returns how many sessions it ended.
// Access tokens already issued stay valid until they expire.
func (s *Server) RevokeSignIns(userPrincipalName string) int {
	si := &s.signIns
	si.mu.Lock()
	defer si.mu.Unlock()
	n := 0
	for _, sess := range si.sessions {
		if !sess.revoked && strings.EqualFold(sess.user.UserPrincipalName, userPrincipalName) {
			sess.revoked = true
			n++
		}
	}
	return n
}

// SignIns returns the pending device codes and the sessions, without any
// code or token.
func (s *Server) SignIns() SignIns {
	si := &s.signIns
	si.mu.Lock()
	defer si.mu.Unlock()
	out := SignIns{Pending: []PendingSignIn{}, Sessions: []SignInSession{}}
	now := s.now()
	for _, da := range si.codes {
		if da.approved == nil && !da.declined && now.Before(da.expires) {
			out.Pending = append(out.Pending, PendingSignIn{UserCode: da.userCode, ClientID: da.clientID, Scope: da.scope,
				Expires: da.expires, Polls: da.polls, SlowDowns: da.slowDowns})
		}
	}
	slices.SortFunc(out.Pending, func(a, b PendingSignIn) int { return a.Expires.Compare(b.Expires) })
	for _, sess := range si.sessions {
		out.Sessions = append(out.Sessions, SignInSession{UserPrincipalName: sess.user.UserPrincipalName, ClientID: sess.clientID,
			Roles: slices.Clone(sess.user.Roles), SignedIn: sess.signedIn, Redemptions: sess.redemptions, Revoked: sess.revoked})
	}
	return out
}

// adminSignIns serves GET /_sim/signins.
func (s *Server) adminSignIns(w http.ResponseWriter, _ *http.Request) {
	odata.WriteJSON(w, http.StatusOK, s.SignIns())
}

// adminApproveSignIn serves POST /_sim/signins/approve
// {"userCode","userPrincipalName","roles"}.
func (s *Server) adminApproveSignIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"userCode"`
		SignInUser
	}
	if !readAdminBody(w, r, &body) {
		return
	}
	if err := s.ApproveSignIn(body.UserCode, body.SignInUser); err != nil {
		adminError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminDenySignIn serves POST /_sim/signins/deny {"userCode"}.
func (s *Server) adminDenySignIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"userCode"`
	}
	if !readAdminBody(w, r, &body) {
		return
	}
	if err := s.DenySignIn(body.UserCode); err != nil {
		adminError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminRevokeSignIns serves POST /_sim/signins/revoke {"userPrincipalName"}.
func (s *Server) adminRevokeSignIns(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserPrincipalName string `json:"userPrincipalName"`
	}
	if !readAdminBody(w, r, &body) {
		return
	}
	odata.WriteJSON(w, http.StatusOK, map[string]int{"revoked": s.RevokeSignIns(body.UserPrincipalName)})
}

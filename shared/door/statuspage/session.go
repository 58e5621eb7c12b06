package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// cookieName is the session cookie.
const cookieName = "raprov_session"

// maxToken bounds a cookie value worth checking, so a hostile one costs little.
const maxToken = 256

// deriveSessionKey turns an access key into the key that signs sessions and
// CSRF tokens, so that neither the cookie nor a form ever holds a MAC under
// the access key itself (which senders use to sign API calls).
func deriveSessionKey(accessKey string) []byte {
	m := hmac.New(sha256.New, []byte(accessKey))
	m.Write([]byte("raprov status page session key v1"))
	return m.Sum(nil)
}

func sum(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// session is a verified session token.
type session struct {
	token string // the cookie value
	key   []byte // the session key that signed it
}

// newToken returns a token valid until exp under key:
// "v1.<exp unix>.<nonce>.<base64url HMAC>".
func newToken(key []byte, exp time.Time) string {
	payload := "v1." + strconv.FormatInt(exp.Unix(), 10) + "." + rand.Text()
	return payload + "." + base64.RawURLEncoding.EncodeToString(sum(key, "session", payload))
}

// verifyToken checks a token's form, expiry (after now and no more than
// SessionTTL ahead) and signature under any of keys.
func verifyToken(keys [][]byte, token string, now time.Time) (session, bool) {
	if len(token) > maxToken {
		return session{}, false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return session{}, false
	}
	payload, mac := token[:i], token[i+1:]
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return session{}, false
	}
	if left := time.Unix(exp, 0).Sub(now); left <= 0 || left > SessionTTL+time.Minute {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(mac)
	if err != nil {
		return session{}, false
	}
	var found []byte
	for _, k := range keys {
		if hmac.Equal(got, sum(k, "session", payload)) && found == nil {
			found = k
		}
	}
	if found == nil {
		return session{}, false
	}
	return session{token: token, key: found}, true
}

// verify checks a session token (verifyToken) and that it was not logged
// out. A logged-out list that cannot be read refuses the session: the page
// never lets a cookie in that it could not check.
func (h *Handler) verify(ctx context.Context, token string) (session, bool) {
	s, ok := verifyToken(h.keys, token, h.now())
	if !ok {
		return session{}, false
	}
	revoked, err := h.guard.isRevoked(ctx, token)
	if err != nil {
		h.log.ErrorContext(ctx, "statuspage: the logged-out sessions cannot be read; session refused", "error", err.Error())
		return session{}, false
	}
	if revoked {
		return session{}, false
	}
	return s, true
}

// expiry returns the expiry a verified token carries.
func expiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		return time.Time{}
	}
	exp, _ := strconv.ParseInt(parts[1], 10, 64)
	return time.Unix(exp, 0)
}

// csrf returns the CSRF token of action (e.g. "replay") for this session.
func (s session) csrf(action string) string {
	return base64.RawURLEncoding.EncodeToString(sum(s.key, "csrf", action, s.token))
}

// checkCSRF reports whether got is this session's token for action.
func (s session) checkCSRF(action, got string) bool {
	return hmac.Equal([]byte(got), []byte(s.csrf(action)))
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s
}

// requireSession runs next with the request's verified session, or
// redirects to /login (clearing a cookie that failed the check).
func (h *Handler) requireSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		s, ok := h.verify(r.Context(), c.Value)
		if !ok {
			h.log.InfoContext(r.Context(), "statuspage: session refused", "remote", r.RemoteAddr, "path", r.URL.Path)
			h.clearCookie(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, token string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    token,
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   h.secure || r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   h.secure || r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// sameOrigin reports whether a state-changing request may come from this
// page: Sec-Fetch-Site, when sent, is same-origin (or none: typed by the
// user); Origin, when sent, names this host ("null" does not); and
// otherwise Referer, when sent, names this host. A request with none of
// them (an old or privacy-minded client) passes; the CSRF token and the
// SameSite cookie still guard it.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return sameHost(o, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return sameHost(ref, r.Host)
	}
	return true
}

func sameHost(raw, host string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

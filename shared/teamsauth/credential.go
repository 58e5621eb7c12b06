package teamsauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// refreshMargin is how long before its expiry an access token is renewed,
// at most: a token with a shorter lifetime is renewed at half of it.
const refreshMargin = 5 * time.Minute

// Credential is an azcore.TokenCredential that acts as the admin who signed
// in with Login: it redeems the stored refresh token for access tokens
// (grant_type refresh_token), caches each until shortly before it expires,
// and saves the rotated refresh token the identity platform returns. It
// reads the store before every redemption, so a new `raprov login` (or
// another process's rotation) takes effect without a restart.
//
// Concurrent callers share one redemption. Errors retrying cannot fix (no
// sign-in stored, refresh token expired or revoked, a token file other
// users may read) are *Error values telling the operator to run
// `raprov login`; they are also logged at error level, without any token.
type Credential struct {
	ep    Endpoint
	store Store
	log   *slog.Logger
	now   func() time.Time

	sem   chan struct{} // one redemption at a time
	cache map[string]cachedToken
}

type cachedToken struct {
	token     azcore.AccessToken
	refreshAt time.Time
}

var _ azcore.TokenCredential = (*Credential)(nil)

// CredentialOption customises a Credential.
type CredentialOption func(*Credential)

// WithLogger sets the logger (slog.Default when nil or not given).
func WithLogger(l *slog.Logger) CredentialOption {
	return func(c *Credential) {
		if l != nil {
			c.log = l
		}
	}
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) CredentialOption {
	return func(c *Credential) {
		if now != nil {
			c.now = now
		}
	}
}

// NewCredential returns a credential for the sign-in kept in store.
func NewCredential(ep Endpoint, store Store, opts ...CredentialOption) (*Credential, error) {
	if err := ep.validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("teams admin sign-in: nil store")
	}
	c := &Credential{ep: ep, store: store, log: slog.Default(), now: time.Now,
		sem: make(chan struct{}, 1), cache: map[string]cachedToken{}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// GetToken implements azcore.TokenCredential. Scopes default to the
// endpoint's scope.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scope := strings.Join(opts.Scopes, " ")
	if scope == "" {
		scope = c.ep.Scope
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return azcore.AccessToken{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	if t, ok := c.cache[scope]; ok && opts.Claims == "" && c.now().Before(t.refreshAt) {
		return t.token, nil
	}
	tok, err := c.redeem(ctx, scope)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			c.log.ErrorContext(ctx, "teams admin delegated sign-in unusable", "error", se.Error())
		}
		return azcore.AccessToken{}, err
	}
	return tok, nil
}

// redeem exchanges the stored refresh token for an access token to scope
// and stores the rotated refresh token.
func (c *Credential) redeem(ctx context.Context, scope string) (azcore.AccessToken, error) {
	stored, err := c.store.Load(ctx)
	if errors.Is(err, ErrNoToken) {
		return azcore.AccessToken{}, &Error{Op: "refresh", Message: fmt.Sprintf(
			"no admin has signed in for the Teams admin back end (%s): run \"raprov login\"", describe(c.store))}
	}
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if !c.ep.sameAs(stored) {
		return azcore.AccessToken{}, &Error{Op: "refresh", Message: fmt.Sprintf(
			"the stored sign-in (%s) is for tenant %s, app %s at %s, not tenant %s, app %s at %s: run \"raprov login\" again",
			describe(c.store), stored.TenantID, stored.ClientID, stored.AuthorityHost, c.ep.TenantID, c.ep.ClientID, c.ep.AuthorityHost)}
	}
	rt := stored.RefreshToken.Reveal()
	tr, status, err := c.ep.post(ctx, "token", url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {c.ep.ClientID},
		"refresh_token": {rt},
		"scope":         {strings.Join([]string{scope, "offline_access"}, " ")},
	})
	if err != nil {
		return azcore.AccessToken{}, err
	}
	switch {
	case tr.Error == "" && status/100 == 2 && tr.AccessToken != "":
	case tr.Error == "invalid_grant", tr.Error == "interaction_required":
		who := ""
		if stored.Account != "" {
			who = " of " + stored.Account
		}
		return azcore.AccessToken{}, &Error{Op: "refresh", Code: tr.Error, AADSTS: tr.aadsts(), Message: fmt.Sprintf(
			"the stored sign-in%s has expired or was revoked (%s): run \"raprov login\" again", who, tr.summary(rt))}
	case status >= 500 || status == 429 || tr.Error == "temporarily_unavailable":
		return azcore.AccessToken{}, fmt.Errorf("teams admin sign-in: token: HTTP %d %s: %s", status, tr.Error, tr.summary(rt))
	case tr.Error != "":
		return azcore.AccessToken{}, &Error{Op: "refresh", Code: tr.Error, AADSTS: tr.aadsts(), Message: fmt.Sprintf(
			"the identity platform refused the stored sign-in (%s); check the app registration, then run \"raprov login\" again", tr.summary(rt))}
	default:
		return azcore.AccessToken{}, fmt.Errorf("teams admin sign-in: token: HTTP %d without an access token", status)
	}

	now := c.now()
	if tr.RefreshToken != "" && tr.RefreshToken != rt {
		stored.RefreshToken = Secret(tr.RefreshToken)
		stored.Refreshed = now
		if err := c.store.Save(ctx, stored); err != nil {
			// The access token is good; the old refresh token may still be
			// redeemable. Say so loudly: the next refresh may fail.
			c.log.ErrorContext(ctx, "teams admin delegated sign-in: could not save the rotated refresh token",
				"store", describe(c.store), "error", err.Error())
		}
	}
	lifetime := tr.ExpiresIn.duration()
	if lifetime <= 0 {
		lifetime = time.Minute
	}
	tok := azcore.AccessToken{Token: tr.AccessToken, ExpiresOn: now.Add(lifetime)}
	tok.RefreshOn = tok.ExpiresOn.Add(-min(refreshMargin, lifetime/2))
	c.cache[scope] = cachedToken{token: tok, refreshAt: tok.RefreshOn}
	c.log.DebugContext(ctx, "teams admin delegated token", "account", stored.Account, "expires", tok.ExpiresOn)
	return tok, nil
}

// Check redeems the stored sign-in once (or finds a cached token), to fail
// at start rather than at the first call.
func (c *Credential) Check(ctx context.Context) error {
	_, err := c.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.ep.Scope}})
	return err
}

func describe(s Store) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return "the secret store"
}

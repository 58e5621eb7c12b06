package graph

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// refreshMargin is how long before its expiry a token is renewed, at most:
// a token with a shorter lifetime is renewed at half of it.
const refreshMargin = 5 * time.Minute

// cachedCredential hands out the last token for the same request options
// until shortly before it expires, or until its RefreshOn, and asks the
// wrapped credential otherwise. azidentity caches tokens too, but looks
// every one up through MSAL's cache; both adapters ask for a token on every
// call, and that lookup cost a measurable share of a call's CPU. A request
// carrying claims (a Continuous Access Evaluation challenge) always goes to
// the wrapped credential, and its answer replaces the cached token.
type cachedCredential struct {
	next azcore.TokenCredential
	now  func() time.Time

	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token     azcore.AccessToken
	refreshAt time.Time
}

func newCachedCredential(next azcore.TokenCredential, now func() time.Time) *cachedCredential {
	if now == nil {
		now = time.Now
	}
	return &cachedCredential{next: next, now: now, tokens: map[string]cachedToken{}}
}

// GetToken implements azcore.TokenCredential.
func (c *cachedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := tokenKey(opts)
	if opts.Claims == "" {
		c.mu.Lock()
		t, ok := c.tokens[key]
		c.mu.Unlock()
		if ok && c.now().Before(t.refreshAt) {
			return t.token, nil
		}
	}
	tok, err := c.next.GetToken(ctx, opts)
	if err != nil {
		return tok, err
	}
	now := c.now()
	refreshAt := tok.ExpiresOn.Add(-min(refreshMargin, tok.ExpiresOn.Sub(now)/2))
	if !tok.RefreshOn.IsZero() && tok.RefreshOn.Before(refreshAt) {
		refreshAt = tok.RefreshOn
	}
	c.mu.Lock()
	c.tokens[key] = cachedToken{token: tok, refreshAt: refreshAt}
	c.mu.Unlock()
	return tok, nil
}

// tokenKey identifies the token a request asks for, claims aside.
func tokenKey(opts policy.TokenRequestOptions) string {
	cae := "0"
	if opts.EnableCAE {
		cae = "1"
	}
	return opts.TenantID + "|" + cae + "|" + strings.Join(opts.Scopes, " ")
}

package graph

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// issuer is a credential that issues numbered tokens with a fixed lifetime.
type issuer struct {
	mu        sync.Mutex
	now       *time.Time
	lifetime  time.Duration
	refreshIn time.Duration // 0: no RefreshOn
	fail      error
	calls     int
	last      policy.TokenRequestOptions
}

func (i *issuer) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calls++
	i.last = opts
	if i.fail != nil {
		return azcore.AccessToken{}, i.fail
	}
	t := azcore.AccessToken{Token: fmt.Sprintf("t%d", i.calls), ExpiresOn: i.now.Add(i.lifetime)}
	if i.refreshIn > 0 {
		t.RefreshOn = i.now.Add(i.refreshIn)
	}
	return t, nil
}

func TestCachedCredential(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	graphScope := policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}, EnableCAE: true}
	teamsScope := policy.TokenRequestOptions{Scopes: []string{"48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"}, EnableCAE: true}
	ctx := context.Background()
	get := func(t *testing.T, c *cachedCredential, opts policy.TokenRequestOptions) string {
		t.Helper()
		tok, err := c.GetToken(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}

	t.Run("reuses a token until five minutes before expiry", func(t *testing.T) {
		iss := &issuer{now: &now, lifetime: time.Hour}
		clock := now
		c := newCachedCredential(iss, func() time.Time { return clock })
		if a, b := get(t, c, graphScope), get(t, c, graphScope); a != "t1" || b != "t1" {
			t.Fatalf("tokens %s, %s; want t1 twice", a, b)
		}
		clock = now.Add(54*time.Minute + 59*time.Second)
		if got := get(t, c, graphScope); got != "t1" {
			t.Fatalf("at 54m59s: %s, want t1", got)
		}
		clock = now.Add(55 * time.Minute)
		if got := get(t, c, graphScope); got != "t2" {
			t.Fatalf("at 55m: %s, want a new token", got)
		}
	})

	t.Run("short-lived tokens are renewed at half their life", func(t *testing.T) {
		iss := &issuer{now: &now, lifetime: 2 * time.Minute}
		clock := now
		c := newCachedCredential(iss, func() time.Time { return clock })
		get(t, c, graphScope)
		clock = now.Add(59 * time.Second)
		if got := get(t, c, graphScope); got != "t1" {
			t.Fatalf("at 59s: %s, want t1", got)
		}
		clock = now.Add(time.Minute)
		if got := get(t, c, graphScope); got != "t2" {
			t.Fatalf("at 60s: %s, want t2", got)
		}
	})

	t.Run("RefreshOn comes first", func(t *testing.T) {
		iss := &issuer{now: &now, lifetime: 24 * time.Hour, refreshIn: 12 * time.Hour}
		clock := now
		c := newCachedCredential(iss, func() time.Time { return clock })
		get(t, c, graphScope)
		clock = now.Add(12 * time.Hour)
		if got := get(t, c, graphScope); got != "t2" {
			t.Fatalf("at RefreshOn: %s, want t2", got)
		}
	})

	t.Run("one token per scope, tenant and CAE setting", func(t *testing.T) {
		iss := &issuer{now: &now, lifetime: time.Hour}
		c := newCachedCredential(iss, func() time.Time { return now })
		other := graphScope
		other.TenantID = "other-tenant"
		noCAE := graphScope
		noCAE.EnableCAE = false
		got := []string{get(t, c, graphScope), get(t, c, teamsScope), get(t, c, other), get(t, c, noCAE),
			get(t, c, graphScope), get(t, c, teamsScope), get(t, c, other), get(t, c, noCAE)}
		want := []string{"t1", "t2", "t3", "t4", "t1", "t2", "t3", "t4"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("tokens %v, want %v", got, want)
		}
	})

	t.Run("a claims challenge bypasses and replaces the cached token", func(t *testing.T) {
		iss := &issuer{now: &now, lifetime: time.Hour}
		c := newCachedCredential(iss, func() time.Time { return now })
		get(t, c, graphScope)
		challenged := graphScope
		challenged.Claims = `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
		if got := get(t, c, challenged); got != "t2" || iss.last.Claims != challenged.Claims {
			t.Fatalf("challenge: %s (claims passed: %q), want a new token with the claims", got, iss.last.Claims)
		}
		if got := get(t, c, graphScope); got != "t2" {
			t.Fatalf("after the challenge: %s, want the token it got", got)
		}
	})

	t.Run("errors pass through and are not cached", func(t *testing.T) {
		boom := errors.New("authority unreachable")
		iss := &issuer{now: &now, lifetime: time.Hour, fail: boom}
		c := newCachedCredential(iss, func() time.Time { return now })
		if _, err := c.GetToken(ctx, graphScope); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the credential's error", err)
		}
		iss.fail = nil
		if got := get(t, c, graphScope); got != "t2" || iss.calls != 2 {
			t.Fatalf("after recovery: %s after %d calls", got, iss.calls)
		}
	})
}

package teamsauth

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/raprov/raprov/shared/ctxsleep"
)

// deviceCodeGrant is RFC 8628's grant type.
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceCode is what the admin needs to sign in: open VerificationURI and
// enter UserCode. It holds no secret (the device code stays inside Login).
type DeviceCode struct {
	UserCode        string
	VerificationURI string
	// Message is the identity platform's own instructions.
	Message string
	// ExpiresIn is how long the code is valid.
	ExpiresIn time.Duration
}

// LoginOptions tune Login.
type LoginOptions struct {
	// TimeScale multiplies the polling interval and its slow_down
	// increments (a time-scaled simulator); 0 means 1. The code's lifetime
	// is not scaled: the server's expired_token ends the wait.
	TimeScale float64
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

// Login runs the device authorization grant: it asks the identity platform
// for a code, hands it to show (which tells the admin where to enter it),
// then polls the token endpoint, honouring interval and slow_down, until
// the admin signed in, declined, or the code expired. It returns the token
// to store; it stores nothing itself.
//
// Errors: *Error when the sign-in cannot complete (declined, expired, the
// app is not allowed to sign users in, no refresh token granted), the
// context's error when ctx ends, otherwise a transport error.
func Login(ctx context.Context, ep Endpoint, show func(DeviceCode) error, opts LoginOptions) (Token, error) {
	if err := ep.validate(); err != nil {
		return Token{}, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	scale := opts.TimeScale
	if scale <= 0 {
		scale = 1
	}
	dc, status, err := ep.post(ctx, "devicecode", url.Values{"client_id": {ep.ClientID}, "scope": {ep.scopes("openid", "profile")}})
	if err != nil {
		return Token{}, err
	}
	if dc.Error != "" || status/100 != 2 {
		return Token{}, &Error{Op: "login", Code: dc.Error, AADSTS: dc.aadsts(),
			Message: "the identity platform refused to start a sign-in: " + dc.summary()}
	}
	if dc.DeviceCode == "" || dc.UserCode == "" {
		return Token{}, fmt.Errorf("teams admin sign-in: devicecode: answer without device or user code")
	}
	uri := dc.VerificationURI
	if uri == "" {
		uri = dc.VerificationURL
	}
	lifetime := dc.ExpiresIn.duration()
	if lifetime <= 0 {
		lifetime = 15 * time.Minute // the identity platform's default
	}
	if err := show(DeviceCode{UserCode: dc.UserCode, VerificationURI: uri, Message: dc.Message, ExpiresIn: lifetime}); err != nil {
		return Token{}, err
	}

	interval := dc.Interval.duration()
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2
	}
	unit := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	// The server's expired_token ends the wait; this deadline only guards
	// against a server that keeps saying "pending".
	deadline := now().Add(lifetime + interval)
	form := url.Values{"grant_type": {deviceCodeGrant}, "client_id": {ep.ClientID}, "device_code": {dc.DeviceCode}}
	expired := &Error{Op: "login", Code: "expired_token",
		Message: "the code expired before anyone signed in; run \"raprov login\" again"}
	for {
		if err := ctxsleep.Sleep(ctx, unit(interval)); err != nil {
			return Token{}, err
		}
		if now().After(deadline) {
			return Token{}, expired
		}
		tr, status, err := ep.post(ctx, "token", form)
		if err != nil {
			if ctx.Err() != nil {
				return Token{}, ctx.Err()
			}
			continue // transient (network, 5xx without a body): poll again
		}
		switch tr.Error {
		case "":
			if status/100 != 2 || tr.AccessToken == "" {
				return Token{}, fmt.Errorf("teams admin sign-in: token: HTTP %d without an access token", status)
			}
			if tr.RefreshToken == "" {
				return Token{}, &Error{Op: "login", Message: "the identity platform granted no refresh token (offline_access refused?); raprov cannot keep the sign-in"}
			}
			t := now()
			return Token{
				RefreshToken:  Secret(tr.RefreshToken),
				Account:       accountOf(tr.IDToken),
				AuthorityHost: ep.AuthorityHost,
				TenantID:      ep.TenantID,
				ClientID:      ep.ClientID,
				Scope:         ep.Scope,
				SignedIn:      t,
				Refreshed:     t,
			}, nil
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5: for this and every later request
		case "expired_token", "code_expired":
			expired.AADSTS = tr.aadsts()
			return Token{}, expired
		case "authorization_declined", "access_denied":
			return Token{}, &Error{Op: "login", Code: tr.Error, AADSTS: tr.aadsts(), Message: "the sign-in was declined"}
		default:
			if status >= 500 || status == 429 {
				continue
			}
			return Token{}, &Error{Op: "login", Code: tr.Error, AADSTS: tr.aadsts(),
				Message: "the sign-in failed: " + tr.summary(dc.DeviceCode)}
		}
	}
}

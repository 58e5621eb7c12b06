package doctor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Claims are the claims of an access token the doctor reports.
type Claims struct {
	Audience []string
	TenantID string
	// AppID is the appid (v1 tokens) or azp (v2 tokens) claim.
	AppID string
	// Roles are the application permissions granted on the audience.
	Roles []string
	// Wids are the template ids of the directory roles of the app's
	// service principal.
	Wids      []string
	ExpiresAt time.Time
}

// DecodeClaims decodes the payload of a JWT access token without verifying
// it: the doctor only reports what the token says, Microsoft verifies it.
// Errors never include the token.
func DecodeClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("the token is not a JWT (no three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, errors.New("the token's payload is not base64url")
	}
	var raw struct {
		Aud   json.RawMessage `json:"aud"`
		Tid   string          `json:"tid"`
		AppID string          `json:"appid"`
		Azp   string          `json:"azp"`
		Roles []string        `json:"roles"`
		Wids  []string        `json:"wids"`
		Exp   json.Number     `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, errors.New("the token's payload is not a JSON object of the expected claims")
	}
	c := Claims{TenantID: raw.Tid, AppID: raw.AppID, Roles: raw.Roles, Wids: raw.Wids}
	if c.AppID == "" {
		c.AppID = raw.Azp
	}
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil {
		c.Audience = []string{one}
	} else {
		_ = json.Unmarshal(raw.Aud, &c.Audience)
	}
	if n, err := raw.Exp.Int64(); err == nil && n > 0 {
		c.ExpiresAt = time.Unix(n, 0)
	}
	return c, nil
}

package graphsim

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Identity of the simulated tenant and of the application allowed to call
// it. They are public test constants, not secrets.
const (
	DefaultTenantID     = "00000000-0000-0000-0000-0000000000aa"
	DefaultClientID     = "00000000-0000-0000-0000-0000000000c1"
	DefaultClientSecret = "graphsim-test-secret" // the simulator's own public test secret
)

// Token scopes the simulator issues tokens for.
const (
	// GraphScope is Microsoft Graph's client-credentials scope.
	GraphScope = "https://graph.microsoft.com/.default"
	// TeamsAdminScope is the Teams admin back end's scope, as Teams PowerShell
	// requests it.
	TeamsAdminScope = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"

	graphAudience = "https://graph.microsoft.com"
	teamsAudience = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239"
)

// Config configures a Server. Zero values take the defaults noted per field.
type Config struct {
	// TenantID is the only tenant the token endpoint knows (DefaultTenantID).
	// The tenant's verified domains are accepted in its place.
	TenantID string
	// ClientID is the only application that gets tokens (DefaultClientID).
	ClientID string
	// ClientSecret is the application's secret (DefaultClientSecret). It is
	// never logged.
	ClientSecret string
	// ClientCertificate, when set, lets the application authenticate with a
	// client assertion JWT signed by this certificate's key (x5t or x5t#S256
	// header naming the certificate).
	ClientCertificate *x509.Certificate
	// TokenLifetime is the access tokens' lifetime (1 h).
	TokenLifetime time.Duration
	// DeviceCodeInterval is the polling interval of the device-code
	// sign-in (5 s), sent in whole seconds (at least 1); a poll sooner
	// after the previous one is answered slow_down.
	DeviceCodeInterval time.Duration
	// DeviceCodeLifetime is how long a device code waits for approval (15 min).
	DeviceCodeLifetime time.Duration
	// RefreshTokenLifetime is how long a delegated refresh token stays
	// redeemable (90 days).
	RefreshTokenLifetime time.Duration
	// Seed is the initial directory (DefaultSeed() when it has no SKUs,
	// users or domains at all).
	Seed Seed
	// Knobs are the initial knobs; see Server.SetKnobs.
	Knobs Knobs
	// Grants are the application's Graph application permissions and
	// directory roles, which the tokens it gets carry and every route
	// checks (nil: LeastPrivilege(), what docs/permissions.md asks for).
	// Server.SetGrants changes them for tokens issued afterwards.
	Grants *Grants
	// RandSeed seeds random fault and slow-response injection; 0 picks a
	// random seed.
	RandSeed int64
	// Logger receives one debug record per request and errors (discarded
	// when nil).
	Logger *slog.Logger
	// Clock is the simulator's time (nil: the real clock). Tests give a
	// FakeClock to move throttling windows, delays, operations and token
	// lifetimes exactly; see Clock.
	Clock Clock
}

// Knobs change the simulator's behaviour at run time.
type Knobs struct {
	// ReplicationDelay: a user created less than this long ago is not found
	// by reads, PATCH, assignLicense and licenseDetails (404
	// Request_ResourceNotFound), is left out of $filter results and is
	// unknown to the Teams side.
	ReplicationDelay time.Duration
	// Throttle enables Graph's throttling limits.
	Throttle bool
	// TimeScale multiplies the throttling windows: 1 (or 0) is real time,
	// 0.01 makes the 10 s window 100 ms.
	TimeScale float64
	// TenantUsers picks the resource-unit tier; 0 counts the users in the
	// directory.
	TenantUsers int
	// WritesPerWindow overrides Graph's 3,000 writes per 150 s (0 = Graph's).
	WritesPerWindow int
	// ResourceUnitsPerWindow overrides the tier's resource units per 10 s
	// (0 = tier).
	ResourceUnitsPerWindow int
	// TeamsPerWindow overrides the 15,000 Teams requests per 10 s (0 = Graph's).
	TeamsPerWindow int
	// FaultRate is the share of API requests answered with FaultStatus and a
	// Graph error body instead of being served.
	FaultRate float64
	// FaultStatus is the status of random faults (503).
	FaultStatus int
	// SlowRate is the share of API requests whose response is held back for
	// SlowDelay after the request was served (a client that gives up still
	// caused the side effect, as with a real timeout).
	SlowRate  float64
	SlowDelay time.Duration
	// OperationStepDelay is the time per state transition of a Teams
	// asynchronous operation. Only the value given to New applies.
	OperationStepDelay time.Duration
	// UsageLocationDelay: an assignLicense adding a license less than this
	// long after a PATCH changed the user's usageLocation is refused as if
	// the user had none (400 "License assignment cannot be done for user
	// with invalid usage location."). 0 is DefaultUsageLocationDelay; a
	// negative value turns the rule off.
	UsageLocationDelay time.Duration
	// TeamsSyncDelay: Teams does not know a user until this long after its
	// creation, nor its license until this long after the assignment
	// (teamssim.Knobs.TeamsSyncDelay; Microsoft documents up to 24 h).
	TeamsSyncDelay time.Duration
	// WrapOperations serves Teams number operations as {"value": {…}}, the
	// form of Learn's example, instead of the bare entity.
	WrapOperations bool
}

// knobsJSON is Knobs' JSON form: durations as Go duration strings ("1.5s").
type knobsJSON struct {
	ReplicationDelay       string  `json:"replicationDelay"`
	Throttle               bool    `json:"throttle"`
	TimeScale              float64 `json:"timeScale"`
	TenantUsers            int     `json:"tenantUsers"`
	WritesPerWindow        int     `json:"writesPerWindow"`
	ResourceUnitsPerWindow int     `json:"resourceUnitsPerWindow"`
	TeamsPerWindow         int     `json:"teamsPerWindow"`
	FaultRate              float64 `json:"faultRate"`
	FaultStatus            int     `json:"faultStatus"`
	SlowRate               float64 `json:"slowRate"`
	SlowDelay              string  `json:"slowDelay"`
	OperationStepDelay     string  `json:"operationStepDelay"`
	UsageLocationDelay     string  `json:"usageLocationDelay"`
	TeamsSyncDelay         string  `json:"teamsSyncDelay"`
	WrapOperations         bool    `json:"wrapOperations"`
}

// wire returns k in its JSON form.
func (k Knobs) wire() knobsJSON {
	return knobsJSON{
		ReplicationDelay:       k.ReplicationDelay.String(),
		Throttle:               k.Throttle,
		TimeScale:              k.TimeScale,
		TenantUsers:            k.TenantUsers,
		WritesPerWindow:        k.WritesPerWindow,
		ResourceUnitsPerWindow: k.ResourceUnitsPerWindow,
		TeamsPerWindow:         k.TeamsPerWindow,
		FaultRate:              k.FaultRate,
		FaultStatus:            k.FaultStatus,
		SlowRate:               k.SlowRate,
		SlowDelay:              k.SlowDelay.String(),
		OperationStepDelay:     k.OperationStepDelay.String(),
		UsageLocationDelay:     k.UsageLocationDelay.String(),
		TeamsSyncDelay:         k.TeamsSyncDelay.String(),
		WrapOperations:         k.WrapOperations,
	}
}

// MarshalJSON writes durations as strings such as "250ms".
func (k Knobs) MarshalJSON() ([]byte, error) {
	return json.Marshal(k.wire())
}

// UnmarshalJSON reads the form MarshalJSON writes. Fields left out keep the
// receiver's values, so a partial document updates only what it names.
func (k *Knobs) UnmarshalJSON(b []byte) error {
	j := k.wire()
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var out Knobs
	var err error
	if out.ReplicationDelay, err = time.ParseDuration(j.ReplicationDelay); err != nil {
		return fmt.Errorf("replicationDelay: %w", err)
	}
	if out.SlowDelay, err = time.ParseDuration(j.SlowDelay); err != nil {
		return fmt.Errorf("slowDelay: %w", err)
	}
	if out.OperationStepDelay, err = time.ParseDuration(j.OperationStepDelay); err != nil {
		return fmt.Errorf("operationStepDelay: %w", err)
	}
	if out.UsageLocationDelay, err = time.ParseDuration(j.UsageLocationDelay); err != nil {
		return fmt.Errorf("usageLocationDelay: %w", err)
	}
	if out.TeamsSyncDelay, err = time.ParseDuration(j.TeamsSyncDelay); err != nil {
		return fmt.Errorf("teamsSyncDelay: %w", err)
	}
	out.WrapOperations = j.WrapOperations
	out.Throttle = j.Throttle
	out.TimeScale = j.TimeScale
	out.TenantUsers = j.TenantUsers
	out.WritesPerWindow = j.WritesPerWindow
	out.ResourceUnitsPerWindow = j.ResourceUnitsPerWindow
	out.TeamsPerWindow = j.TeamsPerWindow
	out.FaultRate = j.FaultRate
	out.FaultStatus = j.FaultStatus
	out.SlowRate = j.SlowRate
	*k = out
	return nil
}

// Validate reports knobs that make no sense.
func (k Knobs) Validate() error {
	switch {
	case k.ReplicationDelay < 0, k.SlowDelay < 0, k.OperationStepDelay < 0, k.TeamsSyncDelay < 0:
		return fmt.Errorf("durations must not be negative")
	case k.TimeScale < 0:
		return fmt.Errorf("timeScale must not be negative")
	case k.TenantUsers < 0, k.WritesPerWindow < 0, k.ResourceUnitsPerWindow < 0, k.TeamsPerWindow < 0:
		return fmt.Errorf("limits must not be negative")
	case k.FaultRate < 0 || k.FaultRate > 1, k.SlowRate < 0 || k.SlowRate > 1:
		return fmt.Errorf("rates must be between 0 and 1")
	case k.FaultStatus != 0 && (k.FaultStatus < 400 || k.FaultStatus > 599):
		return fmt.Errorf("faultStatus must be a 4xx or 5xx status")
	}
	return nil
}

func (k Knobs) timeScale() float64 {
	if k.TimeScale <= 0 {
		return 1
	}
	return k.TimeScale
}

// DefaultUsageLocationDelay is Knobs.UsageLocationDelay's default.
const DefaultUsageLocationDelay = time.Second

// usageLocationDelay is UsageLocationDelay with its default; 0 when off.
func (k Knobs) usageLocationDelay() time.Duration {
	switch {
	case k.UsageLocationDelay < 0:
		return 0
	case k.UsageLocationDelay == 0:
		return DefaultUsageLocationDelay
	}
	return k.UsageLocationDelay
}

func (k Knobs) faultStatus() int {
	if k.FaultStatus == 0 {
		return 503
	}
	return k.FaultStatus
}

package steps

import (
	"fmt"
	"time"
)

// Config tunes the steps. Zero values take the defaults of DefaultConfig,
// except SkuCacheTTL and NumberCacheTTL, where zero turns the cache off.
// Field tags are for envconfig with prefix RAPROV (e.g. RAPROV_LICENSE_WAIT).
type Config struct {
	// SkuPartNumber is the resource-account license SKU.
	SkuPartNumber string `envconfig:"SKU_PART_NUMBER" default:"PHONESYSTEM_VIRTUALUSER"`
	// VerifiedDomains, when set, restricts UPN domains (comma-separated).
	VerifiedDomains []string `envconfig:"VERIFIED_DOMAINS"`
	// CallbackAllowedHosts, when set, are the only callbackUrl hosts intake
	// accepts (exact names or *.example.com patterns); the callback client
	// enforces the same list when it dials (RAPROV_CALLBACK_ALLOWED_HOSTS).
	CallbackAllowedHosts []string `envconfig:"CALLBACK_ALLOWED_HOSTS"`
	// AllowAdopt lets requests adopt existing resource accounts raprov did
	// not create (request.adopt); off, intake refuses such requests, so one
	// row of a file cannot take over a production line.
	AllowAdopt bool `envconfig:"ALLOW_ADOPT"`
	// SkuCacheTTL is how long one read of the tenant's license counts serves
	// check-license (see shared/skucache); 0 reads Graph for every request.
	SkuCacheTTL time.Duration `envconfig:"SKU_CACHE_TTL" default:"10s"`
	// NumberCacheTTL is how long one read of the tenant's number inventory
	// serves check-license's pre-flight for free numbers (see
	// shared/numbercache); 0 looks every number up.
	NumberCacheTTL time.Duration `envconfig:"NUMBER_CACHE_TTL" default:"10s"`
	// LicenseWait is how long a request waits for a free license before it
	// fails with no_license.
	LicenseWait time.Duration `envconfig:"LICENSE_WAIT" default:"24h"`
	// LicenseRecheck is the first and the longest delay between license checks.
	LicenseRecheck Backoff `ignored:"true"`
	// NumberPoll is the first and the longest delay between polls of a number
	// assignment operation.
	NumberPoll Backoff `ignored:"true"`
	// NumberWait bounds how long one number assignment operation may stay
	// pending before the request fails with retries_exhausted.
	NumberWait time.Duration `envconfig:"NUMBER_WAIT" default:"2h"`
	// TeamsSyncWait bounds how long a step waits for Teams to learn of a new
	// or newly licensed account (Microsoft: minutes up to 24 hours) before the
	// request fails: binding and association with teams_not_ready, a number
	// assignment that keeps failing with number_assignment_failed.
	TeamsSyncWait time.Duration `envconfig:"TEAMS_SYNC_WAIT" default:"24h"`
	// TeamsSyncRecheck is the first and the longest delay between tries while
	// waiting for Teams.
	TeamsSyncRecheck Backoff `ignored:"true"`
	// MaxAttempts bounds retries of transient failures within one step.
	MaxAttempts int `envconfig:"MAX_ATTEMPTS" default:"8"`
	// Retry is the first and the longest delay between transient retries.
	Retry Backoff `ignored:"true"`
	// DeprovisionMode is what deprovisioning does with an account once its
	// association, numbers and license are gone: delete it (default) or
	// block it (keep it, sign-in blocked).
	DeprovisionMode string `envconfig:"DEPROVISION_MODE" default:"delete"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `ignored:"true"`
}

// Check reports a setting no step can run with.
func (c Config) Check() error {
	switch c.DeprovisionMode {
	case "", DeprovisionDelete, DeprovisionBlock:
		return nil
	}
	return fmt.Errorf("RAPROV_DEPROVISION_MODE %q must be %s or %s", c.DeprovisionMode, DeprovisionDelete, DeprovisionBlock)
}

// Backoff is an exponential delay: Initial, doubled per attempt, capped at Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the delay before attempt n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		SkuPartNumber:    "PHONESYSTEM_VIRTUALUSER",
		SkuCacheTTL:      10 * time.Second,
		LicenseWait:      24 * time.Hour,
		LicenseRecheck:   Backoff{Initial: time.Minute, Max: 15 * time.Minute},
		NumberPoll:       Backoff{Initial: 2 * time.Second, Max: time.Minute},
		NumberWait:       2 * time.Hour,
		TeamsSyncWait:    24 * time.Hour,
		TeamsSyncRecheck: Backoff{Initial: time.Minute, Max: 30 * time.Minute},
		MaxAttempts:      8,
		Retry:            Backoff{Initial: time.Second, Max: 5 * time.Minute},
		DeprovisionMode:  DeprovisionDelete,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SkuPartNumber == "" {
		c.SkuPartNumber = d.SkuPartNumber
	}
	if c.LicenseWait == 0 {
		c.LicenseWait = d.LicenseWait
	}
	if c.LicenseRecheck == (Backoff{}) {
		c.LicenseRecheck = d.LicenseRecheck
	}
	if c.NumberPoll == (Backoff{}) {
		c.NumberPoll = d.NumberPoll
	}
	if c.NumberWait == 0 {
		c.NumberWait = d.NumberWait
	}
	if c.TeamsSyncWait == 0 {
		c.TeamsSyncWait = d.TeamsSyncWait
	}
	if c.TeamsSyncRecheck == (Backoff{}) {
		c.TeamsSyncRecheck = d.TeamsSyncRecheck
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.Retry == (Backoff{}) {
		c.Retry = d.Retry
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DeprovisionMode == "" {
		c.DeprovisionMode = d.DeprovisionMode
	}
	return c
}

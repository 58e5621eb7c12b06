package steps

import (
	"time"
)

// Config tunes the steps. Zero values take the defaults of DefaultConfig,
// except SkuCacheTTL, where zero turns the cache off.
// Field tags are for envconfig with prefix RAPROV (e.g. RAPROV_LICENSE_WAIT).
type Config struct {
	// SkuPartNumber is the resource-account license SKU.
	SkuPartNumber string `envconfig:"SKU_PART_NUMBER" default:"PHONESYSTEM_VIRTUALUSER"`
	// VerifiedDomains, when set, restricts UPN domains (comma-separated).
	VerifiedDomains []string `envconfig:"VERIFIED_DOMAINS"`
	// SkuCacheTTL is how long one read of the tenant's license counts serves
	// check-license (see shared/skucache); 0 reads Graph for every request.
	SkuCacheTTL time.Duration `envconfig:"SKU_CACHE_TTL" default:"10s"`
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
	// NumberAttempts is how many times a failed number assignment operation is
	// started again (licensing can take a while to reach Teams) before the
	// request fails with number_assignment_failed.
	NumberAttempts int `envconfig:"NUMBER_ATTEMPTS" default:"3"`
	// MaxAttempts bounds retries of transient failures within one step.
	MaxAttempts int `envconfig:"MAX_ATTEMPTS" default:"8"`
	// Retry is the first and the longest delay between transient retries.
	Retry Backoff `ignored:"true"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `ignored:"true"`
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
		SkuPartNumber:  "PHONESYSTEM_VIRTUALUSER",
		SkuCacheTTL:    10 * time.Second,
		LicenseWait:    24 * time.Hour,
		LicenseRecheck: Backoff{Initial: time.Minute, Max: 15 * time.Minute},
		NumberPoll:     Backoff{Initial: 2 * time.Second, Max: time.Minute},
		NumberWait:     2 * time.Hour,
		NumberAttempts: 3,
		MaxAttempts:    8,
		Retry:          Backoff{Initial: time.Second, Max: 5 * time.Minute},
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
	if c.NumberAttempts == 0 {
		c.NumberAttempts = d.NumberAttempts
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
	return c
}

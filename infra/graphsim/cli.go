package graphsim

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
)

// Main runs the simulator until ctx is done: the graphsim command and
// `raprov graphsim`. args are the flags (without the program name); every
// flag can also be set by the environment variable GRAPHSIM_<FLAG> (upper
// case, '-' as '_'), flags winning. It prints where the simulator listens
// and the credentials to use on stdout and logs to stderr.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("graphsim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		addr       = fs.String("addr", "127.0.0.1:8443", "listen address (loopback: the admin API has no authentication)")
		seedPath   = fs.String("seed", "", "seed file (JSON; default: the built-in contoso tenant)")
		caOut      = fs.String("ca-out", "", "write the generated CA certificate (PEM) to this file")
		certPath   = fs.String("client-cert", "", "PEM certificate whose key may sign client assertions")
		logLevel   = fs.String("log-level", "info", "log level: debug (one record per request), info, warn, error")
		cfg        Config
		timeScale  = fs.Float64("time-scale", 1, "throttling window scale (0.01: 10 s windows last 100 ms)")
		randSeed   = fs.Int64("rand-seed", 0, "seed of random faults and slow responses (0: random)")
		tokenLife  = fs.Duration("token-lifetime", 0, "access token lifetime (default 1h)")
		replDelay  = fs.Duration("replication-delay", 0, "a new user is not found for this long")
		slowDelay  = fs.Duration("slow-delay", 0, "delay of slow responses")
		opStep     = fs.Duration("operation-step-delay", 0, "time per Teams number-operation state transition")
		throttle   = fs.Bool("throttle", false, "enforce Graph's throttling limits")
		faultRate  = fs.Float64("fault-rate", 0, "share of API requests answered with -fault-status")
		slowRate   = fs.Float64("slow-rate", 0, "share of API responses delayed by -slow-delay")
		faultStat  = fs.Int("fault-status", 503, "status of random faults")
		users      = fs.Int("tenant-users", 0, "tenant size for the resource-unit tier (0: users in the directory)")
		writes     = fs.Int("writes-per-window", 0, "writes per 150 s (0: Graph's 3,000)")
		units      = fs.Int("ru-per-window", 0, "resource units per 10 s (0: the tier's)")
		teamsLimit = fs.Int("teams-per-window", 0, "Teams requests per 10 s (0: Graph's 15,000)")
		teamsSync  = fs.Duration("teams-sync-delay", 0, "Teams does not know a new user, or its license, for this long (Entra → Teams sync)")
		wrapOps    = fs.Bool("wrap-operations", false, `serve number operations wrapped in {"value": …}`)
		usageDelay = fs.Duration("usage-location-delay", 0, "assignLicense is refused this long after a PATCH changed usageLocation (0: the default, 1 s; negative: off)")
	)
	fs.StringVar(&cfg.TenantID, "tenant-id", DefaultTenantID, "tenant id")
	fs.StringVar(&cfg.ClientID, "client-id", DefaultClientID, "application (client) id")
	fs.StringVar(&cfg.ClientSecret, "client-secret", DefaultClientSecret, "client secret the token endpoint accepts")
	if err := envDefaults(fs); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("graphsim: unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("graphsim: -log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger = log
	cfg.RandSeed = *randSeed
	cfg.TokenLifetime = *tokenLife
	cfg.Knobs = Knobs{
		ReplicationDelay: *replDelay, Throttle: *throttle, TimeScale: *timeScale, TenantUsers: *users,
		WritesPerWindow: *writes, ResourceUnitsPerWindow: *units, TeamsPerWindow: *teamsLimit,
		FaultRate: *faultRate, FaultStatus: *faultStat, SlowRate: *slowRate, SlowDelay: *slowDelay,
		OperationStepDelay: *opStep, TeamsSyncDelay: *teamsSync, WrapOperations: *wrapOps,
		UsageLocationDelay: *usageDelay,
	}
	if *seedPath != "" {
		seed, err := LoadSeed(*seedPath)
		if err != nil {
			return err
		}
		cfg.Seed = seed
	}
	if *certPath != "" {
		cert, err := readCertificate(*certPath)
		if err != nil {
			return err
		}
		cfg.ClientCertificate = cert
	}
	if host, _, err := net.SplitHostPort(*addr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("graphsim: listening beyond loopback; the /_sim admin API has no authentication", "addr", *addr)
		}
	}
	run, err := Start(ctx, cfg, *addr)
	if err != nil {
		return err
	}
	defer run.Close()
	if *caOut != "" {
		if err := os.WriteFile(*caOut, run.CACertPEM, 0o644); err != nil {
			return fmt.Errorf("graphsim: write CA certificate: %w", err)
		}
	}
	fmt.Fprintf(stdout, `graphsim listening on %[1]s
  Graph base URL:   %[1]s/v1.0
  Authority host:   %[1]s/  (clients must disable instance discovery)
  Token endpoint:   %[1]s/%[2]s/oauth2/v2.0/token
  Tenant id:        %[2]s
  Client id:        %[3]s
  Client secret:    %[4]s  (the simulator's public test secret)
  CA certificate:   %[5]s
  Admin API:        %[1]s/_sim/  (no authentication: loopback only)
`, run.URL, cfg.TenantID, cfg.ClientID, cfg.ClientSecret, caDescription(*caOut))
	<-ctx.Done()
	return nil
}

func caDescription(path string) string {
	if path == "" {
		return "not written (use -ca-out)"
	}
	return path
}

// envDefaults sets each flag from GRAPHSIM_<NAME> when that is set.
func envDefaults(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "GRAPHSIM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("graphsim: %s: %w", name, e)
			}
		}
	})
	return err
}

func readCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("graphsim: client certificate: %w", err)
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("graphsim: client certificate: no CERTIFICATE block in " + path)
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("graphsim: client certificate: %w", err)
			}
			return cert, nil
		}
	}
}

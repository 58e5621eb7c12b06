package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/steps"
)

// settings are raprov's own RAPROV_* variables; the Graph and Teams-admin
// adapters read RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_* themselves.
type settings struct {
	// DB is the SQLite database of the embedded default (queues, DLQ, ledger).
	DB string `envconfig:"DB" default:".raprov/raprov.db"`
	// Transport selects the deployment submit, status and dlq work on:
	// local (the embedded default's DB) or sqs (AWS: the queues at
	// QueueURLPrefix and the DynamoDB Table, with the AWS SDK's usual
	// configuration).
	Transport string `envconfig:"TRANSPORT" default:"local"`
	// QueueURLPrefix + a queue's name is its SQS URL (RAPROV_TRANSPORT=sqs).
	QueueURLPrefix string `envconfig:"SQS_QUEUE_URL_PREFIX"`
	// Table is the deployment's DynamoDB table (RAPROV_TRANSPORT=sqs).
	Table string `envconfig:"DYNAMODB_TABLE"`
	// GraphURL points at a running Graph simulator (raprov graphsim); empty
	// means Microsoft when RAPROV_GRAPH_TENANT_ID is set, else an in-process
	// simulator. Against either simulator RAPROV_GRAPH_* and
	// RAPROV_TEAMS_ADMIN_* apply as against Microsoft; the simulator supplies
	// its endpoints and the credentials that are not configured
	// (simulatorFromEnv).
	GraphURL string `envconfig:"GRAPH_URL"`
	// GraphCA is the PEM file of the simulator's certificate (graphsim -ca-out).
	GraphCA string `envconfig:"GRAPH_CA"`
	// Concurrency bounds the running handlers per step.
	Concurrency int `envconfig:"CONCURRENCY" default:"16"`
	// Visibility is how long a received message stays hidden: after a crash,
	// the messages that were in flight are delivered again this much later.
	// It must outlast a step's longest run (Graph calls wait up to
	// RAPROV_GRAPH_MAX_WAIT in process).
	Visibility time.Duration `envconfig:"VISIBILITY" default:"30s"`
	// MaxReceive is how often a message is delivered before it is
	// dead-lettered (and its request failed with retries_exhausted).
	MaxReceive int `envconfig:"MAX_RECEIVE" default:"5"`
	// CallbackSecret signs callbacks (HMAC-SHA256); never logged.
	CallbackSecret string `envconfig:"CALLBACK_SECRET"`
	// CallbackAllowedHosts, when set, are the only hosts callbacks are
	// posted to (comma-separated; exact names or *.example.com patterns).
	CallbackAllowedHosts []string `envconfig:"CALLBACK_ALLOWED_HOSTS"`
	// IntakeKeys are the HMAC keys of the HTTP doors (raprov serve): one, or
	// two while senders move to a new one; each at least 32 bytes. Never
	// logged.
	IntakeKeys []string `envconfig:"INTAKE_KEYS"`
	// SecureCookies marks the status page's session cookie Secure on every
	// answer: set it when raprov serve sits behind a proxy that terminates
	// TLS.
	SecureCookies bool `envconfig:"SECURE_COOKIES"`
	// AllowDeprovisionRows lets request files (run, submit, the bulk folder)
	// carry deprovision rows; off, such rows are refused as bad rows, so
	// one row of a file cannot remove a production line.
	AllowDeprovisionRows bool `envconfig:"ALLOW_DEPROVISION_ROWS"`
	// SenderMappings are mapping files (docs/senders.md) loaded over the
	// built-in ServiceNow and Workday mappings of POST /senders/{name}.
	SenderMappings []string `envconfig:"SENDER_MAPPINGS"`
	// SenderKeys are keys that sign only their sender's POST
	// /senders/{name}: a JSON object of sender name to key or keys
	// (httpapi.ParseSenderKeys).
	SenderKeys string `envconfig:"SENDER_KEYS"`
	// BulkDir is the folder of scheduled bulk files raprov serve watches
	// (--watch); empty: none.
	BulkDir string `envconfig:"BULK_DIR"`
	// LogLevel of the JSON logs: debug, info, warn, error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFile receives the JSON logs; "-" is stderr.
	LogFile string `envconfig:"LOG_FILE" default:".raprov/raprov.log"`

	Steps steps.Config `ignored:"true"`
}

// loadSettings reads RAPROV_* and the step tuning; its errors are
// configuration errors (exit 3).
func loadSettings() (settings, error) {
	var s settings
	if err := envconfig.Process("RAPROV", &s); err != nil {
		return s, configError(fmt.Errorf("config: %w", err))
	}
	sc := steps.DefaultConfig()
	if err := envconfig.Process("RAPROV", &sc); err != nil {
		return s, configError(fmt.Errorf("config: %w", err))
	}
	s.Steps = sc
	return s, nil
}

// bindOps adds the flags of the operator commands (submit, status, dlq):
// the common ones and the deployment they work on.
func (s *settings) bindOps(cmd *cobra.Command) {
	s.bindCommon(cmd)
	cmd.Flags().StringVar(&s.Transport, "transport", s.Transport, "deployment to work on: local (--db) or sqs (AWS; RAPROV_SQS_QUEUE_URL_PREFIX, RAPROV_DYNAMODB_TABLE) (RAPROV_TRANSPORT)")
}

// bindChain adds the flags of the commands that run the chain (run,
// serve): the common ones, the Graph simulator to use and the concurrency.
func (s *settings) bindChain(cmd *cobra.Command) {
	s.bindCommon(cmd)
	fl := cmd.Flags()
	fl.StringVar(&s.GraphURL, "graph-url", s.GraphURL, "use a running Graph simulator at this URL (RAPROV_GRAPH_URL)")
	fl.StringVar(&s.GraphCA, "graph-ca", s.GraphCA, "PEM certificate of that simulator (RAPROV_GRAPH_CA)")
	fl.IntVar(&s.Concurrency, "concurrency", s.Concurrency, "running handlers per step (RAPROV_CONCURRENCY)")
}

// bindCommon adds the flags every command shares.
func (s *settings) bindCommon(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.DB, "db", s.DB, "SQLite database of the embedded default (RAPROV_DB)")
	f.StringVar(&s.LogLevel, "log-level", s.LogLevel, "log level: debug, info, warn, error (RAPROV_LOG_LEVEL)")
	f.StringVar(&s.LogFile, "log-file", s.LogFile, `JSON log file, "-" for stderr (RAPROV_LOG_FILE)`)
}

// logger opens the JSON log destination; a bad level or a log file that
// cannot be opened is a configuration error (exit 3). Logs never go to
// stdout, which is the command's output.
func (s settings) logger() (*slog.Logger, io.Closer, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(s.LogLevel))); err != nil {
		return nil, nil, configError(fmt.Errorf("log level %q: %w", s.LogLevel, err))
	}
	var w io.WriteCloser = nopCloser{os.Stderr}
	if s.LogFile != "-" && s.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(s.LogFile), 0o755); err != nil {
			return nil, nil, configError(fmt.Errorf("log file: %w", err))
		}
		f, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, configError(fmt.Errorf("log file: %w", err))
		}
		w = f
	}
	// Records logged with a step's context carry its request id, whoever logs them.
	h := logctx.Handler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
	return slog.New(h), w, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// demoTiming shortens the step delays for a run against the in-process
// simulator, whose Microsoft-side delays are scaled down too.
func demoTiming(c steps.Config) steps.Config {
	c.LicenseRecheck = steps.Backoff{Initial: 250 * time.Millisecond, Max: 2 * time.Second}
	c.NumberPoll = steps.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	c.Retry = steps.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second}
	c.LicenseWait = 2 * time.Minute
	c.NumberWait = time.Minute
	c.TeamsSyncRecheck = steps.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second}
	c.TeamsSyncWait = time.Minute
	return c
}

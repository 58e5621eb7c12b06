// Package host is what every Lambda function of raprov shares: its
// configuration from the environment (envconfig, prefix RAPROV), the AWS
// clients built once at init, the DynamoDB status store, and the start of
// the SQS handler around the step's runner. It links no Graph code: the
// functions that call Graph add functions/internal/graphhost.
//
// The AWS configuration is read from the variables the Lambda runtime sets
// (AWS_REGION and the execution role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) without the SDK's
// configuration loader, which would add megabytes to every function; the
// endpoint overrides AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL are
// honoured as the SDK documents them (the local stand-ins use them).
//
// Spans are exported when an OTLP/HTTP endpoint is configured
// (RAPROV_OTLP_ENDPOINT or the standard OTEL_EXPORTER_OTLP_* variables; see
// shared/tracing and docs/tracing.md): Load sets up the tracer provider,
// and Start, StartWithURL and StartWithDoors flush the spans of each
// invocation before it answers, because Lambda freezes the sandbox once
// the response is sent. Without an endpoint nothing is installed and an
// invocation does no tracing work beyond the steps' traceparent.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/kelseyhightower/envconfig"
	"go.opentelemetry.io/otel/attribute"

	"github.com/raprov/raprov/functions/internal/secret"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/tracing"
	"github.com/raprov/raprov/shared/tracing/otlphttp"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// Settings are the variables every function reads (prefix RAPROV).
type Settings struct {
	// QueueURLPrefix + a queue's name is its URL (see sqs.Queues).
	QueueURLPrefix string `envconfig:"SQS_QUEUE_URL_PREFIX" required:"true"`
	// Table is the DynamoDB table of the ledger, claims and number holds.
	Table string `envconfig:"DYNAMODB_TABLE" required:"true"`
	// MaxReceive is the delivery on which the runner ends a request whose
	// step keeps failing; the queue's redrive allows MaxReceive + 1.
	MaxReceive int `envconfig:"MAX_RECEIVE" default:"5"`
	// LogLevel of the JSON logs: debug, info, warn, error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
}

// Host is one function's process-wide state, built once at init.
type Host struct {
	Settings Settings
	// Steps is the step tuning (RAPROV_LICENSE_WAIT, ...).
	Steps steps.Config
	// AWS is the SDK configuration the clients share.
	AWS aws.Config
	Log *slog.Logger
	// Tracing exports the spans when an endpoint is configured; it is
	// never nil, and does nothing with export off.
	Tracing *tracing.Provider

	Ledger *dynamoledger.Ledger
	Claims *dynamoledger.Claims
	Holds  *dynamoledger.NumberHolds
	Sender *sqs.Sender

	ddb *dynamodb.Client

	sqs sqs.API
}

// Load reads the environment and builds the clients.
func Load() (*Host, error) {
	return load(os.Getenv, os.Stderr)
}

func load(getenv func(string) string, logOut io.Writer) (*Host, error) {
	h := &Host{}
	if err := envconfig.Process("RAPROV", &h.Settings); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if strings.TrimSpace(h.Settings.Table) == "" {
		return nil, errors.New("config: RAPROV_DYNAMODB_TABLE is empty")
	}
	h.Steps = steps.DefaultConfig()
	if err := envconfig.Process("RAPROV", &h.Steps); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := h.Steps.Check(); err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(h.Settings.LogLevel)); err != nil {
		return nil, fmt.Errorf("RAPROV_LOG_LEVEL: %w", err)
	}
	h.Log = slog.New(logctx.Handler(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})))
	cfg, err := awsConfig(getenv)
	if err != nil {
		return nil, err
	}
	headers, err := otlpHeaders(cfg, h.Log)
	if err != nil {
		return nil, err
	}
	h.Tracing, err = tracing.Setup(context.Background(), tracing.Options{Logger: h.Log, Attributes: lambdaResource(getenv), Headers: headers})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	h.AWS = cfg
	queues, err := sqs.NewQueues(h.Settings.QueueURLPrefix)
	if err != nil {
		return nil, fmt.Errorf("config: RAPROV_SQS_QUEUE_URL_PREFIX: %w", err)
	}
	ddb := dynamodb.NewFromConfig(cfg, dynamoDBOptions(getenv))
	h.ddb = ddb
	h.Ledger = dynamoledger.New(ddb, h.Settings.Table, dynamoledger.Options{})
	h.Claims = dynamoledger.NewClaims(ddb, h.Settings.Table)
	h.Holds = dynamoledger.NewNumberHolds(ddb, h.Settings.Table)
	sqsCfg := cfg.Copy()
	sqsCfg.BaseEndpoint = endpoint(getenv, "SQS")
	h.sqs = sqs.NewClient(sqsCfg)
	h.Sender = sqs.NewSender(h.sqs, queues, sqs.SenderOptions{Ledger: h.Ledger, Logger: h.Log})
	return h, nil
}

// Handler returns the SQS handler of the step called name running fn
// wrapped in the production middleware (steps.Production).
func (h *Host) Handler(name string, fn steps.Step) sqs.Handler {
	r := runner.New(name, steps.Production(name, fn, h.Steps, h.Log), runner.Options{
		MaxReceive: h.Settings.MaxReceive,
		Holder: func(ctx context.Context, requestID string) (string, error) {
			holder, _, err := h.Claims.Holder(ctx, requestID)
			return holder, err
		},
		Logger: h.Log,
	})
	return sqs.NewHandler(r, h.Sender, sqs.HandlerOptions{Visibility: h.sqs, Backoff: RetryBackoff, Logger: h.Log})
}

// RetryBackoff is how long a record whose step failed unexpectedly stays
// hidden before its next delivery: 10 s, 40 s, 90 s, ... at most 5 min,
// instead of the queue's visibility timeout (six function timeouts).
func RetryBackoff(received int) time.Duration {
	return min(time.Duration(received*received)*10*time.Second, 5*time.Minute)
}

// Start serves the step called name with fn under the Lambda runtime; it
// does not return.
func (h *Host) Start(name string, fn steps.Step) {
	h.Log.Info("function ready", "step", name)
	sqs.Start(flushAfter(h, h.Handler(name, fn)))
}

// StartWithURL serves the step called name with fn on its queue and web
// on the function's Lambda Function URL, one bootstrap for both: each
// invocation goes where its payload's shape says (sqs.Dispatch). It does
// not return.
func (h *Host) StartWithURL(name string, fn steps.Step, web http.Handler) {
	h.Log.Info("function ready", "step", name, "function_url", true)
	sqs.StartDispatch(flushAfter(h, h.Handler(name, fn)), h.flushAfterHTTP(web), h.Log)
}

// StartWithDoors is StartWithURL for a function that EventBridge Scheduler
// invokes too: a payload that is exactly sqs.ScheduledBulkScan goes to scan
// (sqs.DispatchScheduled). It does not return.
func (h *Host) StartWithDoors(name string, fn steps.Step, web http.Handler, scan sqs.Scheduled) {
	h.Log.Info("function ready", "step", name, "function_url", true, "scheduled", true)
	sqs.StartDispatchScheduled(flushAfter(h, h.Handler(name, fn)), h.flushAfterHTTP(web), h.flushAfterScheduled(scan), h.Log)
}

// StartWithPlanner serves the step called name with fn on its queue and
// plan on the dry-run invocations of intake's HTTP door
// (sqs.DryRunInvocation), one bootstrap for both. It does not return.
func (h *Host) StartWithPlanner(name string, fn steps.Step, plan sqs.Planned) {
	h.Log.Info("function ready", "step", name, "plans_dry_runs", true)
	sqs.StartDoors(flushAfter(h, h.Handler(name, fn)), sqs.Doors{Plan: flushAfter(h, plan)}, h.Log)
}

// Flushing the spans of an invocation takes at most flushTimeout, and
// ends flushMargin before the invocation's deadline so that the function
// can still answer.
const (
	flushTimeout = 2 * time.Second
	flushMargin  = 100 * time.Millisecond
)

// flushAfter returns next flushing the spans after each invocation (an
// SQS batch); with export off it returns next itself.
func flushAfter[E, R any](h *Host, next func(context.Context, E) (R, error)) func(context.Context, E) (R, error) {
	if !h.Tracing.Enabled() {
		return next
	}
	return func(ctx context.Context, ev E) (R, error) {
		defer h.flush(ctx)
		return next(ctx, ev)
	}
}

// flushAfterHTTP is flushAfter for the Function URL's handler: the
// response is buffered, so it is sent after the flush.
func (h *Host) flushAfterHTTP(web http.Handler) http.Handler {
	if !h.Tracing.Enabled() || web == nil {
		return web
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer h.flush(r.Context())
		web.ServeHTTP(w, r)
	})
}

// flushAfterScheduled is flushAfter for a scheduled invocation's handler.
func (h *Host) flushAfterScheduled(scan sqs.Scheduled) sqs.Scheduled {
	if !h.Tracing.Enabled() || scan == nil {
		return scan
	}
	return func(ctx context.Context) (any, error) {
		defer h.flush(ctx)
		return scan(ctx)
	}
}

// flush exports the spans the invocation of ctx ended, for at most
// flushTimeout and never past the invocation's deadline (less
// flushMargin). A failure is logged: the spans are lost, the invocation's
// result stands.
func (h *Host) flush(ctx context.Context) {
	timeout := flushTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)-flushMargin)
	}
	if timeout <= 0 {
		h.Log.WarnContext(ctx, "tracing: no time left to export the invocation's spans")
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := h.Tracing.Flush(fctx); err != nil {
		h.Log.WarnContext(ctx, "tracing: exporting the invocation's spans failed (they are lost)", "error", err.Error())
	}
}

// OTLPHeadersSecretVar names the variable holding the ARN of a secret with
// headers for the OTLP exporter, as OTEL_EXPORTER_OTLP_HEADERS writes them
// (k=v,k2=v2): where a collector's API key belongs on AWS.
const OTLPHeadersSecretVar = "RAPROV_OTLP_HEADERS_SECRET_ARN"

// otlpHeaders reads the exporter's headers from the secret
// OTLPHeadersSecretVar names; none when it is unset. An entry that is not
// valid is skipped with a warning that names its position, never its
// value.
func otlpHeaders(cfg aws.Config, log *slog.Logger) (map[string]string, error) {
	value, err := secret.FromARNVar(context.Background(), cfg, OTLPHeadersSecretVar)
	if err != nil || value == "" {
		return nil, err
	}
	return otlphttp.ParseHeaders(OTLPHeadersSecretVar, value, func(msg string) { log.Warn("tracing: " + msg) }), nil
}

// lambdaResource describes the function to the collector, from the
// variables the Lambda runtime sets: cloud.provider, cloud.platform,
// cloud.region, faas.name, faas.version and faas.instance (the log
// stream, one per sandbox). OTEL_RESOURCE_ATTRIBUTES overrides them.
func lambdaResource(getenv func(string) string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String("cloud.provider", "aws"), attribute.String("cloud.platform", "aws_lambda")}
	for _, a := range []struct{ key, env string }{
		{"cloud.region", "AWS_REGION"},
		{"faas.name", "AWS_LAMBDA_FUNCTION_NAME"},
		{"faas.version", "AWS_LAMBDA_FUNCTION_VERSION"},
		{"faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME"},
	} {
		if v := getenv(a.env); v != "" {
			attrs = append(attrs, attribute.String(a.key, v))
		}
	}
	return attrs
}

// Run loads the host and serves the step called name with the function
// build makes from it; an init error ends the process (Exit). It does not
// return.
func Run(name string, build func(*Host) (steps.Step, error)) {
	h, err := Load()
	if err != nil {
		Exit(name, err)
	}
	fn, err := build(h)
	if err != nil {
		Exit(name, err)
	}
	h.Start(name, fn)
}

// RunWithURL is Run for a function that also answers its Function URL:
// build makes the step and the HTTP handler of the URL (StartWithURL).
func RunWithURL(name string, build func(*Host) (steps.Step, http.Handler, error)) {
	h, err := Load()
	if err != nil {
		Exit(name, err)
	}
	fn, web, err := build(h)
	if err != nil {
		Exit(name, err)
	}
	h.StartWithURL(name, fn, web)
}

// RunWithDoors is RunWithURL for a function that also answers a scheduled
// invocation: build makes the step, the URL's HTTP handler and the
// scheduled handler (StartWithDoors).
func RunWithDoors(name string, build func(*Host) (steps.Step, http.Handler, sqs.Scheduled, error)) {
	h, err := Load()
	if err != nil {
		Exit(name, err)
	}
	fn, web, scan, err := build(h)
	if err != nil {
		Exit(name, err)
	}
	h.StartWithDoors(name, fn, web, scan)
}

// Endpoint is the endpoint override of an AWS service (its SDK id, e.g.
// "S3"): AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else nil, as
// the host's own clients read it.
func Endpoint(service string) *string {
	return endpoint(os.Getenv, service)
}

// Exit logs an init error and ends the process: Lambda reports the init as
// failed and retries it on the next invocation.
func Exit(step string, err error) {
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("function init failed", "step", step, "error", err.Error())
	os.Exit(1)
}

// awsConfig builds the SDK configuration from the runtime's variables.
func awsConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the Lambda runtime sets them from the execution role)")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		BaseEndpoint: func() *string {
			if u := getenv("AWS_ENDPOINT_URL"); u != "" {
				return &u
			}
			return nil
		}(),
	}, nil
}

// dynamoDBOptions are the DynamoDB client's: its endpoint override and
// DynamoDB's own retry defaults, 4 attempts with a 25 ms base backoff. The
// service module is pinned to v1.68.0, the last release before the SDK's
// schema-serde packages (docs/aws.md, "Function sizes and start-up"); from
// v1.69 on the client sets these defaults itself, before it only did so
// under AWS_NEW_RETRIES_2026=true, so the host sets them to keep the
// behaviour of the current SDK.
func dynamoDBOptions(getenv func(string) string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.BaseEndpoint = endpoint(getenv, "DYNAMODB")
		if o.Retryer == nil && o.RetryMaxAttempts == 0 {
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 4
				so.BaseDelay = 25 * time.Millisecond
			})
		}
	}
}

// endpoint is AWS_ENDPOINT_URL_<service>, else AWS_ENDPOINT_URL, else nil
// (the service's own endpoint).
func endpoint(getenv func(string) string, service string) *string {
	for _, name := range []string{"AWS_ENDPOINT_URL_" + strings.ToUpper(service), "AWS_ENDPOINT_URL"} {
		if u := getenv(name); u != "" {
			return &u
		}
	}
	return nil
}

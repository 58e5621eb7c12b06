//go:build linux

package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

// The stack's fixed parts.
const (
	region    = awslocal.SQSRegion // fauxqs's region
	accountID = "000000000000"     // fauxqs's account
	// accessKeyID is the functions' (their execution role's) and the
	// tests' own: DynamoDB Local keeps a database per access key and
	// region, and takes keys of letters and digits only.
	accessKeyID = "ASIAE2ETESTKEY"
	// maxReceive is the template's MaxReceive for these stacks; each step
	// queue's redrive policy allows one receive more.
	maxReceive = 3
	// visibility is every step queue's visibility timeout: a record whose
	// invocation failed (a killed function) comes back this soon.
	visibility = 3 * time.Second
	// batchSize is the most records of one invocation.
	batchSize = 10
	// awaitTimeout bounds how long a test waits for an outcome.
	awaitTimeout = 60 * time.Second

	graphSecretARN    = "arn:aws:secretsmanager:" + region + ":" + accountID + ":secret:raprov/graph-client-secret-AbCdEf"
	callbackSecretARN = "arn:aws:secretsmanager:" + region + ":" + accountID + ":secret:raprov/callback-hmac-GhIjKl"
	callbackKey       = "e2e-callback-hmac-key"
	// intakeKeysSecretARN holds the HMAC key of the HTTP door at intake's
	// Function URL (url_test.go), as a JSON array of one key.
	intakeKeysSecretARN = "arn:aws:secretsmanager:" + region + ":" + accountID + ":secret:raprov/intake-keys-MnOpQr"
	intakeKey           = "e2e-intake-hmac-key-0123456789abcdef"
	// senderKeysSecretARN holds the sender keys (stackConfig.senderKeys).
	senderKeysSecretARN = "arn:aws:secretsmanager:" + region + ":" + accountID + ":secret:raprov/sender-keys-StUvWx"
	// deadEndpoint is AWS_ENDPOINT_URL for every function: a client that
	// has no endpoint of its own fails on loopback instead of reaching AWS.
	deadEndpoint = "http://127.0.0.1:9"
)

// stackConfig varies one test's stack.
type stackConfig struct {
	// knobs are the simulator's; OperationStepDelay defaults to 50 ms.
	knobs graphsim.Knobs
	// env adds or replaces variables of a step's function.
	env map[string]map[string]string
	// noPollers starts no event source mappings: startPollers does.
	noPollers bool
	// bulk deploys the scheduled bulk door: the template's BulkBucketName
	// is the stack's bucket (stack.bulkBucket), created on the S3 of the
	// SQS stand-in (fauxqs).
	bulk bool
	// callbackHooks runs complete's e2ehooks build, which honours
	// RAPROV_E2E_CALLBACK_RESOLVE (functions/complete/hooks_e2e.go),
	// instead of the deployable one.
	callbackHooks bool
	// senderMappings deploys the template's SenderMappingsBucket: a bucket
	// of the S3 stand-in holding these objects (name → content) under the
	// default SenderMappingsPrefix.
	senderMappings map[string][]byte
	// senderKeys is the value of the secret the template's
	// SenderKeysSecretArn names; "" deploys none.
	senderKeys string
}

// stack is one deployment of the template on the stand-ins: queues named
// after the stack, a table, a simulated tenant, and a function per step of
// events.AllSteps.
type stack struct {
	t      *testing.T
	name   string
	sqs    *awssqs.Client
	queues sqs.Queues
	// sqsEndpoint and ddbEndpoint are the stand-ins' base URLs.
	sqsEndpoint, ddbEndpoint string
	arns                     map[string]string // queue name → ARN
	table                    string
	ledger                   *dynamoledger.Ledger
	sim                      *graphsim.Running
	secrets                  *secretsStandIn
	fns                      map[string]*function
	// s3 and bulkBucket: the stand-in's S3, and the bulk door's bucket
	// (stackConfig.bulk; "" otherwise).
	s3         *s3.Client
	bulkBucket string

	logMu sync.Mutex
	log   []string // what the pollers noticed, shown on failure

	mu      sync.Mutex
	results map[string][]events.Event // final events by request id
}

// newStack starts a stack; everything stops when t ends.
func newStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // first runs install the stand-ins
	defer cancel()
	sq, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatalf("SQS stand-in (npm fauxqs): %v", err)
	}
	db, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatalf("DynamoDB stand-in (DynamoDB Local): %v", err)
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: "e2e-secret-key", Source: "e2e"}, nil
	})
	s := &stack{
		t:           t,
		name:        "e2e" + randomHex(5),
		sqsEndpoint: sq.Endpoint,
		ddbEndpoint: db.Endpoint,
		sqs:         awssqs.New(awssqs.Options{Region: region, BaseEndpoint: aws.String(sq.Endpoint), Credentials: creds}),
		arns:        map[string]string{},
		fns:         map[string]*function{},
		results:     map[string][]events.Event{},
	}
	t.Cleanup(func() {
		if t.Failed() {
			s.logMu.Lock()
			t.Logf("stack %s, poller notes:\n%s", s.name, strings.Join(s.log, "\n"))
			s.logMu.Unlock()
		}
	})
	s.createQueues(ctx)
	s.s3 = s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(sq.Endpoint), UsePathStyle: true, Credentials: creds})
	if cfg.bulk {
		s.bulkBucket = s.name + "-bulk"
		if _, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bulkBucket)}); err != nil {
			t.Fatalf("bulk bucket: %v", err)
		}
	}

	ddb := dynamodb.New(dynamodb.Options{Region: region, BaseEndpoint: aws.String(db.Endpoint), Credentials: creds})
	s.table = s.name + "-ledger"
	if err := dynamoledger.CreateTable(ctx, ddb, s.table); err != nil {
		t.Fatal(err)
	}
	s.ledger = dynamoledger.New(ddb, s.table, dynamoledger.Options{})

	if cfg.knobs.OperationStepDelay == 0 {
		cfg.knobs.OperationStepDelay = 50 * time.Millisecond
	}
	s.sim, err = graphsim.Start(context.Background(), graphsim.Config{Seed: graphsim.DefaultSeed(), Knobs: cfg.knobs, RandSeed: 1}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Graph simulator: %v", err)
	}
	t.Cleanup(s.sim.Close)
	caFile := filepath.Join(t.TempDir(), "graphsim-ca.pem")
	if err := os.WriteFile(caFile, s.sim.CACertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{graphSecretARN: graphsim.DefaultClientSecret, callbackSecretARN: callbackKey,
		intakeKeysSecretARN: `["` + intakeKey + `"]`}
	if cfg.senderKeys != "" {
		secrets[senderKeysSecretARN] = cfg.senderKeys
	}
	s.secrets = startSecrets(t, secrets)

	tmpl, err := loadTemplate(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	values := cfnValues{
		Params: map[string]string{
			"GraphTenantId":        graphsim.DefaultTenantID,
			"GraphClientId":        graphsim.DefaultClientID,
			"GraphClientSecretArn": graphSecretARN,
			"CallbackSecretArn":    callbackSecretARN,
			"IntakeKeysSecretArn":  intakeKeysSecretARN,
			"VerifiedDomains":      strings.Join(s.sim.Server.State().VerifiedDomains, ","),
			"MaxReceive":           strconv.Itoa(maxReceive),
			"LicenseWait":          "30s",
			"TeamsSyncWait":        "30s",
		},
		Pseudo: map[string]string{
			"AWS::Region": region, "AWS::AccountId": accountID, "AWS::StackName": s.name,
			"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws",
		},
		Refs: map[string]string{"Table": s.table,
			// The planner of intake's dry runs, as the emulator's Invoke
			// path names it (dryrun_test.go points the Lambda client at a
			// check-license instance).
			"CheckLicenseFunction.Arn": "function"},
	}
	if cfg.bulk {
		values.Params["BulkBucketName"] = s.bulkBucket
		values.Refs["BulkBucket"] = s.bulkBucket
	}
	if cfg.senderKeys != "" {
		values.Params["SenderKeysSecretArn"] = senderKeysSecretARN
	}
	if cfg.senderMappings != nil {
		bucket := s.name + "-mappings"
		if _, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("mappings bucket: %v", err)
		}
		prefix, _, err := tmpl.ref("SenderMappingsPrefix", values)
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range cfg.senderMappings {
			if _, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + name), Body: bytes.NewReader(body)}); err != nil {
				t.Fatalf("mapping %s: %v", name, err)
			}
		}
		values.Params["SenderMappingsBucket"] = bucket
	}
	for _, step := range events.AllSteps {
		env, err := tmpl.functionEnv(step, values)
		if err != nil {
			t.Fatal(err)
		}
		f := &function{s: s, step: step, graph: env["RAPROV_GRAPH_CLIENT_SECRET_ARN"] != ""}
		f.hooked = cfg.callbackHooks && step == events.StepComplete
		f.env = s.overlay(t, env, f.graph, caFile, cfg.env[step])
		s.fns[step] = f
		t.Cleanup(f.close)
		if err := f.start(ctx); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if !cfg.noPollers {
		s.startPollers()
	}
	return s
}

// overlay completes a function's template environment with what Lambda
// itself sets and what points it at the stand-ins.
func (s *stack) overlay(t *testing.T, env map[string]string, graph bool, caFile string, extra map[string]string) []string {
	t.Helper()
	// The template's prefix names SQS's own endpoint; the stand-in's queue
	// URLs differ from it in scheme and host only.
	tmplPrefix, ok := env[sqs.EnvQueueURLPrefix]
	if !ok {
		t.Fatalf("template.yaml gives the functions no %s", sqs.EnvQueueURLPrefix)
	}
	if want, got := urlPath(t, tmplPrefix), urlPath(t, s.queues.Prefix); want != got {
		t.Fatalf("%s: the template's %s and the stand-in's %s differ in more than the host", sqs.EnvQueueURLPrefix, tmplPrefix, s.queues.Prefix)
	}
	env[sqs.EnvQueueURLPrefix] = s.queues.Prefix
	// Lambda's own: the region and the execution role's credentials.
	env["AWS_REGION"] = region
	env["AWS_DEFAULT_REGION"] = region
	env["AWS_ACCESS_KEY_ID"] = accessKeyID
	env["AWS_SECRET_ACCESS_KEY"] = "e2e-secret-key"
	env["AWS_SESSION_TOKEN"] = "e2e-session-token"
	// The stand-ins.
	env["AWS_ENDPOINT_URL_SQS"] = s.sqsEndpoint
	env["AWS_ENDPOINT_URL_DYNAMODB"] = s.ddbEndpoint
	env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = s.secrets.URL
	env["AWS_ENDPOINT_URL_S3"] = s.sqsEndpoint // fauxqs serves S3 too
	env["AWS_ENDPOINT_URL"] = deadEndpoint
	if graph {
		// What simulatorAt (cmd/raprov) gives a client of the simulator:
		// its endpoints and scopes; the tenant, client id and secret come
		// from the template (the secret through Secrets Manager).
		env["RAPROV_GRAPH_AUTHORITY_HOST"] = s.sim.URL + "/"
		env["RAPROV_GRAPH_DISABLE_INSTANCE_DISCOVERY"] = "true"
		env["RAPROV_GRAPH_BASE_URL"] = s.sim.URL + "/v1.0"
		env["RAPROV_GRAPH_SCOPE"] = graphsim.GraphScope
		env["RAPROV_TEAMS_ADMIN_BASE_URL"] = s.sim.URL
		env["RAPROV_TEAMS_ADMIN_SCOPE"] = graphsim.TeamsAdminScope
		env["SSL_CERT_FILE"] = caFile // trust the simulator's certificate
	}
	// Short waits (the backoffs between checks are not configurable).
	env["RAPROV_NUMBER_WAIT"] = "30s"
	maps.Copy(env, extra)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func urlPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// createQueues creates the stack's queues as the template does: each
// step's queue with its dead-letter queue (redrive after MaxReceive + 1
// receives), and results.
func (s *stack) createQueues(ctx context.Context) {
	t := s.t
	vis := strconv.Itoa(int(visibility / time.Second))
	create := func(name string, attrs map[string]string) {
		out, err := s.sqs.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(s.name + "-" + name), Attributes: attrs})
		if err != nil {
			t.Fatalf("create queue %s: %v", name, err)
		}
		url := aws.ToString(out.QueueUrl)
		s.queues.Prefix = strings.TrimSuffix(url, name)
		a, err := s.sqs.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		s.arns[name] = a.Attributes[string(types.QueueAttributeNameQueueArn)]
	}
	for _, q := range sqs.Names() {
		if q == events.Results {
			create(q, nil)
			continue
		}
		create(q+sqs.DLQSuffix, nil)
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": s.arns[q+sqs.DLQSuffix], "maxReceiveCount": maxReceive + 1})
		create(q, map[string]string{"VisibilityTimeout": vis, "RedrivePolicy": string(policy)})
	}
	if _, err := sqs.NewQueues(s.queues.Prefix); err != nil {
		t.Fatal(err)
	}
}

// note keeps a line for the failure report.
func (s *stack) note(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = append(s.log, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
}

// ---------------------------------------------------------------- functions

// function is one step's Lambda function: the emulator serving it now, and
// every one it had (a restart after a kill starts a new one).
type function struct {
	s     *stack
	step  string
	graph bool // it calls Graph (it has the Graph secret's ARN)
	env   []string
	// hooked runs the e2ehooks build (stackConfig.callbackHooks).
	hooked bool

	mu   sync.Mutex
	rie  *awslocal.RIE
	all  []*awslocal.RIE
	cold time.Duration // process start to the first answer, of the latest start
	// coldInvoke is the first invocation alone (init and one empty batch),
	// without the emulator's own start.
	coldInvoke time.Duration
	before     func(batch []lambdaevents.SQSMessage)
	during     func(rie *awslocal.RIE, batch []lambdaevents.SQSMessage)

	invocations atomic.Int64
}

// emptyBatch is an invocation with no records.
var emptyBatch = []byte(`{"Records":[]}`)

// start starts a new emulator for the function and invokes it once with
// an empty batch: that is Lambda's cold start (process start, init, first
// answer), measured here, paid before any record arrives.
func (f *function) start(ctx context.Context) error {
	t0 := time.Now()
	r, err := awslocal.StartRIE(ctx, awslocal.RIEOptions{
		Bootstrap:    f.bootstrap(),
		Env:          f.env,
		FunctionName: f.s.name + "-" + f.step,
	})
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.all = append(f.all, r)
	f.mu.Unlock()
	t1 := time.Now()
	body, err := r.Invoke(ctx, emptyBatch)
	cold, coldInvoke := time.Since(t0), time.Since(t1)
	if err != nil {
		return fmt.Errorf("first invocation: %w\n%s", err, tail(r.Output(), 8<<10))
	}
	var resp lambdaevents.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		return fmt.Errorf("first invocation answered %q (%v)", body, err)
	}
	f.mu.Lock()
	f.rie, f.cold, f.coldInvoke = r, cold, coldInvoke
	f.mu.Unlock()
	return nil
}

// bootstrap is the executable the function runs.
func (f *function) bootstrap() string {
	if f.hooked {
		return filepath.Join(functionsDir, hookedSubdir, f.step)
	}
	return filepath.Join(functionsDir, f.step)
}

// restart replaces a killed emulator, as Lambda starts a new instance.
func (f *function) restart(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.start(ctx); err != nil {
		t.Fatalf("restart %s: %v", f.step, err)
	}
}

// current returns the emulator serving the function now.
func (f *function) current() *awslocal.RIE {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rie
}

// hooks returns the function's test hooks.
func (f *function) hooks() (func([]lambdaevents.SQSMessage), func(*awslocal.RIE, []lambdaevents.SQSMessage)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.before, f.during
}

// close stops every emulator of the function, and logs their output when
// the test failed.
func (f *function) close() {
	f.mu.Lock()
	all := slices.Clone(f.all)
	f.mu.Unlock()
	for i, r := range all {
		if err := r.Close(); err != nil {
			f.s.t.Errorf("%s: %v", f.step, err)
		}
		if f.s.t.Failed() {
			f.s.t.Logf("function %s, emulator %d of %d, output (tail):\n%s", f.step, i+1, len(all), tail(r.Output(), 16<<10))
		}
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ------------------------------------------------------------------ pollers

// startPollers starts an event source mapping per step queue and a reader
// of the results queue.
func (s *stack) startPollers() {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, step := range events.AllSteps {
		wg.Go(func() { s.poll(ctx, s.fns[step]) })
	}
	wg.Go(func() { s.collectResults(ctx) })
	s.t.Cleanup(func() {
		stop()
		wg.Wait()
	})
}

// poll plays Lambda's SQS event source mapping for f (one instance,
// ReportBatchItemFailures on): it long-polls the step's queue for up to
// batchSize records with every attribute, hands them to the function as an
// SQS event, and deletes the records the response does not report as
// failed. A failed invocation (error, crash, unreadable response, or a
// response naming a record not in the batch) deletes none: the whole batch
// comes back after its visibility timeout, as on Lambda.
func (s *stack) poll(ctx context.Context, f *function) {
	url, arn := s.queues.URL(f.step), s.arns[f.step]
	for ctx.Err() == nil {
		out, err := s.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    &url,
			MaxNumberOfMessages:         batchSize,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			if ctx.Err() == nil {
				s.note("%s: receive: %v", f.step, err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		if len(out.Messages) == 0 {
			continue
		}
		ev := lambdaevents.SQSEvent{Records: make([]lambdaevents.SQSMessage, len(out.Messages))}
		for i, m := range out.Messages {
			ev.Records[i] = sqstest.Record(m, arn)
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			s.note("%s: %v", f.step, err)
			continue
		}
		before, during := f.hooks()
		if before != nil {
			before(ev.Records)
		}
		r := f.current()
		if during != nil {
			go during(r, ev.Records)
		}
		body, err := r.Invoke(ctx, payload)
		f.invocations.Add(1)
		if err != nil {
			if ctx.Err() == nil {
				s.note("%s: invocation of %d records failed, none deleted: %v", f.step, len(ev.Records), err)
			}
			continue
		}
		var resp lambdaevents.SQSEventResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			s.note("%s: response %q: %v; none deleted", f.step, body, err)
			continue
		}
		keep := map[string]bool{}
		valid := true
		for _, fail := range resp.BatchItemFailures {
			known := slices.ContainsFunc(ev.Records, func(r lambdaevents.SQSMessage) bool { return r.MessageId == fail.ItemIdentifier })
			valid = valid && known
			keep[fail.ItemIdentifier] = true
		}
		if !valid {
			s.note("%s: response names records not in the batch (%s): none deleted", f.step, body)
			continue
		}
		var del []types.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			if !keep[aws.ToString(m.MessageId)] {
				del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
		}
		if len(resp.BatchItemFailures) > 0 {
			s.note("%s: %d of %d records left for redelivery", f.step, len(resp.BatchItemFailures), len(ev.Records))
		}
		if len(del) == 0 {
			continue
		}
		d, err := s.sqs.DeleteMessageBatch(context.WithoutCancel(ctx), &awssqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del})
		if err == nil && len(d.Failed) > 0 {
			err = fmt.Errorf("%d entries failed: %s", len(d.Failed), aws.ToString(d.Failed[0].Message))
		}
		if err != nil {
			s.note("%s: delete: %v", f.step, err)
		}
	}
}

// collectResults reads the results queue, which no function consumes.
func (s *stack) collectResults(ctx context.Context) {
	url := s.queues.URL(events.Results)
	for ctx.Err() == nil {
		out, err := s.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			if ctx.Err() == nil {
				s.note("results: receive: %v", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		for _, m := range out.Messages {
			ev, err := events.Decode([]byte(aws.ToString(m.Body)))
			if err != nil {
				s.note("results: undecodable event %q: %v", aws.ToString(m.Body), err)
			} else {
				s.mu.Lock()
				s.results[ev.Subject] = append(s.results[ev.Subject], ev)
				s.mu.Unlock()
			}
			if _, err := s.sqs.DeleteMessage(context.WithoutCancel(ctx), &awssqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
				s.note("results: delete: %v", err)
			}
		}
	}
}

// ------------------------------------------------------------ test helpers

// submit sends the event a door submits req as (events.RequestedType:
// provisioning.requested, or deprovision.requested for a deprovision
// request) to intake's queue, as `raprov submit` against AWS does, and
// returns its body.
func (s *stack) submit(t *testing.T, req events.Request) []byte {
	t.Helper()
	body, err := events.Encode(events.New(events.RequestedType(req), "raprov/e2e", events.Data{Request: req}))
	if err != nil {
		t.Fatal(err)
	}
	s.send(t, events.StepIntake, body)
	return body
}

// send sends a raw body to the queue called name.
func (s *stack) send(t *testing.T, name string, body []byte) {
	t.Helper()
	url := s.queues.URL(name)
	if _, err := s.sqs.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(string(body))}); err != nil {
		t.Fatalf("send to %s: %v", name, err)
	}
}

// outcome is where a request ended.
type outcome struct {
	status  ledger.Status  // from the ledger, with its history
	final   events.Event   // the latest final event on the results queue
	results []events.Event // every final event of the request
}

// await waits until the ledger shows the request ended with want and a
// final event of the matching type reached the results queue.
func (s *stack) await(t *testing.T, id string, want ledger.Outcome) outcome {
	t.Helper()
	wantType := events.TypeProvisioningCompleted
	if want == ledger.Failed {
		wantType = events.TypeProvisioningFailed
	}
	deadline := time.Now().Add(awaitTimeout)
	for {
		st, err := s.ledger.Get(context.Background(), id)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("ledger: %v", err)
		}
		s.mu.Lock()
		res := slices.Clone(s.results[id])
		s.mu.Unlock()
		if err == nil && st.Outcome == want {
			for i := len(res) - 1; i >= 0; i-- {
				if res[i].Type == wantType {
					return outcome{status: st, final: res[i], results: res}
				}
			}
		}
		if time.Now().After(deadline) {
			for _, h := range st.History {
				t.Logf("%s: %s %-14s %-40s %s %s", id, h.Time.Format("15:04:05.000"), h.Step, h.Type, h.Outcome, h.Reason)
			}
			t.Fatalf("after %s, request %s is %s at %s (%s), with %d final events; want %s", awaitTimeout, id, st.Outcome, st.Step, st.Type, len(res), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quiesce waits until every step queue has stayed empty (no message
// visible, in flight or delayed) for a while: every flow has ended.
func (s *stack) quiesce(t *testing.T) {
	t.Helper()
	const quiet = 1500 * time.Millisecond
	deadline := time.Now().Add(awaitTimeout)
	var since time.Time
	for time.Now().Before(deadline) {
		busy := 0
		for _, step := range events.AllSteps {
			busy += s.count(t, s.queues.URL(step))
		}
		switch {
		case busy > 0:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= quiet:
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the step queues did not go quiet within %s", awaitTimeout)
}

// count returns how many messages the queue at url holds: visible, in
// flight and delayed.
func (s *stack) count(t *testing.T, url string) int { return sqstest.Count(t, s.sqs, url) }

// deadLetters returns the stack's dead letters reader.
func (s *stack) deadLetters() *sqs.DeadLetters {
	return sqs.NewDeadLetters(s.sqs, s.queues, sqs.DeadLettersOptions{Visibility: 5 * time.Second, Wait: -1})
}

// ---------------------------------------------------------- Secrets Manager

// secretsStandIn answers Secrets Manager's GetSecretValue (JSON 1.1
// protocol, the SDK's real client) for the secrets it holds, and counts
// the reads.
type secretsStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	reads map[string]int // by ARN
}

func startSecrets(t *testing.T, secrets map[string]string) *secretsStandIn {
	t.Helper()
	sm := &secretsStandIn{reads: map[string]int{}}
	fail := func(w http.ResponseWriter, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	sm.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if target := r.Header.Get("X-Amz-Target"); r.Method != http.MethodPost || target != "secretsmanager.GetSecretValue" {
			fail(w, "UnknownOperationException", "the stand-in serves GetSecretValue only, not "+target)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			fail(w, "MissingAuthenticationTokenException", "request not signed")
			return
		}
		var in struct{ SecretId string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, "InvalidRequestException", err.Error())
			return
		}
		value, ok := secrets[in.SecretId]
		if !ok {
			fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		sm.mu.Lock()
		sm.reads[in.SecretId]++
		sm.mu.Unlock()
		name := in.SecretId[strings.LastIndex(in.SecretId, ":")+1:]
		name = name[:max(strings.LastIndex(name, "-"), 0)] // without the 6-character suffix
		var b bytes.Buffer
		json.NewEncoder(&b).Encode(map[string]any{
			"ARN": in.SecretId, "Name": name, "SecretString": value,
			"VersionId": "00000000-0000-0000-0000-000000000001", "VersionStages": []string{"AWSCURRENT"},
			"CreatedDate": float64(time.Now().Unix()),
		})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(b.Bytes())
	}))
	t.Cleanup(sm.Close)
	return sm
}

// readsOf returns how often the secret was read.
func (sm *secretsStandIn) readsOf(arn string) int {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.reads[arn]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

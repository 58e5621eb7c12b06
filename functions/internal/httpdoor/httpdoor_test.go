package httpdoor_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqssubmit"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

const (
	key1 = "0123456789abcdef0123456789abcdef"
	key2 = "fedcba9876543210fedcba9876543210-next"
)

func TestParseKeys(t *testing.T) {
	for value, want := range map[string][]string{
		`["` + key1 + `"]`:                    {key1},
		` [ "` + key1 + `", "` + key2 + `" ]`: {key1, key2},
		key1:                                  {key1},
		key1 + "\n" + key2 + "\n":             {key1, key2},
		key1 + "\r\n" + key2:                  {key1, key2},
		key1 + "," + key2:                     {key1, key2},
		"\n  " + key1 + "  \n\n":              {key1},
	} {
		got, err := httpdoor.ParseKeys(value)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ParseKeys(%q) = %q, %v; want %q", value, got, err, want)
		}
	}
	for _, value := range []string{"", " \n, ", `{"key":"` + key1 + `"}`, `["` + key1 + `"`, `[1, 2]`, `[]`} {
		got, err := httpdoor.ParseKeys(value)
		if err == nil {
			t.Errorf("ParseKeys(%q) = %q, want an error", value, got)
			continue
		}
		if strings.Contains(err.Error(), key1) {
			t.Errorf("ParseKeys(%q): the error quotes the key: %v", value, err)
		}
	}
}

const keysARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:raprov/intake-keys-AbCdEf"

// loadHost loads a host as the Lambda runtime would, with the keys'
// secret, holding value, on a Secrets Manager stand-in.
func loadHost(t *testing.T, value string) *host.Host {
	t.Helper()
	return loadHostWith(t, map[string]string{keysARN: value})
}

// loadHostWith is loadHost with the secrets by ARN.
func loadHostWith(t *testing.T, secrets map[string]string) *host.Host {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		value, ok := secrets[in.SecretId]
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !ok {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "raprov/secret", "SecretString": value})
	}))
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"RAPROV_SQS_QUEUE_URL_PREFIX": "https://sqs.eu-west-1.amazonaws.com/123456789012/raprov-", "RAPROV_DYNAMODB_TABLE": "raprov",
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "key",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
		httpdoor.KeysVar: "", httpdoor.KeysARNVar: keysARN, httpdoor.SenderKeysVar: "", httpdoor.SenderKeysARNVar: "",
	} {
		t.Setenv(k, v)
	}
	h, err := host.Load()
	if err != nil {
		t.Fatal(err)
	}
	h.Log = slog.New(slog.DiscardHandler)
	return h
}

// The keys come from the secret only: a plain RAPROV_INTAKE_KEYS, no
// secret, or a secret without usable keys end the init, and no error
// quotes a key.
func TestConnectKeys(t *testing.T) {
	ctx := context.Background()
	h := loadHost(t, "[\""+key1+"\",\""+key2+"\"]")
	if _, err := httpdoor.Connect(ctx, h); err != nil {
		t.Fatalf("two keys: %v", err)
	}
	for name, c := range map[string]struct {
		secret, plain, arn, want string
	}{
		"plain keys":     {secret: key1, plain: key1, arn: keysARN, want: "RAPROV_INTAKE_KEYS is set"},
		"no secret":      {secret: key1, arn: "", want: "RAPROV_INTAKE_KEYS_ARN is not set"},
		"unknown secret": {secret: key1, arn: keysARN + "x", want: "RAPROV_INTAKE_KEYS_ARN: reading the secret"},
		"short key":      {secret: "short-" + key1[:20], arn: keysARN, want: "at least 32 are required"},
		"three keys":     {secret: key1 + "\n" + key2 + "\n" + key1 + "-third", arn: keysARN, want: "at most 2 may be active"},
		"object":         {secret: `{"k":"` + key1 + `"}`, arn: keysARN, want: "JSON object"},
	} {
		t.Run(name, func(t *testing.T) {
			h := loadHost(t, c.secret)
			t.Setenv(httpdoor.KeysVar, c.plain)
			t.Setenv(httpdoor.KeysARNVar, c.arn)
			_, err := httpdoor.Connect(ctx, h)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), key1[:20]) {
				t.Errorf("the error quotes a key: %v", err)
			}
		})
	}
}

// claims are request-id claims in memory.
type claims map[string][2]string

func (c claims) Holder(_ context.Context, id string) (string, string, error) {
	return c[id][0], c[id][1], nil
}

// door is the intake function's invocation handler over real SQS queues
// (fauxqs): the door of Handler, and an SQS handler that counts batches.
type door struct {
	invoke  sqs.Invocation
	intake  func() int // messages in the intake queue
	batches int
}

func newDoor(t *testing.T) *door {
	t.Helper()
	c := sqstest.Client(t)
	qs := sqstest.Queues(t, c, sqstest.Config{})
	l := memledger.New()
	sub, err := sqssubmit.New(sqs.NewSender(c, qs, sqs.SenderOptions{Ledger: l}), claims{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := steps.DefaultConfig()
	cfg.VerifiedDomains = []string{"contoso.com"}
	web, err := httpdoor.Handler(httpdoor.Deps{Submit: sub, Ledger: l, Keys: []string{key1, key2}, Steps: cfg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := &door{intake: func() int { return sqstest.Count(t, c, qs.URL(events.StepIntake)) }}
	d.invoke = sqs.Dispatch(func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		d.batches++
		return lambdaevents.SQSEventResponse{}, nil
	}, web, slog.New(slog.DiscardHandler))
	return d
}

// call invokes the function with a Function URL request and returns the
// answer and its decoded JSON body.
func (d *door) call(t *testing.T, method, target string, headers map[string]string, body []byte, b64 bool) (lambdaevents.LambdaFunctionURLResponse, map[string]any) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	ev := lambdaevents.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: headers, Body: string(body),
		RequestContext: lambdaevents.LambdaFunctionURLRequestContext{
			DomainName: "abc.lambda-url.eu-west-1.on.aws",
			HTTP:       lambdaevents.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
		},
	}
	if b64 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	payload, _ := json.Marshal(ev)
	out, err := d.invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	resp, ok := out.(lambdaevents.LambdaFunctionURLResponse)
	if !ok {
		t.Fatalf("%s %s answered %T", method, target, out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object", method, target, resp.Body)
	}
	return resp, v
}

func signedPost(body []byte) map[string]string {
	return map[string]string{"content-type": "application/json", "x-raprov-signature": httpapi.Sign(key1, time.Now(), body)}
}

// Through the function's URL, a signed POST is answered 202 and queued on
// intake's queue, with a text or a base64 body and either key; the status
// reads back with a signed GET. An unsigned or wrongly signed POST is 401
// and queues nothing; a dry run is 501 (no planner on Lambda); the senders
// are served. SQS batches still reach the SQS handler.
func TestDoorThroughFunctionURL(t *testing.T) {
	d := newDoor(t)
	body := []byte(`{"requestId":"INC-URL-1","displayName":"Main line","userPrincipalName":"ra-url1@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`)

	resp, v := d.call(t, http.MethodPost, "/requests", map[string]string{"content-type": "application/json"}, body, false)
	if resp.StatusCode != http.StatusUnauthorized || v["reason"] != httpapi.ReasonUnauthenticated {
		t.Fatalf("unsigned POST: %d %v", resp.StatusCode, v)
	}
	wrong := map[string]string{"content-type": "application/json", "x-raprov-signature": httpapi.Sign("another-key-of-at-least-32-bytes!!", time.Now(), body)}
	if resp, v := d.call(t, http.MethodPost, "/requests", wrong, body, false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrongly signed POST: %d %v", resp.StatusCode, v)
	}
	if n := d.intake(); n != 0 {
		t.Fatalf("%d messages queued by refused calls", n)
	}

	resp, v = d.call(t, http.MethodPost, "/requests", signedPost(body), body, false)
	if resp.StatusCode != http.StatusAccepted || v["requestId"] != "INC-URL-1" || v["status"] != "/requests/INC-URL-1" || resp.Headers["Location"] != "/requests/INC-URL-1" {
		t.Fatalf("signed POST: %d %v %v", resp.StatusCode, resp.Headers, v)
	}
	if n := d.intake(); n != 1 {
		t.Fatalf("%d messages in intake's queue, want 1", n)
	}

	body2 := []byte(`{"requestId":"INC-URL-2","displayName":"Queue","userPrincipalName":"ra-url2@contoso.com","accountType":"callQueue","usageLocation":"US"}`)
	h := map[string]string{"content-type": "application/json", "x-raprov-signature": httpapi.Sign(key2, time.Now(), body2)}
	if resp, v := d.call(t, http.MethodPost, "/requests", h, body2, true); resp.StatusCode != http.StatusAccepted || v["requestId"] != "INC-URL-2" {
		t.Fatalf("base64 POST with the second key: %d %v", resp.StatusCode, v)
	}
	if n := d.intake(); n != 2 {
		t.Fatalf("%d messages in intake's queue, want 2", n)
	}

	get := map[string]string{"x-raprov-signature": httpapi.SignGet(key1, time.Now(), "/requests/INC-URL-1")}
	if resp, v := d.call(t, http.MethodGet, "/requests/INC-URL-1", get, nil, false); resp.StatusCode != http.StatusOK || v["requestId"] != "INC-URL-1" || v["outcome"] != "in_progress" {
		t.Fatalf("signed GET: %d %v", resp.StatusCode, v)
	}
	list := map[string]string{"x-raprov-signature": httpapi.SignGet(key1, time.Now(), "/requests?limit=10")}
	if resp, v := d.call(t, http.MethodGet, "/requests?limit=10", list, nil, false); resp.StatusCode != http.StatusOK || len(v["requests"].([]any)) != 2 {
		t.Fatalf("signed list: %d %v", resp.StatusCode, v)
	}

	dry := []byte(`{"requestId":"INC-URL-3","displayName":"Dry","userPrincipalName":"ra-url3@contoso.com","accountType":"callQueue","usageLocation":"US","dryRun":true}`)
	if resp, v := d.call(t, http.MethodPost, "/requests", signedPost(dry), dry, false); resp.StatusCode != http.StatusNotImplemented || v["reason"] != httpapi.ReasonDryRunUnavailable {
		t.Fatalf("dry run: %d %v", resp.StatusCode, v)
	}
	if resp, v := d.call(t, http.MethodPost, "/senders/servicenow", map[string]string{"content-type": "application/json"}, []byte(`{}`), false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned ServiceNow payload: %d %v (want the sender served, and 401)", resp.StatusCode, v)
	}
	if n := d.intake(); n != 2 {
		t.Fatalf("%d messages in intake's queue after the dry run, want 2", n)
	}

	if _, err := d.invoke(context.Background(), json.RawMessage(`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"}]}`)); err != nil || d.batches != 1 {
		t.Fatalf("SQS batch: %v, %d batches handled", err, d.batches)
	}
	if _, err := d.invoke(context.Background(), json.RawMessage(`{"detail-type":"Scheduled Event"}`)); !errors.Is(err, sqs.ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}
}

const senderKeysARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:raprov/sender-keys-GhIjKl"

// Sender keys come from their own secret, when one is named: a plain
// RAPROV_SENDER_KEYS, a secret that is not the JSON object, or keys the
// door refuses end the init, and no error quotes a key.
func TestConnectSenderKeys(t *testing.T) {
	ctx := context.Background()
	const snow = "servicenow-key-0123456789abcdef0123"
	good := loadHostWith(t, map[string]string{keysARN: `["` + key1 + `"]`, senderKeysARN: `{"servicenow": "` + snow + `"}`})
	t.Setenv(httpdoor.SenderKeysARNVar, senderKeysARN)
	if _, err := httpdoor.Connect(ctx, good); err != nil {
		t.Fatalf("sender keys: %v", err)
	}
	for name, c := range map[string]struct{ secret, plain, want string }{
		"plain keys":     {secret: `{"servicenow": "` + snow + `"}`, plain: snow, want: "RAPROV_SENDER_KEYS is set"},
		"not an object":  {secret: snow, want: "RAPROV_SENDER_KEYS_ARN: sender keys: not a JSON object"},
		"unknown sender": {secret: `{"jira": "` + snow + `"}`, want: `"jira", which is not a sender`},
		"general key":    {secret: `{"workday": "` + key1 + `"}`, want: "also a general key"},
	} {
		t.Run(name, func(t *testing.T) {
			h := loadHostWith(t, map[string]string{keysARN: `["` + key1 + `"]`, senderKeysARN: c.secret})
			t.Setenv(httpdoor.SenderKeysARNVar, senderKeysARN)
			t.Setenv(httpdoor.SenderKeysVar, c.plain)
			_, err := httpdoor.Connect(ctx, h)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), snow[:20]) || strings.Contains(err.Error(), key1[:20]) {
				t.Errorf("the error quotes a key: %v", err)
			}
		})
	}
}

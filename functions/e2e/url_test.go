//go:build linux

package e2e_test

// The HTTP door at intake's Lambda Function URL: the intake bootstrap,
// under the emulator, invoked with Function URL events (payload format 2.0)
// as Lambda invokes it for a call to the URL.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/awslocal"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
)

// urlInstance is an instance of the intake function that answers its
// Function URL. It is a second emulator beside the one the intake queue's
// poller invokes: an emulator serves one invocation at a time, and Lambda
// runs a URL call on whichever instance is free, a new one if need be.
type urlInstance struct {
	s   *stack
	rie *awslocal.RIE
}

func (s *stack) startURLInstance(t *testing.T) *urlInstance {
	t.Helper()
	return &urlInstance{s: s, rie: s.startInstance(t, events.StepIntake, nil)}
}

// call sends one HTTP call through the Function URL: the event Lambda
// builds from it (lower-cased header names, the path as sent), and the
// function's answer.
func (u *urlInstance) call(t *testing.T, method, target string, headers map[string]string, body []byte) (lambdaevents.LambdaFunctionURLResponse, map[string]any) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	lower := map[string]string{}
	for k, v := range headers {
		lower[strings.ToLower(k)] = v
	}
	now := time.Now()
	ev := lambdaevents.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: lower, Body: string(body),
		RequestContext: lambdaevents.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", RequestID: randomHex(8), APIID: "e2eurl", DomainName: "e2eurl.lambda-url." + region + ".on.aws",
			DomainPrefix: "e2eurl", Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: lambdaevents.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "198.51.100.20", UserAgent: "e2e"},
		},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	out, err := u.rie.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("%s %s through the URL: %v", method, target, err)
	}
	var resp lambdaevents.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("%s %s: the function answered %s, not a Function URL response (%v)", method, target, out, err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object", method, target, resp.Body)
	}
	return resp, v
}

// get reads target with a signed GET.
func (u *urlInstance) get(t *testing.T, target string) (lambdaevents.LambdaFunctionURLResponse, map[string]any) {
	t.Helper()
	return u.call(t, http.MethodGet, target, map[string]string{httpapi.SignatureHeader: httpapi.SignGet(intakeKey, time.Now(), target)}, nil)
}

// TestE2EFunctionURL submits a plain request through intake's Function
// URL, signed with the key of the stack's IntakeKeysSecretArn: 202 with its
// status link, and the request on intake's queue; the chain then provisions
// it, and a signed GET through the URL reads its status. An unsigned POST
// is 401 and queues nothing.
func TestE2EFunctionURL(t *testing.T) {
	t.Parallel()
	// No pollers until the calls are made: what reached intake's queue is
	// counted before anything consumes it.
	s := newStack(t, stackConfig{noPollers: true})
	u := s.startURLInstance(t)
	intakeQueue := s.queues.URL(events.StepIntake)

	unsigned := []byte(`{"requestId":"e2e-url-unsigned","displayName":"E2E unsigned","userPrincipalName":"e2e-url-unsigned@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`)
	resp, v := u.call(t, http.MethodPost, "/requests", map[string]string{"Content-Type": "application/json"}, unsigned)
	if resp.StatusCode != http.StatusUnauthorized || v["reason"] != httpapi.ReasonUnauthenticated || resp.Headers["Www-Authenticate"] == "" {
		t.Fatalf("unsigned POST: %d %v %v; want 401 unauthenticated", resp.StatusCode, resp.Headers, v)
	}
	if n := s.count(t, intakeQueue); n != 0 {
		t.Fatalf("the unsigned POST queued %d messages", n)
	}

	const id = "e2e-url-aa"
	body := []byte(`{"requestId":"` + id + `","displayName":"E2E URL","userPrincipalName":"` + id + `@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`)
	resp, v = u.call(t, http.MethodPost, "/requests", map[string]string{
		"Content-Type":          "application/json",
		httpapi.SignatureHeader: httpapi.Sign(intakeKey, time.Now(), body),
	}, body)
	if resp.StatusCode != http.StatusAccepted || v["requestId"] != id || v["status"] != "/requests/"+id || resp.Headers["Location"] != "/requests/"+id {
		t.Fatalf("signed POST: %d %v %v; want 202 with the status link", resp.StatusCode, resp.Headers, v)
	}
	if n := s.count(t, intakeQueue); n != 1 {
		t.Fatalf("intake's queue holds %d messages after the signed POST, want 1", n)
	}
	if s.secrets.readsOf(intakeKeysSecretARN) == 0 {
		t.Error("the keys' secret was never read")
	}

	s.startPollers()
	o := s.await(t, id, ledger.Completed)
	checkAccount(t, s.sim.Server.State(), o.final.Data.Request)

	resp, v = u.get(t, "/requests/"+id)
	if resp.StatusCode != http.StatusOK || v["requestId"] != id || v["outcome"] != string(ledger.Completed) || v["step"] != events.StepComplete {
		t.Fatalf("signed GET of the request: %d %v; want it completed", resp.StatusCode, v)
	}
	if h, _ := v["history"].([]any); len(h) < 2 {
		t.Errorf("status history %v", v["history"])
	}
	if resp, v := u.call(t, http.MethodGet, "/requests/"+id, nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET: %d %v; want 401", resp.StatusCode, v)
	}
	// The unsigned request never reached the chain.
	if resp, v := u.get(t, "/requests/e2e-url-unsigned"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("signed GET of the unsigned request: %d %v; want 404", resp.StatusCode, v)
	}
}

package sqs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/raprov/raprov/shared/transport/sqs"
)

// seen is what the echo handler saw of one request.
type seen struct {
	Method, Host, RequestURI, EscapedPath, RawQuery, RemoteAddr, Proto string
	Header                                                             http.Header
	Body                                                               []byte
	ContentLength                                                      int64
}

// echo records each request and answers 201 with a JSON body, a header
// sent twice and a cookie.
func echo(got *[]seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = append(*got, seen{
			Method: r.Method, Host: r.Host, RequestURI: r.URL.RequestURI(), EscapedPath: r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery, RemoteAddr: r.RemoteAddr, Proto: r.Proto, Header: r.Header.Clone(), Body: b,
			ContentLength: r.ContentLength,
		})
		switch r.URL.Path {
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0xfe, 0x00, 0x01})
		case "/panic":
			panic("boom")
		case "/large":
			chunk := bytes.Repeat([]byte("x"), 1<<20)
			for range 6 {
				w.Write(chunk)
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("Vary", "A")
			w.Header().Add("Vary", "B")
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "1"})
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"ok":"ü"}`))
		}
	})
}

// urlEvent is a Function URL request of payload format 2.0, as Lambda
// sends it.
func urlEvent(method, rawPath, rawQuery string, headers map[string]string, body []byte, b64 bool) lambdaevents.LambdaFunctionURLRequest {
	ev := lambdaevents.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: rawPath, RawQueryString: rawQuery, Headers: headers,
		RequestContext: lambdaevents.LambdaFunctionURLRequestContext{
			AccountID: "123456789012", RequestID: "req-1", APIID: "abc123", DomainName: "abc123.lambda-url.eu-west-1.on.aws",
			DomainPrefix: "abc123", HTTP: lambdaevents.LambdaFunctionURLRequestContextHTTPDescription{
				Method: method, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: "test",
			},
		},
	}
	if b64 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	} else {
		ev.Body = string(body)
	}
	return ev
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noQueue is an SQS handler that must not be called.
func noQueue(t *testing.T) sqs.Handler {
	return func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		t.Error("the SQS handler was called")
		return lambdaevents.SQSEventResponse{}, nil
	}
}

// A Function URL request reaches the HTTP handler as it was sent: method,
// escaped path and query (what a signature covers), headers, the body
// (base64 or not), the caller's address; the answer goes back with its
// status, headers, cookies and body.
func TestDispatchFunctionURL(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		t.Run(map[bool]string{false: "text body", true: "base64 body"}[b64], func(t *testing.T) {
			var got []seen
			d := sqs.Dispatch(noQueue(t), echo(&got), slog.New(slog.DiscardHandler))
			body := []byte(`{"requestId":"HR/42"}`)
			ev := urlEvent(http.MethodPost, "/requests/HR%2F42", "a=1&b=%20", map[string]string{
				"content-type": "application/json", "x-raprov-signature": "t=1,v1=00", "host": "door.example.com",
			}, body, b64)
			ev.Cookies = []string{"s=1", "t=2"}
			out, err := d(context.Background(), mustJSON(t, ev))
			if err != nil {
				t.Fatal(err)
			}
			resp, ok := out.(lambdaevents.LambdaFunctionURLResponse)
			if !ok {
				t.Fatalf("answered %T, want a LambdaFunctionURLResponse", out)
			}
			if len(got) != 1 {
				t.Fatalf("%d requests reached the handler", len(got))
			}
			r := got[0]
			if r.Method != http.MethodPost || r.EscapedPath != "/requests/HR%2F42" || r.RequestURI != "/requests/HR%2F42?a=1&b=%20" || r.RawQuery != "a=1&b=%20" {
				t.Errorf("request %s %s (path %s, query %s)", r.Method, r.RequestURI, r.EscapedPath, r.RawQuery)
			}
			if !bytes.Equal(r.Body, body) || r.ContentLength != int64(len(body)) {
				t.Errorf("body %q (length %d), want %q", r.Body, r.ContentLength, body)
			}
			if r.Header.Get("X-Raprov-Signature") != "t=1,v1=00" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cookie") != "s=1; t=2" {
				t.Errorf("headers %v", r.Header)
			}
			if r.Host != "door.example.com" || r.RemoteAddr != "203.0.113.7" || r.Proto != "HTTP/1.1" {
				t.Errorf("host %q, remote %q, proto %q", r.Host, r.RemoteAddr, r.Proto)
			}
			if resp.StatusCode != http.StatusCreated || resp.IsBase64Encoded || resp.Body != `{"ok":"ü"}` {
				t.Errorf("answer %d %q (base64 %v)", resp.StatusCode, resp.Body, resp.IsBase64Encoded)
			}
			if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Vary"] != "A,B" || len(resp.Cookies) != 1 || resp.Cookies[0] != "c=1" {
				t.Errorf("answer headers %v, cookies %v", resp.Headers, resp.Cookies)
			}
			if _, ok := resp.Headers["Set-Cookie"]; ok {
				t.Error("Set-Cookie left in the headers")
			}
		})
	}
}

// What the adapter cannot pass on faithfully is answered by the adapter:
// a body that is not base64, a binary answer (base64), a panic (500), an
// answer too large for Lambda (500).
func TestFunctionURLEdges(t *testing.T) {
	var got []seen
	serve := sqs.FunctionURL(echo(&got), slog.New(slog.DiscardHandler))
	ev := urlEvent(http.MethodPost, "/requests", "", nil, nil, false)
	ev.Body, ev.IsBase64Encoded = "not base64!", true
	if resp := serve(context.Background(), &ev); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "base64") {
		t.Errorf("bad base64: %d %s", resp.StatusCode, resp.Body)
	}
	ev = urlEvent(http.MethodGet, "/requests/%zz", "", nil, nil, false)
	if resp := serve(context.Background(), &ev); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad path: %d %s", resp.StatusCode, resp.Body)
	}
	if len(got) != 0 {
		t.Fatalf("%d malformed requests reached the handler", len(got))
	}
	ev = urlEvent(http.MethodGet, "/binary", "", nil, nil, false)
	resp := serve(context.Background(), &ev)
	if b, _ := base64.StdEncoding.DecodeString(resp.Body); !resp.IsBase64Encoded || !bytes.Equal(b, []byte{0xff, 0xfe, 0x00, 0x01}) {
		t.Errorf("binary answer %q (base64 %v)", resp.Body, resp.IsBase64Encoded)
	}
	ev = urlEvent(http.MethodGet, "/panic", "", nil, nil, false)
	if resp := serve(context.Background(), &ev); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"reason":"internal"`) {
		t.Errorf("panic: %d %s", resp.StatusCode, resp.Body)
	}
	ev = urlEvent(http.MethodGet, "/large", "", nil, nil, false)
	if resp := serve(context.Background(), &ev); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, "response_too_large") {
		t.Errorf("large: %d, %d bytes", resp.StatusCode, len(resp.Body))
	}
}

// An SQS event (even an empty batch) goes to the SQS handler, whose answer
// is the invocation's.
func TestDispatchSQS(t *testing.T) {
	var batches []lambdaevents.SQSEvent
	q := func(_ context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		batches = append(batches, ev)
		var resp lambdaevents.SQSEventResponse
		for _, r := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
		return resp, nil
	}
	var got []seen
	d := sqs.Dispatch(q, echo(&got), slog.New(slog.DiscardHandler))
	ev := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{{MessageId: "m1", Body: "{}", EventSource: sqs.EventSourceSQS, EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:q"}}}
	out, err := d(context.Background(), mustJSON(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(lambdaevents.SQSEventResponse)
	if !ok || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Fatalf("answered %#v", out)
	}
	if _, err := d(context.Background(), json.RawMessage(`{"Records":[]}`)); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if len(batches) != 2 || batches[0].Records[0].Body != "{}" || len(got) != 0 {
		t.Fatalf("batches %+v, HTTP requests %d", batches, len(got))
	}
}

// Anything else is ErrUnknownEvent, logged with its size only: records of
// another source, both shapes at once, neither, not JSON.
func TestDispatchUnknownShapes(t *testing.T) {
	const secret = "PAYLOAD-SECRET-0123456789"
	var logs bytes.Buffer
	var got []seen
	d := sqs.Dispatch(noQueue(t), echo(&got), slog.New(slog.NewJSONHandler(&logs, nil)))
	for name, payload := range map[string]string{
		"S3 records":             `{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":"` + secret + `"}}}]}`,
		"SNS records":            `{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"` + secret + `"}}]}`,
		"records without source": `{"Records":[{"body":"` + secret + `"}]}`,
		"both shapes":            `{"Records":[],"requestContext":{"http":{"method":"POST"}},"body":"` + secret + `"}`,
		"API Gateway v1":         `{"httpMethod":"POST","requestContext":{"stage":"prod"},"body":"` + secret + `"}`,
		"scheduled event":        `{"source":"aws.events","detail":{"x":"` + secret + `"}}`,
		"null records":           `{"Records":null,"detail":"` + secret + `"}`,
		"array":                  `["` + secret + `"]`,
		"string":                 `"` + secret + `"`,
		"null":                   `null`,
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			out, err := d(context.Background(), json.RawMessage(payload))
			if !errors.Is(err, sqs.ErrUnknownEvent) || out != nil {
				t.Fatalf("answered %v, %v; want ErrUnknownEvent", out, err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
				t.Errorf("the payload leaked: error %q, log %s", err, logs.String())
			}
			if !strings.Contains(logs.String(), "unknown event shape") || !strings.Contains(logs.String(), `"payload_bytes"`) {
				t.Errorf("log %s", logs.String())
			}
		})
	}
	if len(got) != 0 {
		t.Fatalf("%d requests reached the HTTP handler", len(got))
	}
}

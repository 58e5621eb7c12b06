package sqs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/raprov/raprov/shared/logctx"
)

// EventSourceSQS is the eventSource of every record of an SQS event.
const EventSourceSQS = "aws:sqs"

// MaxURLResponse is the largest body a function answers a Function URL
// request with: Lambda refuses a buffered response payload over 6 MB (the
// whole JSON document, headers included) with a 502 the caller cannot
// read, so a larger answer becomes a 500 that says why.
const MaxURLResponse = 5 << 20

// ErrUnknownEvent is the error of an invocation whose payload is neither an
// SQS batch nor a Lambda Function URL request. Its message never quotes
// the payload.
var ErrUnknownEvent = errors.New("sqs: invocation payload is neither an SQS event nor a Function URL request")

// ScheduledBulkScan is the payload of the scheduled invocation that runs one
// pass of the bulk door (the Input of the stack's EventBridge Scheduler
// schedule): a JSON object with exactly one member, "raprov", whose value is
// the string "bulk-scan". Whitespace aside, anything else — another member
// beside it, another value, another type — is not this event.
const ScheduledBulkScan = `{"raprov":"bulk-scan"}`

// Scheduled answers a scheduled invocation (ScheduledBulkScan): its result
// is the invocation's response, its error a failed invocation.
type Scheduled = func(ctx context.Context) (any, error)

// Invocation is the Lambda handler Dispatch returns, for
// lambda.StartHandlerFunc: it answers an SQS event with an
// events.SQSEventResponse and a Function URL request with an
// events.LambdaFunctionURLResponse.
type Invocation = func(ctx context.Context, payload json.RawMessage) (any, error)

// Dispatch returns the Lambda handler of a function that is triggered both
// by its SQS queue, answered by q (NewHandler), and by its Lambda Function
// URL (InvokeMode BUFFERED), answered by web (FunctionURL). It tells the
// two apart by the payload's shape:
//
//   - an SQS event has "Records" (possibly none), each with eventSource
//     aws:sqs, and no "requestContext";
//   - a Function URL request (payload format 2.0) has "requestContext"
//     with "http", and no "Records".
//
// A payload that is exactly ScheduledBulkScan is a scheduled invocation;
// Dispatch serves none (DispatchScheduled does).
//
// Anything else — another event source's records (S3, SNS, ...), a
// payload with both or neither, invalid JSON — is ErrUnknownEvent: logged
// with the payload's size only, never its content, and returned, so that
// Lambda reports a failed invocation. It never panics on a payload.
func Dispatch(q Handler, web http.Handler, log *slog.Logger) Invocation {
	return DispatchScheduled(q, web, nil, log)
}

// DispatchScheduled is Dispatch for a function that EventBridge Scheduler
// invokes too: a payload that is exactly ScheduledBulkScan is answered by
// scan. With scan nil that payload is ErrUnknownEvent, as in Dispatch.
func DispatchScheduled(q Handler, web http.Handler, scan Scheduled, log *slog.Logger) Invocation {
	return DispatchDoors(q, Doors{Web: web, Scan: scan}, log)
}

// Doors are what a function answers besides its queue; a nil one is not
// served, and an invocation meant for it is ErrUnknownEvent.
type Doors struct {
	// Web answers the function's Function URL (FunctionURL).
	Web http.Handler
	// Scan answers a scheduled invocation (ScheduledBulkScan).
	Scan Scheduled
	// Plan answers a DryRunInvocation.
	Plan Planned
}

// DispatchDoors is Dispatch for a function with any of the doors d: beside
// SQS batches, a Function URL request goes to d.Web, a payload that is
// exactly ScheduledBulkScan to d.Scan, and a DryRunInvocation — an object
// whose "raprov" is "dry-run", with "requests" and nothing else, decoded
// strictly — to d.Plan.
func DispatchDoors(q Handler, d Doors, log *slog.Logger) Invocation {
	log = slog.New(logctx.Handler(cmp.Or(log, slog.Default()).Handler()))
	var serve func(context.Context, *lambdaevents.LambdaFunctionURLRequest) lambdaevents.LambdaFunctionURLResponse
	if d.Web != nil {
		serve = FunctionURL(d.Web, log)
	}
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		switch kind, why := eventKind(payload); kind {
		case scheduledEvent:
			if d.Scan == nil {
				return nil, refuse(ctx, log, payload, "this function serves no scheduled invocation")
			}
			return d.Scan(ctx)
		case dryRunEvent:
			if d.Plan == nil {
				return nil, refuse(ctx, log, payload, "this function plans no dry run")
			}
			var inv DryRunInvocation
			dec := json.NewDecoder(bytes.NewReader(payload))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&inv); err != nil || len(inv.Requests) == 0 {
				return nil, refuse(ctx, log, payload, "the dry-run invocation does not decode or names no request")
			}
			return d.Plan(ctx, inv.Requests)
		case sqsEvent:
			var ev lambdaevents.SQSEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, refuse(ctx, log, payload, "the SQS event does not decode")
			}
			for _, r := range ev.Records {
				if r.EventSource != EventSourceSQS {
					return nil, refuse(ctx, log, payload, "a record's eventSource is not "+EventSourceSQS)
				}
			}
			if q == nil {
				return nil, refuse(ctx, log, payload, "this function serves no queue")
			}
			return q(ctx, ev)
		case urlEvent:
			if serve == nil {
				return nil, refuse(ctx, log, payload, "this function serves no Function URL")
			}
			var req lambdaevents.LambdaFunctionURLRequest
			if err := json.Unmarshal(payload, &req); err != nil {
				return nil, refuse(ctx, log, payload, "the Function URL request does not decode")
			}
			return serve(ctx, &req), nil
		default:
			return nil, refuse(ctx, log, payload, why)
		}
	}
}

// StartDispatch hands Dispatch(q, web, log) to the Lambda runtime and
// serves invocations until the runtime ends the process; it does not
// return.
func StartDispatch(q Handler, web http.Handler, log *slog.Logger) {
	lambda.StartHandlerFunc(Dispatch(q, web, log))
}

// StartDoors hands DispatchDoors(q, d, log) to the Lambda runtime; it does
// not return.
func StartDoors(q Handler, d Doors, log *slog.Logger) {
	lambda.StartHandlerFunc(DispatchDoors(q, d, log))
}

// StartDispatchScheduled hands DispatchScheduled(q, web, scan, log) to the
// Lambda runtime; it does not return.
func StartDispatchScheduled(q Handler, web http.Handler, scan Scheduled, log *slog.Logger) {
	lambda.StartHandlerFunc(DispatchScheduled(q, web, scan, log))
}

type kind int

const (
	unknownEvent kind = iota
	sqsEvent
	urlEvent
	scheduledEvent
	dryRunEvent
)

// isScheduledBulkScan reports whether the members of a payload are exactly
// ScheduledBulkScan's: one object member, "raprov" (spelled so:
// encoding/json would match any case), with the string value "bulk-scan".
func isScheduledBulkScan(members map[string]json.RawMessage) bool {
	return len(members) == 1 && raprovMember(members) == "bulk-scan"
}

// isDryRun reports whether the members of a payload name a
// DryRunInvocation: "raprov" (so spelled) is the string DryRunKind.
func isDryRun(members map[string]json.RawMessage) bool {
	return raprovMember(members) == DryRunKind
}

// raprovMember is the string value of the member "raprov", or "" when
// there is none or it is not a JSON string.
func raprovMember(members map[string]json.RawMessage) string {
	raw, ok := members["raprov"]
	if !ok || !strings.HasPrefix(strings.TrimSpace(string(raw)), `"`) {
		return ""
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v
}

// eventKind tells the invocations apart by the members each has, reading
// the payload's top level once; for anything else it says why, without
// quoting the payload.
func eventKind(payload []byte) (kind, string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return unknownEvent, "the payload is not a JSON object"
	}
	if isScheduledBulkScan(members) {
		return scheduledEvent, ""
	}
	if isDryRun(members) {
		return dryRunEvent, ""
	}
	present := func(name string) bool {
		raw, ok := members[name]
		return ok && string(raw) != "null"
	}
	records := present("Records") && len(members["Records"]) > 0
	httpCtx := false
	if present("requestContext") {
		var rc struct {
			HTTP json.RawMessage `json:"http"`
		}
		if json.Unmarshal(members["requestContext"], &rc) == nil {
			httpCtx = len(rc.HTTP) > 0 && string(rc.HTTP) != "null"
		}
	}
	switch {
	case records && !present("requestContext"):
		return sqsEvent, ""
	case httpCtx && !records:
		return urlEvent, ""
	case records:
		return unknownEvent, "the payload has both Records and requestContext"
	}
	return unknownEvent, "the payload has neither Records nor requestContext.http"
}

func refuse(ctx context.Context, log *slog.Logger, payload []byte, why string) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ctx = logctx.With(ctx, "aws_request_id", lc.AwsRequestID)
	}
	log.ErrorContext(ctx, "invocation refused: unknown event shape", "reason", why, "payload_bytes", len(payload))
	return fmt.Errorf("%w: %s", ErrUnknownEvent, why)
}

// FunctionURL adapts web to the requests of a Lambda Function URL whose
// InvokeMode is BUFFERED (payload format 2.0): it builds the http.Request
// the URL received — method, raw path and query as sent, headers, cookies,
// the body decoded from base64 when the event says it is, the caller's
// address as RemoteAddr — runs web with the invocation's context, and
// returns what web wrote: status, headers (Set-Cookie as cookies), and the
// body as text when it is UTF-8, else base64. A body over MaxURLResponse,
// a request it cannot rebuild (a base64 body that does not decode, a path
// that is not a path) and a panic of web are answered 500 or 400 with a
// JSON error; none is logged with the request's body or headers.
//
// aws-lambda-go's lambdaurl adapts an http.Handler too, but only for URLs
// with InvokeMode RESPONSE_STREAM, and as the whole function's handler:
// Dispatch needs one answer per invocation, beside SQS's.
func FunctionURL(web http.Handler, log *slog.Logger) func(context.Context, *lambdaevents.LambdaFunctionURLRequest) lambdaevents.LambdaFunctionURLResponse {
	log = slog.New(logctx.Handler(cmp.Or(log, slog.Default()).Handler()))
	return func(ctx context.Context, in *lambdaevents.LambdaFunctionURLRequest) (out lambdaevents.LambdaFunctionURLResponse) {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = logctx.With(ctx, "aws_request_id", lc.AwsRequestID)
		}
		r, err := httpRequest(ctx, in)
		if err != nil {
			return urlError(http.StatusBadRequest, "malformed_request", err.Error())
		}
		w := &urlResponseWriter{header: http.Header{}}
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(ctx, "function URL: handler panicked", "method", r.Method, "path", r.URL.EscapedPath(),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				out = urlError(http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		web.ServeHTTP(w, r)
		if w.body.Len() > MaxURLResponse {
			log.ErrorContext(ctx, "function URL: answer too large for Lambda", "method", r.Method, "path", r.URL.EscapedPath(),
				"status", w.status(), "bytes", w.body.Len())
			return urlError(http.StatusInternalServerError, "response_too_large",
				fmt.Sprintf("the answer is larger than a Function URL can return (%d bytes); ask for less (e.g. a smaller limit)", MaxURLResponse))
		}
		return w.response()
	}
}

// httpRequest rebuilds the request a Function URL received.
func httpRequest(ctx context.Context, in *lambdaevents.LambdaFunctionURLRequest) (*http.Request, error) {
	method := in.RequestContext.HTTP.Method
	if method == "" {
		return nil, errors.New("the Function URL request has no method")
	}
	body := []byte(in.Body)
	if in.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(in.Body)
		if err != nil {
			return nil, errors.New("the Function URL request's body is not valid base64")
		}
		body = b
	}
	// Function URLs pass the path as sent, still percent-encoded: keep it
	// so that what the handler sees (URL.EscapedPath, URL.RequestURI) is
	// what the caller signed.
	raw := cmp.Or(in.RawPath, in.RequestContext.HTTP.Path, "/")
	if !strings.HasPrefix(raw, "/") {
		return nil, errors.New("the Function URL request's path does not start with /")
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return nil, errors.New("the Function URL request's path is not a valid escaped path")
	}
	u := &url.URL{Scheme: "https", Host: in.RequestContext.DomainName, Path: path, RawPath: raw, RawQuery: in.RawQueryString}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("the Function URL request cannot be rebuilt: " + err.Error())
	}
	r.URL = u // as built, not as re-parsed: RawPath may be the one form of the path
	r.RequestURI = u.RequestURI()
	r.Host = in.RequestContext.DomainName
	r.RemoteAddr = in.RequestContext.HTTP.SourceIP
	if p := in.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	for k, v := range in.Headers {
		// Lambda lower-cases the names and joins repeated headers with
		// commas: one value per name.
		r.Header.Set(k, v)
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
		r.Header.Del("Host")
	}
	if len(in.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(in.Cookies, "; "))
	}
	r.ContentLength = int64(len(body))
	return r, nil
}

// urlResponseWriter buffers a handler's answer for a BUFFERED Function URL.
type urlResponseWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *urlResponseWriter) Header() http.Header { return w.header }

func (w *urlResponseWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *urlResponseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	// Keep at most one byte past the limit, enough to know the answer is
	// too large; the rest is dropped (and answered 500).
	w.body.Write(p[:min(len(p), max(0, MaxURLResponse+1-w.body.Len()))])
	return len(p), nil
}

func (w *urlResponseWriter) status() int { return cmp.Or(w.code, http.StatusOK) }

func (w *urlResponseWriter) response() lambdaevents.LambdaFunctionURLResponse {
	out := lambdaevents.LambdaFunctionURLResponse{StatusCode: w.status(), Headers: map[string]string{}}
	for k, v := range w.header {
		if len(v) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, v...)
			continue
		}
		out.Headers[k] = strings.Join(v, ",")
	}
	if utf8.Valid(w.body.Bytes()) {
		out.Body = w.body.String()
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(w.body.Bytes()), true
	}
	return out
}

// urlError is a JSON error answer of the adapter itself, shaped as the
// HTTP door's ({"error", "reason"}).
func urlError(code int, reason, msg string) lambdaevents.LambdaFunctionURLResponse {
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}{msg, reason})
	return lambdaevents.LambdaFunctionURLResponse{
		StatusCode: code,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
		},
		Body: string(b) + "\n",
	}
}
